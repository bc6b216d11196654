/**
 * One small base/revision schema pair per change of the schema walk's tables (schema-rules.ts),
 * and per property change: cases-families.ts puts each pair in every place a schema is used, so
 * every rule of every family is triggered by a real document. A pair is written for the request
 * direction unless `out` gives the pair a response-like use needs.
 */
import type { JsonObject } from '../src/json.js';
import type { PropertyChange } from '../src/schema-rules.js';

export interface Pair {
  readonly base: JsonObject;
  readonly revision: JsonObject;
}

export interface ChangeSample extends Pair {
  /** Where the finding is, below the schema's place (e.g. `[]` for an array's items). */
  readonly below?: string;
  /** The additive counterpart of a breaking rule, when swapping base and revision is not one. */
  readonly counterpart?: Partial<Record<'in' | 'out', Pair>>;
}

const STRING: JsonObject = { type: 'string' };
const INTEGER: JsonObject = { type: 'integer' };
const NUMBER: JsonObject = { type: 'number' };
const values = (...list: string[]): JsonObject => ({ type: 'string', enum: list });
const with_ = (extra: JsonObject, schema: JsonObject = STRING): JsonObject => ({ ...schema, ...extra });
const object = (extra: JsonObject = {}): JsonObject => ({ type: 'object', properties: { a: STRING }, ...extra });
const card: JsonObject = { type: 'object', title: 'Card', properties: { number: STRING }, required: ['number'] };
const bank: JsonObject = { type: 'object', title: 'Bank', properties: { iban: STRING }, required: ['iban'] };
const wallet: JsonObject = { type: 'object', title: 'Wallet', properties: { wallet: STRING }, required: ['wallet'] };
const named: JsonObject = { type: 'object', title: 'Named', properties: { name: STRING } };
const dated: JsonObject = { type: 'object', title: 'Dated', properties: { date: STRING } };
const array = (extra: JsonObject = {}): JsonObject => ({ type: 'array', items: STRING, ...extra });
const tuple = (positions: JsonObject[], extra: JsonObject = {}): JsonObject => ({ type: 'array', prefixItems: positions, ...extra });
const bag = (extra: JsonObject = {}): JsonObject => ({ type: 'object', properties: { a: STRING, b: STRING }, ...extra });
const ifA: JsonObject = { properties: { a: { const: 'x' } }, required: ['a'] };
const ifB: JsonObject = { properties: { b: { const: 'x' } }, required: ['b'] };
const thenB: JsonObject = { required: ['b'] };

