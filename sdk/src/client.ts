/**
 * `Remit`: the client. Its resource namespaces (`customers`, `payments`, …, and the versioned
 * `v2.payments`, `v2.refunds`) are generated from the spec's tags and operations; this file only
 * resolves the options and hands the calls to the HTTP transport.
 */
import { RemitError } from './core/errors.js';
import type { ClientOptions } from './core/request-options.js';
import { webhooks, type Webhooks } from './core/webhooks.js';
import { RemitResources } from './generated/resources.js';
import { checkMaxRetries, checkTimeout, HttpTransport } from './internal/http-transport.js';
import { defaultRuntimeHooks, runtimeHooks, type RuntimeHooks } from './internal/runtime.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 60_000;

export class Remit extends RemitResources {
  readonly baseURL: string;
  readonly maxRetries: number;
  /** Milliseconds per attempt. */
  readonly timeout: number;
  readonly #options: ClientOptions;
  /** Verifies the deliveries Remit sends to a webhook endpoint (`verify`) and signs test ones (`sign`), offline: no API key or request is used. */
  readonly webhooks: Webhooks = webhooks;

  constructor(options: ClientOptions) {
    if (typeof options?.apiKey !== 'string' || options.apiKey === '') {
      throw new RemitError('An apiKey is required: new Remit({ apiKey: "sk_…" }).');
    }
    const baseURL = (options.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    checkMaxRetries(maxRetries);
    checkTimeout(timeout);
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new RemitError('No fetch: pass one as `fetch`, or run on Node 20 or later.');
    if (options.onDeprecation !== undefined && typeof options.onDeprecation !== 'function') {
      throw new RemitError('onDeprecation must be a function: onDeprecation: (notice) => { … }.');
    }
    const hooks = (options as { [runtimeHooks]?: Partial<RuntimeHooks> })[runtimeHooks];

    super(
      new HttpTransport({
        apiKey: options.apiKey,
        baseURL,
        maxRetries,
        timeout,
        // Called unbound: some fetch implementations refuse any other `this`.
        fetch: (url, init) => fetchImpl(url, init),
        defaultHeaders: { ...options.defaultHeaders },
        readCache: options.readCache,
        onDeprecation: options.onDeprecation,
        hooks: { ...defaultRuntimeHooks, ...hooks },
      }),
    );
    this.baseURL = baseURL;
    this.maxRetries = maxRetries;
    this.timeout = timeout;
    this.#options = options;
  }

  /** A new client with these options changed, e.g. `remit.withOptions({ maxRetries: 5 })`. */
  withOptions(overrides: Partial<ClientOptions>): Remit {
    return new Remit({ ...this.#options, ...overrides });
  }
}
