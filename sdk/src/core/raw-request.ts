/**
 * `remit.request(operation, args)`: any operation of the API by its method and path template,
 * including the ones the client has no resource method for (operators' admin operations, `/health`,
 * `/metrics`, `/docs`, `POST /oauth/token`). It is sent as the resource methods send theirs, with
 * retries, an Idempotency-Key, typed errors, deprecation notices, access tokens and the debug log.
 */
import type { RequestOptions } from './request-options.js';

/** An operation of the API, named by its method and path template. */
export interface RawOperation {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /**
   * A path template of the API, e.g. `/v1/payments/{id}/capture`; each `{name}` is filled from
   * `args.path` (URL-encoded, as the resource methods do). It starts with `/` and has no query:
   * pass that as `args.query`.
   */
  readonly path: string;
  /**
   * A POST the API deduplicates by Idempotency-Key, so retries after a 5xx or no answer are
   * safe. Default false for POST: such a POST is retried only when the answer says nothing was
   * done (408, 429). PUT, PATCH, DELETE and GET are repeatable by HTTP semantics whatever this
   * says. An Idempotency-Key is sent with every call but a GET whatever this says, as the
   * resource methods do.
   */
  readonly idempotent?: boolean;
  /**
   * `false`: send the call without the client's credentials (no API key, no access token is
   * requested), for operations that take none, or with `options.headers.Authorization` set by the
   * caller, e.g. an operator's admin token. Default true.
   */
  readonly authenticate?: boolean;
}

/** What to send with a `RawOperation`. */
export interface RawRequestArgs {
  /** The values of the path template's `{name}`s. */
  readonly path?: Record<string, string>;
  /** Query parameters, encoded as the resource methods encode theirs (an object value as `name[key]=…`). */
  readonly query?: object;
  /** The request body: sent as JSON, or as a form with `bodyEncoding: 'form'`. None with a GET. */
  readonly body?: unknown;
  /**
   * `'json'` (default), or `'form'`: `application/x-www-form-urlencoded` from a flat record of
   * strings (an undefined value is left out), as `POST /oauth/token` takes it.
   */
  readonly bodyEncoding?: 'json' | 'form';
  /** Per-call options, as every resource method takes them. */
  readonly options?: RequestOptions;
}