export const CHANGE_SAMPLES: Record<string, ChangeSample> = {
  'type-changed': { base: STRING, revision: INTEGER, counterpart: { in: { base: INTEGER, revision: NUMBER }, out: { base: NUMBER, revision: INTEGER } } },
  'type-generalized': { base: INTEGER, revision: NUMBER },
  'type-specialized': { base: NUMBER, revision: INTEGER },
  'enum-value-removed': { base: values('a', 'b'), revision: values('a') },
  'enum-value-added': { base: values('a'), revision: values('a', 'b') },
  'became-enum': { base: STRING, revision: values('a') },
  'became-not-enum': { base: values('a'), revision: STRING },
  'x-extensible-enum-value-removed': { base: with_({ 'x-extensible-enum': ['a', 'b'] }), revision: with_({ 'x-extensible-enum': ['a'] }) },
  'x-extensible-enum-value-added': { base: with_({ 'x-extensible-enum': ['a'] }), revision: with_({ 'x-extensible-enum': ['a', 'b'] }) },
  'became-nullable': { base: STRING, revision: { type: ['string', 'null'] } },
  'became-not-nullable': { base: { type: ['string', 'null'] }, revision: STRING },
  'pattern-added': { base: STRING, revision: with_({ pattern: '^[a-z]+$' }) },
  'pattern-removed': { base: with_({ pattern: '^[a-z]+$' }), revision: STRING },
  'pattern-changed': { base: with_({ pattern: '^[a-z]+$' }), revision: with_({ pattern: '^[0-9]+$' }) },
  'max-set': { base: INTEGER, revision: with_({ maximum: 10 }, INTEGER) },
  'max-decreased': { base: with_({ maximum: 10 }, INTEGER), revision: with_({ maximum: 5 }, INTEGER) },
  'max-increased': { base: with_({ maximum: 5 }, INTEGER), revision: with_({ maximum: 10 }, INTEGER) },
  'min-set': { base: INTEGER, revision: with_({ minimum: 1 }, INTEGER) },
  'min-increased': { base: with_({ minimum: 1 }, INTEGER), revision: with_({ minimum: 5 }, INTEGER) },
  'min-decreased': { base: with_({ minimum: 5 }, INTEGER), revision: with_({ minimum: 1 }, INTEGER) },
  'max-length-set': { base: STRING, revision: with_({ maxLength: 10 }) },
  'max-length-decreased': { base: with_({ maxLength: 10 }), revision: with_({ maxLength: 5 }) },
  'max-length-increased': { base: with_({ maxLength: 5 }), revision: with_({ maxLength: 10 }) },
  'min-length-increased': { base: with_({ minLength: 1 }), revision: with_({ minLength: 5 }) },
  'min-length-decreased': { base: with_({ minLength: 5 }), revision: with_({ minLength: 1 }) },
  'max-items-set': { base: { type: 'array', items: STRING }, revision: { type: 'array', items: STRING, maxItems: 10 } },
  'max-items-decreased': { base: { type: 'array', items: STRING, maxItems: 10 }, revision: { type: 'array', items: STRING, maxItems: 5 } },
  'max-items-increased': { base: { type: 'array', items: STRING, maxItems: 5 }, revision: { type: 'array', items: STRING, maxItems: 10 } },
  'min-items-increased': { base: { type: 'array', items: STRING, minItems: 1 }, revision: { type: 'array', items: STRING, minItems: 5 } },
  'min-items-decreased': { base: { type: 'array', items: STRING, minItems: 5 }, revision: { type: 'array', items: STRING, minItems: 1 } },
  'max-properties-set': { base: bag(), revision: bag({ maxProperties: 5 }) },
  'max-properties-decreased': { base: bag({ maxProperties: 5 }), revision: bag({ maxProperties: 2 }) },
  'max-properties-increased': { base: bag({ maxProperties: 2 }), revision: bag({ maxProperties: 5 }) },
  'min-properties-increased': { base: bag({ minProperties: 1 }), revision: bag({ minProperties: 2 }) },
  'min-properties-decreased': { base: bag({ minProperties: 2 }), revision: bag({ minProperties: 1 }) },
  'max-contains-set': { base: array({ contains: STRING }), revision: array({ contains: STRING, maxContains: 3 }) },
  'max-contains-decreased': { base: array({ contains: STRING, maxContains: 3 }), revision: array({ contains: STRING, maxContains: 2 }) },
  'max-contains-increased': { base: array({ contains: STRING, maxContains: 2 }), revision: array({ contains: STRING, maxContains: 3 }) },
  'min-contains-increased': { base: array({ contains: STRING }), revision: array({ contains: STRING, minContains: 2 }) },
  'min-contains-decreased': { base: array({ contains: STRING, minContains: 2 }), revision: array({ contains: STRING }) },
  'multiple-of-set': { base: INTEGER, revision: with_({ multipleOf: 2 }, INTEGER) },
  'multiple-of-increased': { base: with_({ multipleOf: 2 }, INTEGER), revision: with_({ multipleOf: 4 }, INTEGER) },
  'multiple-of-decreased': { base: with_({ multipleOf: 4 }, INTEGER), revision: with_({ multipleOf: 2 }, INTEGER) },
  'multiple-of-changed': {
    base: with_({ multipleOf: 4 }, INTEGER),
    revision: with_({ multipleOf: 6 }, INTEGER),
    counterpart: { in: { base: with_({ multipleOf: 4 }, INTEGER), revision: with_({ multipleOf: 2 }, INTEGER) }, out: { base: with_({ multipleOf: 2 }, INTEGER), revision: with_({ multipleOf: 4 }, INTEGER) } },
  },
  'unique-items-set': { base: array(), revision: array({ uniqueItems: true }) },
  'unique-items-unset': { base: array({ uniqueItems: true }), revision: array() },
  'contains-added': { base: array(), revision: array({ contains: { const: 'a' } }) },
  'contains-removed': { base: array({ contains: { const: 'a' } }), revision: array() },
  'tuple-became-closed': { base: tuple([STRING]), revision: tuple([STRING], { items: false }) },
  'tuple-became-open': { base: tuple([STRING], { items: false }), revision: tuple([STRING]) },
  'tuple-position-added': { base: tuple([STRING], { items: false }), revision: tuple([STRING, INTEGER], { items: false }), below: '[1]' },
  'tuple-position-removed': { base: tuple([STRING, INTEGER], { items: false }), revision: tuple([STRING], { items: false }), below: '[1]' },
  'pattern-property-added': { base: object(), revision: object({ patternProperties: { '^x-': STRING } }) },
  'pattern-property-removed': { base: object({ patternProperties: { '^x-': STRING } }), revision: object() },
  'dependent-required-added': { base: bag(), revision: bag({ dependentRequired: { a: ['b'] } }) },
  'dependent-required-removed': { base: bag({ dependentRequired: { a: ['b'] } }), revision: bag() },
  'dependent-schema-added': { base: bag(), revision: bag({ dependentSchemas: { a: thenB } }) },
  'dependent-schema-removed': { base: bag({ dependentSchemas: { a: thenB } }), revision: bag() },
  'if-added': { base: bag(), revision: bag({ if: ifA, then: thenB }) },
  'if-removed': { base: bag({ if: ifA, then: thenB }), revision: bag() },
  'if-changed': { base: bag({ if: ifA, then: thenB }), revision: bag({ if: ifB, then: thenB }), below: '(if)' },
  'not-added': { base: STRING, revision: with_({ not: { const: 'a' } }) },
  'not-removed': { base: with_({ not: { const: 'a' } }), revision: STRING },
  'not-changed': { base: with_({ not: { const: 'a' } }), revision: with_({ not: { const: 'b' } }) },
  'content-media-type-added': { base: STRING, revision: with_({ contentMediaType: 'application/json' }) },
  'content-media-type-removed': { base: with_({ contentMediaType: 'application/json' }), revision: STRING },
  'content-media-type-changed': {
    base: with_({ contentMediaType: 'application/json' }),
    revision: with_({ contentMediaType: 'application/xml' }),
    counterpart: { in: { base: with_({ contentMediaType: 'application/json' }), revision: STRING }, out: { base: STRING, revision: with_({ contentMediaType: 'application/json' }) } },
  },
  'content-encoding-added': { base: STRING, revision: with_({ contentEncoding: 'base64' }) },
  'content-encoding-removed': { base: with_({ contentEncoding: 'base64' }), revision: STRING },
  'content-encoding-changed': {
    base: with_({ contentEncoding: 'base64' }),
    revision: with_({ contentEncoding: 'base32' }),
    counterpart: { in: { base: with_({ contentEncoding: 'base64' }), revision: STRING }, out: { base: STRING, revision: with_({ contentEncoding: 'base64' }) } },
  },
  'default-value-changed': { base: with_({ default: 'a' }), revision: with_({ default: 'b' }), counterpart: { in: { base: STRING, revision: with_({ default: 'a' }) } } },
  'default-value-added': { base: STRING, revision: with_({ default: 'a' }) },
  'default-value-removed': { base: with_({ default: 'a' }), revision: STRING },
  'became-closed': { base: object(), revision: object({ additionalProperties: false }) },
  'became-open': { base: object({ additionalProperties: false }), revision: object() },
  'one-of-added': { base: { oneOf: [card, bank] }, revision: { oneOf: [card, bank, wallet] } },
  'one-of-removed': { base: { oneOf: [card, bank, wallet] }, revision: { oneOf: [card, bank] } },
  'any-of-added': { base: { anyOf: [card, bank] }, revision: { anyOf: [card, bank, wallet] } },
  'any-of-removed': { base: { anyOf: [card, bank, wallet] }, revision: { anyOf: [card, bank] } },
  'all-of-added': { base: { allOf: [named] }, revision: { allOf: [named, dated] } },
  'all-of-removed': { base: { allOf: [named, dated] }, revision: { allOf: [named] } },
};

