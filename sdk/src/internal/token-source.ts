/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): the access token a client sends instead of an API
 * key, obtained from `POST /oauth/token`, kept while it is fresh and replaced before it expires.
 *
 * Whatever number of calls need a token at once, one token request is in flight (single flight):
 * fifty calls on a cold client would otherwise send fifty requests, each counted against the
 * `token` quota, and keep only one of the tokens. The same holds when the API refuses a token
 * (`invalidate`): only the first refusal of a token drops it, so the calls that were refused with
 * it together wait for one new token rather than each fetching its own.
 *
 * The client secret and the tokens live in private fields only: no error message, enumerable
 * property, warning or debug log record carries them (a token request is logged by its method,
 * path, status and timing, as any attempt is).
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, AuthenticationError, BadRequestError, RemitError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Fetch } from '../core/request-options.js';
import { VERSION } from '../version.js';
import { connectionFailureReason, outcomeOf, parseBody, RETRY_COUNT_HEADER, sendAttempt, type Attempt } from './attempt.js';
import { logAttempt, logRetry, monotonicNow } from './attempt-log.js';
import { shouldRetry } from './retry.js';
import type { RuntimeHooks } from './runtime.js';

/** Where the token endpoint is, under the client's `baseURL`. */
export const TOKEN_PATH = '/oauth/token';
/** A token is replaced this long before it expires… */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;
/** …or, when it lives less than two margins, once this fraction of its life is left. */
export const TOKEN_REFRESH_FRACTION = 0.5;

/** What a token is asked for with, and how its request is sent. */
export interface TokenSourceConfig {
  readonly baseURL: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes to narrow the token to; undefined asks for every scope of the client. */
  readonly scope: string | undefined;
  readonly maxRetries: number;
  /** Milliseconds per attempt. */
  readonly timeout: number;
  readonly fetch: Fetch;
  readonly defaultHeaders: Readonly<Record<string, string>>;
  readonly hooks: RuntimeHooks;
  /** Given every token request attempt's record; none by default. */
  readonly logger?: Logger | undefined;
}

interface CachedToken {
  readonly accessToken: string;
  /** Local clock: from then on, the next call fetches a new token first. */
  readonly refreshAtMs: number;
  /** Local clock: the token is surely valid until then. */
  readonly expiresAtMs: number;
}

export class TokenSource {
  readonly #config: TokenSourceConfig;
  #cached: CachedToken | undefined;
  #inFlight: Promise<string> | undefined;

  constructor(config: TokenSourceConfig) {
    this.#config = config;
  }

  /**
   * Whether this source asks for the same token, at the same endpoint, through the same fetch: a
   * client derived with `withOptions` that keeps all of these shares its tokens.
   */
  serves(grant: Pick<TokenSourceConfig, 'baseURL' | 'clientId' | 'clientSecret' | 'scope' | 'fetch'>): boolean {
    const own = this.#config;
    return own.baseURL === grant.baseURL && own.clientId === grant.clientId && own.clientSecret === grant.clientSecret && own.scope === grant.scope && own.fetch === grant.fetch;
  }

