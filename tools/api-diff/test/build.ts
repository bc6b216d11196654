/**
 * Small OpenAPI documents for the tests: one operation on `/things`, with just the part a test is
 * about. Keeping the scaffolding here keeps each case down to the change it makes.
 */
import type { Json, JsonObject } from '../src/json.js';

export const OK: JsonObject = { '200': { description: 'OK' } };

export function spec(paths: JsonObject, components: JsonObject = {}, extra: JsonObject = {}): JsonObject {
  return { openapi: '3.1.0', info: { title: 'Things', version: '1.0.0' }, paths, components, ...extra };
}

/** GET /things with the given operation fields (responses default to a bare 200). */
export function getThings(operation: JsonObject = {}, components: JsonObject = {}, extra: JsonObject = {}): JsonObject {
  return spec({ '/things': { get: { responses: OK, ...operation } } }, components, extra);
}

/** GET /things taking the query parameter `q` with this schema (extra fields: required, in, …). */
export function withQuery(schema: Json, extra: JsonObject = {}, components: JsonObject = {}): JsonObject {
  return getThings({ parameters: [{ name: 'q', in: 'query', schema, ...extra }] }, components);
}

/** POST /things with a required JSON request body of this schema. */
export function withRequest(schema: Json, components: JsonObject = {}): JsonObject {
  return spec({ '/things': { post: { requestBody: { required: true, content: { 'application/json': { schema } } }, responses: OK } } }, components);
}

/** GET /things answering 200 with a JSON body of this schema. */
export function withResponse(schema: Json, components: JsonObject = {}): JsonObject {
  return getThings({ responses: { '200': { description: 'OK', content: { 'application/json': { schema } } } } }, components);
}

/** An object schema with these properties, the ones named in `required` required. */
export function object(properties: JsonObject, required: string[] = [], extra: JsonObject = {}): JsonObject {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), ...extra };
}

export const STRING: JsonObject = { type: 'string' };
export const INTEGER: JsonObject = { type: 'integer' };

export const QUERY_Q = { method: 'GET', path: '/things', parameter: { in: 'query', name: 'q' } } as const;
export const REQUEST = { method: 'POST', path: '/things', mediaType: 'application/json' } as const;
export const RESPONSE = { method: 'GET', path: '/things', status: '200', mediaType: 'application/json' } as const;

/** A fixed clock, so sunset dates in the cases are in the past or the future for good. */
export const NOW = new Date('2025-06-01T00:00:00Z');
