/**
 * What the comparison promises beyond single rules: no findings where nothing changed, however it
 * is written (a schema inlined or moved into components and referenced, nullable and
 * exclusiveMaximum the OpenAPI 3.0 way or the 3.1 way, changed descriptions, examples and
 * extensions); an endpoint matched across a renamed path parameter; termination on recursive
 * schemas (self-referencing, mutually recursive, an allOf that includes itself, a looping reference
 * chain); direction per use; the repo's own shared response headers; the sunset policy's clock and
 * minimum notice; and a stable order.
 */
import { expect } from 'chai';
import path from 'node:path';
import type { JsonObject } from '../src/json.js';
import { mutate } from '../bench-mutations.js';
import { diff, formatFindings, loadSpec } from '../src/index.js';
import { HTTP_METHODS } from '../src/operations.js';
import { INTEGER, NOW, OK, object, spec, STRING, withQuery, withRequest, withResponse } from './build.js';
import { expectCatalogued, render } from './rule-case.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const REPO_SPEC = path.join(ROOT, 'spec/openapi.yaml');

function ids(base: JsonObject, revision: JsonObject): string[] {
  const findings = diff(base, revision, { now: NOW });
  expectCatalogued(findings);
  return findings.map((f) => `${f.level} ${f.id}${f.location.property ? ` ${f.location.property}` : ''}`);
}

describe('diff: nothing changed', () => {
  it('reports nothing for identical documents', () => {
    const doc = withRequest(object({ name: { type: 'string', maxLength: 10 } }, ['name']));
    expect(diff(doc, structuredClone(doc))).to.deep.equal([]);
  });

  it("reports nothing for the repo's own spec/openapi.yaml compared with itself", () => {
    const findings = diff(loadSpec(REPO_SPEC), loadSpec(REPO_SPEC));
    expect(findings, render(findings)).to.deep.equal([]);
  });

  it('reports nothing when a schema moves into components and is referenced', () => {
    const inline = object({ name: { type: 'string', maxLength: 10 }, tags: { type: 'array', items: STRING } }, ['name']);
    const components = { schemas: { Thing: inline } };
    const ref = { $ref: '#/components/schemas/Thing' };
    expect(ids(withRequest(inline), withRequest(ref, components))).to.deep.equal([]);
    expect(ids(withResponse(ref, components), withResponse(inline))).to.deep.equal([]);
    expect(ids(withQuery({ $ref: '#/components/schemas/Name' }, {}, { schemas: { Name: STRING } }), withQuery(STRING))).to.deep.equal([]);
  });

  it('reports nothing when only descriptions, examples and extensions change', () => {
    const before = withResponse(object({ name: { type: 'string', description: 'Old.', example: 'a' } }, ['name']));
    const after = withResponse(object({ name: { type: 'string', description: 'New.', examples: ['b'], 'x-internal': true } }, ['name'], { title: 'Thing' }));
    expect(ids(before, after)).to.deep.equal([]);
  });

  it('treats the 3.0 and 3.1 ways of writing nullable as the same', () => {
    const v30 = (schema: JsonObject) => ({ ...withResponse(schema, { schemas: { Card: object({ number: STRING }) } }), openapi: '3.0.3' });
    const components = { schemas: { Card: object({ number: STRING }) } };
    expect(ids(v30({ type: 'string', nullable: true }), withResponse({ type: ['string', 'null'] }))).to.deep.equal([]);
    expect(ids(v30({ type: 'string', nullable: true }), withResponse({ oneOf: [STRING, { type: 'null' }] }))).to.deep.equal([]);
    expect(ids(v30({ allOf: [{ $ref: '#/components/schemas/Card' }], nullable: true }), withResponse({ anyOf: [{ $ref: '#/components/schemas/Card' }, { type: 'null' }] }, components))).to.deep.equal([]);
    expect(ids(v30({ type: 'string', enum: ['a', null], nullable: true }), withResponse({ type: ['string', 'null'], enum: ['a', null] }))).to.deep.equal([]);
  });

  it('treats exclusiveMaximum the 3.0 way and the 3.1 way as the same', () => {
    const v30 = { ...withQuery({ type: 'integer', maximum: 10, exclusiveMaximum: true }), openapi: '3.0.3' };
    expect(ids(v30, withQuery({ type: 'integer', exclusiveMaximum: 10 }))).to.deep.equal([]);
  });

  it('matches an endpoint whose path parameter was renamed, and its parameter with it: one parameter, not a removal and an addition', () => {
    const before = spec({ '/things/{id}': { parameters: [{ name: 'id', in: 'path', required: true, schema: STRING }], get: { responses: { '200': { description: 'OK' } } } } });
    const after = spec({ '/things/{thing_id}': { parameters: [{ name: 'thing_id', in: 'path', required: true, schema: STRING }], get: { responses: { '200': { description: 'OK' } } } } });
    expect(ids(before, after)).to.deep.equal(['info request-path-parameter-renamed']);
  });
});

