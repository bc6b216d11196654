/**
 * Responses and the properties inside them, in the response direction: returning more (new
 * values, new shapes, null, fewer guarantees) breaks clients; returning less is additive.
 */
import type { JsonObject } from '../src/json.js';
import type { Level, Location, RuleId } from '../src/index.js';
import { getThings, INTEGER, object, RESPONSE, STRING, withResponse } from './build.js';
import type { Counterpart, RuleCase } from './rule-case.js';

const JSON_CONTENT = { 'application/json': { schema: STRING } };

function responses(map: JsonObject): JsonObject {
  return getThings({ responses: map });
}

function withHeader(header: JsonObject | undefined): JsonObject {
  return responses({ '200': { description: 'OK', ...(header ? { headers: { 'Request-Id': header } } : {}) } });
}

/** A body whose `total` property (nested under `summary`) goes from `before` to `after`. */
function nested(before: JsonObject, after: JsonObject): { base: JsonObject; revision: JsonObject } {
  const body = (total: JsonObject) => object({ summary: object({ total }, ['total']) }, ['summary']);
  return { base: withResponse(body(before)), revision: withResponse(body(after)) };
}

const AT_TOTAL: Partial<Location> = { ...RESPONSE, property: 'summary.total' };

function constraint(rule: RuleId, level: Level, base: JsonObject, keyword: string, before: number | undefined, after: number | undefined, additive?: Counterpart): RuleCase {
  const schema = (value: number | undefined) => (value === undefined ? base : { ...base, [keyword]: value });
  const change = before === undefined ? `${keyword} set to ${after}` : after === undefined ? `${keyword} ${before} removed` : `${keyword} from ${before} to ${after}`;
  return { rule, level, change: `summary.total ${change}`, ...nested(schema(before), schema(after)), at: AT_TOTAL, additive };
}

const ARRAY: JsonObject = { type: 'array', items: STRING };
const CARD = object({ number: STRING }, ['number'], { title: 'Card' });
const BANK = object({ iban: STRING }, ['iban'], { title: 'Bank' });
const SCHEMAS = { schemas: { Card: CARD, Bank: BANK } };

export const RESPONSE_CASES: RuleCase[] = [
  {
    rule: 'response-success-status-removed',
    level: 'breaking',
    change: 'the 201 response is removed',
    base: responses({ '200': { description: 'OK' }, '201': { description: 'Created' } }),
    revision: responses({ '200': { description: 'OK' } }),
    at: { method: 'GET', path: '/things', status: '201', document: 'base' },
    additive: { change: 'a 201 response is added', expect: 'response-success-status-added' },
  },
  { rule: 'response-success-status-added', level: 'info', change: 'a 202 response is added', base: responses({ '200': { description: 'OK' } }), revision: responses({ '200': { description: 'OK' }, '202': { description: 'Accepted' } }), at: { status: '202' } },
  { rule: 'response-non-success-status-removed', level: 'info', change: 'the 404 response is removed', base: responses({ '200': { description: 'OK' }, '404': { description: 'Not found' } }), revision: responses({ '200': { description: 'OK' } }), at: { status: '404' } },
  { rule: 'response-non-success-status-added', level: 'info', change: 'a 409 response is added', base: responses({ '200': { description: 'OK' } }), revision: responses({ '200': { description: 'OK' }, '409': { description: 'Conflict' } }), at: { status: '409' } },
  {
    rule: 'response-media-type-removed',
    level: 'breaking',
    change: 'the 200 response no longer comes as CSV',
    base: responses({ '200': { description: 'OK', content: { ...JSON_CONTENT, 'text/csv': { schema: STRING } } } }),
    revision: responses({ '200': { description: 'OK', content: JSON_CONTENT } }),
    at: { status: '200', mediaType: 'text/csv', document: 'base' },
    additive: { change: 'CSV comes back', expect: 'response-media-type-added' },
  },
  {
    rule: 'response-media-type-added',
    level: 'info',
    change: 'the 200 response also comes as CSV',
    base: responses({ '200': { description: 'OK', content: JSON_CONTENT } }),
    revision: responses({ '200': { description: 'OK', content: { ...JSON_CONTENT, 'text/csv': { schema: STRING } } } }),
    at: { status: '200', mediaType: 'text/csv' },
  },
  {
    rule: 'required-response-header-removed',
    level: 'breaking',
    change: 'the required Request-Id header is removed',
    base: withHeader({ required: true, schema: STRING }),
    revision: withHeader(undefined),
    at: { status: '200', header: 'Request-Id', document: 'base' },
    additive: { change: 'the header is added', expect: 'response-header-added' },
  },
  { rule: 'optional-response-header-removed', level: 'warning', change: 'an optional header is removed', base: withHeader({ schema: STRING }), revision: withHeader(undefined), at: { status: '200', header: 'Request-Id' } },
  {
    rule: 'response-header-became-optional',
    level: 'breaking',
    change: 'a required header becomes optional',
    base: withHeader({ required: true, schema: STRING }),
    revision: withHeader({ schema: STRING }),
    at: { status: '200', header: 'Request-Id' },
    additive: { change: 'an optional header becomes required' },
  },
  { rule: 'response-header-added', level: 'info', change: 'a header is added', base: withHeader(undefined), revision: withHeader({ schema: STRING }), at: { status: '200', header: 'Request-Id' } },
];

