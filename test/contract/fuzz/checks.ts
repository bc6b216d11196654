/**
 * What every answer must be, by the spec. The app under test validates its response bodies against
 * the spec and turns a mismatch into a 500, so "no 5xx" covers the bodies; these checks add what
 * that validation does not: the status is one the operation documents, the media type and headers
 * are the documented ones, problems carry a catalogued code, and nothing of another account leaks.
 */
import type { Response } from 'supertest';
import { errorCatalogue, type ErrorCode } from '../../../src/platform/errors.js';
import type { OperationSpec, Schema } from './operations.js';
import { jsonTypeOf, typesOf } from './valid-values.js';
import type { FuzzRequest } from './requests.js';

export type Expectation = 'valid' | 'invalid';

export interface CheckContext {
  readonly expectation: Expectation;
  readonly bodyLimitBytes: number;
  /** Ids of other accounts; none may appear in a success answered to this account. */
  readonly foreignIds: ReadonlySet<string>;
  /** Whether the operation answers for the fuzzed account (so foreign ids must never show). */
  readonly answersForAccount: boolean;
}

/**
 * Codes that refuse the request as sent: a schema-valid request must never get one, or the server
 * is stricter than its contract.
 */
const REFUSES_AS_SENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'validation_failed',
  'malformed_json',
  'idempotency_key_required',
  'unsupported_media_type',
  'payload_too_large',
  'authentication_required',
  'invalid_api_key',
  'insufficient_scope',
  'route_not_found',
  'method_not_allowed',
  'rate_limited',
]);

const mediaType = (header: unknown) => (typeof header === 'string' ? header.split(';')[0]!.trim().toLowerCase() : undefined);

/**
 * The top level of a JSON body against its documented schema: required members present, members
 * of the documented type. The app validates success bodies in full; an error body that fails
 * validation is still sent (so that the client gets an answer), which this catches.
 */
function shapeProblems(schema: Schema, body: unknown): string[] {
  if (schema.allOf) return schema.allOf.flatMap((part) => shapeProblems(part, body));
  const types = typesOf(schema);
  if (types.length > 0 && !types.includes(jsonTypeOf(body)) && !(types.includes('number') && jsonTypeOf(body) === 'integer')) return [`a ${jsonTypeOf(body)} body where ${types.join('|')} is documented`];
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [];
  const record = body as Record<string, unknown>;
  const problems = (schema.required ?? []).filter((name) => !(name in record)).map((name) => `body without the documented required '${name}'`);
  for (const [name, member] of Object.entries(schema.properties ?? {})) {
    if (!(name in record)) continue;
    const value = record[name];
    const memberTypes = typesOf(member);
    if (memberTypes.length > 0 && !memberTypes.includes(jsonTypeOf(value)) && !(memberTypes.includes('number') && jsonTypeOf(value) === 'integer')) {
      problems.push(`body member '${name}' is a ${jsonTypeOf(value)}, documented as ${memberTypes.join('|')}`);
    } else if (member.enum && !member.enum.includes(value)) problems.push(`body member '${name}' is ${JSON.stringify(value)}, not one of the documented values`);
  }
  return problems;
}

function headerMatches(schema: Schema, value: string): boolean {
  if (schema.type === 'integer') {
    if (!/^\d+$/.test(value)) return false;
    return schema.minimum === undefined || Number(value) >= schema.minimum;
  }
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) return false;
  return true;
}

