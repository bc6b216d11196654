/**
 * Changes that change nothing on the wire, or nothing a client relies on, must not fail the gate;
 * each is paired with the nearest change that does, which must. Together with the generated and
 * hand-written rule cases, this is the suite that keeps api-diff from crying wolf.
 */
import { expect } from 'chai';
import { diff, type RuleId } from '../src/index.js';
import type { JsonObject } from '../src/json.js';
import { getThings, INTEGER, NOW, QUERY_Q, STRING, withQuery, withRequest } from './build.js';
import { thingPath } from './cases-parameters.js';
import { expectCatalogued, render } from './rule-case.js';

interface NonAlarm {
  readonly change: string;
  readonly base: JsonObject;
  readonly revision: JsonObject;
  /** The info rules it may report (anything else, or any warning or breaking finding, fails). */
  readonly allows?: readonly RuleId[];
  /** The nearest change that does break, and the rule that must say so. */
  readonly breaks: { readonly change: string; readonly base: JsonObject; readonly revision: JsonObject; readonly rule: RuleId };
}

const ARRAY_OF = (items: JsonObject): JsonObject => ({ type: 'array', items });
const header = (schema: JsonObject, extra: JsonObject = {}): JsonObject => getThings({ parameters: [{ name: 'X-Trace', in: 'header', schema, ...extra }] });
const operation = (level: string | undefined, schema: JsonObject): JsonObject => ({
  ...withRequest(schema),
  paths: { '/things': { post: { ...(level ? { 'x-stability-level': level } : {}), requestBody: { required: true, content: { 'application/json': { schema } } }, responses: { '200': { description: 'OK' } } } } },
});

const NON_ALARMS: NonAlarm[] = [
  {
    change: 'a path parameter is renamed: /things/{thingId} becomes /things/{id}',
    base: thingPath('thingId'),
    revision: thingPath('id'),
    allows: ['request-path-parameter-renamed'],
    breaks: { change: 'renamed, and given a pattern', base: thingPath('thingId'), revision: thingPath('id', { type: 'string', pattern: '^thg_' }), rule: 'request-parameter-pattern-added' },
  },
  {
    change: 'a query scalar becomes a form, exploded array of the same values (?q=a is [a])',
    base: withQuery(STRING),
    revision: withQuery(ARRAY_OF(STRING)),
    allows: ['request-parameter-type-generalized'],
    breaks: { change: 'it becomes an array of integers', base: withQuery(STRING), revision: withQuery(ARRAY_OF(INTEGER)), rule: 'request-parameter-type-changed' },
  },
  {
    change: 'a query scalar becomes an explicitly exploded spaceDelimited array',
    base: withQuery(INTEGER),
    revision: withQuery(ARRAY_OF({ type: 'number' }), { style: 'spaceDelimited', explode: true }),
    allows: ['request-parameter-type-generalized'],
    breaks: { change: 'it becomes an array sent as ?q=a,b (explode: false)', base: withQuery(STRING), revision: withQuery(ARRAY_OF(STRING), { explode: false }), rule: 'request-parameter-type-changed' },
  },
  {
    change: 'the default of a parameter required on both sides changes',
    base: withQuery({ type: 'integer', default: 20 }, { required: true }),
    revision: withQuery({ type: 'integer', default: 10 }, { required: true }),
    breaks: { change: 'the default of an optional parameter changes', base: withQuery({ type: 'integer', default: 20 }), revision: withQuery({ type: 'integer', default: 10 }), rule: 'request-parameter-default-value-changed' },
  },
  {
    change: 'a path parameter (always required) loses its default',
    base: thingPath('id', { type: 'string', default: 'all' }),
    revision: thingPath('id'),
    breaks: { change: 'its style becomes label (/things/.x)', base: thingPath('id'), revision: { ...thingPath('id'), paths: { '/things/{id}': { get: { parameters: [{ name: 'id', in: 'path', required: true, style: 'label', schema: STRING }], responses: { '200': { description: 'OK' } } } } } }, rule: 'request-parameter-serialization-changed' },
  },
  {
    change: 'style and explode change on a query scalar',
    base: withQuery(STRING),
    revision: withQuery(STRING, { style: 'form', explode: false }),
    breaks: { change: 'explode changes on a query array', base: withQuery(ARRAY_OF(STRING)), revision: withQuery(ARRAY_OF(STRING), { explode: false }), rule: 'request-parameter-serialization-changed' },
  },
  {
    change: 'explode is written out with its default on a query array, and pipeDelimited exploded is the same repeated name',
    base: withQuery(ARRAY_OF(STRING)),
    revision: withQuery(ARRAY_OF(STRING), { style: 'pipeDelimited', explode: true }),
    breaks: { change: 'pipeDelimited, not exploded (?q=a|b)', base: withQuery(ARRAY_OF(STRING)), revision: withQuery(ARRAY_OF(STRING), { style: 'pipeDelimited', explode: false }), rule: 'request-parameter-serialization-changed' },
  },
  {
    change: 'explode changes on a header array (a header is always comma-separated)',
    base: header(ARRAY_OF(STRING)),
    revision: header(ARRAY_OF(STRING), { explode: true }),
    breaks: { change: 'explode changes on a header object (R,100 becomes R=100)', base: header({ type: 'object', properties: { R: INTEGER } }), revision: header({ type: 'object', properties: { R: INTEGER } }, { explode: true }), rule: 'request-parameter-serialization-changed' },
  },
  {
    change: 'a breaking change to an alpha operation (x-stability-level: alpha)',
    base: operation('alpha', { type: 'object', properties: { a: STRING } }),
    revision: operation('alpha', { type: 'object', properties: { a: STRING }, required: ['a'] }),
    allows: ['request-property-became-required'],
    breaks: { change: 'the same change to a beta operation', base: operation('beta', { type: 'object', properties: { a: STRING } }), revision: operation('beta', { type: 'object', properties: { a: STRING }, required: ['a'] }), rule: 'request-property-became-required' },
  },
  {
    change: 'a request property loses an empty pattern (it matched everything)',
    base: withRequest({ type: 'string', pattern: '' }),
    revision: withRequest(STRING),
    allows: ['request-property-pattern-removed'],
    breaks: { change: 'an empty pattern becomes a real one', base: withRequest({ type: 'string', pattern: '' }), revision: withRequest({ type: 'string', pattern: '^[a-z]+$' }), rule: 'request-property-pattern-added' },
  },
];

