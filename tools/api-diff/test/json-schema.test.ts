/**
 * JSON Schema 2020-12 (OpenAPI 3.1) beyond the one-rule cases the tables generate: a change deep
 * inside a subschema keyword (a then branch, a tuple position, a pattern property, a dependent
 * schema, a string's content, unevaluated properties) is found at its own path with its own rule;
 * the same schema written two ways compares equal; a type list is judged by direction; a recursive
 * schema through the new keywords terminates; and the cases where the keyword's meaning decides the
 * verdict (an empty pattern, x-extensible-enum, a closed object's patterns, an open tuple's new
 * position, merged allOf members).
 */
import { expect } from 'chai';
import { diff } from '../src/index.js';
import type { JsonObject } from '../src/json.js';
import { INTEGER, NOW, object, STRING, withQuery, withRequest, withResponse } from './build.js';
import { expectCatalogued } from './rule-case.js';

/** Each finding as "level rule property", in the report's order. */
function ids(base: JsonObject, revision: JsonObject): string[] {
  const findings = diff(base, revision, { now: NOW });
  expectCatalogued(findings);
  return findings.map((f) => `${f.level} ${f.id}${f.location.property ? ` ${f.location.property}` : ''}`);
}

const MAX = (maxLength: number): JsonObject => ({ type: 'string', maxLength });

describe('json schema: changes found inside subschema keywords', () => {
  it('finds a change inside a then branch at (then)', () => {
    const body = (max: number) => object({ kind: STRING, note: STRING }, [], { if: { properties: { kind: { const: 'long' } } }, then: { properties: { note: MAX(max) } } });
    expect(ids(withRequest(body(100)), withRequest(body(50)))).to.deep.equal(['breaking request-property-max-length-decreased (then).note']);
    expect(ids(withResponse(body(50)), withResponse(body(100)))).to.deep.equal(['breaking response-property-max-length-increased (then).note']);
  });

  it('finds a change inside an else branch and reports a changed if as unclear', () => {
    const body = (kind: string, max: number) => object({ kind: STRING }, [], { if: { properties: { kind: { const: kind } } }, then: { required: ['kind'] }, else: { properties: { kind: MAX(max) } } });
    expect(ids(withRequest(body('a', 10)), withRequest(body('a', 5)))).to.deep.equal(['breaking request-property-max-length-decreased (else).kind']);
    expect(ids(withRequest(body('a', 10)), withRequest(body('b', 10)))).to.deep.equal(['warning request-property-if-changed (if)']);
  });

  it('finds a change at a tuple position at [0], and in the items after the positions at []', () => {
    const pair = (first: JsonObject, rest: JsonObject) => object({ point: { type: 'array', prefixItems: [first, INTEGER], items: rest } });
    expect(ids(withRequest(pair(MAX(10), STRING)), withRequest(pair(MAX(5), STRING)))).to.deep.equal(['breaking request-property-max-length-decreased point[0]']);
    expect(ids(withRequest(pair(STRING, STRING)), withRequest(pair(STRING, MAX(5))))).to.deep.equal(['breaking request-property-max-length-set point[]']);
  });

  it('finds a change inside a patternProperties schema at (pattern …)', () => {
    const body = (max: number) => object({}, [], { patternProperties: { '^x-': MAX(max) } });
    expect(ids(withRequest(body(10)), withRequest(body(5)))).to.deep.equal(['breaking request-property-max-length-decreased (pattern ^x-)']);
  });

  it('finds a change inside a dependentSchemas schema at (when …)', () => {
    const body = (max: number) => object({ card: STRING, cvc: STRING }, [], { dependentSchemas: { card: { properties: { cvc: MAX(max) }, required: ['cvc'] } } });
    expect(ids(withRequest(body(4)), withRequest(body(3)))).to.deep.equal(['breaking request-property-max-length-decreased (when card).cvc']);
  });

  it('finds a change inside a contentSchema at (content)', () => {
    const body = (max: number) => object({ payload: { type: 'string', contentMediaType: 'application/json', contentSchema: object({ id: MAX(max) }) } });
    expect(ids(withRequest(body(10)), withRequest(body(5)))).to.deep.equal(['breaking request-property-max-length-decreased payload.(content).id']);
  });

  it('walks unevaluatedProperties and unevaluatedItems as schemas like additionalProperties and items', () => {
    const map = (max: number) => object({ labels: { type: 'object', unevaluatedProperties: MAX(max) } });
    expect(ids(withRequest(map(10)), withRequest(map(5)))).to.deep.equal(['breaking request-property-max-length-decreased labels.*']);
    const list = (max: number) => object({ tags: { type: 'array', unevaluatedItems: MAX(max) } });
    expect(ids(withResponse(list(5)), withResponse(list(10)))).to.deep.equal(['breaking response-property-max-length-increased tags[]']);
  });

  it('finds a change inside contains at (contains), with minContains compared beside it', () => {
    const list = (max: number, extra: JsonObject = {}) => ({ type: 'array', items: STRING, contains: MAX(max), ...extra });
    expect(ids(withQuery(list(10)), withQuery(list(5)))).to.deep.equal(['breaking request-parameter-max-length-decreased (contains)']);
    expect(ids(withQuery(list(10)), withQuery(list(10, { minContains: 1 })))).to.deep.equal([]);
  });

  it('reports a property deep inside a then branch with the property rules', () => {
    const body = (required: string[]) => object({ kind: STRING }, [], { if: { required: ['kind'] }, then: object({ note: STRING }, required) });
    expect(ids(withRequest(body([])), withRequest(body(['note'])))).to.deep.equal(['breaking request-property-became-required (then).note']);
  });
});

