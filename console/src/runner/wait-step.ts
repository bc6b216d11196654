/**
 * A wait step: when the run's last answers said a quota has less left than the step asks for, it
 * waits for that quota's window to reset, so the collection leaves the quota usable for the next
 * one (a burst can spend most of an account's write budget for ten seconds).
 */
import { StoppedError, type StepOutcome } from './exchange-step.js';
import type { QuotaTracker } from './quota-tracker.js';
import { resolve, type Scope } from './template.js';
import { AbortedError, sleep } from './timing.js';
import type { WaitStep } from './types.js';

export async function runWaitStep(step: WaitStep, quotas: QuotaTracker, scope: Scope, signal?: AbortSignal): Promise<StepOutcome> {
  const started = performance.now();
  const base = { kind: 'wait' as const, method: '', path: '', status: null, attempts: [], assertions: [] };
  let wait: { quota: string; minRemaining: unknown };
  try {
    wait = resolve(step.wait, scope);
  } catch (error) {
    return { ...base, latencyMs: 0, passed: false, error: (error as Error).message };
  }
  const minRemaining = Number(wait.minRemaining);
  const { waitMs, remaining } = quotas.waitMs(wait.quota, minRemaining);
  const heard = remaining === undefined ? `no answer has reported ${wait.quota} yet` : `${wait.quota} had ${remaining} left, the step asks for ${minRemaining}`;
  try {
    if (waitMs > 0) await sleep(waitMs, signal);
  } catch (error) {
    if (error instanceof AbortedError) throw new StoppedError({ ...base, latencyMs: performance.now() - started, passed: false, error: 'stopped by the user' });
    throw error;
  }
  const latencyMs = performance.now() - started;
  const note = waitMs > 0 ? `waited ${(latencyMs / 1000).toFixed(1)} s for its window to reset: ${heard}` : `no wait: ${heard}`;
  return { ...base, latencyMs, passed: true, note };
}
