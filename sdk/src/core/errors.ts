/**
 * Every error the SDK throws is a `RemitError`. An answer from the API that is not a success is an
 * `APIError` of the class its status names (one table, `errorClassForStatus`); a call that got no
 * answer is an `APIConnectionError` (`APIConnectionTimeoutError` when an attempt ran out of time);
 * a call the caller aborted is an `APIUserAbortError`.
 */
import type { components } from '../generated/schema.js';
import { linkTarget, parseLinkHeader, parseSunsetDate } from './deprecation.js';

/** An RFC 9457 problem document, as the API sends with every error. */
export type Problem = components['schemas']['Problem'];
/** The error codes the spec lists. The API may add codes: treat an unknown one by its status. */
export type KnownErrorCode = components['schemas']['ErrorCode'];
/** An OAuth error (RFC 6749 §5.2): what the token endpoint sends instead of a problem document. */
export type OAuthError = components['schemas']['OAuthError'];

export class RemitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // `instanceof` must hold for every subclass whatever the compilation target; and the name is
    // what a log line shows.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = new.target.name;
  }
}

export interface APIErrorInit {
  readonly status: number;
  /** The parsed JSON body, or the text when it was not JSON, or undefined when empty. */
  readonly body: unknown;
  readonly headers: Headers;
}

/** The API answered, and the answer was not a success. */
export class APIError extends RemitError {
  /** The HTTP status. */
  readonly status: number;
  /**
   * The problem's stable `code` (e.g. `payment_not_capturable`), when the body is a problem
   * document; from the token endpoint, the OAuth `error` (e.g. `invalid_client`).
   */
  readonly code: KnownErrorCode | OAuthError['error'] | (string & {}) | undefined;
  /** The `application/problem+json` body, when the answer carried one. */
  readonly problem: Problem | undefined;
  /** The OAuth error body (`error`, `error_description`), when the token endpoint refused a token request. */
  readonly oauthError: OAuthError | undefined;
  /** The `Request-Id` of the attempt that failed: quote it when asking about this call. */
  readonly requestId: string | null;
  /** The response's headers (`Retry-After`, `RateLimit`, `WWW-Authenticate`, …). */
  readonly headers: Headers;

  constructor(init: APIErrorInit) {
    const problem = asProblem(init.body);
    const oauthError = problem ? undefined : asOAuthError(init.body);
    super(describe(init.status, problem ?? oauthError, init.body));
    this.status = init.status;
    this.problem = problem;
    this.oauthError = oauthError;
    this.code = problem?.code ?? oauthError?.error;
    this.headers = init.headers;
    this.requestId = init.headers.get('request-id') ?? problem?.request_id ?? null;
  }

  /** The error for a non-success answer: the class its status maps to (see `errorClassForStatus`). */
  static generate(init: APIErrorInit): APIError {
    const ErrorClass = errorClassForStatus(init.status);
    return new ErrorClass(init);
  }
}

/** 400: the request is malformed (`validation_failed`, `invalid_cursor`, `idempotency_key_required`, …). */
export class BadRequestError extends APIError {}
/**
 * 401: no API key, or one that is unknown or revoked; an access token refused again after the
 * client fetched a new one; or, from the token endpoint, client credentials it refuses (`invalid_client`).
 */
export class AuthenticationError extends APIError {}
/** 403: the key lacks the scope the operation needs. */
export class PermissionDeniedError extends APIError {}
/** 404: no such resource in this account (or no such route). */
export class NotFoundError extends APIError {}
/** 409: the resource's state forbids this (`payment_not_capturable`, …), or the key is in flight. */
export class ConflictError extends APIError {}
/**
 * 410: the operation is past its sunset date (`api_version_sunset`) and no longer answers. Never
 * retried. `successor` names what to call instead (the `rel="successor-version"` link), `sunset`
 * when the operation stopped answering.
 */
export class GoneError extends APIError {
  /** The target of the `rel="successor-version"` link, as sent (e.g. `/v2/payments/pay_1`). */
  readonly successor: string | undefined;
  /** The `Sunset` field: when the operation stopped answering. */
  readonly sunset: Date | undefined;

  constructor(init: APIErrorInit) {
    super(init);
    this.successor = linkTarget(parseLinkHeader(init.headers.get('link')), 'successor-version');
    this.sunset = parseSunsetDate(init.headers.get('sunset'));
  }
}
/** 422: well-formed but refused (`idempotency_key_reused`, `amount_exceeds_refundable`, …). */
export class UnprocessableEntityError extends APIError {}
/** 429: over quota, after every retry the call was allowed. `Retry-After` says when to come back. */
export class RateLimitError extends APIError {}
/** 5xx: the server or a dependency failed, after every retry the call was allowed. */
export class InternalServerError extends APIError {}

/** No answer: the connection failed or was dropped, after every retry the call was allowed. */
export class APIConnectionError extends RemitError {
  constructor(options: { message?: string; cause?: unknown } = {}) {
    super(options.message ?? 'Connection error.', { cause: options.cause });
  }
}

/** No answer in time: every attempt ran past its `timeout`. */
export class APIConnectionTimeoutError extends APIConnectionError {
  constructor(options: { message?: string } = {}) {
    super({ message: options.message ?? 'Request timed out.' });
  }
}

/** The caller's `signal` aborted the call (before it was sent, in flight, or between attempts). */
export class APIUserAbortError extends RemitError {
  constructor(options: { message?: string; cause?: unknown } = {}) {
    super(options.message ?? 'Request was aborted.', { cause: options.cause });
  }
}

export type APIErrorClass = new (init: APIErrorInit) => APIError;

/**
 * The one status → class table. A status not listed here is an `InternalServerError` when it is a
 * 5xx and a plain `APIError` otherwise (405, 413, 415: requests the SDK's types already prevent).
 */
const ERROR_CLASS_BY_STATUS: Readonly<Record<number, APIErrorClass>> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

export function errorClassForStatus(status: number): APIErrorClass {
  return ERROR_CLASS_BY_STATUS[status] ?? (status >= 500 ? InternalServerError : APIError);
}

function asProblem(body: unknown): Problem | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { status, code } = body as Record<string, unknown>;
  return typeof status === 'number' && typeof code === 'string' ? (body as Problem) : undefined;
}

function asOAuthError(body: unknown): OAuthError | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { error, error_description: description } = body as Record<string, unknown>;
  return typeof error === 'string' && (description === undefined || typeof description === 'string') ? (body as OAuthError) : undefined;
}

function describe(status: number, known: Problem | OAuthError | undefined, body: unknown): string {
  if (known && 'error' in known) return `${status} ${known.error}${known.error_description ? `: ${known.error_description}` : ''}`;
  if (known) return `${status} ${known.code}: ${known.detail ?? known.title}`;
  if (typeof body === 'string' && body !== '') return `${status} ${body.length > 200 ? `${body.slice(0, 200)}…` : body}`;
  return `${status} status code (no problem document in the body)`;
}