describe('json schema: the same schema written differently', () => {
  const same: [string, JsonObject, JsonObject][] = [
    ['const and a one-value enum', { type: 'string', const: 'a' }, { type: 'string', enum: ['a'] }],
    ['an empty pattern and none', { type: 'string', pattern: '' }, STRING],
    ['unevaluatedProperties: false and additionalProperties: false', object({ a: STRING }, [], { unevaluatedProperties: false }), object({ a: STRING }, [], { additionalProperties: false })],
    ['unevaluatedItems: false and items: false', { type: 'array', prefixItems: [STRING], unevaluatedItems: false }, { type: 'array', prefixItems: [STRING], items: false }],
    ['multipleOf in two allOf members and their common multiple', { allOf: [{ type: 'integer', multipleOf: 2 }, { multipleOf: 3 }] }, { type: 'integer', multipleOf: 6 }],
    ['minContains 1 and none', { type: 'array', contains: STRING, minContains: 1 }, { type: 'array', contains: STRING }],
    ['a type list written in another order', { type: ['integer', 'string'] }, { type: ['string', 'integer'] }],
  ];
  for (const [what, a, b] of same) {
    it(`treats ${what} as the same`, () => {
      expect(ids(withRequest(a), withRequest(b))).to.deep.equal([]);
      expect(ids(withResponse(b), withResponse(a))).to.deep.equal([]);
    });
  }

  it('notices a change in one of these keywords alone (the equality shortcut does not skip it)', () => {
    const keywords: [JsonObject, JsonObject][] = [
      [{ type: 'integer', multipleOf: 2 }, { type: 'integer', multipleOf: 4 }],
      [{ type: 'array', uniqueItems: false }, { type: 'array', uniqueItems: true }],
      [{ type: 'object', dependentRequired: { a: ['b'] } }, { type: 'object', dependentRequired: { a: ['b', 'c'] } }],
      [{ type: 'string', contentEncoding: 'base64' }, { type: 'string', contentEncoding: 'base32' }],
      [{ type: 'string', 'x-extensible-enum': ['a'] }, { type: 'string', 'x-extensible-enum': ['a', 'b'] }],
    ];
    for (const [a, b] of keywords) expect(ids(withRequest(a), withRequest(b)), JSON.stringify(b)).to.have.length(1);
  });
});

