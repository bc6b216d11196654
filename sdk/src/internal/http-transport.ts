/**
 * One logical call over HTTP: the attempts, the waits between them, and the error it ends with.
 * The Idempotency-Key of an unsafe call is chosen once, before the first attempt, and every retry
 * sends the same one: the API then replays the first outcome instead of moving money twice.
 */
import { APIPromise } from '../core/api-promise.js';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, RemitError } from '../core/errors.js';
import { Page, PagePromise } from '../core/pagination.js';
import type { Fetch, RequestOptions } from '../core/request-options.js';
import type { DeprecationHandler } from '../core/deprecation.js';
import type { ReadCache } from '../core/read-cache.js';
import type { CallArgs, OperationSpec, Transport } from '../generated/resources.js';
import { VERSION } from '../version.js';
import { deprecationNoticeOf, warnOncePerOperation } from './deprecation.js';
import { isRepeatable, retryDelayMs, shouldRetry, type AttemptOutcome } from './retry.js';
import type { RuntimeHooks } from './runtime.js';
import { buildURL } from './url.js';
import { randomUUID } from './uuid.js';

/** The attempt number the SDK sends on every request (the spec's `Remit-Retry-Count`): 0, then 1, 2, … on retries. */
export const RETRY_COUNT_HEADER = 'Remit-Retry-Count';

export interface TransportConfig {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly maxRetries: number;
  readonly timeout: number;
  readonly fetch: Fetch;
  readonly defaultHeaders: Readonly<Record<string, string>>;
  readonly hooks: RuntimeHooks;
  readonly readCache?: ReadCache;
  /** The caller's deprecation hook; without one, a warning once per operation per process. */
  readonly onDeprecation?: DeprecationHandler;
}

type Attempt =
  | { readonly kind: 'response'; readonly response: Response; readonly text: string }
  | { readonly kind: 'connection-error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted'; readonly reason: unknown };

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
    return new APIPromise(this.#call(spec, args).then(({ response, body }) => ({ data: body as T, response })));
  }

  requestPage<Item>(spec: OperationSpec, args: CallArgs): PagePromise<Item> {
    const fetchPage = (cursor: string) => this.requestPage<Item>(spec, { ...args, query: { ...args.query, cursor } });
    return new PagePromise(
      this.#call(spec, args).then(({ response, body }) => ({
        data: new Page<Item>(body as ConstructorParameters<typeof Page<Item>>[0], fetchPage),
        response,
      })),
    );
  }

  async #call(spec: OperationSpec, args: CallArgs): Promise<Finished> {
    const answered: { response?: Response } = {};
    try {
      return await this.#attempts(spec, args, answered);
    } finally {
      // Once per call, success or failure, from the last answer the API gave it.
      if (answered.response) this.#noticeDeprecation(spec, answered.response);
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

  async #attempts(spec: OperationSpec, args: CallArgs, answered: { response?: Response }): Promise<Finished> {
    const options = args.options ?? {};
    const maxRetries = options.maxRetries ?? this.#config.maxRetries;
    const timeout = options.timeout ?? this.#config.timeout;
    checkMaxRetries(maxRetries);
    checkTimeout(timeout);
    const { signal } = options;
    const url = buildURL(this.#config.baseURL, spec.path, args.path, args.query);
    const body = args.body === undefined ? undefined : JSON.stringify(args.body);
    // Built once: the Idempotency-Key inside must be the same on every attempt.
    const headers = this.#headers(spec, options, body !== undefined);
    const repeatable = isRepeatable(spec);
    // A read this client made before: ask whether it changed (unless the caller asks about a tag of its own).
    const cache = spec.method === 'GET' ? this.#config.readCache : undefined;
    const cacheKey = `${this.#config.apiKey}\n${url}`;
    const kept = cache && !headers.has('If-None-Match') ? cache.get(cacheKey) : undefined;
    if (kept) headers.set('If-None-Match', kept.etag);

    for (let retriesDone = 0; ; retriesDone++) {
      if (signal?.aborted) throw new APIUserAbortError({ cause: signal.reason });
      // Which attempt this is (0 for the first): the server counts retries, so its operator sees a
      // retry storm building.
      headers.set(RETRY_COUNT_HEADER, String(retriesDone));
      const attempt = await this.#attempt(url, { method: spec.method, headers, body }, timeout, signal);
      if (attempt.kind === 'response') answered.response = attempt.response;
      if (attempt.kind === 'response' && attempt.response.status === 304 && kept) {
        return { response: attempt.response, body: parseSuccess({ response: attempt.response, text: kept.text }) };
      }
      if (attempt.kind === 'response' && attempt.response.ok) {
        const etag = attempt.response.headers.get('etag');
        const parsed = parseSuccess(attempt);
        if (cache && etag) cache.set(cacheKey, etag, attempt.text);
        return { response: attempt.response, body: parsed };
      }

      const errorBody = attempt.kind === 'response' ? parseBody(attempt.text) : undefined;
      if (!shouldRetry(outcomeOf(attempt, errorBody), retriesDone, maxRetries, repeatable)) {
        throw failure(attempt, errorBody, { attempts: retriesDone + 1, timeout });
      }
      const delay = retryDelayMs({
        headers: attempt.kind === 'response' ? attempt.response.headers : undefined,
        retriesDone,
        nowMs: this.#config.hooks.now(),
        random: this.#config.hooks.random(),
      });
      await this.#wait(delay, signal);
    }
  }

  #headers(spec: OperationSpec, options: RequestOptions, hasBody: boolean): Headers {
    const headers = new Headers({
      Accept: 'application/json',
      'User-Agent': `remit-sdk-node/${VERSION}`,
      Authorization: `Bearer ${this.#config.apiKey}`,
    });
    if (hasBody) headers.set('Content-Type', 'application/json');
    for (const [name, value] of Object.entries(this.#config.defaultHeaders)) headers.set(name, value);
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
    if (spec.unsafe) {
      // The caller's key wins (as an option, else as a header); otherwise one per logical call.
      if (options.idempotencyKey !== undefined) headers.set('Idempotency-Key', options.idempotencyKey);
      else if (!headers.has('Idempotency-Key')) headers.set('Idempotency-Key', randomUUID());
    }
    return headers;
  }

  /** One exchange, body included, bounded by `timeout` and by the caller's signal. */
  async #attempt(url: string, init: RequestInit, timeout: number, signal: AbortSignal | undefined): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    try {
      const response = await this.#config.fetch(url, { ...init, signal: controller.signal });
      const text = await response.text();
      return { kind: 'response', response, text };
    } catch (error) {
      if (signal?.aborted) return { kind: 'aborted', reason: signal.reason };
      if (timedOut) return { kind: 'timeout' };
      return { kind: 'connection-error', error };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
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

function outcomeOf(attempt: Attempt, body: unknown): AttemptOutcome {
  if (attempt.kind !== 'response') return { kind: attempt.kind };
  const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
  return { kind: 'response', status: attempt.response.status, code: typeof code === 'string' ? code : undefined };
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
    case 'connection-error': {
      const reason = attempt.error instanceof Error ? (attempt.error.cause instanceof Error ? attempt.error.cause.message : attempt.error.message) : String(attempt.error);
      return new APIConnectionError({ message: `Connection error: ${reason} (${tries}).`, cause: attempt.error });
    }
  }
}

/** An error body: JSON when it parses, the text otherwise, undefined when empty. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
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
