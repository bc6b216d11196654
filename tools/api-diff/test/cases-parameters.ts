/**
 * Parameters: added, removed, moved, required, deprecated (the sunset policy, as for operations:
 * NOW is 2025-06-01, so 2025-08-30 is the first date 90 days' notice allows), and every
 * constraint on their schemas.
 */
import type { JsonObject } from '../src/json.js';
import type { Level, RuleId } from '../src/index.js';
import { getThings, INTEGER, OK, QUERY_Q, spec, STRING, withQuery } from './build.js';
import type { Counterpart, RuleCase } from './rule-case.js';

const NONE = getThings();

function withParameters(...parameters: JsonObject[]): JsonObject {
  return getThings({ parameters });
}

/** A constraint on the query parameter `q` going from `before` to `after` (undefined: absent). */
function constraint(rule: RuleId, level: Level, base: JsonObject, keyword: string, before: number | undefined, after: number | undefined, additive?: Counterpart): RuleCase {
  const schema = (value: number | undefined) => (value === undefined ? base : { ...base, [keyword]: value });
  const change = before === undefined ? `${keyword} set to ${after}` : after === undefined ? `${keyword} ${before} removed` : `${keyword} from ${before} to ${after}`;
  return { rule, level, change, base: withQuery(schema(before)), revision: withQuery(schema(after)), at: QUERY_Q, additive };
}

const ARRAY: JsonObject = { type: 'array', items: STRING };

/** GET /things with the query parameter `q`, deprecated with this sunset date (none when undefined). */
function deprecatedQuery(sunset?: string): JsonObject {
  return withQuery(STRING, { deprecated: true, ...(sunset ? { 'x-sunset': sunset } : {}) });
}

const AT_Q = { ...QUERY_Q, document: 'revision' } as const;