describe('diff: recursive schemas', () => {
  const tree = (name: JsonObject) => ({ schemas: { Node: object({ name, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } }) } });
  const ref = { $ref: '#/components/schemas/Node' };

  it('terminates on a self-referencing schema and reports a change once, at its shallowest path', () => {
    expect(ids(withRequest(ref, tree(STRING)), withRequest(ref, tree({ type: 'string', maxLength: 5 })))).to.deep.equal(['breaking request-property-max-length-set name']);
  });

  it('terminates on mutually recursive schemas and on an allOf that includes itself', () => {
    const pair = (max: number) => ({
      schemas: {
        A: object({ b: { $ref: '#/components/schemas/B' }, size: { type: 'integer', maximum: max } }),
        B: object({ a: { $ref: '#/components/schemas/A' } }),
        Loop: { allOf: [{ $ref: '#/components/schemas/Loop' }, object({ size: { type: 'integer', maximum: max } })] },
      },
    });
    const body = object({ a: { $ref: '#/components/schemas/A' }, loop: { $ref: '#/components/schemas/Loop' } });
    expect(ids(withResponse(body, pair(10)), withResponse(body, pair(20)))).to.deep.equal([
      'breaking response-property-max-increased a.size',
      'breaking response-property-max-increased loop.size',
    ]);
  });

  it('terminates on a reference chain that loops', () => {
    const loop = { schemas: { A: { $ref: '#/components/schemas/B' }, B: { $ref: '#/components/schemas/A' } } };
    expect(ids(withRequest({ $ref: '#/components/schemas/A' }, loop), withRequest({ $ref: '#/components/schemas/A' }, loop))).to.deep.equal([]);
  });
});

