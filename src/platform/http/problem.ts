/**
 * The one place errors become responses: RFC 9457 `application/problem+json` with a stable `code`
 * and the request id. Internal detail (stack, SQL, driver messages) goes to the log, keyed by
 * request id, never to the client.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { AppError, DEPENDENCY_RETRY_AFTER_S, type ErrorCode, type FieldError } from '../errors.js';
import { isDbUnavailable } from '../db.js';
import type { Logger } from '../logger.js';
import { ResponseHeaderError } from './response-headers.js';
import { observed } from './observe.js';
import { matchedErrorFormat } from './matched.js';

/** Where the problem type pages are served, under the API's base URL. */
export const PROBLEM_TYPES_PATH = '/problems';

/** A Host header fit to echo into a URL: a name or address and an optional port, nothing else. */
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The base of problem `type` URIs: the API's public URL when configured (`PUBLIC_URL`), otherwise
 * the origin the request was sent to (`req.protocol` honours TRUST_PROXY), so the link works from
 * wherever the client reached the API.
 */
export function problemTypeBase(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return `${publicUrl}${PROBLEM_TYPES_PATH}/`;
  const host = req.get('host');
  return `${req.protocol}://${host && HOST.test(host) ? host : 'localhost'}${PROBLEM_TYPES_PATH}/`;
}

interface ValidatorError extends Error {
  status: number;
  path?: string;
  errors?: { path: string; message: string }[];
  headers?: Record<string, string>;
}

interface BodyParserError extends Error {
  type: string;
  status: number;
  /** For `entity.too.large`: the limit, and the declared length when the client sent one. */
  limit?: number;
  length?: number;
}

function isValidatorError(err: unknown): err is ValidatorError {
  return err instanceof Error && typeof (err as ValidatorError).status === 'number' && Array.isArray((err as ValidatorError).errors);
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return err instanceof Error && typeof (err as BodyParserError).type === 'string' && typeof (err as BodyParserError).status === 'number';
}

/**
 * zlib's errors while decoding a gzip, deflate or br body (`Z_DATA_ERROR`, `ERR__ERROR_FORMAT_…`):
 * the body parser passes them on as a 400 without a `type`, with zlib's numeric errno.
 */
function isDecodeError(err: unknown): boolean {
  const e = err as { status?: number; code?: string; errno?: number } | null;
  return err instanceof Error && e?.status === 400 && typeof e.code === 'string' && (e.code.startsWith('Z_') || typeof e.errno === 'number');
}

/** The validation problems a problem document lists; `error_count` says how many there were. */
export const MAX_LISTED_ERRORS = 10;
/** The validation problems the `detail` sentence names. */
const DETAIL_ERRORS = 3;

/** `.body.email` or `/body/email` → `/body/email`. */
function normalisePath(path: string): string {
  const p = path.replace(/\./g, '/').replace(/\[(\d+)\]/g, '/$1');
  return p.startsWith('/') ? p : `/${p}`;
}

