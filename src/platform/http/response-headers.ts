/**
 * Response validation for headers, which express-openapi-validator does not check: every header a
 * documented response marks `required: true` is present, and every documented header that is
 * present matches its schema. Runs wherever response bodies are validated (development and test,
 * and production with VALIDATE_RESPONSES=true), so a handler or middleware that forgets a promised
 * header fails loudly, as an off-contract body does.
 *
 * The check sits on `res.writeHead`, the one point every answer passes (JSON, HTML, empty, and the
 * problem documents of the error handler) once all its headers are set. A violation throws there,
 * before anything is written; the error reaches the problem handler, which answers 500 and logs the
 * violation under the request id. The check is then off for that response, so the 500 itself goes out.
 */
import type { Request, RequestHandler, Response } from 'express';
import { operationsOf, resolveRef, type OpenApiDocument } from '../spec.js';
import { matchedOperationId } from './matched.js';

interface HeaderRule {
  readonly name: string;
  readonly required: boolean;
  readonly test: (value: string) => boolean;
}

/** Response headers by operationId, then by status (`'200'`, `'4XX'`, `'default'`). */
type HeaderTable = Map<string, Map<string, HeaderRule[]>>;

interface HeaderSchema {
  type?: string | string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
}

/** A header value against the subset of JSON Schema the spec uses for headers. */
function valueTest(schema: HeaderSchema): (value: string) => boolean {
  const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern, 'u');
  return (value) => {
    if (schema.type === 'integer') {
      if (!/^\d+$/.test(value)) return false;
      if (schema.minimum !== undefined && Number(value) < schema.minimum) return false;
    }
    if (schema.enum && !schema.enum.includes(value)) return false;
    return !pattern || pattern.test(value);
  };
}

function headerTable(doc: OpenApiDocument): HeaderTable {
  const table: HeaderTable = new Map();
  for (const { operationId, operation } of operationsOf<{ responses?: Record<string, unknown> }>(doc)) {
    if (!operationId) continue;
    const byStatus = new Map<string, HeaderRule[]>();
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      const headers = resolveRef<{ headers?: Record<string, unknown> }>(doc, response).headers ?? {};
      byStatus.set(
        status.toUpperCase(),
        Object.entries(headers).map(([name, header]) => {
          const resolved = resolveRef<{ required?: boolean; schema?: unknown }>(doc, header);
          return { name, required: resolved.required === true, test: valueTest(resolveRef<HeaderSchema>(doc, resolved.schema ?? {})) };
        }),
      );
    }
    table.set(operationId, byStatus);
  }
  return table;
}

/** Thrown from `writeHead` when an answer breaks its documented headers. */
export class ResponseHeaderError extends Error {
  constructor(readonly problems: string[]) {
    super(`response headers off-contract: ${problems.join('; ')}`);
    this.name = 'ResponseHeaderError';
  }
}

function rulesFor(byStatus: Map<string, HeaderRule[]>, status: number): HeaderRule[] | undefined {
  return byStatus.get(String(status)) ?? byStatus.get(`${String(status)[0]}XX`) ?? byStatus.get('DEFAULT');
}

/**
 * Checks the headers of every answer to a matched operation. `notSent` names documented headers
 * this deployment does not send (the rate-limit fields with RATE_LIMITS_ENABLED=false).
 */
export function checkResponseHeaders(doc: OpenApiDocument, notSent: readonly string[] = []): RequestHandler {
  const table = headerTable(doc);
  const skipped = new Set(notSent.map((n) => n.toLowerCase()));
  return (req: Request, res: Response, next) => {
    const operationId = matchedOperationId(req);
    const byStatus = operationId ? table.get(operationId) : undefined;
    if (!byStatus) return next();
    const writeHead = res.writeHead;
    res.writeHead = function checkedWriteHead(this: Response, ...args: Parameters<Response['writeHead']>) {
      // One check per response: the 500 that reports a violation goes out unchecked.
      res.writeHead = writeHead;
      const [status, ...rest] = args;
      // writeHead(status, headers) may carry headers of its own (Node merges them in).
      const extra = rest.find((a) => a && typeof a === 'object') as Record<string, unknown> | undefined;
      const valueOf = (name: string) => {
        const fromArgs = extra && Object.entries(extra).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
        const value = fromArgs ?? res.getHeader(name);
        return value === undefined ? undefined : String(value);
      };
      const problems: string[] = [];
      for (const rule of rulesFor(byStatus, status) ?? []) {
        if (skipped.has(rule.name.toLowerCase())) continue;
        const value = valueOf(rule.name);
        if (value === undefined) {
          if (rule.required) problems.push(`${operationId} ${status} lacks its required ${rule.name} header`);
        } else if (!rule.test(value)) {
          problems.push(`${operationId} ${status} ${rule.name}: '${value}' does not match its schema`);
        }
      }
      if (problems.length > 0) throw new ResponseHeaderError(problems);
      return writeHead.apply(this, args);
    } as Response['writeHead'];
    next();
  };
}
