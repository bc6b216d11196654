/**
 * `Remit`: the client. Its resource namespaces (`customers`, `payments`, …, and the versioned
 * `v2.payments`, `v2.refunds`) are generated from the spec's tags and operations; this file only
 * resolves the options and hands the calls to the HTTP transport, as it does the calls `request`
 * names by method and path.
 */
import type { APIPromise } from './core/api-promise.js';
import { RemitError } from './core/errors.js';
import type { RawOperation, RawRequestArgs } from './core/raw-request.js';
import type { ClientOptions, Fetch } from './core/request-options.js';
import { webhooks, type Webhooks } from './core/webhooks.js';
import { RemitResources } from './generated/resources.js';
import { checkLogger, loggerFromEnvironment } from './internal/attempt-log.js';
import { checkMaxRetries, checkTimeout, HttpTransport, type Credentials } from './internal/http-transport.js';
import { defaultRuntimeHooks, runtimeHooks, type RuntimeHooks } from './internal/runtime.js';
import { TokenSource } from './internal/token-source.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** How `withOptions` hands its token source to the client it derives (not part of the public API). */
const inheritedTokens: unique symbol = Symbol('remit.inheritedTokens');

interface InternalOptions {
  [runtimeHooks]?: Partial<RuntimeHooks>;
  [inheritedTokens]?: TokenSource;
}

/** The options that name the credentials: `withOptions` replaces them as a set. */
const API_KEY_OPTIONS = ['apiKey'] as const;
const CLIENT_CREDENTIALS_OPTIONS = ['clientId', 'clientSecret', 'scope'] as const;

type Grant = { readonly apiKey: string } | { readonly clientId: string; readonly clientSecret: string; readonly scope: string | undefined };

export class Remit extends RemitResources {
  readonly baseURL: string;
  readonly maxRetries: number;
  /** Milliseconds per attempt. */
  readonly timeout: number;
  readonly #options: ClientOptions;
  /** The access tokens of a client with OAuth client credentials; undefined with an API key. */
  readonly #tokens: TokenSource | undefined;
  readonly #transport: HttpTransport;
  /** Verifies the deliveries Remit sends to a webhook endpoint (`verify`) and signs test ones (`sign`), offline: no API key or request is used. */
  readonly webhooks: Webhooks = webhooks;

