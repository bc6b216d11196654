/**
 * Deprecation from the spec, not from code. An operation the spec marks `deprecated: true` carries
 * `x-deprecated-at` (when), `x-sunset` (when it stops answering; oasdiff's convention) and
 * `x-successor` (the operationId to use instead). Every answer of such an operation, errors and
 * 429s included, gets:
 *
 *   Deprecation: @1796342400                                          (RFC 9745: a structured-field date)
 *   Sunset: Fri, 31 Dec 2027 00:00:00 GMT                             (RFC 8594: an HTTP-date)
 *   Link: </v2/payments/pay_…>; rel="successor-version", </docs#/Payments%20v2>; rel="deprecation"
 *
 * From the sunset on, the operation answers `410 api_version_sunset` with the same fields, before
 * anything else is done: never a 404 or a 500. The clock is the app's, so tests cross the date.
 * A spec whose deprecation is incomplete or contradictory (no date, a sunset before the
 * deprecation, a successor that does not exist) fails at start-up, not on the first request.
 */
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { operationsOf, type OpenApiDocument } from '../spec.js';
import { matchedOperationId, matchedPathParams } from './matched.js';

interface Notice {
  readonly sunsetMs: number;
  readonly headers: { readonly Deprecation: string; readonly Sunset: string };
  /** The successor's path template (`/v2/payments/{id}`), filled with this request's path parameters. */
  readonly successorPath: string;
  /** Where the move is explained, in the `rel="deprecation"` link. */
  readonly explained: string;
}

interface DeprecatedOperation {
  readonly operationId?: string;
  readonly deprecated?: boolean;
  readonly 'x-deprecated-at'?: string;
  readonly 'x-sunset'?: string;
  readonly 'x-successor'?: string;
  readonly tags?: string[];
}

function dateOf(value: string | undefined, what: string): number {
  const ms = value === undefined ? Number.NaN : Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`${what}: ${JSON.stringify(value)} is not a date`);
  return ms;
}

/** The notices of every deprecated operation of `doc`, by operationId; throws on an incomplete one. */
export function deprecationNotices(doc: OpenApiDocument): Map<string, Notice> {
  const operations = operationsOf<DeprecatedOperation>(doc);
  const byId = new Map(operations.flatMap((o) => (o.operationId ? [[o.operationId, o] as const] : [])));
  const notices = new Map<string, Notice>();
  for (const { operationId, operation } of operations) {
    if (operation.deprecated !== true || !operationId) continue;
    const deprecatedAt = dateOf(operation['x-deprecated-at'], `${operationId} x-deprecated-at`);
    const sunset = dateOf(operation['x-sunset'], `${operationId} x-sunset`);
    if (sunset < deprecatedAt) throw new Error(`${operationId}: x-sunset ${operation['x-sunset']} is before x-deprecated-at ${operation['x-deprecated-at']}`);
    const successor = byId.get(operation['x-successor'] ?? '');
    if (!successor) throw new Error(`${operationId}: x-successor ${JSON.stringify(operation['x-successor'])} names no operation`);
    if (successor.operation.deprecated === true) throw new Error(`${operationId}: its successor ${successor.operationId} is deprecated too`);
    const tag = successor.operation.tags?.[0];
    notices.set(operationId, {
      sunsetMs: sunset,
      headers: { Deprecation: `@${Math.floor(deprecatedAt / 1000)}`, Sunset: new Date(sunset).toUTCString() },
      successorPath: successor.path,
      explained: tag ? `/docs#/${encodeURIComponent(tag)}` : '/docs',
    });
  }
  return notices;
}

function successorUrl(template: string, req: Request): string {
  const params = matchedPathParams(req);
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? `{${name}}`));
}

/** The operation stage: the three fields on every answer of a deprecated operation, and 410 from its sunset. */
export function deprecation(doc: OpenApiDocument, now: () => number = Date.now): RequestHandler | undefined {
  const notices = deprecationNotices(doc);
  if (notices.size === 0) return undefined;
  return (req, res, next) => {
    const operationId = matchedOperationId(req);
    const notice = operationId ? notices.get(operationId) : undefined;
    if (!notice) return next();
    const headers = {
      ...notice.headers,
      Link: `<${successorUrl(notice.successorPath, req)}>; rel="successor-version", <${notice.explained}>; rel="deprecation"; type="text/html"`,
    };
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (now() >= notice.sunsetMs) {
      throw new AppError('api_version_sunset', `This operation was retired on ${notice.headers.Sunset}. Use ${successorUrl(notice.successorPath, req)} instead (the Link header names it).`, { headers });
    }
    next();
  };
}
