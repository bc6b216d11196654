/**
 * One request step, a burst or a poll: sends what the step says (through the SDK or fetch, every
 * attempt recorded), judges its assertions and keeps what it saves. What goes wrong before an
 * answer (a template naming nothing saved, an unknown SDK method) is the step's `error`, not a throw:
 * the run goes on. Only a stop by the user is thrown.
 */
import { APIUserAbortError } from '../../../sdk/src/index.js';
import { judge, type Subject } from './assertions.js';
import type { Exchange } from './exchange.js';
import { mostFrequent, statusLine } from './statuses.js';
import { readPath } from './paths.js';
import { sendRaw } from './raw-request.js';
import { recordingFetch, type AttemptSink, type FetchFunction } from './recorder.js';
import { callSdk, createClient, describeCall } from './sdk-call.js';
import { resolve, type Scope } from './template.js';
import { AbortedError, pool, sleep } from './timing.js';
import type { AttemptRecord, CallStep, RequestStep, StepResult } from './types.js';

export const MAX_REPEAT = 1000;
export const MAX_CONCURRENCY = 100;
const DEFAULT_CONCURRENCY = 10;
const DEFAULT_POLL_INTERVAL_MS = 250;

export interface StepContext {
  readonly baseURL: string;
  readonly apiKey: string;
  readonly fetch: typeof fetch;
  readonly signal?: AbortSignal;
  /** Per attempt, overriding the step's: cleanup after a stop must not hang on a server that does. */
  readonly timeoutMs?: number;
  /** Told of every attempt's answer (the rate-limit fields). */
  readonly onHeaders: (headers: Headers) => void;
}

export type StepOutcome = Omit<StepResult, 'iteration' | 'index' | 'name'>;

/** The run was stopped during this step: what the step did until then. */
export class StoppedError extends Error {
  constructor(readonly outcome: StepOutcome) {
    super('stopped by the user');
  }
}

export async function runExchangeStep(step: CallStep | RequestStep, context: StepContext, values: Map<string, unknown>, iteration: number): Promise<StepOutcome> {
  const started = performance.now();
  const attempts: AttemptRecord[] = [];
  const sink: AttemptSink = {
    attempt(record, headers) {
      attempts.push(record);
      if (headers) context.onHeaders(headers);
    },
  };
  const fetchRecorded = recordingFetch(context.fetch, sink);
  const scope = (index: number): Scope => ({ values, iteration, index });
  const burst = step.repeat !== undefined;
  const kind = burst ? 'burst' : 'request';

  const outcome = (fields: Partial<StepOutcome> & Pick<StepOutcome, 'status' | 'assertions' | 'passed'>): StepOutcome => ({
    kind,
    method: attempts[0]?.method ?? '',
    path: attempts[0]?.path ?? '',
    latencyMs: performance.now() - started,
    attempts,
    ...fields,
  });

  try {
    const send = (index: number) => sendOnce(step, context, fetchRecorded, scope(index));
    let responses: Exchange[];
    let note: string | undefined;
    if (burst) {
      const repeat = boundedInteger(resolve(step.repeat, scope(0)), 'repeat', MAX_REPEAT);
      const concurrency = boundedInteger(resolve(step.concurrency ?? Math.min(repeat, DEFAULT_CONCURRENCY), scope(0)), 'concurrency', MAX_CONCURRENCY);
      responses = await pool(repeat, concurrency, send);
      note = `${repeat} calls, ${concurrency} at a time: ${statusLine(responses.map((r) => r.status))}; ${attempts.length} requests`;
    } else if (step.poll) {
      ({ responses, note } = await poll(step, context, () => send(0), values, scope(0), attempts));
    } else {
      responses = [await send(0)];
    }

    // Saved first, so an assertion may name what its own step saves ("Location names {{customer}}").
    const unsaved = !burst && responses[0] ? save(step, responses[0], values) : undefined;
    const subject: Subject = { responses, attempts, burst };
    const assertions = (step.expect ?? []).map((a) => judge(a, subject, scope(0)));
    const unansweredCalls = responses.filter((r) => r.status === null);
    const noAnswer = unansweredCalls.length === 0 ? undefined : burst ? `${unansweredCalls.length} of ${responses.length} calls got no answer; the first: ${unansweredCalls[0]!.error}` : unansweredCalls[0]!.error;
    const error = noAnswer ?? unsaved;
    return outcome({
      status: burst ? mostFrequent(responses.map((r) => r.status)) : (responses[0]?.status ?? null),
      assertions,
      passed: error === undefined && assertions.every((a) => a.passed),
      error,
      note,
    });
  } catch (error) {
    if (error instanceof APIUserAbortError || error instanceof AbortedError) {
      throw new StoppedError(outcome({ status: attempts.at(-1)?.status ?? null, assertions: [], passed: false, error: 'stopped by the user' }));
    }
    const failed = outcome({ status: null, assertions: [], passed: false, error: (error as Error).message });
    if (attempts.length > 0) return failed;
    // Nothing was sent: the row still says what the step was for, its templates as written.
    const unsent = 'request' in step ? { method: step.request.method.toUpperCase(), path: step.request.path } : await describeCall(step.call, step.args ?? [], context.baseURL);
    return { ...failed, ...unsent };
  }
}

