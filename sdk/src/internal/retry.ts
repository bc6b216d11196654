/**
 * The retry policy: whether a failed attempt is tried again, and how long to wait first. Both are
 * pure functions of what the attempt produced, so every rule is tested without a network or a clock.
 * The API's contract (spec/openapi.yaml, "Retries"): a 4xx means "do not retry as is", except 429
 * and 409 `idempotency_in_flight`; a 5xx is safe to retry with the same Idempotency-Key.
 */

/** What one attempt produced, as far as the retry decision needs to know. */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly code?: string | undefined }
  | { readonly kind: 'connection-error' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/** The codes a 409 may carry that mean "the same request is still running; ask again". */
export const RETRYABLE_CONFLICT_CODES: readonly string[] = ['idempotency_in_flight'];

/**
 * Whether sending an operation again cannot do it twice: safe methods, PUT/PATCH/DELETE (idempotent
 * by HTTP semantics), and a POST the API deduplicates by its Idempotency-Key.
 */
export function isRepeatable(operation: { readonly method: string; readonly headerParams: readonly string[] }): boolean {
  return operation.method !== 'POST' || operation.headerParams.some((h) => h.toLowerCase() === 'idempotency-key');
}

/**
 * Whether to try again after `outcome`, given the retries already made. The order matters: the
 * first rule that applies decides.
 *
 * `repeatable` is false for a POST the API does not deduplicate (it takes no Idempotency-Key, e.g.
 * creating an API key): sending it twice may do it twice, so it is retried only when the answer
 * says nothing was done.
 */
export function shouldRetry(outcome: AttemptOutcome, retriesDone: number, maxRetries: number, repeatable = true): boolean {
  // The caller gave up: never send anything more on their behalf.
  if (outcome.kind === 'aborted') return false;

  // Out of retries.
  if (retriesDone >= maxRetries) return false;

  // A call that is not safe to repeat: only a refusal before any work (over quota, or the server
  // timed out reading the request) is retried. No answer, or a 5xx, may hide a done deed.
  if (!repeatable) return outcome.kind === 'response' && (outcome.status === 429 || outcome.status === 408);

  // No answer (refused, reset, dropped, or timed out): the request may or may not have been
  // applied. Unsafe calls carry an Idempotency-Key, so the server replays rather than repeats.
  if (outcome.kind === 'connection-error' || outcome.kind === 'timeout') return true;

  const { status, code } = outcome;

  // 408 Request Timeout: the server gave up waiting for the request; nothing was done.
  if (status === 408) return true;

  // 409 is a state conflict (do not retry: the state will not change by asking again), except
  // `idempotency_in_flight`: the first request with this key is still running, and a retry with
  // the same key gets its answer once it finishes.
  if (status === 409) return code !== undefined && RETRYABLE_CONFLICT_CODES.includes(code);

  // 429: over quota; nothing was done. The answer says when the quota resets.
  if (status === 429) return true;

  // 5xx: the server or a dependency failed (503 says for how long). Safe with the same key.
  if (status >= 500) return true;

  // Any other 4xx: the request itself is wrong; sending it again gives the same answer.
  return false;
}

/** Backoff without server guidance: 0.5 s, 1 s, 2 s, 4 s, 8 s, 8 s, … before jitter. */
export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
/** The longest wait the SDK accepts from a server; a longer one is shortened to this. */
export const MAX_SERVER_DELAY_MS = 60_000;

/**
 * How long to wait before retry number `retriesDone + 1`. The server's word comes first: the
 * longer of `Retry-After` (RFC 9110 §10.2.3, seconds or an HTTP-date) and, when the `RateLimit`
 * field (IETF httpapi ratelimit-headers draft) says a quota has nothing left, its reset `t`, since
 * a retry before that reset is refused again. Capped at `MAX_SERVER_DELAY_MS`, then spread a little
 * later (never earlier). Without either, exponential backoff with jitter.
 *
 * @param random a number in [0, 1), e.g. `Math.random()`
 * @param nowMs the current time, for an HTTP-date `Retry-After`
 */
export function retryDelayMs(input: {
  readonly headers?: Headers | undefined;
  readonly retriesDone: number;
  readonly nowMs: number;
  readonly random: number;
}): number {
  const server = input.headers ? serverDelayMs(input.headers, input.nowMs) : undefined;
  if (server !== undefined) return spreadServerDelayMs(Math.min(server, MAX_SERVER_DELAY_MS), input.random);
  return backoffMs(input.retriesDone, input.random);
}

/** The most added to a server-given wait: a fifth of it, and never more than a second. */
export const MAX_SERVER_DELAY_SPREAD_MS = 1_000;

/**
 * A server-given wait, never shortened, plus up to a fifth (at most a second) at random: clients
 * told the same quota reset would otherwise all return in the same instant and meet a fresh
 * window together, where most of them are refused again.
 */
export function spreadServerDelayMs(ms: number, random: number): number {
  return ms + random * Math.min(ms / 5, MAX_SERVER_DELAY_SPREAD_MS);
}

/** Exponential backoff with jitter: the doubling delay, less up to a quarter of it at random. */
export function backoffMs(retriesDone: number, random: number): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** retriesDone, MAX_RETRY_DELAY_MS);
  // Jitter spreads clients that failed together so they do not all come back at once.
  return base * (1 - 0.25 * random);
}

/** The wait the response asks for, in ms, or undefined when it asks for none. */
export function serverDelayMs(headers: Headers, nowMs: number): number | undefined {
  const candidates = [parseRetryAfterMs(headers.get('retry-after'), nowMs), parseRateLimitResetMs(headers.get('ratelimit'))];
  const known = candidates.filter((d): d is number => d !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

/** `Retry-After: 7` or `Retry-After: Wed, 21 Oct 2025 07:28:00 GMT`, as ms from `nowMs` (never negative). */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date always names its day or month; without a letter it is neither form.
  const at = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * `RateLimit: "write";r=0;t=7` (several policies may be listed, comma-separated): the longest reset
 * `t` among the policies with no requests `r` left, in ms. A policy with requests left asks for no wait.
 */
export function parseRateLimitResetMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  let longest: number | undefined;
  for (const item of value.split(',')) {
    const params = new Map<string, string>();
    for (const part of item.split(';').slice(1)) {
      const [key, raw] = part.split('=', 2);
      if (key !== undefined && raw !== undefined) params.set(key.trim(), raw.trim());
    }
    const remaining = params.get('r');
    const reset = params.get('t');
    if (remaining === undefined || reset === undefined || !/^\d+$/.test(remaining) || !/^\d+$/.test(reset)) continue;
    if (Number(remaining) > 0) continue;
    longest = Math.max(longest ?? 0, Number(reset) * 1000);
  }
  return longest;
}
