/**
 * The request pipeline (src/platform/http/pipeline.ts) is one declared list, and the parts of it
 * that are express-openapi-validator's own middleware are found by name: if a validator upgrade
 * renames, removes or reorders them, start-up fails with a message that says so, and so does this
 * test, before any request could pass the stages in the wrong order.
 */
import { expect } from 'chai';
import * as OpenApiValidator from 'express-openapi-validator';
import request from 'supertest';
import { assertValidatorChain, orderOperationStages, PIPELINE } from '../../src/platform/http/pipeline.js';
import { loadSpec } from '../../src/platform/spec.js';
import { createTestApp } from '../helpers/app.js';

function validatorChainNames(validateResponses = true): string[] {
  const chain = OpenApiValidator.middleware({
    apiSpec: loadSpec() as never,
    validateRequests: true,
    validateResponses,
    validateSecurity: false,
    operationHandlers: { basePath: '', resolver: () => (_req: unknown, _res: unknown, next: () => void) => next() },
  } as never);
  return chain.map((mw: { name: string }) => mw.name);
}

describe('the request pipeline', () => {
  it('finds the validator middleware it names, in its order, in the installed validator', () => {
    const names = validatorChainNames();
    expect(assertValidatorChain(names, { validateResponses: true })).to.equal(names.indexOf('metadataMiddleware') + 1);
  });

  it('does not ask for response validation when responses are not validated (production), and does when they are', () => {
    const names = validatorChainNames(false);
    expect(names).to.not.include('responseMiddleware');
    expect(assertValidatorChain(names, { validateResponses: false })).to.equal(names.indexOf('metadataMiddleware') + 1);
    expect(() => assertValidatorChain(names, { validateResponses: true })).to.throw(/missing: responseMiddleware/);
  });

  it('builds and serves an app with response validation off', async () => {
    const t = await createTestApp({ validateResponses: false });
    try {
      const account = await t.createAccount();
      const res = await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${account.secret}`);
      expect(res.status).to.equal(200);
      expect(res.body.object).to.equal('list');
    } finally {
      await t.close();
    }
  });

  it('fails loudly when the validator renames, drops or reorders what it relies on', () => {
    const names = validatorChainNames();
    expect(() => assertValidatorChain(names.map((n) => (n === 'metadataMiddleware' ? 'matchMiddleware' : n)), { validateResponses: true })).to.throw(/missing: metadataMiddleware/);
    expect(() => assertValidatorChain(names.filter((n) => n !== 'requestMiddleware'), { validateResponses: true })).to.throw(/missing: requestMiddleware/);
    const swapped = [...names];
    const [a, b] = [swapped.indexOf('metadataMiddleware'), swapped.indexOf('requestMiddleware')];
    [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
    expect(() => assertValidatorChain(swapped, { validateResponses: true })).to.throw(/in that order/);
  });

  it('declares every stage once', () => {
    const stages = PIPELINE.map((e) => e.stage);
    expect(new Set(stages).size).to.equal(stages.length);
  });

  it('orders the operation stages as declared, whatever order they are handed over in', () => {
    const tag = (name: string) => Object.assign(() => {}, { stage: name });
    const ordered = orderOperationStages({ stringGuard: tag('stringGuard'), authenticate: tag('authenticate'), body: [tag('body1'), tag('body2')], limit: tag('limit') });
    expect(ordered.map((h) => (h as unknown as { stage: string }).stage)).to.deep.equal(['authenticate', 'limit', 'body1', 'body2', 'stringGuard']);
  });

  it('runs authentication before validation and the rate limit before authorization, as declared', async () => {
    const t = await createTestApp({ rateLimits: { policies: { write: { points: 1, windowS: 60 } } } });
    try {
      const account = await t.createAccount();
      const readOnly = await t.createKey(account, ['read']);
      // Anonymous and malformed: authentication answers before validation could describe the schema.
      expect((await request(t.app).post('/v1/customers').send({ email: 7 })).status).to.equal(401);
      // Counted (the one write), then refused for its scope; the next is over quota before its scope is checked.
      expect((await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${readOnly.secret}`).send({})).status).to.equal(403);
      expect((await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${readOnly.secret}`).send({})).status).to.equal(429);
    } finally {
      await t.close();
    }
  });
});
