/**
 * The run's HTTP calls: each bounded by a timeout and by Ctrl-C, so that no request outlives the
 * run, and the simulator's control calls carrying the token its control API requires.
 */
import { randomBytes } from 'node:crypto';
import { checkInterrupted, interruption } from './run.js';

const CONTROL_TIMEOUT_MS = 10_000;

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json<T>(): T | undefined;
}

export async function send(url: string, init: RequestInit & { timeoutMs: number }): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.any([interruption, AbortSignal.timeout(init.timeoutMs)]) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json<T>() {
      try {
        return JSON.parse(text) as T;
      } catch {
        return undefined;
      }
    },
  };
}

/** A control or set-up call that must succeed with `expected`. */
export async function mustSend(what: string, url: string, init: RequestInit, expected: number): Promise<Answer> {
  let answer: Answer;
  try {
    answer = await send(url, { ...init, timeoutMs: CONTROL_TIMEOUT_MS });
  } catch (err) {
    checkInterrupted();
    throw new Error(`${what}: ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (answer.status !== expected) throw new Error(`${what}: ${url} answered ${answer.status} (expected ${expected}): ${answer.text.slice(0, 500)}`);
  return answer;
}

/** The simulator's control token for this run (its control API refuses requests without it). */
export const CONTROL_TOKEN = randomBytes(24).toString('hex');
export const controlHeaders = { authorization: `Bearer ${CONTROL_TOKEN}` };
/** A call to the simulator's `SimulatorControlService` in the Connect protocol: the request POSTed as Protobuf's JSON. */
export const controlUrl = (simulatorUrl: string, method: 'GetLedger' | 'UpdateFaults') => `${simulatorUrl}/remit.processor.v1.SimulatorControlService/${method}`;
export const postJson = (body: unknown): RequestInit => ({ method: 'POST', headers: { ...controlHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });
