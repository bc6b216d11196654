/**
 * Request bodies and the properties inside them, at the root and nested (through $ref, arrays,
 * maps and allOf), in the request direction: accepting less breaks clients.
 */
import type { JsonObject } from '../src/json.js';
import type { Level, RuleId } from '../src/index.js';
import type { Location } from '../src/index.js';
import { INTEGER, object, OK, REQUEST, spec, STRING, withRequest } from './build.js';
import type { Counterpart, RuleCase } from './rule-case.js';

const JSON_BODY = (schema: JsonObject) => ({ 'application/json': { schema } });

function postThings(operation: JsonObject): JsonObject {
  return spec({ '/things': { post: { responses: OK, ...operation } } });
}

/** A body whose `amount` property (nested under `line`) goes from `before` to `after`. */
function nested(before: JsonObject, after: JsonObject): { base: JsonObject; revision: JsonObject } {
  const body = (amount: JsonObject) => object({ line: object({ amount }) });
  return { base: withRequest(body(before)), revision: withRequest(body(after)) };
}

const AT_AMOUNT: Partial<Location> = { ...REQUEST, property: 'line.amount' };

function constraint(rule: RuleId, level: Level, base: JsonObject, keyword: string, before: number | undefined, after: number | undefined, additive?: Counterpart): RuleCase {
  const schema = (value: number | undefined) => (value === undefined ? base : { ...base, [keyword]: value });
  const change = before === undefined ? `${keyword} set to ${after}` : after === undefined ? `${keyword} ${before} removed` : `${keyword} from ${before} to ${after}`;
  return { rule, level, change: `line.amount ${change}`, ...nested(schema(before), schema(after)), at: AT_AMOUNT, additive };
}

const ARRAY: JsonObject = { type: 'array', items: STRING };
const CARD = object({ number: STRING }, ['number'], { title: 'Card' });
const BANK = object({ iban: STRING }, ['iban'], { title: 'Bank' });

export const REQUEST_BODY_CASES: RuleCase[] = [
  {
    rule: 'request-body-added-required',
    level: 'breaking',
    change: 'an operation without a body now requires one',
    base: postThings({}),
    revision: postThings({ requestBody: { required: true, content: JSON_BODY(STRING) } }),
    at: { method: 'POST', path: '/things' },
    additive: { change: 'an optional body is added', base: postThings({}), revision: postThings({ requestBody: { content: JSON_BODY(STRING) } }), expect: 'request-body-added-optional' },
  },
  { rule: 'request-body-added-optional', level: 'info', change: 'an optional body is added', base: postThings({}), revision: postThings({ requestBody: { content: JSON_BODY(STRING) } }), at: { method: 'POST', path: '/things' } },
  {
    rule: 'request-body-became-required',
    level: 'breaking',
    change: 'an optional body becomes required',
    base: postThings({ requestBody: { content: JSON_BODY(STRING) } }),
    revision: postThings({ requestBody: { required: true, content: JSON_BODY(STRING) } }),
    at: { method: 'POST', path: '/things' },
    additive: { change: 'it becomes optional again', expect: 'request-body-became-optional' },
  },
  {
    rule: 'request-body-became-optional',
    level: 'info',
    change: 'a required body becomes optional',
    base: postThings({ requestBody: { required: true, content: JSON_BODY(STRING) } }),
    revision: postThings({ requestBody: { content: JSON_BODY(STRING) } }),
    at: { method: 'POST', path: '/things' },
  },
  {
    rule: 'request-body-removed',
    level: 'breaking',
    change: 'the body is removed',
    base: withRequest(STRING),
    revision: postThings({}),
    at: { method: 'POST', path: '/things', document: 'base' },
    additive: { change: 'the body becomes optional instead', base: withRequest(STRING), revision: postThings({ requestBody: { content: JSON_BODY(STRING) } }), expect: 'request-body-became-optional' },
  },
  {
    rule: 'request-body-media-type-removed',
    level: 'breaking',
    change: 'form bodies are no longer accepted',
    base: postThings({ requestBody: { content: { ...JSON_BODY(STRING), 'application/x-www-form-urlencoded': { schema: STRING } } } }),
    revision: postThings({ requestBody: { content: JSON_BODY(STRING) } }),
    at: { method: 'POST', path: '/things', mediaType: 'application/x-www-form-urlencoded', document: 'base' },
    additive: { change: 'form bodies are accepted again', expect: 'request-body-media-type-added' },
  },
  {
    rule: 'request-body-media-type-added',
    level: 'info',
    change: 'form bodies are now accepted',
    base: postThings({ requestBody: { content: JSON_BODY(STRING) } }),
    revision: postThings({ requestBody: { content: { ...JSON_BODY(STRING), 'application/x-www-form-urlencoded': { schema: STRING } } } }),
    at: { method: 'POST', path: '/things', mediaType: 'application/x-www-form-urlencoded' },
  },
];