/** Every way the answer breaks the contract; empty when it keeps it. */
export function contractProblems(op: OperationSpec, req: FuzzRequest, res: Response, ctx: CheckContext): string[] {
  const problems: string[] = [];
  const status = res.status;
  const documented = op.responses.get(status);
  if (!documented) problems.push(`undocumented status ${status} (documented: ${[...op.responses.keys()].join(', ')})`);

  const requestId = res.headers['request-id'];
  if (!requestId) problems.push('no Request-Id header');
  else if (req.headers['Request-Id'] && requestId !== req.headers['Request-Id']) problems.push(`Request-Id ${requestId} instead of the well-formed one sent`);

  const type = mediaType(res.headers['content-type']);
  // Compared by media type alone: the spec may name parameters (`text/plain; version=0.0.4`).
  if (documented && documented.contentTypes.length > 0 && !documented.contentTypes.map(mediaType).includes(type ?? '')) {
    problems.push(`${status} answered as ${type ?? 'no media type'} (documented: ${documented.contentTypes.join(', ')})`);
  }
  const bodySchema = type && documented?.schemas.get(type);
  if (bodySchema && type?.endsWith('json')) problems.push(...shapeProblems(bodySchema, res.body));
  // A deprecation notice on an answer that does not document one would tell clients to move off
  // an operation that is not deprecated.
  for (const name of ['deprecation', 'sunset']) {
    if (documented && res.headers[name] !== undefined && !documented.headers.has(name)) problems.push(`header ${name} on a ${status} answer that does not document it`);
  }
  for (const [name, schema] of documented?.headers ?? []) {
    const value = res.headers[name];
    if (typeof value === 'string' && !headerMatches(schema, value)) problems.push(`header ${name}: '${value}' does not match its documented schema`);
    else if (value === undefined && documented?.requiredHeaders.has(name)) problems.push(`no ${name} header, which the ${status} answer documents as required`);
  }

  if (status >= 500) {
    const documentedRetry = status === 503 && ctx.expectation === 'valid' && /^\d+$/.test(String(res.headers['retry-after'] ?? ''));
    if (!documentedRetry) problems.push(`${status} ${ctx.expectation === 'invalid' ? 'for an invalid request' : 'without being a 503 with Retry-After'}`);
  }
  if (ctx.expectation === 'invalid' && (status < 400 || status >= 500)) problems.push(`${status} for an invalid request (expected a 4xx)`);

  if (status >= 400 && type === 'application/problem+json') {
    const body = res.body as { code?: unknown; status?: unknown; request_id?: unknown };
    const code = typeof body.code === 'string' && body.code in errorCatalogue ? (body.code as ErrorCode) : undefined;
    if (!code) problems.push(`problem code ${JSON.stringify(body.code)} is not in the error catalogue`);
    else if (errorCatalogue[code].status !== status) problems.push(`problem code ${code} belongs to ${errorCatalogue[code].status}, answered with ${status}`);
    if (body.status !== status) problems.push(`problem status ${JSON.stringify(body.status)} on a ${status} answer`);
    if (requestId && body.request_id !== requestId) problems.push('problem request_id differs from the Request-Id header');
    if (ctx.expectation === 'invalid' && code && req.mutation && !req.mutation.expected.includes(code)) {
      problems.push(`${status} ${code} where the spec gives this refusal ${req.mutation.expected.join(' or ')}`);
    }
    if (ctx.expectation === 'valid' && code === 'invalid_cursor' && req.issuedCursor) problems.push('a cursor the list issued, sent with the same filters, refused as invalid_cursor');
    const tooLarge = code === 'payload_too_large' && Buffer.byteLength(req.body?.text ?? '') > ctx.bodyLimitBytes;
    if (ctx.expectation === 'valid' && code && REFUSES_AS_SENT.has(code) && !tooLarge) problems.push(`a schema-valid request refused with ${status} ${code}`);
  } else if (op.errorFormat === 'oauth' && status === 400 && type === 'application/json') {
    // RFC 6749 §5.2: a malformed request is `invalid_request` (its shape checked above, against the documented schema).
    const error = (res.body as { error?: unknown }).error;
    if (ctx.expectation === 'invalid' && req.mutation?.expected.includes('validation_failed') && error !== 'invalid_request') {
      problems.push(`OAuth error ${JSON.stringify(error)} where a malformed request is invalid_request`);
    }
  } else if (ctx.expectation === 'invalid' && status >= 400) {
    problems.push(`a ${status} that is not application/problem+json`);
  }

  if (status < 300 && ctx.answersForAccount && ctx.foreignIds.size > 0) {
    const leaked = [...ctx.foreignIds].find((id) => res.text?.includes(id));
    if (leaked) problems.push(`another account's ${leaked} in a ${status} answer`);
  }
  return problems;
}
