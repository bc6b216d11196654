/**
 * The debug log of attempts: the record of one attempt, its line for people, the reason a retry
 * is given, and the logger a client uses when given none (`REMIT_LOG=debug`). The record is built
 * from the method, the URL's path and query, and what the attempt produced: no header or body goes
 * into it, so neither an API key, a client secret nor an access token can.
 */
import { RemitError } from '../core/errors.js';
import type { AttemptRecord, Logger } from '../core/logger.js';
import { connectionFailureReason, outcomeOf, type Attempt } from './attempt.js';
import { parseRateLimitResetMs, parseRetryAfterMs, retryDelayMs } from './retry.js';
import type { RuntimeHooks } from './runtime.js';

/** The environment variable that, set to `debug`, logs every attempt to `console.error` when the client is given no `logger`. */
export const LOG_ENVIRONMENT_VARIABLE = 'REMIT_LOG';

/** Writes each line to `console.error` (stderr), looked up at each line. */
export const consoleLogger: Logger = {
  debug: (message) => console.error(message),
};

/** The reason a resend after a refused access token is logged with. */
export const REFUSED_TOKEN_REASON = 'access token refused';

/** Refuses a `logger` option that is not an object with a `debug` method. */
export function checkLogger(value: unknown): asserts value is Logger | undefined {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || typeof (value as { debug?: unknown }).debug !== 'function') {
    throw new RemitError('logger must be an object with a debug method: logger: { debug: (message, record) => { … } }.');
  }
}

/**
 * `consoleLogger` when the environment says `REMIT_LOG=debug`, else none. Read through `globalThis`,
 * so that a runtime without `process` (a browser, an edge runtime) simply has no environment; a
 * runtime that refuses to read it (Deno without `--allow-env`) is treated the same way.
 */
export function loggerFromEnvironment(): Logger | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    return env?.[LOG_ENVIRONMENT_VARIABLE] === 'debug' ? consoleLogger : undefined;
  } catch {
    return undefined;
  }
}

/** Milliseconds on a monotonic clock where the runtime has one (`performance`), for durations. */
export function monotonicNow(): number {
  const performance = (globalThis as { performance?: { now(): number } }).performance;
  return performance ? performance.now() : Date.now();
}

export interface LoggedAttempt {
  readonly method: string;
  /** The whole URL the attempt was sent to: only its path and query are logged. */
  readonly url: string;
  readonly attempt: number;
  readonly result: Attempt;
  /** Milliseconds, as measured (rounded here). */
  readonly durationMs: number;
  /** Present when the request is sent again; `waitMs` as measured (rounded here). */
  readonly retry?: { readonly reason: string; readonly waitMs: number } | undefined;
}

/** Gives `logger` the attempt's line and record. What the logger throws is ignored: the call's outcome stands. */
export function logAttempt(logger: Logger | undefined, entry: LoggedAttempt): void {
  if (!logger) return;
  const record = attemptRecord(entry);
  try {
    logger.debug(attemptMessage(record), record);
  } catch {
    // A failing logger is not a failing call.
  }
}

export function attemptRecord(entry: LoggedAttempt): AttemptRecord {
  const { result } = entry;
  const answered = result.kind === 'response';
  return {
    method: entry.method,
    path: pathOf(entry.url),
    attempt: entry.attempt,
    status: answered ? result.response.status : null,
    durationMs: Math.round(entry.durationMs),
    requestId: answered ? result.response.headers.get('request-id') : null,
    ...(answered ? {} : { error: noAnswerReason(result) }),
    ...(entry.retry ? { retry: { reason: entry.retry.reason, waitMs: Math.round(entry.retry.waitMs) } } : {}),
  };
}

/**
 * `remit: POST /v1/payments 503 in 12 ms (attempt 1, request req_…); retrying in 1000 ms: 503`, or
 * for no answer `remit: GET /v1/customers failed in 5001 ms (attempt 2): timeout`.
 */
export function attemptMessage(record: AttemptRecord): string {
  const outcome =
    record.status === null
      ? `failed in ${record.durationMs} ms (attempt ${record.attempt}): ${record.error ?? 'no answer'}`
      : `${record.status} in ${record.durationMs} ms (attempt ${record.attempt}${record.requestId === null ? '' : `, request ${record.requestId}`})`;
  const next = record.retry ? `; retrying in ${record.retry.waitMs} ms: ${record.retry.reason}` : '';
  return `remit: ${record.method} ${record.path} ${outcome}${next}`;
}

/**
 * Why a failed attempt is tried again, in a few words: `timeout`, `connection error`, or the
 * status (`409` with its code, the one status whose code decides), followed by what set the wait
 * when the server did: `(Retry-After)` or `(RateLimit)`, the longer of the two.
 */
export function retryReason(attempt: Attempt, errorBody: unknown, nowMs: number): string {
  switch (attempt.kind) {
    case 'timeout':
      return 'timeout';
    case 'connection-error':
      return 'connection error';
    case 'aborted':
      return 'aborted';
    case 'response': {
      const { status, headers } = attempt.response;
      const outcome = outcomeOf(attempt, errorBody);
      const code = outcome.kind === 'response' ? outcome.code : undefined;
      const reason = status === 409 && code !== undefined ? `409 ${code}` : String(status);
      const retryAfterMs = parseRetryAfterMs(headers.get('retry-after'), nowMs);
      const resetMs = parseRateLimitResetMs(headers.get('ratelimit'));
      if (retryAfterMs !== undefined && (resetMs === undefined || retryAfterMs >= resetMs)) return `${reason} (Retry-After)`;
      if (resetMs !== undefined) return `${reason} (RateLimit)`;
      return reason;
    }
  }
}

function noAnswerReason(attempt: Exclude<Attempt, { kind: 'response' }>): string {
  switch (attempt.kind) {
    case 'timeout':
      return 'timeout';
    case 'aborted':
      return 'aborted';
    case 'connection-error':
      // A URL in the reason (fetch quotes one it refuses) loses any user:password@ it held.
      return connectionFailureReason(attempt.error).replace(/\/\/[^/?#\s@]*@/g, '//');
  }
}

/** The path and query of `url`, never its scheme, host or credentials. */
function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    // Not a URL fetch could send to either: drop whatever stands before the path.
    return url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  }
}

/**
 * The wait before retrying a failed attempt (its `Retry-After` or `RateLimit`, else backoff with
 * jitter), logged with the attempt and the reason: the one step every retry loop shares.
 */
export function logRetry(
  logger: Logger | undefined,
  logged: LoggedAttempt,
  context: { readonly attempt: Attempt; readonly errorBody: unknown; readonly retriesDone: number; readonly hooks: Pick<RuntimeHooks, 'now' | 'random'> },
): number {
  const { attempt, errorBody, retriesDone, hooks } = context;
  const nowMs = hooks.now();
  const delay = retryDelayMs({ headers: attempt.kind === 'response' ? attempt.response.headers : undefined, retriesDone, nowMs, random: hooks.random() });
  logAttempt(logger, { ...logged, retry: { reason: retryReason(attempt, errorBody, nowMs), waitMs: delay } });
  return delay;
}