export const REQUEST_PROPERTY_CASES: RuleCase[] = [
  {
    rule: 'new-required-request-property',
    level: 'breaking',
    change: 'a required property is added',
    base: withRequest(object({ name: STRING })),
    revision: withRequest(object({ name: STRING, email: STRING }, ['email'])),
    at: { ...REQUEST, property: 'email' },
    additive: { change: 'an optional property is added', base: withRequest(object({ name: STRING })), revision: withRequest(object({ name: STRING, email: STRING })), expect: 'new-optional-request-property' },
  },
  {
    rule: 'new-required-request-property',
    level: 'breaking',
    change: 'an allOf member that requires a property is added',
    base: withRequest({ allOf: [{ $ref: '#/components/schemas/Named' }] }, { schemas: { Named: object({ name: STRING }) } }),
    revision: withRequest({ allOf: [{ $ref: '#/components/schemas/Named' }, object({ email: STRING }, ['email'])] }, { schemas: { Named: object({ name: STRING }) } }),
    at: { ...REQUEST, property: 'email' },
    additive: {
      change: 'an allOf member with only optional properties is added',
      base: withRequest({ allOf: [{ $ref: '#/components/schemas/Named' }] }, { schemas: { Named: object({ name: STRING }) } }),
      revision: withRequest({ allOf: [{ $ref: '#/components/schemas/Named' }, object({ email: STRING })] }, { schemas: { Named: object({ name: STRING }) } }),
      expect: 'new-optional-request-property',
    },
  },
  { rule: 'new-optional-request-property', level: 'info', change: 'an optional property is added', base: withRequest(object({ name: STRING })), revision: withRequest(object({ name: STRING, email: STRING })), at: { ...REQUEST, property: 'email' } },
  {
    rule: 'request-property-removed',
    level: 'warning',
    change: 'a property is removed from an open object',
    base: withRequest(object({ name: STRING, nickname: STRING })),
    revision: withRequest(object({ name: STRING })),
    at: { ...REQUEST, property: 'nickname', document: 'base' },
  },
  {
    rule: 'request-property-removed-rejected',
    level: 'breaking',
    change: 'a property is removed from an object with additionalProperties: false',
    base: withRequest(object({ name: STRING, nickname: STRING }, [], { additionalProperties: false })),
    revision: withRequest(object({ name: STRING }, [], { additionalProperties: false })),
    at: { ...REQUEST, property: 'nickname', document: 'base' },
    additive: { change: 'an optional property is added to the closed object', expect: 'new-optional-request-property' },
  },
  {
    rule: 'request-property-became-required',
    level: 'breaking',
    change: 'an optional property becomes required',
    base: withRequest(object({ name: STRING })),
    revision: withRequest(object({ name: STRING }, ['name'])),
    at: { ...REQUEST, property: 'name' },
    additive: { change: 'it becomes optional again', expect: 'request-property-became-optional' },
  },
  { rule: 'request-property-became-optional', level: 'info', change: 'a required property becomes optional', base: withRequest(object({ name: STRING }, ['name'])), revision: withRequest(object({ name: STRING })), at: { ...REQUEST, property: 'name' } },
  {
    rule: 'request-property-type-changed',
    level: 'breaking',
    change: 'metadata.tags[].name, through a $ref in an array, becomes an integer',
    base: withRequest(object({ metadata: object({ tags: { type: 'array', items: { $ref: '#/components/schemas/Tag' } } }) }), { schemas: { Tag: object({ name: STRING }) } }),
    revision: withRequest(object({ metadata: object({ tags: { type: 'array', items: { $ref: '#/components/schemas/Tag' } } }) }), { schemas: { Tag: object({ name: INTEGER }) } }),
    at: { ...REQUEST, property: 'metadata.tags[].name', pointer: '/components/schemas/Tag/properties/name' },
    additive: {
      change: 'an integer widens to a number',
      base: withRequest(object({ metadata: object({ tags: { type: 'array', items: { $ref: '#/components/schemas/Tag' } } }) }), { schemas: { Tag: object({ name: INTEGER }) } }),
      revision: withRequest(object({ metadata: object({ tags: { type: 'array', items: { $ref: '#/components/schemas/Tag' } } }) }), { schemas: { Tag: object({ name: { type: 'number' } }) } }),
      expect: 'request-property-type-generalized',
    },
  },
  {
    rule: 'request-property-type-changed',
    level: 'breaking',
    change: 'the values of a map (additionalProperties) change type',
    base: withRequest(object({ labels: { type: 'object', additionalProperties: STRING } })),
    revision: withRequest(object({ labels: { type: 'object', additionalProperties: INTEGER } })),
    at: { ...REQUEST, property: 'labels.*' },
  },
  { rule: 'request-property-type-generalized', level: 'info', change: 'integer widens to number', ...nested(INTEGER, { type: 'number' }), at: AT_AMOUNT },
  {
    rule: 'request-property-enum-value-removed',
    level: 'breaking',
    change: 'a currency is no longer accepted',
    ...nested({ type: 'string', enum: ['EUR', 'USD'] }, { type: 'string', enum: ['EUR'] }),
    at: AT_AMOUNT,
    additive: { change: 'the currency is accepted again', expect: 'request-property-enum-value-added' },
  },
  { rule: 'request-property-enum-value-added', level: 'info', change: 'a currency is added', ...nested({ type: 'string', enum: ['EUR'] }, { type: 'string', enum: ['EUR', 'USD'] }), at: AT_AMOUNT },
  {
    rule: 'request-property-became-enum',
    level: 'breaking',
    change: 'a free string is restricted to a list',
    ...nested(STRING, { type: 'string', enum: ['EUR'] }),
    at: AT_AMOUNT,
    additive: { change: 'the list is lifted', expect: 'request-property-became-not-enum' },
  },
  { rule: 'request-property-became-not-enum', level: 'info', change: 'a list is lifted', ...nested({ type: 'string', enum: ['EUR'] }, STRING), at: AT_AMOUNT },
  {
    rule: 'request-property-became-not-nullable',
    level: 'breaking',
    change: 'OpenAPI 3.0 nullable: true is dropped',
    ...nested({ type: 'string', nullable: true }, STRING),
    at: AT_AMOUNT,
    additive: { change: 'nullable: true comes back', expect: 'request-property-became-nullable' },
  },
  {
    rule: 'request-property-became-not-nullable',
    level: 'breaking',
    change: "OpenAPI 3.1 type [string, 'null'] becomes string",
    ...nested({ type: ['string', 'null'] }, STRING),
    at: AT_AMOUNT,
    additive: { change: 'null comes back', expect: 'request-property-became-nullable' },
  },
  { rule: 'request-property-became-nullable', level: 'info', change: 'a oneOf with null is introduced', ...nested(STRING, { oneOf: [STRING, { type: 'null' }] }), at: AT_AMOUNT },
  {
    rule: 'request-property-pattern-added',
    level: 'breaking',
    change: 'a pattern is added',
    ...nested(STRING, { type: 'string', pattern: '^[0-9]+$' }),
    at: AT_AMOUNT,
    additive: { change: 'the pattern is removed', expect: 'request-property-pattern-removed' },
  },
  { rule: 'request-property-pattern-changed', level: 'warning', change: 'the pattern changes', ...nested({ type: 'string', pattern: '^[0-9]+$' }, { type: 'string', pattern: '^[0-9]{1,8}$' }), at: AT_AMOUNT },
  { rule: 'request-property-pattern-removed', level: 'info', change: 'the pattern is removed', ...nested({ type: 'string', pattern: '^[0-9]+$' }, STRING), at: AT_AMOUNT },

  constraint('request-property-max-set', 'breaking', INTEGER, 'maximum', undefined, 1000, { change: 'the maximum is removed', expect: 'request-property-max-increased' }),
  constraint('request-property-max-decreased', 'breaking', INTEGER, 'maximum', 1000, 500, { change: 'the maximum is raised back', expect: 'request-property-max-increased' }),
  constraint('request-property-max-increased', 'info', INTEGER, 'maximum', 500, 1000),
  constraint('request-property-min-set', 'breaking', INTEGER, 'minimum', undefined, 1, { change: 'the minimum is removed', expect: 'request-property-min-decreased' }),
  constraint('request-property-min-increased', 'breaking', INTEGER, 'minimum', 1, 50, { change: 'the minimum is lowered back', expect: 'request-property-min-decreased' }),
  {
    rule: 'request-property-min-increased',
    level: 'breaking',
    change: 'OpenAPI 3.0 exclusiveMinimum: true is set on minimum 0',
    ...nested({ type: 'integer', minimum: 0 }, { type: 'integer', minimum: 0, exclusiveMinimum: true }),
    at: AT_AMOUNT,
    additive: { change: 'the minimum becomes inclusive again', expect: 'request-property-min-decreased' },
  },
  constraint('request-property-min-decreased', 'info', INTEGER, 'minimum', 50, 1),
  constraint('request-property-max-length-set', 'breaking', STRING, 'maxLength', undefined, 200, { change: 'the maxLength is removed', expect: 'request-property-max-length-increased' }),
  constraint('request-property-max-length-decreased', 'breaking', STRING, 'maxLength', 500, 100, { change: 'the maxLength is raised back', expect: 'request-property-max-length-increased' }),
  {
    rule: 'request-property-max-length-decreased',
    level: 'breaking',
    change: 'the map values (metadata.*) of a referenced schema get a lower maxLength',
    base: withRequest(object({ metadata: { $ref: '#/components/schemas/Metadata' } }), { schemas: { Metadata: { type: 'object', additionalProperties: { type: 'string', maxLength: 500 } } } }),
    revision: withRequest(object({ metadata: { $ref: '#/components/schemas/Metadata' } }), { schemas: { Metadata: { type: 'object', additionalProperties: { type: 'string', maxLength: 100 } } } }),
    at: { ...REQUEST, property: 'metadata.*', pointer: '/components/schemas/Metadata/additionalProperties' },
  },
  {
    rule: 'request-property-max-length-decreased',
    level: 'breaking',
    change: 'the keys of a map (propertyNames) get a lower maxLength',
    base: withRequest(object({ metadata: { type: 'object', propertyNames: { maxLength: 40 } } })),
    revision: withRequest(object({ metadata: { type: 'object', propertyNames: { maxLength: 20 } } })),
    at: { ...REQUEST, property: 'metadata.(name)' },
  },
  constraint('request-property-max-length-increased', 'info', STRING, 'maxLength', 100, 500),
  constraint('request-property-min-length-increased', 'breaking', STRING, 'minLength', 1, 5, { change: 'the minLength is lowered back', expect: 'request-property-min-length-decreased' }),
  constraint('request-property-min-length-decreased', 'info', STRING, 'minLength', 5, undefined),
  constraint('request-property-max-items-set', 'breaking', ARRAY, 'maxItems', undefined, 10, { change: 'the maxItems is removed', expect: 'request-property-max-items-increased' }),
  constraint('request-property-max-items-decreased', 'breaking', ARRAY, 'maxItems', 10, 3, { change: 'the maxItems is raised back', expect: 'request-property-max-items-increased' }),
  constraint('request-property-max-items-increased', 'info', ARRAY, 'maxItems', 3, 10),
  constraint('request-property-min-items-increased', 'breaking', ARRAY, 'minItems', undefined, 1, { change: 'the minItems is removed', expect: 'request-property-min-items-decreased' }),
  constraint('request-property-min-items-decreased', 'info', ARRAY, 'minItems', 2, 1),

  {
    rule: 'request-property-default-value-changed',
    level: 'breaking',
    change: 'the default capture mode changes',
    ...nested({ type: 'string', default: 'automatic' }, { type: 'string', default: 'manual' }),
    at: AT_AMOUNT,
    additive: { change: 'a default is given where there was none', ...nested(STRING, { type: 'string', default: 'automatic' }), expect: 'request-property-default-value-added' },
  },
  { rule: 'request-property-default-value-added', level: 'info', change: 'a default is added', ...nested(STRING, { type: 'string', default: 'automatic' }), at: AT_AMOUNT },
  { rule: 'request-property-default-value-removed', level: 'warning', change: 'the default is removed', ...nested({ type: 'string', default: 'automatic' }, STRING), at: AT_AMOUNT },

  {
    rule: 'request-required-property-became-read-only',
    level: 'breaking',
    change: 'a required property becomes readOnly',
    base: withRequest(object({ id: STRING }, ['id'])),
    revision: withRequest(object({ id: { type: 'string', readOnly: true } }, ['id'])),
    at: { ...REQUEST, property: 'id' },
    additive: {
      change: 'an optional readOnly property becomes writable',
      base: withRequest(object({ id: { type: 'string', readOnly: true } })),
      revision: withRequest(object({ id: STRING })),
      expect: 'request-property-became-not-read-only',
    },
  },
  { rule: 'request-optional-property-became-read-only', level: 'warning', change: 'an optional property becomes readOnly', base: withRequest(object({ id: STRING })), revision: withRequest(object({ id: { type: 'string', readOnly: true } })), at: { ...REQUEST, property: 'id' } },
  { rule: 'request-property-became-not-read-only', level: 'info', change: 'a readOnly property becomes writable', base: withRequest(object({ id: { type: 'string', readOnly: true } })), revision: withRequest(object({ id: STRING })), at: { ...REQUEST, property: 'id' } },
  {
    rule: 'request-property-became-required',
    level: 'breaking',
    change: 'a required readOnly property becomes writable: clients must now send it',
    base: withRequest(object({ id: { type: 'string', readOnly: true } }, ['id'])),
    revision: withRequest(object({ id: STRING }, ['id'])),
    at: { ...REQUEST, property: 'id' },
  },
  {
    rule: 'request-property-became-closed',
    level: 'breaking',
    change: 'additionalProperties: false is added',
    base: withRequest(object({ name: STRING })),
    revision: withRequest(object({ name: STRING }, [], { additionalProperties: false })),
    at: REQUEST,
    additive: { change: 'additionalProperties: false is removed', expect: 'request-property-became-open' },
  },
  { rule: 'request-property-became-open', level: 'info', change: 'additionalProperties: false is removed', base: withRequest(object({ name: STRING }, [], { additionalProperties: false })), revision: withRequest(object({ name: STRING })), at: REQUEST },

  {
    rule: 'request-property-one-of-removed',
    level: 'breaking',
    change: 'bank accounts are no longer accepted as a payment method',
    base: withRequest(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/Bank' }] } }), { schemas: { Card: CARD, Bank: BANK } }),
    revision: withRequest(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }] } }), { schemas: { Card: CARD, Bank: BANK } }),
    at: { ...REQUEST, property: 'method', document: 'base' },
    additive: { change: 'bank accounts are accepted again', expect: 'request-property-one-of-added' },
  },
  {
    rule: 'request-property-one-of-added',
    level: 'info',
    change: 'inline alternatives: Bank is added',
    base: withRequest(object({ method: { oneOf: [CARD, { type: 'null' }] } })),
    revision: withRequest(object({ method: { oneOf: [CARD, BANK, { type: 'null' }] } })),
    at: { ...REQUEST, property: 'method' },
  },
  {
    rule: 'request-property-any-of-removed',
    level: 'breaking',
    change: 'an anyOf loses an alternative',
    base: withRequest(object({ method: { anyOf: [CARD, BANK, { type: 'string' }] } })),
    revision: withRequest(object({ method: { anyOf: [CARD, BANK] } })),
    at: { ...REQUEST, property: 'method' },
    additive: { change: 'the alternative comes back', expect: 'request-property-any-of-added' },
  },
  { rule: 'request-property-any-of-added', level: 'info', change: 'an anyOf gains an alternative', base: withRequest(object({ method: { anyOf: [CARD, BANK] } })), revision: withRequest(object({ method: { anyOf: [CARD, BANK, STRING] } })), at: { ...REQUEST, property: 'method' } },
  {
    rule: 'request-property-all-of-added',
    level: 'warning',
    change: 'an allOf gains a member',
    base: withRequest({ allOf: [CARD] }),
    revision: withRequest({ allOf: [CARD, object({ note: STRING }, [], { title: 'Note' })] }),
    at: REQUEST,
  },
  { rule: 'request-property-all-of-removed', level: 'info', change: 'an allOf loses a member', base: withRequest({ allOf: [CARD, object({ note: STRING }, [], { title: 'Note' })] }), revision: withRequest({ allOf: [CARD] }), at: { ...REQUEST, document: 'base' } },
];