  constructor(options: ClientOptions) {
    const grant = grantOf(options);
    const baseURL = (options.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    checkMaxRetries(maxRetries);
    checkTimeout(timeout);
    const fetchImpl: Fetch = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new RemitError('No fetch: pass one as `fetch`, or run on Node 20 or later.');
    if (options.onDeprecation !== undefined && typeof options.onDeprecation !== 'function') {
      throw new RemitError('onDeprecation must be a function: onDeprecation: (notice) => { … }.');
    }
    checkLogger(options.logger);
    // Without a logger of the caller's, REMIT_LOG=debug in the environment (read now) logs to stderr.
    const logger = options.logger ?? loggerFromEnvironment();
    const internal = options as InternalOptions;
    const hooks = { ...defaultRuntimeHooks, ...internal[runtimeHooks] };
    const defaultHeaders = { ...options.defaultHeaders };

    let credentials: Credentials;
    let tokens: TokenSource | undefined;
    if ('apiKey' in grant) {
      credentials = { kind: 'apiKey', apiKey: grant.apiKey };
    } else {
      const inherited = internal[inheritedTokens];
      tokens = inherited?.serves({ ...grant, baseURL, fetch: fetchImpl })
        ? inherited
        : new TokenSource({ ...grant, baseURL, maxRetries, timeout, fetch: fetchImpl, defaultHeaders, hooks, logger });
      credentials = { kind: 'oauth', tokens, principal: `oauth-client:${grant.clientId}` };
    }

    const transport = new HttpTransport({
      credentials,
      baseURL,
      maxRetries,
      timeout,
      // Called unbound: some fetch implementations refuse any other `this`.
      fetch: (url, init) => fetchImpl(url, init),
      defaultHeaders,
      readCache: options.readCache,
      onDeprecation: options.onDeprecation,
      hooks,
      logger,
    });
    super(transport);
    this.#transport = transport;
    this.baseURL = baseURL;
    this.maxRetries = maxRetries;
    this.timeout = timeout;
    this.#options = options;
    this.#tokens = tokens;
  }

  /**
   * Any operation of the API by its method and path template, for the ones the client has no
   * method for (operators' admin operations, `/health`, `/metrics`, `/docs`, `POST /oauth/token`)
   * or that a tool reaches by name:
   *
   *   const health = await remit.request({ method: 'GET', path: '/health', authenticate: false });
   *   const payment = await remit.request({ method: 'POST', path: '/v1/payments/{id}/capture', idempotent: true }, { path: { id } });
   *
   * It is sent as the resource methods send theirs: the client's credentials (unless
   * `authenticate: false`), an Idempotency-Key with every call but a GET, retries (a POST only
   * when `idempotent`, or when the answer says nothing was done), the same typed errors, the
   * deprecation notices and the debug log. The result is the parsed JSON when the answer is JSON,
   * else its text (HTML, Prometheus text), and undefined when the answer is empty; nothing checks
   * it against `T`. The read cache does not serve these calls. A mistake in the operation or its
   * arguments rejects the promise before anything is sent.
   */
  request<T = unknown>(operation: RawOperation, args?: RawRequestArgs): APIPromise<T> {
    return this.#transport.requestOperation<T>(operation, args);
  }

  /**
   * A new client with these options changed, e.g. `remit.withOptions({ maxRetries: 5 })`. New
   * credentials replace the old ones as a whole (`{ apiKey }` on a client with a `clientId`, or the
   * reverse). A client with OAuth client credentials shares its access token with the derived
   * client while the grant, the `baseURL` and the `fetch` stay the same: one token then serves
   * both, and the token is still requested with the settings (retries, timeout, headers, logger)
   * of the client that first made it.
   */
  withOptions(overrides: Partial<ClientOptions>): Remit {
    const base: Record<string | symbol, unknown> = { ...this.#options };
    const sets = (names: readonly string[]) => names.some((name) => (overrides as Record<string, unknown>)[name] !== undefined);
    if (sets(API_KEY_OPTIONS)) for (const name of CLIENT_CREDENTIALS_OPTIONS) delete base[name];
    if (sets(CLIENT_CREDENTIALS_OPTIONS)) for (const name of API_KEY_OPTIONS) delete base[name];
    const derived = { ...base, ...overrides, [inheritedTokens]: this.#tokens };
    return new Remit(derived as ClientOptions);
  }
}

/**
 * The credentials the options name: exactly one of an API key, or an OAuth client's id and secret
 * (with an optional scope). The messages never quote a value: it may be a secret.
 */
function grantOf(options: ClientOptions | undefined): Grant {
  const { apiKey, clientId, clientSecret, scope } = (options ?? {}) as Partial<Record<'apiKey' | 'clientId' | 'clientSecret', unknown>> & { scope?: unknown };
  const usesClient = clientId !== undefined || clientSecret !== undefined || scope !== undefined;
  if (apiKey !== undefined && usesClient) {
    throw new RemitError('Pass either an apiKey or an OAuth clientId and clientSecret, not both.');
  }
  if (!usesClient) {
    if (typeof apiKey !== 'string' || apiKey === '') {
      throw new RemitError('An apiKey is required: new Remit({ apiKey: "sk_…" }), or OAuth client credentials: new Remit({ clientId: "cli_…", clientSecret: "cs_…" }).');
    }
    return { apiKey };
  }
  if (typeof clientId !== 'string' || clientId === '') throw new RemitError('clientId must be a non-empty string: the OAuth client\'s id ("cli_…").');
  if (typeof clientSecret !== 'string' || clientSecret === '') {
    throw new RemitError('clientSecret must be a non-empty string: the secret shown once when the OAuth client was created ("cs_…").');
  }
  if (scope === undefined) return { clientId, clientSecret, scope: undefined };
  // Each a scope-token of RFC 6749 §3.3 (printable ASCII but space, `"` and `\`): joined by spaces on the wire.
  if (!Array.isArray(scope) || scope.length === 0 || !scope.every((s) => typeof s === 'string' && /^[!#-[\]-~]+$/.test(s))) {
    throw new RemitError('scope must be a non-empty array of scopes, e.g. scope: ["read"].');
  }
  return { clientId, clientSecret, scope: (scope as string[]).join(' ') };
}