describe('non-alarms: changes that change nothing a client relies on', () => {
  for (const c of NON_ALARMS) {
    it(`${c.change}: nothing breaking, nothing to warn of`, () => {
      const findings = diff(c.base, c.revision, { now: NOW });
      expectCatalogued(findings);
      expect(findings.filter((f) => f.level !== 'info'), render(findings)).to.deep.equal([]);
      expect(findings.filter((f) => !(c.allows ?? []).includes(f.id) && !f.lowered), render(findings)).to.deep.equal([]);
    });
    it(`${c.change}; but ${c.breaks.change}: ${c.breaks.rule}`, () => {
      const findings = diff(c.breaks.base, c.breaks.revision, { now: NOW });
      expectCatalogued(findings);
      expect(findings.some((f) => f.id === c.breaks.rule && f.level === 'breaking'), render(findings)).to.equal(true);
    });
  }

  it('a finding in an alpha operation is lowered to info and says from what; the stability rules themselves are not lowered', () => {
    const base = operation('alpha', STRING);
    const findings = diff(base, operation('draft', INTEGER), { now: NOW });
    const changed = findings.find((f) => f.id === 'request-property-type-changed');
    expect(changed?.level, render(findings)).to.equal('info');
    expect(changed?.lowered).to.deep.equal({ from: 'breaking', stability: 'draft' });
    expect(changed?.message).to.match(/x-stability-level draft: reported as info/);
    expect(findings.find((f) => f.id === 'api-stability-decreased')?.level).to.equal('breaking');
  });

  it('a removed alpha operation is judged by its base level: info', () => {
    const findings = diff(getThings({ 'x-stability-level': 'alpha' }), { ...getThings(), paths: {} }, { now: NOW });
    expect(findings.map((f) => [f.id, f.level]), render(findings)).to.deep.equal([['api-path-removed-without-deprecation', 'info']]);
  });

  it('QUERY_Q stays the location of a parameter reported through its items', () => {
    const findings = diff(withQuery(STRING), withQuery(ARRAY_OF({ type: 'string', maxLength: 3 })), { now: NOW });
    const bound = findings.find((f) => f.id === 'request-parameter-max-length-set');
    expect(bound?.location, render(findings)).to.include({ method: QUERY_Q.method, path: QUERY_Q.path, property: '[]' });
  });
});
