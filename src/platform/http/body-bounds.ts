/**
 * Bounds the work of validating a request body. The validator reports every problem it finds
 * (`allErrors`), which costs time and answer size in proportion to the body: a 64 KiB array of
 * 32,000 integers where two scopes are allowed made 64,000 errors, half a second of CPU and an
 * 8 MB answer. Every request collection in the spec is bounded (scripts/spec-rules.ts: `maxItems`,
 * `maxProperties`, or a closed object), so this walks the body along its schema before the
 * validator does and stops at the first collection beyond its bound, answering as the validator
 * would for that keyword. The walk looks at each collection's size before its members, and goes
 * only where the schema goes; what reaches the validator is within every bound, and so is the
 * list of problems it can find.
 */
import type { Request, RequestHandler } from 'express';
import { AppError, type FieldError } from '../errors.js';
import { operationsOf, resolveRef, type OpenApiDocument } from '../spec.js';
import { matchedOperationId } from './matched.js';

interface Schema {
  type?: string | string[];
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, unknown>;
  additionalProperties?: boolean | unknown;
  items?: unknown;
  oneOf?: unknown[];
  anyOf?: unknown[];
  allOf?: unknown[];
}

/** Unknown members of a closed object the validator is left to list one by one. */
const UNKNOWN_MEMBERS_LISTED = 10;
/** Deeper than any request schema of this API. */
const MAX_DEPTH = 32;

/** The first collection in `value` beyond its bound in `schema`, as the validator would name it. */
export function beyondBounds(doc: object, schemaNode: unknown, value: unknown, path: string, depth = 0): FieldError[] | undefined {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return undefined;
  const schema = resolveRef<Schema>(doc, schemaNode ?? {});
  const next = (node: unknown, member: unknown, at: string) => beyondBounds(doc, node, member, at, depth + 1);

  for (const part of schema.allOf ?? []) {
    const found = next(part, value, path);
    if (found) return found;
  }
  const alternatives = [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])];
  if (alternatives.length > 0) {
    // Within bounds if any alternative would take it that far; otherwise the first one's finding.
    const findings = alternatives.map((alt) => next(alt, value, path));
    if (findings.some((f) => f === undefined)) return undefined;
    return findings[0];
  }

  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (Array.isArray(value)) {
    if (!types.includes('array') && schema.items === undefined) return undefined; // a type error, found cheaply
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return [{ path, message: `must NOT have more than ${schema.maxItems} items` }];
    for (let i = 0; i < value.length; i++) {
      const found = next(schema.items, value[i], `${path}/${i}`);
      if (found) return found;
    }
    return undefined;
  }

  if (!types.includes('object') && schema.properties === undefined) return undefined;
  const keys = Object.keys(value);
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) return [{ path, message: `must NOT have more than ${schema.maxProperties} properties` }];
  const named = schema.properties ?? {};
  if (schema.additionalProperties === false) {
    const unknown = keys.filter((k) => !Object.hasOwn(named, k));
    if (unknown.length > UNKNOWN_MEMBERS_LISTED) return unknown.map((k) => ({ path: `${path}/${k}`, message: 'must NOT have additional properties' }));
  }
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const key of keys) {
    const member = Object.hasOwn(named, key) ? named[key] : extra;
    if (member === undefined) continue;
    const found = next(member, (value as Record<string, unknown>)[key], `${path}/${key}`);
    if (found) return found;
  }
  return undefined;
}

/** The JSON body schema of every operation that takes one, by operationId. */
function bodySchemas(doc: OpenApiDocument): Map<string, unknown> {
  const schemas = new Map<string, unknown>();
  for (const { operationId, operation } of operationsOf<{ requestBody?: unknown }>(doc)) {
    if (!operationId || operation.requestBody === undefined) continue;
    const body = resolveRef<{ content?: Record<string, { schema?: unknown }> }>(doc, operation.requestBody);
    const schema = body.content?.['application/json']?.schema;
    if (schema !== undefined) schemas.set(operationId, schema);
  }
  return schemas;
}

/** Refuses a parsed body with a collection beyond its bound; runs after parsing, before validation. */
export function boundBodies(doc: OpenApiDocument): RequestHandler {
  const schemas = bodySchemas(doc);
  return (req: Request, _res, next) => {
    const operationId = matchedOperationId(req);
    const schema = operationId ? schemas.get(operationId) : undefined;
    const errors = schema === undefined || req.body === undefined ? undefined : beyondBounds(doc, schema, req.body, '/body');
    if (!errors) return next();
    const first = errors[0]!;
    const more = errors.length > 1 ? `; and ${errors.length - 1} more (see errors)` : '';
    throw new AppError('validation_failed', `${first.path} ${first.message}${more}`, { errors });
  };
}