describe('diff: direction', () => {
  const shared = (values: string[]) => ({ schemas: { Status: { type: 'string', enum: values } } });
  const doc = (values: string[]) =>
    spec(
      {
        '/things': {
          post: {
            requestBody: { content: { 'application/json': { schema: object({ status: { $ref: '#/components/schemas/Status' } }) } } },
            responses: { '201': { description: 'Created', content: { 'application/json': { schema: object({ status: { $ref: '#/components/schemas/Status' } }, ['status']) } } } },
          },
        },
      },
      shared(values),
    );

  it('judges a schema used in a request and a response once per use', () => {
    expect(ids(doc(['open', 'closed']), doc(['open', 'closed', 'archived']))).to.deep.equal(['warning response-property-enum-value-added status', 'info request-property-enum-value-added status']);
    expect(ids(doc(['open', 'closed']), doc(['open']))).to.deep.equal(['breaking request-property-enum-value-removed status', 'info response-property-enum-value-removed status']);
  });

  it('compares a single schema with a list of alternatives when one side starts using oneOf', () => {
    const components = { schemas: { Card: object({ number: STRING }, ['number']), Bank: object({ iban: STRING }, ['iban']) } };
    const plain = withResponse(object({ method: { $ref: '#/components/schemas/Card' } }), components);
    const wrapped = withResponse(object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/Bank' }] } }), components);
    expect(ids(plain, wrapped)).to.deep.equal(['breaking response-property-one-of-added method']);
    expect(ids(wrapped, plain)).to.deep.equal(['info response-property-one-of-removed method']);
  });

  it('reports constraints inside oneOf alternatives and allOf members at the property path', () => {
    const components = (max: number) => ({ schemas: { Card: object({ number: { type: 'string', maxLength: max } }), Bank: object({ iban: STRING }) } });
    const body = object({ method: { oneOf: [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/Bank' }] }, extra: { allOf: [{ $ref: '#/components/schemas/Card' }] } });
    expect(ids(withRequest(body, components(19)), withRequest(body, components(16)))).to.deep.equal([
      'breaking request-property-max-length-decreased extra.number',
      'breaking request-property-max-length-decreased method.oneOf[Card].number',
    ]);
  });
});

describe("diff: the repo's own response headers", () => {
  // Both sides reach the header through two $refs: the operation's 429 is
  // components/responses/TooManyRequests, whose Retry-After is components/headers/Retry-After.
  it('reports removing the required Retry-After from the shared 429 as breaking, on every operation that answers 429', () => {
    const base = loadSpec(REPO_SPEC);
    const revision = structuredClone(base);
    const responses = (revision.components as JsonObject).responses as Record<string, { headers: Record<string, unknown> }>;
    // The 429 every operation shares, and its twin for deprecated operations (which adds their fields).
    for (const name of ['TooManyRequests', 'DeprecatedTooManyRequests']) if (responses[name]) delete responses[name].headers['Retry-After'];
    const findings = diff(base, revision, { now: NOW });
    expectCatalogued(findings);
    const removed = findings.filter((f) => f.id === 'required-response-header-removed');
    const operationsWith429 = Object.values(base.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>)
      .flatMap((item) => Object.values(item))
      .filter((op) => op.responses?.['429']).length;
    expect(operationsWith429).to.be.greaterThan(20);
    expect(removed).to.have.length(operationsWith429);
    expect(removed.every((f) => f.level === 'breaking' && f.location.status === '429' && f.location.header === 'Retry-After')).to.equal(true);
  });

  it('reports making the shared Request-Id optional as breaking', () => {
    const base = loadSpec(REPO_SPEC);
    const revision = structuredClone(base);
    const headers = (revision.components as JsonObject).headers as Record<string, { required?: boolean }>;
    delete headers['Request-Id']!.required;
    const findings = diff(base, revision, { now: NOW });
    expect(findings.filter((f) => f.id === 'response-header-became-optional').length).to.be.greaterThan(50);
    expect(findings.every((f) => f.id === 'response-header-became-optional')).to.equal(true);
  });

  it("reports a change to the shared RateLimit header's schema once per operation, naming every status that has it", () => {
    const base = loadSpec(REPO_SPEC);
    const revision = structuredClone(base);
    const headers = (revision.components as JsonObject).headers as Record<string, { schema: JsonObject }>;
    headers.RateLimit!.schema = { ...headers.RateLimit!.schema, maxLength: 100 };
    const findings = diff(base, revision, { now: NOW });
    expectCatalogued(findings);
    const changed = findings.filter((f) => f.id === 'response-header-max-length-decreased' && f.location.header === 'RateLimit');
    const operations = new Set(changed.map((f) => `${f.location.method} ${f.location.path}`));
    expect(changed.length).to.be.greaterThan(20);
    expect(operations.size, render(changed.slice(0, 3))).to.equal(changed.length);
    expect(changed.every((f) => (f.location.status ?? '').split(', ').length > 1)).to.equal(true);
    expect(changed.every((f) => f.level === 'info')).to.equal(true);
  });
});

describe('diff: the sunset policy', () => {
  const things = (operation: JsonObject = {}) => spec({ '/things': { get: { responses: OK, ...operation } } });
  const deprecated = (sunset?: string, extra: JsonObject = {}) => things({ deprecated: true, ...(sunset ? { 'x-sunset': sunset } : {}), ...extra });
  const judged = (base: JsonObject, revision: JsonObject, options: { now?: Date; minSunsetNoticeDays?: number } = {}) => {
    const findings = diff(base, revision, { now: NOW, ...options });
    expectCatalogued(findings);
    return findings.map((f) => `${f.level} ${f.id}`);
  };

  it('takes the minimum notice as an option: 90 days by default, 0 for none', () => {
    const sixtyDays = deprecated('2025-07-31');
    expect(judged(things(), sixtyDays)).to.deep.equal(['breaking api-sunset-date-too-small']);
    expect(judged(things(), sixtyDays, { minSunsetNoticeDays: 60 })).to.deep.equal(['info endpoint-deprecated']);
    expect(judged(things(), sixtyDays, { minSunsetNoticeDays: 61 })).to.deep.equal(['breaking api-sunset-date-too-small']);
    expect(judged(things(), deprecated('2025-01-01'), { minSunsetNoticeDays: 0 })).to.deep.equal(['info endpoint-deprecated']);
    expect(judged(deprecated('2025-08-01'), deprecated('2025-07-01'), { minSunsetNoticeDays: 0 })).to.deep.equal(['breaking api-sunset-date-moved-earlier']);
    expect(judged(things(), deprecated(), { minSunsetNoticeDays: 0 })).to.deep.equal(['warning api-deprecated-sunset-missing']);
  });

  it('rejects a minimum notice that is not a whole number of days', () => {
    for (const days of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => diff(things(), deprecated('2026-01-01'), { now: NOW, minSunsetNoticeDays: days }), String(days)).to.throw(RangeError, /minSunsetNoticeDays/);
    }
  });

  it('counts notice in whole UTC calendar days from the comparison time, whatever its time of day', () => {
    const lateInTheDay = new Date('2025-06-01T23:59:59Z');
    expect(judged(things(), deprecated('2025-08-30'), { now: lateInTheDay })).to.deep.equal(['info endpoint-deprecated']);
    expect(judged(things(), deprecated('2025-08-30'), { now: new Date('2025-06-02T00:00:00Z') })).to.deep.equal(['breaking api-sunset-date-too-small']);
  });

  it('counts notice from the comparison time, not from x-deprecated-at', () => {
    // Backdating the deprecation does not give clients notice they never had, and a deprecation
    // dated later than the change does not take notice away.
    expect(judged(things(), deprecated('2025-07-01', { 'x-deprecated-at': '2025-01-01' }))).to.deep.equal(['breaking api-sunset-date-too-small']);
    expect(judged(things(), deprecated('2025-08-30', { 'x-deprecated-at': '2025-07-01' }))).to.deep.equal(['info endpoint-deprecated']);
    expect(judged(deprecated('2026-01-01', { 'x-deprecated-at': '2025-01-01' }), deprecated('2026-01-01', { 'x-deprecated-at': '2025-05-01' }))).to.deep.equal([]);
  });

  it('does not judge a sunset date again when nothing about the deprecation changed, however close it is', () => {
    expect(judged(deprecated('2025-06-10'), deprecated('2025-06-10'))).to.deep.equal([]);
    expect(judged(deprecated(), deprecated())).to.deep.equal([]);
    expect(judged(withQuery(STRING, { deprecated: true, 'x-sunset': '2025-06-10' }), withQuery(STRING, { deprecated: true, 'x-sunset': '2025-06-10' }))).to.deep.equal([]);
  });

  it('reads the same instant written as a date, a date-time or an HTTP-date as one date', () => {
    for (const same of ['2026-01-01T00:00:00Z', '2026-01-01T01:00:00+01:00', '2025-12-31T19:00:00-05:00', 'Thu, 01 Jan 2026 00:00:00 GMT']) {
      expect(judged(deprecated('2026-01-01'), deprecated(same)), same).to.deep.equal([]);
    }
  });

  it('reads only RFC 3339 and HTTP-dates, for removals as for new dates', () => {
    for (const unreadable of ['2026-01-01T00:00:00', '01/02/2026', '2026-02-30', 'Thu, 1 Jan 2026 00:00:00 GMT', 'January 1, 2026']) {
      expect(judged(things(), deprecated(unreadable)), unreadable).to.deep.equal(['breaking api-deprecated-sunset-parse']);
      expect(judged(deprecated(unreadable), spec({ '/other': { get: { responses: OK } } })).slice(0, 1), unreadable).to.deep.equal(['breaking api-path-removed-before-sunset']);
    }
  });

  it('does not judge a sunset on an operation that is added already deprecated, or on one that is no longer deprecated', () => {
    expect(judged(spec({}), deprecated('2025-06-10'))).to.deep.equal(['info endpoint-added']);
    expect(judged(deprecated('2026-01-01'), things({ 'x-sunset': '2025-06-10' }))).to.deep.equal(['info endpoint-reactivated']);
  });

  it("reports deprecating one of the repo's operations without a sunset as one warning, and with a year's notice as one info", () => {
    const base = loadSpec(REPO_SPEC);
    const operation = (doc: JsonObject, path: string, method: string) => (doc.paths as Record<string, Record<string, JsonObject>>)[path]![method]!;
    const [path, method] = Object.entries(base.paths as Record<string, Record<string, JsonObject>>).flatMap(([p, item]) =>
      HTTP_METHODS.filter((m) => item[m] && item[m].deprecated !== true).map((m) => [p, m] as const),
    )[0]!;
    const withoutSunset = structuredClone(base);
    operation(withoutSunset, path, method).deprecated = true;
    expect(judged(base, withoutSunset)).to.deep.equal(['warning api-deprecated-sunset-missing']);
    const withSunset = structuredClone(withoutSunset);
    operation(withSunset, path, method)['x-sunset'] = '2026-06-01';
    expect(judged(base, withSunset)).to.deep.equal(['info endpoint-deprecated']);
  });
});

describe('diff: output', () => {
  it('orders findings the same way whatever the order of the documents’ keys', () => {
    const before = spec({ '/b': { get: { responses: { '200': { description: 'OK' } } } }, '/a': { post: { responses: { '200': { description: 'OK' } } } } });
    const after = spec({ '/c': { get: { responses: { '200': { description: 'OK' } } } } });
    const shuffled = spec({ '/a': { post: { responses: { '200': { description: 'OK' } } } }, '/b': { get: { responses: { '200': { description: 'OK' } } } } });
    const one = formatFindings(diff(before, after, { now: NOW }), 'json');
    const two = formatFindings(diff(shuffled, after, { now: NOW }), 'json');
    expect(one).to.equal(two);
    expect(JSON.parse(one).findings.map((f: { location: { path: string } }) => f.location.path)).to.deep.equal(['/a', '/b', '/c']);
  });

  it("names only catalogued rules across hundreds of edits to the repo's spec, and finds the breaking ones", () => {
    const base = loadSpec(REPO_SPEC);
    const revision = structuredClone(base);
    const applied = mutate(revision, 300, 7);
    const findings = diff(base, revision, { now: NOW });
    expectCatalogued(findings);
    expect(applied.filter((m) => m.breaking).length).to.be.greaterThan(100);
    expect(findings.filter((f) => f.level === 'breaking').length).to.be.greaterThan(20);
    expect(diff(base, revision, { now: NOW })).to.deep.equal(findings);
  });

  it('rejects something that is not an OpenAPI 3 document', () => {
    expect(() => diff({ swagger: '2.0' }, withQuery(INTEGER))).to.throw(/Swagger 2.0/);
  });
});
