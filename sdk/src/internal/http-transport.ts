/**
 * One logical call over HTTP: the attempts, the waits between them, and the error it ends with.
 * The Idempotency-Key of an unsafe call is chosen once, before the first attempt, and every retry
 * sends the same one: the API then replays the first outcome instead of moving money twice.
 *
 * A client with OAuth client credentials sends an access token instead of the API key, taken from
 * its TokenSource before each attempt. When the API refuses that token (401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`), the call drops it, waits for a new one and
 * sends the same request once more, Idempotency-Key included. That resend is not one of the
 * call's `maxRetries`: the refusal is not a failure of the request but of a credential the call
 * could not have known was stale, and the API authenticates before it does anything, so nothing
 * was done the first time, even for a call it does not deduplicate. A second refusal in a row
 * means a new token does not help (the client was revoked): it ends the call.
 *
 * The transport sends the generated operations (the resource methods) and the operations a caller
 * names by method and path (`remit.request`) through the same attempts: each becomes a
 * `PlannedCall`, which says whether the client's credentials go with it, how its answer is read and
 * whether the read cache may serve it. Every attempt is given to the client's logger, if any.
 */
import { APIPromise } from '../core/api-promise.js';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, RemitError } from '../core/errors.js';
import { Page, PagePromise } from '../core/pagination.js';
import type { Fetch, RequestOptions } from '../core/request-options.js';
import type { DeprecationHandler } from '../core/deprecation.js';
import type { Logger } from '../core/logger.js';
import type { RawOperation, RawRequestArgs } from '../core/raw-request.js';
import type { ReadCache } from '../core/read-cache.js';
import type { CallArgs, OperationSpec, Transport } from '../generated/resources.js';
import { VERSION } from '../version.js';
import { connectionFailureReason, outcomeOf, parseBody, RETRY_COUNT_HEADER, sendAttempt, type Attempt } from './attempt.js';
import { logAttempt, logRetry, monotonicNow, REFUSED_TOKEN_REASON } from './attempt-log.js';
import { deprecationNoticeOf, warnOncePerOperation } from './deprecation.js';
import { plannedRawCall } from './raw-operation.js';
import { isRepeatable, shouldRetry } from './retry.js';
import type { RuntimeHooks } from './runtime.js';
import type { TokenSource } from './token-source.js';
import { buildURL } from './url.js';
import { randomUUID } from './uuid.js';

/** What a call authenticates with: the API key itself, or access tokens for OAuth client credentials. */
export type Credentials =
  | { readonly kind: 'apiKey'; readonly apiKey: string }
  | {
      readonly kind: 'oauth';
      readonly tokens: TokenSource;
      /** Who the tokens act for (the client id): the read cache keeps each one's answers apart. */
      readonly principal: string;
    };

export interface TransportConfig {
  readonly credentials: Credentials;
  readonly baseURL: string;
  readonly maxRetries: number;
  readonly timeout: number;
  readonly fetch: Fetch;
  readonly defaultHeaders: Readonly<Record<string, string>>;
  readonly hooks: RuntimeHooks;
  readonly readCache?: ReadCache;
  /** The caller's deprecation hook; without one, a warning once per operation per process. */
  readonly onDeprecation?: DeprecationHandler;
  /** Given every attempt's record; none by default. */
  readonly logger?: Logger | undefined;
}

/** How the transport treats an operation. */
export interface Route {
  /** The operation: a generated one, or one built from a RawOperation. */
  readonly spec: OperationSpec;
  /** Whether the client's credentials (its API key, or an access token) go with the call. */
  readonly authenticate: boolean;
  /** `json`: the answer must be JSON (the generated operations); `any`: JSON or text, by its Content-Type. */
  readonly answer: 'json' | 'any';
  /** Whether the client's read cache may serve the call (a GET). */
  readonly cacheable: boolean;
}

/** A request body as it goes on the wire. */
export interface EncodedBody {
  readonly text: string;
  readonly contentType: string;
}

/** One logical call, ready to send. */
export interface PlannedCall {
  readonly route: Route;
  readonly path: Record<string, string>;
  readonly query?: object | undefined;
  readonly body?: EncodedBody | undefined;
  readonly options?: RequestOptions | undefined;
}

/** What a call by method and path accepts: JSON first, any other answer too (HTML, Prometheus text). */
const ANY_ANSWER = 'application/json, */*;q=0.8';

interface Finished {
  readonly response: Response;
  readonly body: unknown;
}

export class HttpTransport implements Transport {
  readonly #config: TransportConfig;

  constructor(config: TransportConfig) {
    this.#config = config;
  }

  request<T>(spec: OperationSpec, args: CallArgs): APIPromise<T> {
    return this.#respond<T>(() => generatedCall(spec, args));
  }

