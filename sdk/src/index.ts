/**
 * @remit/sdk: a typed client for the Remit payments API.
 *
 *   const remit = new Remit({ apiKey: 'sk_…' }); // or { clientId: 'cli_…', clientSecret: 'cs_…' }
 *   const payment = await remit.payments.create({ amount: 2500, currency: 'EUR' });
 */
export { Remit, Remit as default, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from './client.js';
export type { ApiKeyCredentials, ClientCredentials, ClientOptions, CommonClientOptions, Fetch, RequestOptions } from './core/request-options.js';
export type { AttemptRecord, Logger } from './core/logger.js';
export type { RawOperation, RawRequestArgs } from './core/raw-request.js';
export { APIPromise, type WithResponse } from './core/api-promise.js';
export { Page, PagePromise } from './core/pagination.js';
export { ReadCache, DEFAULT_READ_CACHE_ENTRIES, type ReadCacheOptions } from './core/read-cache.js';
export {
  RemitError,
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  GoneError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  errorClassForStatus,
  type APIErrorClass,
  type APIErrorInit,
  type KnownErrorCode,
} from './core/errors.js';
export {
  parseDeprecationDate,
  parseSunsetDate,
  parseLinkHeader,
  type DeprecationNotice,
  type DeprecationHandler,
  type LinkValue,
} from './core/deprecation.js';
export {
  webhooks,
  WebhookVerificationError,
  WebhookHeadersError,
  WebhookSignatureError,
  WebhookTimestampError,
  WebhookTimestampTooOldError,
  WebhookTimestampTooNewError,
  WebhookSecretError,
  WebhookBodyError,
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  type Webhooks,
  type WebhookEvent,
  type WebhookHeaders,
  type WebhookVerifyOptions,
  type WebhookSignInput,
  type WebhookSignedHeaders,
  type WebhookVerificationErrorCode,
} from './core/webhooks.js';
export { newIdempotencyKey } from './internal/uuid.js';
export { VERSION } from './version.js';
export type * from './generated/resources.js';
