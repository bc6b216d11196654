/**
 * The adapter to the card processor (`PROCESSOR_URL`). Every call carries an idempotency key that
 * Remit derives from its own record (the payment or refund id), so the same logical operation sends
 * the same key on every retry — from this adapter, from a client's retry of the API request, or from
 * the background completer after a crash — and the processor applies it at most once.
 *
 * Resilience, outermost first (cockatiel):
 * - retry: transient failures only (timeouts, dropped or refused connections, 5xx, 408, 429), with
 *   exponential backoff and decorrelated jitter. A 4xx answer is the processor's decision and final.
 * - circuit breaker: after `breakerThreshold` consecutive transient failures, calls fail fast for
 *   `breakerHalfOpenMs`, then one trial call decides whether it closes. While open, the API answers
 *   503 `processor_unavailable` with a Retry-After of the time left, instead of piling up timeouts.
 * - timeout: each attempt is aborted after `timeoutMs`.
 *
 * The protocol is spec/processor.yaml: the types below are generated from it, and a refusal whose
 * code it does not list is a broken contract, thrown as ProcessorContractError rather than passed
 * on as a decision the caller would have to guess the meaning of.
 */
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { refusalCodeValues, type components } from '../../generated/processor.js';
import { PROCESSOR_BACKOFF_MAX_MS } from '../platform/config.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { secondsSince, type CircuitStateName, type Metrics, type ProcessorAttemptOutcome, type ProcessorCall, type ProcessorCallOutcome } from '../platform/metrics.js';

export interface ProcessorOptions {
  readonly url: string;
  readonly timeoutMs: number;
  /** Retries after the first attempt, for transient failures only. */
  readonly maxRetries: number;
  readonly breakerThreshold: number;
  readonly breakerHalfOpenMs: number;
  /** First backoff delay; doubles per retry with jitter, capped at `backoffMaxMs`. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly log?: Logger;
  /** Counts calls and attempts, times calls, and reports the breaker's state (`remit_processor_*`). */
  readonly metrics?: Metrics;
}

type Schemas = components['schemas'];
export type ProcessorCharge = Schemas['Charge'];
export type ProcessorRefund = Schemas['Refund'];
export type ProcessorChargeInput = Schemas['ChargeCreateRequest'];
export type ProcessorRefundInput = Schemas['RefundCreateRequest'];
export type ProcessorRefusalCode = Schemas['RefusalCode'];

/** A 4xx answer: the processor's decision, which retrying will not change. */
export interface ProcessorRefusal {
  readonly code: ProcessorRefusalCode;
  readonly message: string;
}

/** The processor's considered answer: success, or a refusal. */
export type ProcessorResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: ProcessorRefusal };

/** An answer outside spec/processor.yaml: a bug on one side of the protocol, neither a refusal nor worth a retry. */
export class ProcessorContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcessorContractError';
  }
}

/**
 * The `default` of a switch over refusal codes: it compiles only when every code has its case, so
 * a code added to the contract makes each caller decide what it means.
 */
export function unhandledRefusal(code: never): never {
  throw new ProcessorContractError(`no case for processor refusal ${String(code)}`);
}

const REFUSAL_CODES: ReadonlySet<string> = new Set(refusalCodeValues);

function toRefusal(status: number, payload: unknown): ProcessorRefusal {
  const { code, message } = (payload ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !REFUSAL_CODES.has(code) || typeof message !== 'string') {
    throw new ProcessorContractError(`processor answered ${status} outside its contract: ${JSON.stringify(payload)?.slice(0, 200)}`);
  }
  return { code: code as ProcessorRefusalCode, message };
}

/** The processor could not give an answer: every attempt failed transiently, or the breaker is open. */
export class ProcessorUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterS: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProcessorUnavailableError';
  }
}

/** An HTTP answer worth retrying: 5xx, 408 or 429. */
class TransientHttpError extends Error {
  constructor(readonly status: number) {
    super(`processor answered ${status}`);
    this.name = 'TransientHttpError';
  }
}

