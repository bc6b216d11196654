/**
 * The debug log of a client: one record per HTTP attempt, API calls and OAuth token requests alike,
 * given to the `logger` option (or, with `REMIT_LOG=debug` in the environment and no `logger`,
 * written to `console.error`). A record names the request by its method and path only: never a
 * header, a body, a key, a client secret or an access token.
 */

/** What one HTTP attempt did. */
export interface AttemptRecord {
  /** The HTTP method, e.g. `POST`. */
  readonly method: string;
  /** The pathname with its query string, e.g. `/v1/payments?limit=3`. */
  readonly path: string;
  /** 1 for the first send of the call, 2 for the next one (a retry, or the resend after a refused access token), … */
  readonly attempt: number;
  /** The answer's status; `null` when there was no answer (connection error, timeout, abort). */
  readonly status: number | null;
  /** How long the attempt took, body included, in whole milliseconds. */
  readonly durationMs: number;
  /** The answer's `Request-Id`; `null` without one. */
  readonly requestId: string | null;
  /** Why there was no answer: `timeout`, `aborted`, or the connection's failure (e.g. `connect ECONNREFUSED 127.0.0.1:8080`). */
  readonly error?: string;
  /**
   * Present when the SDK sends the request again: why (e.g. `503`, `429 (Retry-After)`,
   * `409 idempotency_in_flight`, `connection error`, `timeout`, `access token refused`) and how
   * many milliseconds it waits first.
   */
  readonly retry?: { readonly reason: string; readonly waitMs: number };
}

/**
 * Receives the debug log: `debug` is called once per attempt, after the attempt, with a line for
 * people (`remit: POST /v1/payments 201 in 38 ms (attempt 1, request req_…)`) and the record it
 * describes. What it throws is ignored: it never changes a call's outcome.
 */
export interface Logger {
  debug(message: string, record: AttemptRecord): void;
}
