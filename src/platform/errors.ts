/**
 * The catalogue of every error the API can answer with. Each code is stable public contract: it is
 * listed in the spec (`ErrorCode`), and a test keeps the two in sync. Handlers throw AppError; the
 * problem middleware turns it into RFC 9457 `application/problem+json`.
 */
export const errorCatalogue = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_cursor: { status: 400, title: 'The cursor is not valid for this list' },
  idempotency_key_required: { status: 400, title: 'This request needs an Idempotency-Key header' },
  authentication_required: { status: 401, title: 'Authentication is required' },
  invalid_api_key: { status: 401, title: 'The credentials are not valid' },
  insufficient_scope: { status: 403, title: 'The API key lacks the scope this operation needs' },
  resource_not_found: { status: 404, title: 'No such resource' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route' },
  idempotency_in_flight: { status: 409, title: 'A request with this Idempotency-Key is still running' },
  payment_not_capturable: { status: 409, title: 'The payment cannot be captured in its current status' },
  payment_not_cancelable: { status: 409, title: 'The payment cannot be canceled in its current status' },
  payment_not_refundable: { status: 409, title: 'The payment cannot be refunded in its current status' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used for a different request' },
  amount_exceeds_refundable: { status: 422, title: 'The amount is more than remains refundable' },
  referenced_resource_not_found: { status: 422, title: 'A resource named in the request does not exist' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'A dependency is unavailable' },
  processor_unavailable: { status: 503, title: 'The card processor is unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly options: { headers?: Record<string, string>; errors?: FieldError[]; cause?: unknown } = {},
  ) {
    super(detail ?? errorCatalogue[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.status = errorCatalogue[code].status;
    this.title = errorCatalogue[code].title;
  }
}

export function notFound(resource: string, id: string): AppError {
  return new AppError('resource_not_found', `No ${resource} with id '${id}' exists in this account.`);
}

/** Retry-After (seconds) sent with 503s: long enough for a pool or a failover to recover. */
export const DEPENDENCY_RETRY_AFTER_S = 2;