describe('json schema: verdicts that depend on the keyword', () => {
  it('judges a type list widened as additive in a request and breaking in a response', () => {
    const narrow = { type: ['string', 'integer'] };
    const wide = { type: ['string', 'integer', 'boolean'] };
    expect(ids(withRequest(object({ v: narrow })), withRequest(object({ v: wide })))).to.deep.equal(['info request-property-type-generalized v']);
    expect(ids(withResponse(object({ v: narrow })), withResponse(object({ v: wide })))).to.deep.equal(['breaking response-property-type-changed v']);
    expect(ids(withRequest(object({ v: wide })), withRequest(object({ v: narrow })))).to.deep.equal(['breaking request-property-type-changed v']);
    expect(ids(withResponse(object({ v: wide })), withResponse(object({ v: narrow })))).to.deep.equal(['info response-property-type-specialized v']);
  });

  it('treats an empty pattern as no pattern: a real one replacing it is added, and it replacing one is a removal', () => {
    expect(ids(withQuery({ type: 'string', pattern: '' }), withQuery({ type: 'string', pattern: '^[a-z]+$' }))).to.deep.equal(['breaking request-parameter-pattern-added']);
    expect(ids(withQuery({ type: 'string', pattern: '^[a-z]+$' }), withQuery({ type: 'string', pattern: '' }))).to.deep.equal(['info request-parameter-pattern-removed']);
  });

  it('reports one const replaced by another as a value removed and one added', () => {
    expect(ids(withQuery({ const: 'a' }), withQuery({ const: 'b' }))).to.deep.equal(['breaking request-parameter-enum-value-removed', 'info request-parameter-enum-value-added']);
    expect(ids(withQuery(STRING), withQuery({ type: 'string', const: 'a' }))).to.deep.equal(['breaking request-parameter-became-enum']);
  });

  it('reads x-extensible-enum as a list of values, never as an enum', () => {
    const values = (...list: string[]) => ({ type: 'string', 'x-extensible-enum': list });
    expect(ids(withResponse(object({ s: values('a') })), withResponse(object({ s: values('a', 'b') })))).to.deep.equal(['info response-property-x-extensible-enum-value-added s']);
    expect(ids(withRequest(object({ s: values('a', 'b') })), withRequest(object({ s: values('a') })))).to.deep.equal(['breaking request-property-x-extensible-enum-value-removed s']);
    // Listing values where there were none restricts nothing.
    expect(ids(withRequest(object({ s: STRING })), withRequest(object({ s: values('a') })))).to.deep.equal(['info request-property-x-extensible-enum-value-added s']);
  });

  it('judges multipleOf by divisibility, fractions included', () => {
    const n = (multipleOf: number) => ({ type: 'number', multipleOf });
    expect(ids(withQuery(n(0.1)), withQuery(n(0.3)))).to.deep.equal(['breaking request-parameter-multiple-of-increased']);
    expect(ids(withQuery(n(0.3)), withQuery(n(0.1)))).to.deep.equal(['info request-parameter-multiple-of-decreased']);
    expect(ids(withQuery(n(0.2)), withQuery(n(0.3)))).to.deep.equal(['breaking request-parameter-multiple-of-changed']);
  });

  it('lets a new pattern into a closed object in a request as an opening, not a narrowing', () => {
    const closed = (extra: JsonObject = {}) => object({ a: STRING }, [], { additionalProperties: false, ...extra });
    expect(ids(withRequest(closed()), withRequest(closed({ patternProperties: { '^x-': STRING } })))).to.deep.equal(['info request-property-became-open']);
    expect(ids(withRequest(closed({ patternProperties: { '^x-': STRING } })), withRequest(closed()))).to.deep.equal(['breaking request-property-became-closed']);
  });

  it('compares a new position of an open tuple with what the items after the positions allowed', () => {
    const open = (...positions: JsonObject[]) => ({ type: 'array', prefixItems: positions });
    // Before, the second item could be anything; now it must be an integer.
    expect(ids(withQuery(open(STRING)), withQuery(open(STRING, INTEGER)))).to.deep.equal(['breaking request-parameter-type-changed [1]']);
    expect(ids(withResponse(open(STRING)), withResponse(open(STRING, INTEGER)))).to.deep.equal(['info response-property-type-specialized [1]']);
    // A position that only repeats what the items schema said changes nothing.
    expect(ids(withQuery({ ...open(STRING), items: INTEGER }), withQuery({ ...open(STRING, INTEGER), items: INTEGER }))).to.deep.equal([]);
  });

  it('pairs the conditionals of several allOf members by their if', () => {
    const member = (field: string, max: number) => ({ if: { required: [field] }, then: { properties: { [field]: MAX(max) } } });
    const body = (maxB: number) => ({ allOf: [object({ a: STRING, b: STRING }), member('a', 5), member('b', maxB)] });
    expect(ids(withRequest(body(10)), withRequest(body(5)))).to.deep.equal(['breaking request-property-max-length-decreased (then#1).b']);
    const fewer = { allOf: [object({ a: STRING, b: STRING }), member('a', 5)] };
    expect(ids(withRequest(body(10)), withRequest(fewer))).to.deep.equal(['info request-property-all-of-removed', 'info request-property-if-removed']);
  });

  it('keeps not: {} as "nothing is valid" and reports a not added around a value', () => {
    expect(ids(withQuery({ not: {} }), withQuery({ not: {} }))).to.deep.equal([]);
    expect(ids(withQuery(STRING), withQuery({ type: 'string', not: { enum: ['admin'] } }))).to.deep.equal(['breaking request-parameter-not-added']);
    expect(ids(withResponse(STRING), withResponse({ type: 'string', not: { enum: ['admin'] } }))).to.deep.equal(['info response-property-not-added']);
  });
});

describe('json schema: recursion through the new keywords', () => {
  it('terminates on a schema that recurses through prefixItems and if/then, reporting a change once', () => {
    const components = (max: number): JsonObject => ({
      schemas: {
        Expr: {
          type: 'array',
          prefixItems: [{ type: 'string', maxLength: max }, { $ref: '#/components/schemas/Expr' }],
          if: { minItems: 2 },
          then: { prefixItems: [true, { $ref: '#/components/schemas/Expr' }] },
          else: { contains: { $ref: '#/components/schemas/Expr' } },
        },
      },
    });
    const ref = { $ref: '#/components/schemas/Expr' };
    expect(ids(withRequest(ref, components(10)), withRequest(ref, components(10)))).to.deep.equal([]);
    expect(ids(withRequest(ref, components(10)), withRequest(ref, components(5)))).to.deep.equal(['breaking request-property-max-length-decreased [0]']);
  });
});
