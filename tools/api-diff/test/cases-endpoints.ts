/** Paths and operations: removed (with and without deprecation and sunset), added, deprecated. */
import type { JsonObject } from '../src/json.js';
import { OK, spec } from './build.js';
import type { RuleCase } from './rule-case.js';

const GET = { responses: OK };
const OTHER = { '/other': { get: GET } };

function deprecated(sunset?: string): JsonObject {
  return { deprecated: true, ...(sunset ? { 'x-sunset': sunset } : {}), responses: OK };
}

const AT_GET = { method: 'GET', path: '/things', document: 'base' } as const;
const AT_DELETE = { method: 'DELETE', path: '/things', document: 'base' } as const;

export const ENDPOINT_CASES: RuleCase[] = [
  {
    rule: 'api-path-removed-without-deprecation',
    level: 'breaking',
    change: 'the path /things is removed',
    base: spec({ '/things': { get: GET }, ...OTHER }),
    revision: spec(OTHER),
    at: AT_GET,
    additive: { change: 'the path is added', expect: 'endpoint-added' },
  },
  {
    rule: 'api-path-removed-before-sunset',
    level: 'breaking',
    change: 'a deprecated path is removed before its x-sunset date',
    base: spec({ '/things': { get: deprecated('2030-01-01') }, ...OTHER }),
    revision: spec(OTHER),
    at: AT_GET,
    additive: { change: 'it is removed after the date', base: spec({ '/things': { get: deprecated('2025-01-01') }, ...OTHER }), revision: spec(OTHER), expect: 'api-path-removed-with-deprecation' },
  },
  {
    rule: 'api-path-removed-before-sunset',
    level: 'breaking',
    change: 'a deprecated path with an unreadable sunset date is removed',
    base: spec({ '/things': { get: { ...deprecated(), 'x-sunset': 'soon' } }, ...OTHER }),
    revision: spec(OTHER),
    at: AT_GET,
  },
  { rule: 'api-path-removed-with-deprecation', level: 'info', change: 'a deprecated path is removed after its sunset (an HTTP-date)', base: spec({ '/things': { get: deprecated('Wed, 01 Jan 2025 00:00:00 GMT') }, ...OTHER }), revision: spec(OTHER), at: AT_GET },
  {
    rule: 'api-removed-without-deprecation',
    level: 'breaking',
    change: 'DELETE /things is removed, GET stays',
    base: spec({ '/things': { get: GET, delete: GET } }),
    revision: spec({ '/things': { get: GET } }),
    at: AT_DELETE,
    additive: { change: 'DELETE is added', expect: 'endpoint-added' },
  },
  {
    rule: 'api-removed-before-sunset',
    level: 'breaking',
    change: 'a deprecated DELETE is removed before its sunset date',
    base: spec({ '/things': { get: GET, delete: deprecated('2025-06-02T00:00:00Z') } }),
    revision: spec({ '/things': { get: GET } }),
    at: AT_DELETE,
    additive: { change: 'a deprecated DELETE with no sunset date is removed', base: spec({ '/things': { get: GET, delete: deprecated() } }), revision: spec({ '/things': { get: GET } }), expect: 'api-removed-with-deprecation' },
  },
  { rule: 'api-removed-with-deprecation', level: 'info', change: 'a deprecated DELETE is removed on its sunset date', base: spec({ '/things': { get: GET, delete: deprecated('2025-06-01') } }), revision: spec({ '/things': { get: GET } }), at: AT_DELETE },
  {
    rule: 'endpoint-added',
    level: 'info',
    change: 'POST /things is added; renaming {id} to {thing_id} adds nothing',
    base: spec({ '/things/{id}': { get: GET } }),
    revision: spec({ '/things/{thing_id}': { get: GET }, '/things': { post: GET } }),
    at: { method: 'POST', path: '/things', document: 'revision' },
  },
  { rule: 'endpoint-deprecated', level: 'info', change: 'GET /things is deprecated', base: spec({ '/things': { get: GET } }), revision: spec({ '/things': { get: deprecated('2026-01-01') } }), at: { method: 'GET', path: '/things' } },
  { rule: 'endpoint-reactivated', level: 'info', change: 'GET /things is no longer deprecated', base: spec({ '/things': { get: deprecated() } }), revision: spec({ '/things': { get: GET } }), at: { method: 'GET', path: '/things' } },
  {
    rule: 'api-operation-id-removed',
    level: 'warning',
    change: 'operationId listThings becomes getThings',
    base: spec({ '/things': { get: { operationId: 'listThings', responses: OK } } }),
    revision: spec({ '/things': { get: { operationId: 'getThings', responses: OK } } }),
    at: { method: 'GET', path: '/things' },
  },
];