  /**
   * A token to send now: the kept one while it is fresh, else the one being fetched. `signal` ends
   * this caller's wait only; the request goes on for the others waiting on it.
   */
  token(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    const now = this.#config.hooks.now();
    if (cached && now < cached.refreshAtMs) return Promise.resolve(cached.accessToken);
    if (!this.#inFlight) {
      const request = this.#obtain().finally(() => {
        this.#inFlight = undefined;
      });
      // Every waiter may have gone (aborted): the failure must not surface as an unhandled rejection.
      request.catch(() => undefined);
      this.#inFlight = request;
    }
    // A refresh ahead of expiry that fails (the token endpoint is down) must not fail calls the
    // kept token can still make: they use it, and the next call tries the refresh again.
    const stillValid = cached && now < cached.expiresAtMs ? cached.accessToken : undefined;
    const pending = stillValid === undefined ? this.#inFlight : this.#inFlight.catch(() => stillValid);
    return waitFor(pending, signal);
  }

  /**
   * The API refused `token` (401 `invalid_token`: expired, its signing key withdrawn, its client
   * revoked): forget it, so the next `token()` fetches another. A token other than the kept one
   * (already replaced by an earlier refusal) changes nothing.
   */
  invalidate(token: string): void {
    if (this.#cached?.accessToken === token) this.#cached = undefined;
  }

  async #obtain(): Promise<string> {
    const { baseURL, clientId, clientSecret, scope, maxRetries, timeout, fetch, defaultHeaders, hooks, logger } = this.#config;
    const url = `${baseURL}${TOKEN_PATH}`;
    const headers = new Headers(defaultHeaders);
    headers.set('Accept', 'application/json');
    headers.set('User-Agent', `remit-sdk-node/${VERSION}`);
    headers.set('Content-Type', 'application/x-www-form-urlencoded');
    headers.set('Authorization', basicCredentials(clientId, clientSecret));
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) form.set('scope', scope);
    const body = form.toString();

    // A token request moves no money: sending it again at worst issues a second token, so it is
    // retried like any repeatable call (connection errors, timeouts, 408, 429, 5xx), never on a
    // refusal (400, 401), which the same credentials would get again.
    for (let retriesDone = 0; ; retriesDone++) {
      headers.set(RETRY_COUNT_HEADER, String(retriesDone));
      // The token's life is counted from before it was asked for, on the local clock: the server's
      // clock may be off, but `expires_in` is a duration, and this start is never later than its.
      const sentAtMs = hooks.now();
      const startedMs = monotonicNow();
      const attempt = await sendAttempt(fetch, url, { method: 'POST', headers, body }, timeout, undefined);
      // The record names the method and the path only: the secret (in the Authorization header)
      // and the token (in the answer's body) are in neither.
      const logged = { method: 'POST', url, attempt: retriesDone + 1, result: attempt, durationMs: monotonicNow() - startedMs };
      if (attempt.kind === 'response' && attempt.response.ok) {
        logAttempt(logger, logged);
        return this.#keep(attempt, sentAtMs);
      }
      const errorBody = attempt.kind === 'response' ? parseBody(attempt.text) : undefined;
      if (!shouldRetry(outcomeOf(attempt, errorBody), retriesDone, maxRetries)) {
        logAttempt(logger, logged);
        throw tokenFailure(attempt, errorBody, retriesDone + 1, timeout);
      }
      const delay = logRetry(logger, logged, { attempt, errorBody, retriesDone, hooks });
      await hooks.sleep(delay);
    }
  }

  #keep(attempt: Extract<Attempt, { kind: 'response' }>, sentAtMs: number): string {
    const answer = parseTokenResponse(attempt);
    const lifetimeMs = answer.expiresIn * 1000;
    const marginMs = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs * TOKEN_REFRESH_FRACTION);
    this.#cached = { accessToken: answer.accessToken, refreshAtMs: sentAtMs + lifetimeMs - marginMs, expiresAtMs: sentAtMs + lifetimeMs };
    return answer.accessToken;
  }
}

/**
 * `Authorization: Basic …` for the client (RFC 6749 §2.3.1): the id and the secret are each
 * form-encoded first, so a `:` in either cannot move the split, then joined by `:` and base64'd.
 * The encoded pair is ASCII, which `btoa` takes as it is.
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
}

/** `application/x-www-form-urlencoded` serialization of one value (space as `+`), as a form decoder reads it back. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** RFC 6749 §5.1, checked without ever quoting the body: it holds the token. */
function parseTokenResponse(attempt: Extract<Attempt, { kind: 'response' }>): { accessToken: string; expiresIn: number } {
  const requestId = attempt.response.headers.get('request-id') ?? 'without an id';
  let body: unknown;
  try {
    body = JSON.parse(attempt.text);
  } catch {
    throw new RemitError(`The token endpoint answered ${attempt.response.status} with a body that is not JSON (request ${requestId}).`);
  }
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = (body ?? {}) as Record<string, unknown>;
  if (typeof accessToken !== 'string' || accessToken === '') throw new RemitError(`The token endpoint's answer has no access_token (request ${requestId}).`);
  // The type is case-insensitive (RFC 6749 §5.1); a token of another type would not be understood as a Bearer one.
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw new RemitError(`The token endpoint issued a token of type ${String(tokenType)}, not Bearer (request ${requestId}).`);
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) throw new RemitError(`The token endpoint's answer has no positive expires_in (request ${requestId}).`);
  return { accessToken, expiresIn };
}

/**
 * The error a failed token request ends the waiting calls with. A refusal is typed by its OAuth
 * `error`: `invalid_client` (the id or the secret is wrong, or the client is revoked) is an
 * AuthenticationError whatever the status; another (`invalid_scope`, …) a BadRequestError.
 */
function tokenFailure(attempt: Attempt, body: unknown, attempts: number, timeout: number): RemitError {
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  switch (attempt.kind) {
    case 'response': {
      const init = { status: attempt.response.status, body, headers: attempt.response.headers };
      const error = APIError.generate(init);
      switch (error.oauthError?.error) {
        // A problem document (429, 5xx after the retries) or no body: typed by its status.
        case undefined:
          return error;
        case 'invalid_client':
          return new AuthenticationError(init);
        default:
          return new BadRequestError(init);
      }
    }
    case 'timeout':
      return new APIConnectionTimeoutError({ message: `The token request timed out (${timeout} ms per attempt, ${tries}).` });
    case 'aborted':
      return new APIUserAbortError({ cause: attempt.reason });
    case 'connection-error':
      return new APIConnectionError({ message: `Connection error while obtaining an access token: ${connectionFailureReason(attempt.error)} (${tries}).`, cause: attempt.error });
  }
}

/** `promise`, or an APIUserAbortError as soon as `signal` aborts, whichever comes first. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new APIUserAbortError({ cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new APIUserAbortError({ cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