  requestPage<Item>(spec: OperationSpec, args: CallArgs): PagePromise<Item> {
    const fetchPage = (cursor: string) => this.requestPage<Item>(spec, { ...args, query: { ...args.query, cursor } });
    return new PagePromise(
      this.#call(() => generatedCall(spec, args)).then(({ response, body }) => ({
        data: new Page<Item>(body as ConstructorParameters<typeof Page<Item>>[0], fetchPage),
        response,
      })),
    );
  }

  /** An operation named by its method and path (`remit.request`); a mistake in it rejects the promise before anything is sent. */
  requestOperation<T>(operation: RawOperation, args: RawRequestArgs | undefined): APIPromise<T> {
    return this.#respond<T>(() => plannedRawCall(operation, args));
  }

  #respond<T>(plan: () => PlannedCall): APIPromise<T> {
    return new APIPromise(this.#call(plan).then(({ response, body }) => ({ data: body as T, response })));
  }

  async #call(plan: () => PlannedCall): Promise<Finished> {
    const call = plan();
    const answered: { response?: Response } = {};
    try {
      return await this.#attempts(call, answered);
    } finally {
      // Once per call, success or failure, from the last answer the API gave it.
      if (answered.response) this.#noticeDeprecation(call.route.spec, answered.response);
    }
  }

  /** Tells the caller's hook, or warns once per operation, when the answer says the operation is deprecated. */
  #noticeDeprecation(spec: OperationSpec, response: Response): void {
    const notice = deprecationNoticeOf(spec, response);
    if (!notice) return;
    const { onDeprecation, hooks } = this.#config;
    if (!onDeprecation) {
      warnOncePerOperation(notice, spec, hooks.warn);
      return;
    }
    try {
      onDeprecation(notice);
    } catch (error) {
      hooks.warn(`Remit: the onDeprecation hook threw for ${spec.operationId}; the call's outcome stands: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async #attempts(call: PlannedCall, answered: { response?: Response }): Promise<Finished> {
    const { route } = call;
    const { spec } = route;
    const options = call.options ?? {};
    const maxRetries = options.maxRetries ?? this.#config.maxRetries;
    const timeout = options.timeout ?? this.#config.timeout;
    checkMaxRetries(maxRetries);
    checkTimeout(timeout);
    const { signal } = options;
    const { logger, hooks } = this.#config;
    const url = buildURL(this.#config.baseURL, spec.path, call.path, call.query);
    const body = call.body?.text;
    // Built once: the Idempotency-Key inside must be the same on every attempt.
    const headers = this.#headers(route, options, call.body?.contentType);
    const repeatable = isRepeatable(spec);
    // A read this client made before: ask whether it changed (unless the caller asks about a tag of
    // its own). Only for the generated operations: a call by method and path may carry someone
    // else's Authorization, and the cache keeps answers apart by the client's own credentials.
    const cache = route.cacheable && spec.method === 'GET' ? this.#config.readCache : undefined;
    const credentials = route.authenticate ? this.#config.credentials : undefined;
    const principal = credentials?.kind === 'apiKey' ? credentials.apiKey : credentials?.principal;
    const cacheKey = `${principal}\n${url}`;
    const kept = cache && !headers.has('If-None-Match') ? cache.get(cacheKey) : undefined;
    if (kept) headers.set('If-None-Match', kept.etag);

    let retriesDone = 0;
    let attemptsSent = 0;
    let tokenRenewed = false;
    for (;;) {
      if (signal?.aborted) throw new APIUserAbortError({ cause: signal.reason });
      const token = credentials?.kind === 'oauth' ? await credentials.tokens.token(signal) : undefined;
      if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
      // How many times this request was sent before (0 for the first): the server counts retries,
      // so its operator sees a retry storm building.
      headers.set(RETRY_COUNT_HEADER, String(attemptsSent));
      attemptsSent += 1;
      const startedMs = monotonicNow();
      const attempt = await sendAttempt(this.#config.fetch, url, { method: spec.method, headers, body }, timeout, signal);
      const logged = { method: spec.method, url, attempt: attemptsSent, result: attempt, durationMs: monotonicNow() - startedMs };
      if (attempt.kind === 'response') answered.response = attempt.response;
      if (credentials?.kind === 'oauth' && token !== undefined && isRefusedToken(attempt)) {
        credentials.tokens.invalidate(token);
        if (!tokenRenewed) {
          tokenRenewed = true;
          logAttempt(logger, { ...logged, retry: { reason: REFUSED_TOKEN_REASON, waitMs: 0 } });
          continue;
        }
      }
      if (attempt.kind === 'response' && attempt.response.status === 304 && kept) {
        logAttempt(logger, logged);
        return { response: attempt.response, body: parseSuccess({ response: attempt.response, text: kept.text }) };
      }
      if (attempt.kind === 'response' && attempt.response.ok) {
        logAttempt(logger, logged);
        const etag = attempt.response.headers.get('etag');
        const parsed = route.answer === 'json' ? parseSuccess(attempt) : parseAnswer(attempt);
        if (cache && etag) cache.set(cacheKey, etag, attempt.text);
        return { response: attempt.response, body: parsed };
      }

      const errorBody = attempt.kind === 'response' ? parseBody(attempt.text) : undefined;
      if (!shouldRetry(outcomeOf(attempt, errorBody), retriesDone, maxRetries, repeatable)) {
        logAttempt(logger, logged);
        throw failure(attempt, errorBody, { attempts: attemptsSent, timeout });
      }
      const delay = logRetry(logger, logged, { attempt, errorBody, retriesDone, hooks });
      await this.#wait(delay, signal);
      retriesDone += 1;
    }
  }

  #headers(route: Route, options: RequestOptions, contentType: string | undefined): Headers {
    const { spec } = route;
    const { credentials } = this.#config;
    const headers = new Headers({
      Accept: route.answer === 'json' ? 'application/json' : ANY_ANSWER,
      'User-Agent': `remit-sdk-node/${VERSION}`,
    });
    // An access token is set before each attempt instead: it may change between attempts.
    if (route.authenticate && credentials.kind === 'apiKey') headers.set('Authorization', `Bearer ${credentials.apiKey}`);
    if (contentType !== undefined) headers.set('Content-Type', contentType);
    for (const [name, value] of Object.entries(this.#config.defaultHeaders)) headers.set(name, value);
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
    if (spec.unsafe) {
      // The caller's key wins (as an option, else as a header); otherwise one per logical call.
      if (options.idempotencyKey !== undefined) headers.set('Idempotency-Key', options.idempotencyKey);
      else if (!headers.has('Idempotency-Key')) headers.set('Idempotency-Key', randomUUID());
    }
    return headers;
  }

  /** The wait before the next attempt; the caller's signal ends it at once. */
  async #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new APIUserAbortError({ cause: signal.reason });
    if (ms <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new APIUserAbortError({ cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#config.hooks.sleep(ms, signal).then(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }
}

export function checkMaxRetries(value: unknown): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new RemitError(`maxRetries must be a non-negative integer, not ${String(value)}.`);
}

export function checkTimeout(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RemitError(`timeout must be a positive number of milliseconds, not ${String(value)}.`);
}

function failure(attempt: Attempt, body: unknown, context: { attempts: number; timeout: number }): RemitError {
  const tries = context.attempts === 1 ? '1 attempt' : `${context.attempts} attempts`;
  switch (attempt.kind) {
    case 'response':
      return APIError.generate({ status: attempt.response.status, body, headers: attempt.response.headers });
    case 'timeout':
      return new APIConnectionTimeoutError({ message: `Request timed out (${context.timeout} ms per attempt, ${tries}).` });
    case 'aborted':
      return new APIUserAbortError({ cause: attempt.reason });
    case 'connection-error':
      return new APIConnectionError({ message: `Connection error: ${connectionFailureReason(attempt.error)} (${tries}).`, cause: attempt.error });
  }
}

/** A resource method's call: the client's credentials, a JSON answer, the read cache for a GET. */
function generatedCall(spec: OperationSpec, args: CallArgs): PlannedCall {
  return {
    route: { spec, authenticate: true, answer: 'json', cacheable: true },
    path: args.path,
    query: args.query,
    body: args.body === undefined ? undefined : { text: JSON.stringify(args.body), contentType: 'application/json' },
    options: args.options,
  };
}

function parseSuccess(attempt: { readonly response: Response; readonly text: string }): unknown {
  if (attempt.text === '') return undefined;
  try {
    return JSON.parse(attempt.text);
  } catch (error) {
    const requestId = attempt.response.headers.get('request-id');
    throw new RemitError(`The API answered ${attempt.response.status} with a body that is not JSON (request ${requestId ?? 'without an id'}).`, { cause: error });
  }
}

/**
 * The answer of a call by method and path: JSON when its Content-Type says so (`application/json`,
 * `application/problem+json`, any `+json`), else the text as it came; undefined when empty.
 */
function parseAnswer(attempt: { readonly response: Response; readonly text: string }): unknown {
  if (attempt.text === '') return undefined;
  return isJsonMediaType(attempt.response.headers.get('content-type')) ? parseSuccess(attempt) : attempt.text;
}

function isJsonMediaType(contentType: string | null): boolean {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
}

/**
 * A 401 whose challenge says the access token is no good (RFC 6750 §3.1): `WWW-Authenticate:
 * Bearer …, error="invalid_token"`. Other 401s (no credentials at all) say nothing a new token changes.
 */
function isRefusedToken(attempt: Attempt): boolean {
  if (attempt.kind !== 'response' || attempt.response.status !== 401) return false;
  return challengeParams(attempt.response.headers.get('www-authenticate')).some(([name, value]) => name === 'error' && value === 'invalid_token');
}

/**
 * The auth-params of a `WWW-Authenticate` field, as [lower-case name, unquoted value] pairs. A
 * quoted value is read whole, so an `error="…"` inside an `error_description` is not taken for one.
 */
function challengeParams(field: string | null): [string, string][] {
  const params: [string, string][] = [];
  for (const match of (field ?? '').matchAll(/([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)/g)) {
    const raw = match[2]!;
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    params.push([match[1]!.toLowerCase(), value]);
  }
  return params;
}
