/**
 * Paths and operations: removed (with and without deprecation and sunset), added, deprecated, and
 * the sunset policy (a date missing, unreadable, too soon, moved earlier or deleted). The clock is
 * build.ts's NOW, 2025-06-01, so with the default 90 days' notice 2025-08-30 is the first date a
 * new sunset may have.
 */
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
const AT_THINGS = { method: 'GET', path: '/things', document: 'revision' } as const;

/** A document with only GET /things, as given (a plain GET by default). */
function things(operation: JsonObject = GET): JsonObject {
  return spec({ '/things': { get: operation } });
}

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
  { rule: 'endpoint-deprecated', level: 'info', change: 'GET /things is deprecated with a sunset exactly 90 days away', base: things(), revision: things(deprecated('2025-08-30')), at: AT_THINGS },
  { rule: 'api-deprecated-sunset-missing', level: 'warning', change: 'GET /things is deprecated without a sunset date', base: things(), revision: things(deprecated()), at: AT_THINGS },
  {
    rule: 'api-deprecated-sunset-parse',
    level: 'breaking',
    change: 'GET /things is deprecated with x-sunset "next quarter"',
    base: things(),
    revision: things(deprecated('next quarter')),
    at: AT_THINGS,
    additive: { change: 'it is deprecated with a readable date far enough away', base: things(), revision: things(deprecated('2026-01-01')), expect: 'endpoint-deprecated' },
  },
  { rule: 'api-deprecated-sunset-parse', level: 'breaking', change: 'a date-time without an offset (a different instant on each machine) cannot be read', base: things(), revision: things(deprecated('2026-01-01T00:00:00')), at: AT_THINGS },
  { rule: 'api-deprecated-sunset-parse', level: 'breaking', change: 'a sunset date that is not a string cannot be read', base: things(), revision: things({ ...deprecated(), 'x-sunset': 20260101 }), at: AT_THINGS },
  { rule: 'api-deprecated-sunset-parse', level: 'breaking', change: "a deprecated operation's sunset date becomes unreadable", base: things(deprecated('2026-01-01')), revision: things(deprecated('TBD')), at: AT_THINGS },
  {
    rule: 'api-sunset-date-too-small',
    level: 'breaking',
    change: 'GET /things is deprecated with a sunset 89 days away',
    base: things(),
    revision: things(deprecated('2025-08-29')),
    at: AT_THINGS,
    additive: { change: 'the sunset is 90 days away', base: things(), revision: things(deprecated('2025-08-30')), expect: 'endpoint-deprecated' },
  },
  {
    rule: 'api-sunset-date-too-small',
    level: 'breaking',
    change: 'the sunset is an HTTP-date 89 days away',
    base: things(),
    revision: things(deprecated('Fri, 29 Aug 2025 00:00:00 GMT')),
    at: AT_THINGS,
    additive: { change: 'an HTTP-date 90 days away', base: things(), revision: things(deprecated('Sat, 30 Aug 2025 00:00:00 GMT')), expect: 'endpoint-deprecated' },
  },
  {
    rule: 'api-sunset-date-too-small',
    level: 'breaking',
    change: 'the sunset is a date-time whose UTC date is 89 days away (2025-08-30T01:00:00+02:00)',
    base: things(),
    revision: things(deprecated('2025-08-30T01:00:00+02:00')),
    at: AT_THINGS,
    additive: { change: 'a date-time whose UTC date is 90 days away', base: things(), revision: things(deprecated('2025-08-30T22:00:00-01:00')), expect: 'endpoint-deprecated' },
  },
  { rule: 'api-sunset-date-too-small', level: 'breaking', change: 'GET /things is deprecated with a sunset that has already passed', base: things(), revision: things(deprecated('2025-01-01')), at: AT_THINGS },
  {
    rule: 'api-sunset-date-changed-too-small',
    level: 'breaking',
    change: 'a sunset date a year away is moved to 30 days away',
    base: things(deprecated('2026-06-01')),
    revision: things(deprecated('2025-07-01')),
    at: AT_THINGS,
    additive: { change: 'a sunset date is moved later, far enough away', base: things(deprecated('2026-01-01')), revision: things(deprecated('2026-06-01')), expect: 'api-sunset-date-changed' },
  },
  {
    rule: 'api-sunset-date-changed-too-small',
    level: 'breaking',
    change: 'a deprecated operation with no sunset date is given one 30 days away',
    base: things(deprecated()),
    revision: things(deprecated('2025-07-01')),
    at: AT_THINGS,
    additive: { change: 'it is given one 90 days away', base: things(deprecated()), revision: things(deprecated('2025-08-30')), expect: 'api-sunset-date-changed' },
  },
  { rule: 'api-sunset-date-changed-too-small', level: 'breaking', change: 'a sunset date 9 days away is moved later, to 30 days away: still less than the notice', base: things(deprecated('2025-06-10')), revision: things(deprecated('2025-07-01')), at: AT_THINGS },
  {
    rule: 'api-sunset-date-moved-earlier',
    level: 'breaking',
    change: 'a sunset date is moved from 2026-06-01 to 2026-01-01 (still more than 90 days away)',
    base: things(deprecated('2026-06-01')),
    revision: things(deprecated('2026-01-01')),
    at: AT_THINGS,
    additive: { change: 'it is moved later', expect: 'api-sunset-date-changed' },
  },
  {
    rule: 'api-sunset-date-moved-earlier',
    level: 'breaking',
    change: 'a sunset date-time is moved an hour earlier',
    base: things(deprecated('2026-01-01T12:00:00Z')),
    revision: things(deprecated('2026-01-01T11:00:00Z')),
    at: AT_THINGS,
    additive: { change: 'the same instant is written as an HTTP-date', base: things(deprecated('2026-01-01T12:00:00Z')), revision: things(deprecated('Thu, 01 Jan 2026 12:00:00 GMT')) },
  },
  {
    rule: 'sunset-deleted',
    level: 'breaking',
    change: 'a deprecated operation loses its sunset date before it passed',
    base: things(deprecated('2026-01-01')),
    revision: things(deprecated()),
    at: AT_THINGS,
    additive: { change: 'it loses a sunset date that had passed', base: things(deprecated('2025-01-01')), revision: things(deprecated()), expect: 'api-sunset-date-changed' },
  },
  { rule: 'api-sunset-date-changed', level: 'info', change: 'a deprecated operation with no sunset date is given one far enough away', base: things(deprecated()), revision: things(deprecated('2026-01-01')), at: AT_THINGS },
  { rule: 'api-sunset-date-changed', level: 'info', change: 'an unreadable sunset date is replaced by a readable one far enough away', base: things(deprecated('soon')), revision: things(deprecated('2026-01-01')), at: AT_THINGS },
  {
    rule: 'api-operation-id-removed',
    level: 'warning',
    change: 'operationId listThings becomes getThings',
    base: spec({ '/things': { get: { operationId: 'listThings', responses: OK } } }),
    revision: spec({ '/things': { get: { operationId: 'getThings', responses: OK } } }),
    at: { method: 'GET', path: '/things' },
  },
];
