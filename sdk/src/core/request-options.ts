import type { components } from '../generated/schema.js';
import type { DeprecationHandler } from './deprecation.js';
import type { Logger } from './logger.js';
import type { ReadCache } from './read-cache.js';

/** What a `fetch` must look like to carry the SDK's requests: the built-in one, or a wrapper of it. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** Authenticate with an API key: `new Remit({ apiKey: 'sk_…' })`. */
export interface ApiKeyCredentials {
  /** The API key's secret (`sk_…`), sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
}

/**
 * Authenticate as an OAuth client (the client-credentials grant, RFC 6749 §4.4):
 * `new Remit({ clientId: 'cli_…', clientSecret: 'cs_…' })`. The client obtains short-lived access
 * tokens from `POST /oauth/token`, keeps one while it is fresh, replaces it before it expires, and
 * fetches a new one (then sends the call once more) when the API refuses it.
 */
export interface ClientCredentials {
  /** The OAuth client's id (`cli_…`). */
  clientId: string;
  /** The OAuth client's secret (`cs_…`): sent to the token endpoint only, never with an operation. */
  clientSecret: string;
  /** Narrows the tokens to some of the client's scopes, e.g. `['read']`. Default: all of them. */
  scope?: readonly components['schemas']['ApiKeyScope'][];
}

/**
 * One way to authenticate, and the options every client takes. Options naming both an API key and
 * client credentials are refused when the client is made (the type does not forbid them, so that a
 * wrapper spreading `Partial<ClientOptions>` over its own `apiKey` keeps compiling).
 */
export type ClientOptions = (ApiKeyCredentials | ClientCredentials) & CommonClientOptions;

export interface CommonClientOptions {
  /** Where the API listens. Default `http://127.0.0.1:8080`. */
  baseURL?: string;
  /**
   * Retries after the first attempt, for failures a retry can fix (connection errors, timeouts,
   * 408, 409 `idempotency_in_flight`, 429, 5xx). Default 2; 0 turns retries off. Token requests
   * follow it too; resending a call once after its access token was refused is not a retry.
   */
  maxRetries?: number;
  /** Milliseconds one attempt may take, body included, before it is abandoned. Default 60 000. */
  timeout?: number;
  /** The `fetch` to send requests with. Default the global one (Node 20+). */
  fetch?: Fetch;
  /** Headers sent with every request (a call's own `headers` win). */
  defaultHeaders?: Record<string, string>;
  /**
   * Revalidate reads: every GET sends the ETag of the answer this cache holds for it, and a `304`
   * returns that answer again (see ReadCache). Off by default.
   */
  readCache?: ReadCache;
  /**
   * Called with every answer that carries a `Deprecation` field (an operation the API has
   * deprecated), once per call, with its sunset date and successor. Without it, the client warns
   * once per operation per process with `console.warn`; `onDeprecation: () => {}` silences that.
   * What the hook throws does not change the call's outcome (the API has already answered): it is
   * reported with `console.warn`.
   */
  onDeprecation?: DeprecationHandler;
  /**
   * Given a record of every HTTP attempt, token requests included, after the attempt: method,
   * path and query, attempt number, status, duration, request id, and the retry that follows
   * (why, and the wait), never a header or a body. Without it, `REMIT_LOG=debug` in the
   * environment (read when the client is made) writes each line to `console.error`; otherwise
   * nothing is logged. What the logger throws is ignored.
   */
  logger?: Logger;
}

/** Per-call options: the last argument of every resource method. */
export interface RequestOptions {
  /** Extra headers for this call; they win over the client's. */
  headers?: Record<string, string>;
  /**
   * The `Idempotency-Key` of an unsafe call (POST, PATCH, DELETE). By default the SDK makes one
   * (a random UUID) per call and sends it on every retry of that call; pass your own to make a
   * retry of your own, e.g. after a crash, safe too.
   */
  idempotencyKey?: string;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
  /** Overrides the client's `timeout` (milliseconds per attempt) for this call. */
  timeout?: number;
  /** Aborts the call: the attempt in flight, or the wait before the next one. */
  signal?: AbortSignal;
}