export const RESPONSE_PROPERTY_CASES: RuleCase[] = [
  {
    rule: 'response-required-property-removed',
    level: 'breaking',
    change: 'a required property is removed',
    base: withResponse(object({ id: STRING, name: STRING }, ['id', 'name'])),
    revision: withResponse(object({ id: STRING }, ['id'])),
    at: { ...RESPONSE, property: 'name', document: 'base' },
    additive: { change: 'a required property is added', expect: 'response-required-property-added' },
  },
  {
    rule: 'response-required-property-removed',
    level: 'breaking',
    change: 'a required property is removed from a schema used by reference inside an array',
    base: withResponse(object({ data: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } }, ['data']), { schemas: { Thing: object({ id: STRING, name: STRING }, ['id', 'name']) } }),
    revision: withResponse(object({ data: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } }, ['data']), { schemas: { Thing: object({ id: STRING }, ['id']) } }),
    at: { ...RESPONSE, property: 'data[].name', pointer: '/components/schemas/Thing/properties/name', document: 'base' },
  },
  { rule: 'response-optional-property-removed', level: 'warning', change: 'an optional property is removed', base: withResponse(object({ id: STRING, nickname: STRING }, ['id'])), revision: withResponse(object({ id: STRING }, ['id'])), at: { ...RESPONSE, property: 'nickname' } },
  { rule: 'response-required-property-added', level: 'info', change: 'a required property is added', base: withResponse(object({ id: STRING }, ['id'])), revision: withResponse(object({ id: STRING, name: STRING }, ['id', 'name'])), at: { ...RESPONSE, property: 'name' } },
  { rule: 'response-optional-property-added', level: 'info', change: 'an optional property is added', base: withResponse(object({ id: STRING }, ['id'])), revision: withResponse(object({ id: STRING, nickname: STRING }, ['id'])), at: { ...RESPONSE, property: 'nickname' } },
  {
    rule: 'response-property-became-optional',
    level: 'breaking',
    change: 'a required property becomes optional',
    base: withResponse(object({ id: STRING, name: STRING }, ['id', 'name'])),
    revision: withResponse(object({ id: STRING, name: STRING }, ['id'])),
    at: { ...RESPONSE, property: 'name' },
    additive: { change: 'it becomes required again', expect: 'response-property-became-required' },
  },
  { rule: 'response-property-became-required', level: 'info', change: 'an optional property becomes required', base: withResponse(object({ name: STRING })), revision: withResponse(object({ name: STRING }, ['name'])), at: { ...RESPONSE, property: 'name' } },
  {
    rule: 'response-property-type-changed',
    level: 'breaking',
    change: 'an integer becomes a string',
    ...nested(INTEGER, STRING),
    at: AT_TOTAL,
    additive: { change: 'a number narrows to an integer', ...nested({ type: 'number' }, INTEGER), expect: 'response-property-type-specialized' },
  },
  {
    rule: 'response-property-type-changed',
    level: 'breaking',
    change: 'format int32 widens to int64',
    ...nested({ type: 'integer', format: 'int32' }, { type: 'integer', format: 'int64' }),
    at: AT_TOTAL,
    additive: { change: 'int64 narrows to int32', expect: 'response-property-type-specialized' },
  },
  { rule: 'response-property-type-specialized', level: 'info', change: 'a number narrows to an integer', ...nested({ type: 'number' }, INTEGER), at: AT_TOTAL },
  { rule: 'response-property-enum-value-added', level: 'warning', change: 'a status value is added', ...nested({ type: 'string', enum: ['open', 'closed'] }, { type: 'string', enum: ['open', 'closed', 'archived'] }), at: AT_TOTAL },
  { rule: 'response-property-enum-value-removed', level: 'info', change: 'a status value is removed', ...nested({ type: 'string', enum: ['open', 'closed', 'archived'] }, { type: 'string', enum: ['open', 'closed'] }), at: AT_TOTAL },
  { rule: 'response-property-became-enum', level: 'info', change: 'a string is restricted to a list', ...nested(STRING, { type: 'string', enum: ['open'] }), at: AT_TOTAL },
  { rule: 'response-property-became-not-enum', level: 'warning', change: 'the list is lifted', ...nested({ type: 'string', enum: ['open'] }, STRING), at: AT_TOTAL },
  {
    rule: 'response-property-became-nullable',
    level: 'breaking',
    change: 'OpenAPI 3.0 nullable: true is added',
    ...nested(STRING, { type: 'string', nullable: true }),
    at: AT_TOTAL,
    additive: { change: 'nullable: true is dropped', expect: 'response-property-became-not-nullable' },
  },
  {
    rule: 'response-property-became-nullable',
    level: 'breaking',
    change: 'OpenAPI 3.1: a $ref becomes oneOf [$ref, null]',
    base: withResponse(object({ card: { $ref: '#/components/schemas/Card' } }, ['card']), SCHEMAS),
    revision: withResponse(object({ card: { oneOf: [{ $ref: '#/components/schemas/Card' }, { type: 'null' }] } }, ['card']), SCHEMAS),
    at: { ...RESPONSE, property: 'card' },
    additive: { change: 'null is no longer returned', expect: 'response-property-became-not-nullable' },
  },
  { rule: 'response-property-became-not-nullable', level: 'info', change: "type [string, 'null'] becomes string", ...nested({ type: ['string', 'null'] }, STRING), at: AT_TOTAL },
  { rule: 'response-property-pattern-added', level: 'info', change: 'a pattern is added', ...nested(STRING, { type: 'string', pattern: '^[0-9]+$' }), at: AT_TOTAL },
  { rule: 'response-property-pattern-changed', level: 'warning', change: 'the pattern changes', ...nested({ type: 'string', pattern: '^[0-9]+$' }, { type: 'string', pattern: '^[0-9]{1,9}$' }), at: AT_TOTAL },
  {
    rule: 'response-property-pattern-removed',
    level: 'breaking',
    change: 'the pattern is removed',
    ...nested({ type: 'string', pattern: '^[0-9]+$' }, STRING),
    at: AT_TOTAL,
    additive: { change: 'a pattern is added', expect: 'response-property-pattern-added' },
  },

  constraint('response-property-max-increased', 'breaking', INTEGER, 'maximum', 100, 1000, { change: 'the maximum is lowered back', expect: 'response-property-max-decreased' }),
  constraint('response-property-max-decreased', 'info', INTEGER, 'maximum', undefined, 100),
  constraint('response-property-min-decreased', 'breaking', INTEGER, 'minimum', 0, undefined, { change: 'the minimum comes back', expect: 'response-property-min-increased' }),
  constraint('response-property-min-increased', 'info', INTEGER, 'minimum', 0, 1),
  constraint('response-property-max-length-increased', 'breaking', STRING, 'maxLength', 40, 80, { change: 'the maxLength is lowered back', expect: 'response-property-max-length-decreased' }),
  constraint('response-property-max-length-decreased', 'info', STRING, 'maxLength', 80, 40),
  constraint('response-property-min-length-decreased', 'breaking', STRING, 'minLength', 1, undefined, { change: 'the minLength comes back', expect: 'response-property-min-length-increased' }),
  constraint('response-property-min-length-increased', 'info', STRING, 'minLength', 1, 2),
  constraint('response-property-max-items-increased', 'breaking', ARRAY, 'maxItems', 10, 100, { change: 'the maxItems is lowered back', expect: 'response-property-max-items-decreased' }),
  constraint('response-property-max-items-decreased', 'info', ARRAY, 'maxItems', 100, 10),
  constraint('response-property-min-items-decreased', 'breaking', ARRAY, 'minItems', 1, 0, { change: 'the minItems is raised back', expect: 'response-property-min-items-increased' }),
  constraint('response-property-min-items-increased', 'info', ARRAY, 'minItems', undefined, 1),

  {
    rule: 'response-required-property-became-write-only',
    level: 'breaking',
    change: 'a required property becomes writeOnly',
    base: withResponse(object({ secret: STRING }, ['secret'])),
    revision: withResponse(object({ secret: { type: 'string', writeOnly: true } }, ['secret'])),
    at: { ...RESPONSE, property: 'secret' },
    additive: { change: 'it is returned again', expect: 'response-property-became-not-write-only' },
  },
  { rule: 'response-optional-property-became-write-only', level: 'warning', change: 'an optional property becomes writeOnly', base: withResponse(object({ secret: STRING })), revision: withResponse(object({ secret: { type: 'string', writeOnly: true } })), at: { ...RESPONSE, property: 'secret' } },
  { rule: 'response-property-became-not-write-only', level: 'info', change: 'a writeOnly property is returned', base: withResponse(object({ secret: { type: 'string', writeOnly: true } })), revision: withResponse(object({ secret: STRING })), at: { ...RESPONSE, property: 'secret' } },

  {
    rule: 'response-property-one-of-added',
    level: 'breaking',
    change: 'a payment method can now be a bank account',
    base: withResponse(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { type: 'null' }] } }), SCHEMAS),
    revision: withResponse(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/Bank' }, { type: 'null' }] } }), SCHEMAS),
    at: { ...RESPONSE, property: 'method' },
    additive: { change: 'a oneOf alternative is removed', expect: 'response-property-one-of-removed' },
  },
  {
    rule: 'response-property-one-of-removed',
    level: 'info',
    change: 'a oneOf alternative is removed',
    base: withResponse(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/Bank' }, STRING] } }), SCHEMAS),
    revision: withResponse(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/Bank' }] } }), SCHEMAS),
    at: { ...RESPONSE, property: 'method', document: 'base' },
  },
  {
    rule: 'response-property-any-of-added',
    level: 'breaking',
    change: 'an anyOf gains an alternative',
    base: withResponse(object({ method: { anyOf: [CARD, BANK] } })),
    revision: withResponse(object({ method: { anyOf: [CARD, BANK, STRING] } })),
    at: { ...RESPONSE, property: 'method' },
    additive: { change: 'the alternative is removed', expect: 'response-property-any-of-removed' },
  },
  { rule: 'response-property-any-of-removed', level: 'info', change: 'an anyOf loses an alternative', base: withResponse(object({ method: { anyOf: [CARD, BANK, STRING] } })), revision: withResponse(object({ method: { anyOf: [CARD, BANK] } })), at: { ...RESPONSE, property: 'method' } },
  { rule: 'response-property-all-of-added', level: 'info', change: 'an allOf gains a member', base: withResponse({ allOf: [CARD] }), revision: withResponse({ allOf: [CARD, object({ note: STRING }, [], { title: 'Note' })] }), at: RESPONSE },
  { rule: 'response-property-all-of-removed', level: 'warning', change: 'an allOf loses a member', base: withResponse({ allOf: [CARD, object({ note: STRING }, [], { title: 'Note' })] }), revision: withResponse({ allOf: [CARD] }), at: RESPONSE },
];