const REQUIRED_X = (extra: JsonObject = {}): JsonObject => ({ type: 'object', properties: { x: { type: 'string', ...extra } }, required: ['x'] });
const OPTIONAL_X = (extra: JsonObject = {}): JsonObject => ({ type: 'object', properties: { x: { type: 'string', ...extra } } });
const NO_X: JsonObject = { type: 'object', properties: {} };
const CLOSED_NO_X: JsonObject = { type: 'object', properties: {}, additionalProperties: false };
const CLOSED_OPTIONAL_X: JsonObject = { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: false };

/**
 * Property changes, at the property `x` of an object; `hidden` is the flag that hides a property in
 * the direction (readOnly in requests, writeOnly in responses and webhook payloads).
 */
export function propertySample(change: PropertyChange, hidden: 'readOnly' | 'writeOnly'): ChangeSample {
  switch (change) {
    case 'added-required':
      return { base: NO_X, revision: REQUIRED_X(), below: 'x' };
    case 'added-optional':
      return { base: NO_X, revision: OPTIONAL_X(), below: 'x' };
    case 'removed-required':
      return { base: REQUIRED_X(), revision: NO_X, below: 'x' };
    case 'removed-optional':
      return { base: OPTIONAL_X(), revision: NO_X, below: 'x' };
    case 'removed-rejected':
      return { base: CLOSED_OPTIONAL_X, revision: CLOSED_NO_X, below: 'x' };
    case 'became-required':
      return { base: OPTIONAL_X(), revision: REQUIRED_X(), below: 'x' };
    case 'became-optional':
      return { base: REQUIRED_X(), revision: OPTIONAL_X(), below: 'x' };
    case 'required-became-hidden':
      // Undone, the property would come back required: its counterpart comes back optional.
      return { base: REQUIRED_X(), revision: REQUIRED_X({ [hidden]: true }), below: 'x', counterpart: { in: { base: REQUIRED_X({ [hidden]: true }), revision: OPTIONAL_X() } } };
    case 'optional-became-hidden':
      return { base: OPTIONAL_X(), revision: OPTIONAL_X({ [hidden]: true }), below: 'x' };
    case 'became-visible':
      return { base: OPTIONAL_X({ [hidden]: true }), revision: OPTIONAL_X(), below: 'x' };
  }
}