/** The connection failed: refused, reset, dropped before or while the answer came. */
class ConnectionError extends Error {
  constructor(cause: unknown) {
    super(`processor connection failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ConnectionError';
  }
}

/** What one attempt ended with, for `remit_processor_attempts_total`. */
function attemptOutcome(err: unknown): ProcessorAttemptOutcome {
  if (err instanceof TransientHttpError) return err.status === 408 ? 'http_408' : err.status === 429 ? 'http_429' : 'http_5xx';
  if (err instanceof ConnectionError) return 'connection';
  if (err instanceof TaskCancelledError || (err instanceof Error && err.name === 'AbortError')) return 'timeout';
  return 'invalid';
}

/** What a whole call ended with, retries included, for `remit_processor_calls_total`. */
function callOutcome(err: unknown): ProcessorCallOutcome {
  if (err instanceof BrokenCircuitError) return 'circuit_open';
  return isTransient(err) ? 'unavailable' : 'contract_error';
}

const CIRCUIT_STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

function isTransient(err: unknown): boolean {
  if (err instanceof TransientHttpError || err instanceof TaskCancelledError || err instanceof ConnectionError) return true;
  // Unparseable JSON means the answer was lost in transit, which a retry recovers; an abort is
  // the per-attempt timeout.
  return err instanceof SyntaxError || (err instanceof Error && err.name === 'AbortError');
}

interface Answer {
  readonly status: number;
  /** The body as sent; read only for the answers that are decisions (not 5xx, 408, 429). */
  readonly text: string;
}

/**
 * One POST of a JSON body over a kept-alive connection. node:http rather than fetch: a processor
 * call is on the path of every payment and refund, and fetch (web streams, its own signal and
 * body objects) takes about three times the CPU of node:http for the same call.
 */
function post(origin: URL, agent: HttpAgent, path: string, key: string, body: string, signal: AbortSignal): Promise<Answer> {
  const options: RequestOptions = {
    protocol: origin.protocol,
    hostname: origin.hostname,
    port: origin.port || undefined,
    path: `${origin.pathname.replace(/\/+$/, '')}${path}`,
    method: 'POST',
    agent,
    signal,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': key },
  };
  return new Promise<Answer>((resolve, reject) => {
    const onAnswer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 500 || status === 408 || status === 429) {
        res.resume();
        reject(new TransientHttpError(status));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
      // A body cut off mid-stream: the answer was lost in transit.
      res.on('error', (err) => reject(new ConnectionError(err)));
    };
    const req = origin.protocol === 'https:' ? httpsRequest(options, onAnswer) : httpRequest(options, onAnswer);
    req.on('error', (err) => reject(err.name === 'AbortError' ? err : new ConnectionError(err)));
    req.end(body);
  });
}

export interface ProcessorClient {
  createCharge(key: string, input: ProcessorChargeInput): Promise<ProcessorResult<ProcessorCharge>>;
  captureCharge(key: string, chargeId: string): Promise<ProcessorResult<ProcessorCharge>>;
  voidCharge(key: string, chargeId: string): Promise<ProcessorResult<ProcessorCharge>>;
  createRefund(key: string, input: ProcessorRefundInput): Promise<ProcessorResult<ProcessorRefund>>;
  /** `up`, or `degraded` while the breaker is open or testing (for `/ready`). */
  health(): 'up' | 'degraded';
}

export function createProcessorClient(options: ProcessorOptions): ProcessorClient {
  const origin = new URL(options.url);
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new Error(`processor URL must be http or https, not ${origin.protocol}`);
  // Connections are kept alive and reused across calls: one TCP (and TLS) handshake per
  // connection, not per call.
  const agent = origin.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const breaker: CircuitBreakerPolicy = circuitBreaker(handleWhen(isTransient), {
    halfOpenAfter: options.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
    options.log?.warn({ halfOpenAfterMs: options.breakerHalfOpenMs }, 'processor circuit opened');
  });
  breaker.onReset(() => options.log?.info('processor circuit closed'));
  const metrics = options.metrics;
  metrics?.watchCircuit(() => CIRCUIT_STATE_NAMES[breaker.state]);
  const policy = wrap(
    retry(handleWhen(isTransient), {
      maxAttempts: options.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffInitialMs ?? 100, maxDelay: options.backoffMaxMs ?? PROCESSOR_BACKOFF_MAX_MS }),
    }),
    breaker,
    timeout(options.timeoutMs, TimeoutStrategy.Aggressive),
  );

  const retryAfterS = () => {
    if (breaker.state === CircuitState.Open) {
      return Math.max(1, Math.ceil((openedAt + options.breakerHalfOpenMs - Date.now()) / 1000));
    }
    return 1;
  };

  /** One attempt: a POST and its answer read as the protocol says, counted by how it ended. */
  async function attempt<T>(kind: ProcessorCall, path: string, key: string, json: string, signal: AbortSignal, number: number): Promise<ProcessorResult<T>> {
    let outcome: ProcessorAttemptOutcome = 'invalid';
    try {
      const answer = await post(origin, agent, path, key, json, signal);
      const payload: unknown = JSON.parse(answer.text);
      if (answer.status >= 200 && answer.status < 300) {
        outcome = 'ok';
        return { ok: true, value: payload as T };
      }
      const refusal = toRefusal(answer.status, payload);
      outcome = 'refused';
      return { ok: false, refusal };
    } catch (err) {
      outcome = attemptOutcome(err);
      throw err;
    } finally {
      metrics?.processorAttempts.inc({ call: kind, attempt: String(number), outcome });
    }
  }

  async function call<T>(kind: ProcessorCall, path: string, key: string, body: unknown): Promise<ProcessorResult<T>> {
    const started = performance.now();
    let outcome: ProcessorCallOutcome = 'contract_error';
    try {
      const json = JSON.stringify(body);
      // A signal per call: without one, every concurrent call hangs a listener on cockatiel's
      // single shared signal, and Node warns past ten.
      const result = await policy.execute(({ signal, attempt: retries }) => attempt<T>(kind, path, key, json, signal, retries + 1), new AbortController().signal);
      outcome = result.ok ? 'succeeded' : 'refused';
      return result;
    } catch (err) {
      outcome = callOutcome(err);
      if (err instanceof BrokenCircuitError) {
        throw new ProcessorUnavailableError('The card processor is failing; calls are paused.', retryAfterS(), { cause: err });
      }
      if (isTransient(err)) {
        options.log?.warn({ err, path }, 'processor call failed after retries');
        throw new ProcessorUnavailableError('The card processor did not answer.', retryAfterS(), { cause: err });
      }
      throw err;
    } finally {
      if (metrics) {
        metrics.processorCalls.inc({ call: kind, outcome });
        metrics.processorDuration.observe({ call: kind }, secondsSince(started));
      }
    }
  }

  return {
    createCharge: (key, input) => call('charge', '/v1/charges', key, input),
    captureCharge: (key, chargeId) => call('capture', `/v1/charges/${encodeURIComponent(chargeId)}/capture`, key, {}),
    voidCharge: (key, chargeId) => call('void', `/v1/charges/${encodeURIComponent(chargeId)}/void`, key, {}),
    createRefund: (key, input) => call('refund', '/v1/refunds', key, input),
    health: () => (breaker.state === CircuitState.Closed ? 'up' : 'degraded'),
  };
}

export function processorUnavailable(err: ProcessorUnavailableError): AppError {
  return new AppError('processor_unavailable', `${err.message} Retry with the same Idempotency-Key after the delay in Retry-After.`, {
    headers: { 'Retry-After': String(err.retryAfterS) },
    cause: err,
  });
}

/** Runs a processor call, turning "no answer" into the 503 the API promises. */
export async function callProcessor<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ProcessorUnavailableError) throw processorUnavailable(err);
    throw err;
  }
}