/** One call or request, with the step's templates resolved for this call of the burst. */
async function sendOnce(step: CallStep | RequestStep, context: StepContext, fetchRecorded: FetchFunction, scope: Scope): Promise<Exchange> {
  if ('request' in step) {
    const request = resolve(step.request, scope);
    return sendRaw(request, { baseURL: context.baseURL, apiKey: context.apiKey, fetch: fetchRecorded, signal: context.signal });
  }
  const client = resolve(step.client ?? {}, scope);
  const options = resolve(step.options ?? {}, scope);
  const sdk = createClient({
    ...client,
    apiKey: client.apiKey ?? context.apiKey,
    baseURL: context.baseURL,
    fetch: fetchRecorded,
    timeout: context.timeoutMs ?? client.timeout,
  });
  return callSdk(sdk, step.call, resolve(step.args ?? [], scope), { ...options, timeout: context.timeoutMs ?? options.timeout, signal: context.signal });
}

/** Sends again until every check and aggregate holds, or the time is up; the last answer is the step's. */
async function poll(
  step: CallStep | RequestStep,
  context: StepContext,
  send: () => Promise<Exchange>,
  values: Map<string, unknown>,
  scope: Scope,
  attempts: AttemptRecord[],
): Promise<{ responses: Exchange[]; note: string }> {
  const { timeoutMs, intervalMs = DEFAULT_POLL_INTERVAL_MS } = step.poll!;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const response = await send();
    const subject: Subject = { responses: [response], attempts, burst: false };
    save(step, response, values);
    const holds = (step.expect ?? []).every((a) => judge(a, subject, scope).passed);
    if (holds) return { responses: [response], note: `as expected after ${attempts.length} request${attempts.length === 1 ? '' : 's'}` };
    if (performance.now() + intervalMs > deadline) return { responses: [response], note: `still not as expected after ${attempts.length} requests over ${Math.round(timeoutMs / 1000)} s` };
    await sleep(intervalMs, context.signal);
  }
}

/** Keeps the step's `save` values; the reason when one is missing from the answer. */
function save(step: CallStep | RequestStep, response: Exchange, values: Map<string, unknown>): string | undefined {
  const missing: string[] = [];
  for (const [name, path] of Object.entries(step.save ?? {})) {
    const value = readPath(response, path);
    if (value === undefined) missing.push(`${name} (${path})`);
    else values.set(name, value);
  }
  return missing.length === 0 ? undefined : `nothing to save as ${missing.join(', ')}: the answer has no such value`;
}

function boundedInteger(value: unknown, what: string, max: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(`${what} must be a whole number from 1 to ${max}; it is ${JSON.stringify(value)}`);
  }
  return n;
}