export const PARAMETER_CASES: RuleCase[] = [
  {
    rule: 'new-required-request-parameter',
    level: 'breaking',
    change: 'a required query parameter is added',
    base: NONE,
    revision: withQuery(STRING, { required: true }),
    at: QUERY_Q,
    additive: { change: 'an optional query parameter is added', base: NONE, revision: withQuery(STRING), expect: 'new-optional-request-parameter' },
  },
  {
    rule: 'new-required-request-parameter',
    level: 'breaking',
    change: 'a header parameter is added as required',
    base: NONE,
    revision: withParameters({ name: 'X-Tenant', in: 'header', required: true, schema: STRING }),
    at: { method: 'GET', path: '/things', parameter: { in: 'header', name: 'X-Tenant' } },
  },
  { rule: 'new-optional-request-parameter', level: 'info', change: 'an optional query parameter is added', base: NONE, revision: withQuery(STRING), at: QUERY_Q },
  { rule: 'request-parameter-removed', level: 'warning', change: 'a query parameter is removed', base: withQuery(STRING), revision: NONE, at: { ...QUERY_Q, document: 'base' } },
  {
    rule: 'request-parameter-removed-with-deprecation',
    level: 'info',
    change: 'a deprecated parameter with no sunset date is removed',
    base: withQuery(STRING, { deprecated: true }),
    revision: NONE,
    at: QUERY_Q,
  },
  {
    rule: 'request-parameter-removed-before-sunset',
    level: 'breaking',
    change: 'a deprecated parameter is removed before its x-sunset date',
    base: withQuery(STRING, { deprecated: true, 'x-sunset': '2030-01-01' }),
    revision: NONE,
    at: QUERY_Q,
    additive: { change: 'it is removed after the date', base: withQuery(STRING, { deprecated: true, 'x-sunset': '2024-01-01' }), revision: NONE, expect: 'request-parameter-removed-with-deprecation' },
  },
  { rule: 'request-parameter-deprecated', level: 'info', change: 'a query parameter is deprecated with a sunset 90 days away', base: withQuery(STRING), revision: deprecatedQuery('2025-08-30'), at: AT_Q },
  { rule: 'request-parameter-deprecated-sunset-missing', level: 'warning', change: 'a query parameter is deprecated without a sunset date', base: withQuery(STRING), revision: deprecatedQuery(), at: AT_Q },
  {
    rule: 'request-parameter-deprecated-sunset-parse',
    level: 'breaking',
    change: 'a query parameter is deprecated with x-sunset "soon"',
    base: withQuery(STRING),
    revision: deprecatedQuery('soon'),
    at: AT_Q,
    additive: { change: 'it is deprecated with a readable date far enough away', base: withQuery(STRING), revision: deprecatedQuery('2026-01-01'), expect: 'request-parameter-deprecated' },
  },
  {
    rule: 'request-parameter-sunset-date-too-small',
    level: 'breaking',
    change: 'a query parameter is deprecated with a sunset 89 days away',
    base: withQuery(STRING),
    revision: deprecatedQuery('2025-08-29'),
    at: AT_Q,
    additive: { change: 'the sunset is 90 days away', base: withQuery(STRING), revision: deprecatedQuery('2025-08-30'), expect: 'request-parameter-deprecated' },
  },
  {
    rule: 'request-parameter-sunset-date-changed-too-small',
    level: 'breaking',
    change: "a deprecated parameter's sunset date a year away is moved to 30 days away",
    base: deprecatedQuery('2026-06-01'),
    revision: deprecatedQuery('2025-07-01'),
    at: AT_Q,
    additive: { change: 'a sunset date is moved later, far enough away', base: deprecatedQuery('2026-01-01'), revision: deprecatedQuery('2026-06-01'), expect: 'request-parameter-sunset-date-changed' },
  },
  {
    rule: 'request-parameter-sunset-date-moved-earlier',
    level: 'breaking',
    change: "a deprecated parameter's sunset date is moved from 2026-06-01 to 2026-01-01",
    base: deprecatedQuery('2026-06-01'),
    revision: deprecatedQuery('2026-01-01'),
    at: AT_Q,
    additive: { change: 'it is moved later', expect: 'request-parameter-sunset-date-changed' },
  },
  {
    rule: 'request-parameter-sunset-deleted',
    level: 'breaking',
    change: 'a deprecated parameter loses its sunset date before it passed',
    base: deprecatedQuery('2026-01-01'),
    revision: deprecatedQuery(),
    at: AT_Q,
    additive: { change: 'it loses a sunset date that had passed', base: deprecatedQuery('2025-01-01'), revision: deprecatedQuery(), expect: 'request-parameter-sunset-date-changed' },
  },
  { rule: 'request-parameter-sunset-date-changed', level: 'info', change: 'a deprecated parameter with no sunset date is given one far enough away', base: deprecatedQuery(), revision: deprecatedQuery('2026-01-01'), at: AT_Q },
  {
    rule: 'request-parameter-possibly-renamed',
    level: 'info',
    change: 'query parameter q is removed and p added with the same schema',
    base: withQuery({ type: 'string', maxLength: 10 }),
    revision: withParameters({ name: 'p', in: 'query', schema: { type: 'string', maxLength: 10 } }),
    at: { method: 'GET', path: '/things', parameter: { in: 'query', name: 'p' } },
  },
  {
    rule: 'request-parameter-moved',
    level: 'breaking',
    change: 'parameter q moves from the query to a header',
    base: withQuery(STRING),
    revision: withParameters({ name: 'q', in: 'header', schema: STRING }),
    at: { method: 'GET', path: '/things', parameter: { in: 'header', name: 'q' } },
    additive: {
      change: 'a header q is added beside the query q',
      base: withQuery(STRING),
      revision: withParameters({ name: 'q', in: 'query', schema: STRING }, { name: 'q', in: 'header', schema: STRING }),
      expect: 'new-optional-request-parameter',
    },
  },
  {
    rule: 'request-parameter-became-required',
    level: 'breaking',
    change: 'an optional query parameter becomes required',
    base: withQuery(STRING),
    revision: withQuery(STRING, { required: true }),
    at: QUERY_Q,
    additive: { change: 'it becomes optional again', expect: 'request-parameter-became-optional' },
  },
  { rule: 'request-parameter-became-optional', level: 'info', change: 'a required query parameter becomes optional', base: withQuery(STRING, { required: true }), revision: withQuery(STRING), at: QUERY_Q },
  {
    rule: 'request-parameter-type-changed',
    level: 'breaking',
    change: 'string becomes integer',
    base: withQuery(STRING),
    revision: withQuery(INTEGER),
    at: QUERY_Q,
    additive: { change: 'integer widens to number', base: withQuery(INTEGER), revision: withQuery({ type: 'number' }), expect: 'request-parameter-type-generalized' },
  },
  {
    rule: 'request-parameter-type-changed',
    level: 'breaking',
    change: 'format int64 narrows to int32',
    base: withQuery({ type: 'integer', format: 'int64' }),
    revision: withQuery({ type: 'integer', format: 'int32' }),
    at: QUERY_Q,
    additive: { change: 'int32 widens to int64', expect: 'request-parameter-type-generalized' },
  },
  { rule: 'request-parameter-type-generalized', level: 'info', change: 'integer widens to number', base: withQuery(INTEGER), revision: withQuery({ type: 'number' }), at: QUERY_Q },
  {
    rule: 'request-parameter-enum-value-removed',
    level: 'breaking',
    change: 'enum [asc, desc] loses desc',
    base: withQuery({ type: 'string', enum: ['asc', 'desc'] }),
    revision: withQuery({ type: 'string', enum: ['asc'] }),
    at: QUERY_Q,
    additive: { change: 'desc is added back', expect: 'request-parameter-enum-value-added' },
  },
  { rule: 'request-parameter-enum-value-added', level: 'info', change: 'enum [asc] gains desc', base: withQuery({ type: 'string', enum: ['asc'] }), revision: withQuery({ type: 'string', enum: ['asc', 'desc'] }), at: QUERY_Q },
  {
    rule: 'request-parameter-became-enum',
    level: 'breaking',
    change: 'a free string is restricted to [asc, desc]',
    base: withQuery(STRING),
    revision: withQuery({ type: 'string', enum: ['asc', 'desc'] }),
    at: QUERY_Q,
    additive: { change: 'the restriction is lifted', expect: 'request-parameter-became-not-enum' },
  },
  { rule: 'request-parameter-became-not-enum', level: 'info', change: 'the enum is lifted', base: withQuery({ type: 'string', enum: ['asc'] }), revision: withQuery(STRING), at: QUERY_Q },
  {
    rule: 'request-parameter-became-not-nullable',
    level: 'breaking',
    change: "type [string, 'null'] becomes string",
    base: withQuery({ type: ['string', 'null'] }),
    revision: withQuery(STRING),
    at: QUERY_Q,
    additive: { change: 'null is accepted again', expect: 'request-parameter-became-nullable' },
  },
  { rule: 'request-parameter-became-nullable', level: 'info', change: "string becomes [string, 'null']", base: withQuery(STRING), revision: withQuery({ type: ['string', 'null'] }), at: QUERY_Q },
  {
    rule: 'request-parameter-pattern-added',
    level: 'breaking',
    change: 'a pattern is added',
    base: withQuery(STRING),
    revision: withQuery({ type: 'string', pattern: '^[a-z]+$' }),
    at: QUERY_Q,
    additive: { change: 'the pattern is removed', expect: 'request-parameter-pattern-removed' },
  },
  { rule: 'request-parameter-pattern-changed', level: 'warning', change: 'the pattern changes', base: withQuery({ type: 'string', pattern: '^[a-z]+$' }), revision: withQuery({ type: 'string', pattern: '^[a-z0-9]+$' }), at: QUERY_Q },
  { rule: 'request-parameter-pattern-removed', level: 'info', change: 'the pattern is removed', base: withQuery({ type: 'string', pattern: '^[a-z]+$' }), revision: withQuery(STRING), at: QUERY_Q },

  constraint('request-parameter-max-set', 'breaking', INTEGER, 'maximum', undefined, 100, { change: 'the maximum is removed', expect: 'request-parameter-max-increased' }),
  constraint('request-parameter-max-decreased', 'breaking', INTEGER, 'maximum', 100, 50, { change: 'the maximum is raised back', expect: 'request-parameter-max-increased' }),
  {
    rule: 'request-parameter-max-decreased',
    level: 'breaking',
    change: 'maximum 100 becomes exclusiveMaximum 100',
    base: withQuery({ type: 'integer', maximum: 100 }),
    revision: withQuery({ type: 'integer', exclusiveMaximum: 100 }),
    at: QUERY_Q,
    additive: { change: 'it becomes inclusive again', expect: 'request-parameter-max-increased' },
  },
  constraint('request-parameter-max-increased', 'info', INTEGER, 'maximum', 50, 100),
  constraint('request-parameter-min-set', 'breaking', INTEGER, 'minimum', undefined, 1, { change: 'the minimum is removed', expect: 'request-parameter-min-decreased' }),
  constraint('request-parameter-min-increased', 'breaking', INTEGER, 'minimum', 1, 10, { change: 'the minimum is lowered back', expect: 'request-parameter-min-decreased' }),
  constraint('request-parameter-min-decreased', 'info', INTEGER, 'minimum', 10, 1),
  constraint('request-parameter-max-length-set', 'breaking', STRING, 'maxLength', undefined, 20, { change: 'the maxLength is removed', expect: 'request-parameter-max-length-increased' }),
  constraint('request-parameter-max-length-decreased', 'breaking', STRING, 'maxLength', 40, 20, { change: 'the maxLength is raised back', expect: 'request-parameter-max-length-increased' }),
  constraint('request-parameter-max-length-increased', 'info', STRING, 'maxLength', 20, 40),
  constraint('request-parameter-min-length-increased', 'breaking', STRING, 'minLength', undefined, 3, { change: 'the minLength is removed', expect: 'request-parameter-min-length-decreased' }),
  constraint('request-parameter-min-length-decreased', 'info', STRING, 'minLength', 3, 1),
  constraint('request-parameter-max-items-set', 'breaking', ARRAY, 'maxItems', undefined, 5, { change: 'the maxItems is removed', expect: 'request-parameter-max-items-increased' }),
  constraint('request-parameter-max-items-decreased', 'breaking', ARRAY, 'maxItems', 10, 5, { change: 'the maxItems is raised back', expect: 'request-parameter-max-items-increased' }),
  constraint('request-parameter-max-items-increased', 'info', ARRAY, 'maxItems', 5, 10),
  constraint('request-parameter-min-items-increased', 'breaking', ARRAY, 'minItems', 1, 2, { change: 'the minItems is lowered back', expect: 'request-parameter-min-items-decreased' }),
  constraint('request-parameter-min-items-decreased', 'info', ARRAY, 'minItems', 2, 1),

  {
    rule: 'request-parameter-default-value-changed',
    level: 'breaking',
    change: 'default 20 becomes 10',
    base: withQuery({ type: 'integer', default: 20 }),
    revision: withQuery({ type: 'integer', default: 10 }),
    at: QUERY_Q,
    additive: { change: 'a default is given where there was none', base: withQuery(INTEGER), revision: withQuery({ type: 'integer', default: 20 }), expect: 'request-parameter-default-value-added' },
  },
  { rule: 'request-parameter-default-value-added', level: 'info', change: 'default 20 is added', base: withQuery(INTEGER), revision: withQuery({ type: 'integer', default: 20 }), at: QUERY_Q },
  { rule: 'request-parameter-default-value-removed', level: 'warning', change: 'default 20 is removed', base: withQuery({ type: 'integer', default: 20 }), revision: withQuery(INTEGER), at: QUERY_Q },

  {
    rule: 'request-path-parameter-renamed',
    level: 'info',
    change: '/things/{thingId} becomes /things/{id}',
    base: thingPath('thingId'),
    revision: thingPath('id'),
    at: { method: 'GET', path: '/things/{id}', parameter: { in: 'path', name: 'id' } },
  },
  {
    rule: 'request-parameter-serialization-changed',
    level: 'breaking',
    change: 'an array in the query goes from ?q=a&q=b to ?q=a,b (explode: false)',
    base: withQuery(ARRAY),
    revision: withQuery(ARRAY, { explode: false }),
    at: QUERY_Q,
    additive: { change: 'a scalar in the query changes style and explode, which do not apply to it', base: withQuery(STRING), revision: withQuery(STRING, { style: 'form', explode: false }) },
  },
];

/** GET /things/{name} with the path parameter `name`. */
export function thingPath(name: string, schema: JsonObject = STRING): JsonObject {
  return spec({ [`/things/{${name}}`]: { get: { parameters: [{ name, in: 'path', required: true, schema }], responses: OK } } });
}
