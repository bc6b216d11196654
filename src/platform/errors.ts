/**
 * The catalogue of every error the API can answer with. Each code is stable public contract: it is
 * listed in the spec (`ErrorCode`), and a test keeps the two in sync. Handlers throw AppError; the
 * problem middleware turns it into RFC 9457 `application/problem+json`. `meaning` and `action`
 * are what the problem type's page (`/problems/{code}`) tells a developer.
 */
import type { components } from '../../generated/schema.js';

type SpecErrorCode = components['schemas']['ErrorCode'];

export const errorCatalogue = {
  validation_failed: {
    status: 400,
    title: 'The request is not valid',
    meaning: 'A parameter, header or body member does not match the API reference: a wrong type, a value out of range, a missing required field, or a field the operation does not take.',
    action: 'Read `errors`: each entry names where the problem is (`/body/email`, `/query/limit`) and what is wrong. Fix the request; sending it again unchanged gets the same answer.',
  },
  malformed_json: {
    status: 400,
    title: 'The request body is not valid JSON',
    meaning: 'The body could not be parsed as JSON (RFC 8259), or could not be decoded as its Content-Encoding says.',
    action: 'Send a JSON document in UTF-8. Check for trailing commas, unquoted keys and truncated bodies.',
  },
  invalid_cursor: {
    status: 400,
    title: 'The cursor is not valid for this list',
    meaning: 'The `cursor` was not issued by this list, for this account and these filters, or it was altered.',
    action: 'Pass back `next_cursor` exactly as received, with the same filters as the request that returned it, or start again without a cursor.',
  },
  idempotency_key_required: {
    status: 400,
    title: 'This request needs an Idempotency-Key header',
    meaning: 'The operation moves money, so it is only accepted with an `Idempotency-Key` that makes a retry safe.',
    action: 'Send a key you generate once per logical request (a UUID, say) and reuse it on every retry of that request.',
  },
  authentication_required: {
    status: 401,
    title: 'Authentication is required',
    meaning: 'The request carried no `Authorization` header.',
    action: 'Send `Authorization: Bearer <secret>` with an API key (or the admin token for `/admin`).',
  },
  invalid_api_key: {
    status: 401,
    title: 'The credentials are not valid',
    meaning: 'The credentials are unknown, malformed or revoked.',
    action: 'Check the key, or create a new one. Repeated failures from one address are refused for a while (`429`, `auth` policy).',
  },
  invalid_token: {
    status: 401,
    title: 'The access token is not valid',
    meaning: 'The OAuth access token is malformed, has expired, was signed by a key no longer published, or was issued to a client since revoked. `WWW-Authenticate` says which in `error_description`.',
    action: 'Obtain a new token from `POST /oauth/token` and retry once (the SDK does). If the new token is refused too, the client has been revoked.',
  },
  insufficient_scope: {
    status: 403,
    title: 'The credentials lack the scope this operation needs',
    meaning: 'The API key or access token is valid but does not hold the scope the operation requires (`read` or `write`); `WWW-Authenticate` names it.',
    action: 'Use a key or a token with that scope. The refusal counts against the key’s or client’s quota.',
  },
  resource_not_found: {
    status: 404,
    title: 'No such resource',
    meaning: 'No resource with this id exists in the calling account. Another account’s resource answers the same way.',
    action: 'Check the id and the key’s account.',
  },
  route_not_found: {
    status: 404,
    title: 'No such route',
    meaning: 'No operation of this API has this path.',
    action: 'Check the path against the API reference (`/docs`).',
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed on this route',
    meaning: 'The path exists, but not with this method. `Allow` lists the methods it takes.',
    action: 'Use one of the methods in `Allow`.',
  },
  idempotency_in_flight: {
    status: 409,
    title: 'A request with this Idempotency-Key is still running',
    meaning: 'An earlier request with the same key has not finished yet; nothing was done for this one.',
    action: 'Retry with the same key after `Retry-After` seconds: you then get the first request’s answer.',
  },
  payment_not_capturable: {
    status: 409,
    title: 'The payment cannot be captured in its current status',
    meaning: 'Only a `requires_capture` payment can be captured; this one has moved on (captured, canceled or failed).',
    action: 'Retrieve the payment to see its status. Do not retry as is.',
  },
  payment_not_cancelable: {
    status: 409,
    title: 'The payment cannot be canceled in its current status',
    meaning: 'Only a `requires_capture` payment can be canceled; this one has moved on.',
    action: 'Retrieve the payment to see its status; refund a succeeded payment instead. Do not retry as is.',
  },
  payment_not_refundable: {
    status: 409,
    title: 'The payment cannot be refunded in its current status',
    meaning: 'Only a `succeeded` payment can be refunded.',
    action: 'Retrieve the payment to see its status. Do not retry as is.',
  },
  api_key_limit_reached: {
    status: 409,
    title: 'The account has as many active API keys as it may',
    meaning: 'An account may hold a limited number of active keys (100 unless its operator set API_KEYS_MAX_PER_ACCOUNT); it has that many.',
    action: 'Revoke a key you no longer use, then create the new one.',
  },
  oauth_client_limit_reached: {
    status: 409,
    title: 'The account has as many active OAuth clients as it may',
    meaning: 'An account may hold a limited number of active OAuth clients (100 unless its operator set OAUTH_CLIENTS_MAX_PER_ACCOUNT); it has that many.',
    action: 'Revoke a client you no longer use, then create the new one.',
  },
  payload_too_large: {
    status: 413,
    title: 'The request body is too large',
    meaning: 'The body is larger than the server reads: 64 KiB as sent unless its operator raised the limit. The detail says the limit.',
    action: 'Send a smaller body (metadata and descriptions are the usual suspects).',
  },
  unsupported_media_type: {
    status: 415,
    title: 'The request body must be application/json',
    meaning: 'The body was sent with another media type, or JSON in a charset other than UTF-8.',
    action: 'Send `Content-Type: application/json` and a UTF-8 body.',
  },
  idempotency_key_reused: {
    status: 422,
    title: 'The Idempotency-Key was used for a different request',
    meaning: 'This key was first used with another method, path or body. Keys belong to one logical request; nothing was done for this one.',
    action: 'Use a new key for a new request; reuse a key only to retry the very same request.',
  },
  amount_exceeds_refundable: {
    status: 422,
    title: 'The amount is more than remains refundable',
    meaning: 'The refund would take the payment’s refunded total above what was captured.',
    action: 'Refund at most `amount_captured − amount_refunded` of the payment.',
  },
  referenced_resource_not_found: {
    status: 422,
    title: 'A resource named in the request does not exist',
    meaning: 'A customer or payment named in the body does not exist in this account.',
    action: 'Check the id in the body and the key’s account.',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    meaning: 'A quota ran out (`RateLimit-Policy` names it); nothing was done.',
    action: 'Wait `Retry-After` seconds, then retry; the same Idempotency-Key is safe to send again. Spread requests using the `RateLimit` fields.',
  },
  internal_error: {
    status: 500,
    title: 'Internal server error',
    meaning: 'Something failed that should not have. The details are in the server’s log under the request id.',
    action: 'Retry with the same Idempotency-Key; if it keeps failing, report the `request_id`.',
  },
  service_unavailable: {
    status: 503,
    title: 'A dependency is unavailable',
    meaning: 'The database cannot serve right now.',
    action: 'Retry after `Retry-After` seconds, with the same Idempotency-Key for a write.',
  },
  currency_mismatch: {
    status: 422,
    title: 'The amount is not in the payment’s currency',
    meaning: 'A refund’s `amount.currency` differs from the currency of the payment it refunds.',
    action: 'Refund in the payment’s currency (its `amount.currency`).',
  },
  api_version_sunset: {
    status: 410,
    title: 'This operation has passed its sunset date',
    meaning: 'The operation was deprecated and its `Sunset` date has passed; it no longer answers.',
    action: 'Use its successor, named in the `Link` header (`rel="successor-version"`).',
  },
  processor_unavailable: {
    status: 503,
    title: 'The card processor is unavailable',
    meaning: 'The card processor did not answer, or its circuit is open. A payment stays `processing` and is finished by a retry or in the background; it is never charged twice.',
    action: 'Retry after `Retry-After` seconds with the same Idempotency-Key.',
  },
  webhook_endpoint_limit_reached: {
    status: 409,
    title: 'The account has as many webhook endpoints as it may',
    meaning: 'An account may register a limited number of webhook endpoints (16 unless its operator set WEBHOOK_ENDPOINTS_MAX_PER_ACCOUNT); it has that many.',
    action: 'Delete an endpoint you no longer use, or subscribe an existing one to more event types.',
  },
  webhook_endpoint_disabled: {
    status: 409,
    title: 'The webhook endpoint is disabled',
    meaning: 'Nothing is sent to a disabled endpoint, so a delivery cannot be retried or a range replayed to it. `disabled_reason` on the endpoint says why it was disabled.',
    action: 'Fix the receiver, enable the endpoint (`PATCH` with `status: enabled`), then retry or replay.',
  },
  webhook_url_not_allowed: {
    status: 422,
    title: 'The webhook URL cannot be sent to',
    meaning: 'Webhook URLs must use https and resolve to public addresses only, so that deliveries cannot be aimed at the network Remit runs in. The detail says which rule the URL broke.',
    action: 'Use a public https URL. For development against a local receiver, the operator can set WEBHOOK_ALLOW_PRIVATE_TARGETS=true.',
  },
  replay_window_invalid: {
    status: 422,
    title: 'The replay window ends before it begins',
    meaning: 'A replay resends the events created from `since` to `until`, both included; `until` is before `since`, so the window holds nothing.',
    action: 'Send `since` at or before `until` (Unix seconds).',
  },
  reconciliation_window_invalid: {
    status: 422,
    title: 'The reconciliation window is not one a run can check',
    meaning: 'A reconciliation compares what was created from `window_start` (included) to `window_end` (excluded): the window must end after it begins, end no later than now, and span at most 31 days.',
    action: 'Send Unix seconds with `window_start` < `window_end` <= now and at most 31 days between them; split a longer period into several runs.',
  },
} as const satisfies Record<SpecErrorCode, { status: number; title: string; meaning: string; action: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

// Both ways: a code the spec has and the catalogue lacks fails `satisfies` above; one the
// catalogue has and the spec lacks fails here.
const catalogueIsSpec: SpecErrorCode extends ErrorCode ? (ErrorCode extends SpecErrorCode ? true : never) : never = true;
void catalogueIsSpec;

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

/**
 * A caller hands out or takes away only scopes it holds itself (API keys, OAuth clients): `403
 * insufficient_scope` naming what it lacks, unless `held` has every one of `scopes`. `what` says who
 * does what, e.g. "A key can create keys".
 */
export function requireHeldScopes(held: readonly string[], scopes: readonly string[], what: string): void {
  const lacking = scopes.filter((s) => !held.includes(s));
  if (lacking.length === 0) return;
  throw new AppError('insufficient_scope', `${what} only with scopes it holds itself; this one lacks ${lacking.map((s) => `'${s}'`).join(', ')}.`, {
    headers: { 'WWW-Authenticate': `Bearer realm="remit", error="insufficient_scope", scope="${lacking.join(' ')}"` },
  });
}

export function notFound(resource: string, id: string): AppError {
  return new AppError('resource_not_found', `No ${resource} with id '${id}' exists in this account.`);
}

/** Retry-After (seconds) sent with 503s: long enough for a pool or a failover to recover. */
export const DEPENDENCY_RETRY_AFTER_S = 2;
