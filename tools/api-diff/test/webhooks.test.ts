/**
 * Webhooks, callbacks and response headers beyond one rule at a time: a shared component judged in
 * each use's direction, the repo's own webhooks, callbacks under operations that come and go, and
 * how webhooks and callbacks are matched.
 */
import { expect } from 'chai';
import path from 'node:path';
import type { JsonObject } from '../src/json.js';
import { diff, loadSpec, type Finding } from '../src/index.js';
import { getThings, NOW, object, OK, spec, STRING } from './build.js';
import { expectCatalogued, render } from './rule-case.js';

const REPO_SPEC = path.resolve(import.meta.dirname, '../../../spec/openapi.yaml');

function run(base: JsonObject, revision: JsonObject): Finding[] {
  const findings = diff(base, revision, { now: NOW });
  expectCatalogued(findings);
  return findings;
}

function summary(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.level} ${f.id}`).sort();
}

/** `Thing` used in a request body, a response body and a webhook payload. */
function shared(thing: JsonObject): JsonObject {
  const body = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } };
  return spec(
    { '/things': { post: { requestBody: { required: true, ...body }, responses: { '200': { description: 'OK', ...body } } } } },
    { schemas: { Thing: thing } },
    { webhooks: { 'thing.created': { post: { requestBody: { required: true, ...body }, responses: OK } } } },
  );
}

const KIND = (...values: string[]): JsonObject => object({ kind: { type: 'string', enum: values } }, ['kind']);

/** GET /other and, when `withOperation`, POST /subscriptions declaring the callback `onEvent` with this payload. */
function subscriptions(withOperation: boolean, payload: JsonObject = object({ id: STRING }, ['id'])): JsonObject {
  const operation = {
    responses: OK,
    callbacks: { onEvent: { '{$request.body#/url}': { post: { requestBody: { required: true, content: { 'application/json': { schema: payload } } }, responses: OK } } } },
  };
  return spec({ '/other': { get: { responses: OK } }, ...(withOperation ? { '/subscriptions': { post: operation } } : {}) });
}

describe('webhooks: a shared component in each direction', () => {
  it('a narrowing is breaking in the request, additive in the response and the webhook payload', () => {
    const findings = run(shared(KIND('a', 'b')), shared(KIND('a')));
    expect(summary(findings), render(findings)).to.deep.equal(['breaking request-property-enum-value-removed', 'info response-property-enum-value-removed', 'info webhook-property-enum-value-removed']);
    const hook = findings.find((f) => f.id === 'webhook-property-enum-value-removed');
    expect(hook?.location).to.include({ webhook: 'thing.created', method: 'POST', mediaType: 'application/json', property: 'kind' });
    expect(hook?.location.path).to.equal(undefined);
  });

  it('a widening is breaking in the response and the webhook payload, additive in the request', () => {
    const nullable = (kind: JsonObject) => object({ kind }, ['kind']);
    const findings = run(shared(nullable(STRING)), shared(nullable({ type: ['string', 'null'] })));
    expect(summary(findings), render(findings)).to.deep.equal(['breaking response-property-became-nullable', 'breaking webhook-property-became-nullable', 'info request-property-became-nullable']);
  });

  it('a required property removed from a payload breaks receivers; one added does not', () => {
    const removed = run(shared(object({ id: STRING, name: STRING }, ['id', 'name'])), shared(object({ id: STRING }, ['id'])));
    expect(removed.filter((f) => f.id === 'webhook-required-property-removed').map((f) => f.level), render(removed)).to.deep.equal(['breaking']);
    const added = run(shared(object({ id: STRING }, ['id'])), shared(object({ id: STRING, name: STRING }, ['id', 'name'])));
    expect(added.filter((f) => f.id.startsWith('webhook-')).map((f) => `${f.level} ${f.id}`), render(added)).to.deep.equal(['info webhook-required-property-added']);
  });
});

describe("webhooks: the repo's spec", () => {
  it('has webhooks, and reports nothing compared with itself', () => {
    const base = loadSpec(REPO_SPEC);
    expect(Object.keys((base as { webhooks?: object }).webhooks ?? {}).length).to.be.greaterThan(0);
    const findings = diff(base, loadSpec(REPO_SPEC), { now: NOW });
    expect(findings, render(findings)).to.deep.equal([]);
  });

  it('reports a value added to PaymentStatus in every payment webhook and in the responses', () => {
    const base = loadSpec(REPO_SPEC) as JsonObject;
    const revision = structuredClone(base);
    const status = ((revision.components as JsonObject).schemas as JsonObject).PaymentStatus as JsonObject;
    status.enum = [...(status.enum as string[]), 'disputed'];
    const findings = run(base, revision);
    const hooks = findings.filter((f) => f.id === 'webhook-property-enum-value-added');
    const names = Object.keys(base.webhooks as JsonObject).filter((name) => name.startsWith('payment.'));
    expect(names.length).to.be.greaterThan(0);
    expect([...new Set(hooks.map((f) => f.location.webhook))].sort(), render(findings)).to.deep.equal(names.sort());
    expect(findings.some((f) => f.id === 'response-property-enum-value-added'), render(findings)).to.equal(true);
  });
});

describe('webhooks: callbacks', () => {
  it('a callback under a removed operation is reported as that operation only', () => {
    const findings = run(subscriptions(true), subscriptions(false));
    expect(summary(findings), render(findings)).to.deep.equal(['breaking api-path-removed-without-deprecation']);
  });

  it('a callback under an added operation is reported as that operation only', () => {
    const findings = run(subscriptions(false), subscriptions(true));
    expect(summary(findings), render(findings)).to.deep.equal(['info endpoint-added']);
  });

  it("a callback's payload is judged as a webhook's, at the callback's location", () => {
    const findings = run(subscriptions(true, KIND('a')), subscriptions(true, KIND('a', 'b')));
    expect(findings.map((f) => f.id), render(findings)).to.deep.equal(['webhook-property-enum-value-added']);
    expect(findings[0]?.location).to.deep.include({
      method: 'POST',
      path: '/subscriptions',
      callback: { name: 'onEvent', expression: '{$request.body#/url}', method: 'POST' },
      mediaType: 'application/json',
      property: 'kind',
    });
  });

  it('a callback is matched by its runtime expression: a new one is a removal and an addition', () => {
    const base = subscriptions(true);
    const revision = structuredClone(subscriptions(true));
    const callbacks = ((((revision.paths as JsonObject)['/subscriptions'] as JsonObject).post as JsonObject).callbacks as JsonObject).onEvent as JsonObject;
    callbacks['{$request.body#/callback_url}'] = callbacks['{$request.body#/url}'] as JsonObject;
    delete callbacks['{$request.body#/url}'];
    const findings = run(base, revision);
    expect(findings.map((f) => `${f.id} ${f.location.callback?.expression}`).sort(), render(findings)).to.deep.equal(['webhook-added {$request.body#/callback_url}', 'webhook-removed {$request.body#/url}']);
  });

  it('callbacks in components/callbacks are followed', () => {
    const make = (values: string[]) =>
      spec(
        { '/subscriptions': { post: { responses: OK, callbacks: { onEvent: { $ref: '#/components/callbacks/Event' } } } } },
        { callbacks: { Event: { '{$request.body#/url}': { post: { requestBody: { content: { 'application/json': { schema: KIND(...values) } } }, responses: OK } } } } },
      );
    const findings = run(make(['a']), make(['a', 'b']));
    expect(summary(findings), render(findings)).to.deep.equal(['warning webhook-property-enum-value-added']);
  });
});

describe('webhooks: matching', () => {
  it('a webhook is matched by name and method: another method of the same webhook is an addition', () => {
    const hook = (methods: string[]) => spec({}, {}, { webhooks: { 'thing.created': Object.fromEntries(methods.map((m) => [m, { responses: OK }])) } });
    const findings = run(hook(['post']), hook(['post', 'put']));
    expect(findings.map((f) => `${f.id} ${f.location.webhook} ${f.location.method}`), render(findings)).to.deep.equal(['webhook-added thing.created PUT']);
  });

  it('webhook headers match case-insensitively and only headers count', () => {
    const hook = (name: string) =>
      spec({}, {}, { webhooks: { 'thing.created': { post: { parameters: [{ name, in: 'header', required: true, schema: STRING }], responses: OK } } } });
    expect(run(hook('X-Signature'), hook('x-signature'))).to.deep.equal([]);
    const withQuery = structuredClone(hook('X-Signature'));
    const post = ((withQuery.webhooks as JsonObject)['thing.created'] as JsonObject).post as JsonObject;
    post.parameters = [...(post.parameters as JsonObject[]), { name: 'v', in: 'query', required: true, schema: STRING }];
    expect(run(hook('X-Signature'), withQuery)).to.deep.equal([]);
  });

  it('a 3.0 document without webhooks has none to compare', () => {
    const doc = { ...getThings(), openapi: '3.0.3' };
    expect(run(doc, doc)).to.deep.equal([]);
  });
});

describe('response headers: schemas', () => {
  it("walks a $ref'd header's schema, and a header's single content entry's", () => {
    const make = (schema: JsonObject, inContent: boolean) =>
      getThings(
        { responses: { '200': { description: 'OK', headers: { 'X-Rate-Limit': { $ref: '#/components/headers/RateLimit' } } } } },
        { headers: { RateLimit: inContent ? { content: { 'text/plain': { schema } } } : { schema } } },
      );
    for (const inContent of [false, true]) {
      const findings = run(make({ type: 'integer', maximum: 10 }, inContent), make({ type: 'integer', maximum: 100 }, inContent));
      expect(findings.map((f) => `${f.level} ${f.id}`), render(findings)).to.deep.equal(['breaking response-header-max-increased']);
      expect(findings[0]?.location).to.include({ method: 'GET', path: '/things', status: '200', header: 'X-Rate-Limit' });
    }
  });

  it('a required header removed stays required-response-header-removed, with no schema findings', () => {
    const make = (headers: JsonObject) => getThings({ responses: { '200': { description: 'OK', headers } } });
    const findings = run(make({ 'X-Id': { required: true, schema: STRING } }), make({}));
    expect(summary(findings), render(findings)).to.deep.equal(['breaking required-response-header-removed']);
  });
});
