/**
 * The collection runner's engine, framework-free so that it runs in the console (browser) and under
 * mocha (Node) alike: runs a collection's steps in order, iteration after iteration, through the
 * SDK (or fetch, for what no SDK would send), reporting each step as it starts and ends.
 *
 * Every iteration starts with nothing saved, so iterations and repeated runs are independent; a
 * failed step does not stop the run (the next steps say what they could not do). A stop by the
 * caller ends the step in flight, then runs what remains of the iteration's `cleanup` steps (a
 * key revoked, an endpoint deleted) without the signal and with a short timeout, so that stopping
 * a run does not leave what it created behind.
 */
import { runExchangeStep, StoppedError, type StepContext, type StepOutcome } from './exchange-step.js';
import { QuotaTracker } from './quota-tracker.js';
import { buildReport } from './report.js';
import { resolve, TemplateError, type Scope } from './template.js';
import type { Collection, RunOptions, RunReport, Step, StepResult } from './types.js';
import { runWaitStep } from './wait-step.js';

export { checkConnection } from './connection.js';
export { percentile } from './percentile.js';
export type * from './types.js';

/** Per attempt, for cleanup after a stop. */
const CLEANUP_TIMEOUT_MS = 5_000;
export const MAX_ITERATIONS = 1_000;

export async function runCollection(collection: Collection, options: RunOptions): Promise<RunReport> {
  const iterations = options.iterations ?? 1;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be a whole number from 1 to ${MAX_ITERATIONS}, not ${iterations}`);
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const quotas = new QuotaTracker(() => performance.now());
  const startedAt = new Date();
  const started = performance.now();
  const steps: StepResult[] = [];
  let stopped = false;

  const context = (cleanup: boolean): StepContext => ({
    baseURL: options.baseURL.replace(/\/+$/, ''),
    apiKey: options.apiKey,
    // Called unbound: a browser's fetch refuses any other `this`.
    fetch: (input, init) => fetchImpl(input, init),
    signal: cleanup ? undefined : options.signal,
    timeoutMs: cleanup ? CLEANUP_TIMEOUT_MS : undefined,
    onHeaders: (headers) => quotas.observe(headers),
  });

  for (let iteration = 0; iteration < iterations && !stopped; iteration++) {
    const values = new Map<string, unknown>();
    for (const [name, value] of Object.entries(collection.variables ?? {})) values.set(name, resolve(value, { values, iteration, index: 0 }));

    for (const [index, step] of collection.steps.entries()) {
      stopped ||= options.signal?.aborted === true;
      if (stopped && !(step.cleanup && resolvable(step, { values, iteration, index: 0 }))) continue;
      options.onEvent?.({ type: 'step-start', iteration, index, name: step.name });
      let outcome: StepOutcome;
      try {
        outcome = 'wait' in step ? await runWaitStep(step, quotas, { values, iteration, index: 0 }, context(stopped).signal) : await runExchangeStep(step, context(stopped), values, iteration);
      } catch (error) {
        if (!(error instanceof StoppedError)) throw error;
        stopped = true;
        outcome = error.outcome;
      }
      const result: StepResult = { iteration, index, name: step.name, ...outcome };
      steps.push(result);
      options.onEvent?.({ type: 'step-end', result });
    }
  }

  return buildReport(collection, { startedAt, durationMs: performance.now() - started, iterations, steps, aborted: stopped });
}

/** Whether a cleanup step has what it needs: after a stop, one whose target was never created is skipped. */
function resolvable(step: Step, scope: Scope): boolean {
  try {
    resolve('call' in step ? [step.args, step.options, step.client] : 'request' in step ? step.request : step.wait, scope);
    return true;
  } catch (error) {
    if (error instanceof TemplateError) return false;
    throw error;
  }
}