/** Maps anything thrown to an AppError; unknown errors become a generic 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isBodyParserError(err)) {
    switch (err.type) {
      case 'entity.parse.failed':
        return new AppError('malformed_json', 'The request body could not be parsed as JSON.');
      case 'entity.too.large': {
        const sent = typeof err.length === 'number' ? ` The body is ${err.length} bytes.` : '';
        return new AppError('payload_too_large', `Request bodies are limited to ${err.limit} bytes on this server (BODY_LIMIT_BYTES).${sent}`);
      }
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return new AppError('unsupported_media_type', err.message);
      default:
        if (err.status >= 400 && err.status < 500) return new AppError('validation_failed', err.message);
    }
  }
  if (isDecodeError(err)) {
    return new AppError('malformed_json', 'The request body could not be decoded as its Content-Encoding says.');
  }
  if (isValidatorError(err)) {
    const errors: FieldError[] = (err.errors ?? []).map((e) => ({ path: normalisePath(e.path ?? ''), message: e.message }));
    const byStatus: Partial<Record<number, ErrorCode>> = {
      400: 'validation_failed',
      404: 'route_not_found',
      405: 'method_not_allowed',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
    };
    const code = byStatus[err.status];
    // A money-moving request without its Idempotency-Key gets a code of its own: clients (and the
    // SDK) fix it by sending a key, not by changing a field.
    if (code === 'validation_failed' && errors.length > 0 && errors.every((e) => e.path === '/headers/idempotency-key' && /required/.test(e.message))) {
      return new AppError('idempotency_key_required', 'Send an Idempotency-Key header (e.g. a UUID) so the request is safe to retry.', { errors });
    }
    if (code === 'validation_failed') {
      const shown = errors.slice(0, DETAIL_ERRORS).map((e) => `${e.path} ${e.message}`);
      const more = errors.length > DETAIL_ERRORS ? `; and ${errors.length - DETAIL_ERRORS} more (see errors)` : '';
      return new AppError(code, shown.length > 0 ? `${shown.join('; ')}${more}` : err.message, { errors });
    }
    const details: Partial<Record<ErrorCode, string>> = {
      route_not_found: 'No route matches this path.',
      unsupported_media_type: 'Send the request body as application/json.',
    };
    if (code) return new AppError(code, details[code] ?? err.message, { headers: err.headers });
  }
  if (isDbUnavailable(err)) {
    return new AppError('service_unavailable', 'The database is unavailable. Retry after the delay in Retry-After.', {
      headers: { 'Retry-After': String(DEPENDENCY_RETRY_AFTER_S) },
      cause: err,
    });
  }
  return new AppError('internal_error', 'An unexpected error occurred. It has been logged with this request id.', { cause: err });
}

export function problemBody(error: AppError, requestId: string, instance: string, typeBase: string) {
  return {
    type: `${typeBase}${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    instance,
    code: error.code,
    request_id: requestId,
    ...(error.options.errors
      ? { errors: error.options.errors.slice(0, MAX_LISTED_ERRORS), error_count: error.options.errors.length }
      : {}),
  };
}

/** For requests no resource router claims. */
export function routeNotFound(): RequestHandler {
  return () => {
    throw new AppError('route_not_found', 'No route matches this path.');
  };
}

export function problemHandler(log: Logger, options: { publicUrl?: string } = {}): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const error = toAppError(err);
    observed(res).code = error.code;
    const requestId = (res.locals.requestId as string | undefined) ?? 'unknown';
    // A 503 is a dependency answering "not now", with a Retry-After contract: worth a warning. A
    // 500 is a bug: an error, which is what alerting should page on.
    if (error.status >= 500) {
      const level = error.status === 503 ? 'warn' : 'error';
      log[level]({ err: error.options.cause ?? err, requestId, method: req.method, path: req.path }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(error.options.headers ?? {})) res.setHeader(name, value);
    // An operation that speaks OAuth's error format (`x-error-format: oauth`, the token endpoint)
    // answers a malformed request as RFC 6749 §5.2 says: `invalid_request`, not a problem document.
    if (error.status === 400 && matchedErrorFormat(req) === 'oauth') {
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Pragma', 'no-cache');
      res.status(400).json({ error: 'invalid_request', error_description: error.detail ?? error.title });
      return;
    }
    const typeBase = problemTypeBase(req, options.publicUrl);
    const body = problemBody(error, requestId, req.originalUrl.split('?')[0]!, typeBase);
    res.status(error.status).type('application/problem+json');
    // Through res.json so the response validator checks the problem against the spec too. If the
    // body fails that check, the plain body still reaches the client; if its headers do, the answer
    // is off-contract and becomes a 500, like any other (the header check is then off).
    try {
      res.json(body);
    } catch (validationErr) {
      log.error({ err: validationErr, requestId }, 'problem response failed validation');
      if (res.headersSent) return;
      if (validationErr instanceof ResponseHeaderError) {
        const internal = new AppError('internal_error', 'An unexpected error occurred. It has been logged with this request id.');
        res.status(internal.status).send(JSON.stringify(problemBody(internal, requestId, body.instance, typeBase)));
      } else {
        res.send(JSON.stringify(body));
      }
    }
  };
}
