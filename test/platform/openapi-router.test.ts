/**
 * The router built from the spec: splitting the document by resource loses no path, every
 * operationId is listed, and an operation without a handler stops the build. With response
 * validation on, as in every test app, a body that breaks the spec or an undocumented status
 * becomes a 500 internal_error: the check the rest of the suite relies on to catch an off-contract
 * answer.
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import type { Handlers } from '../../src/platform/http/handlers.js';
import { buildApiRouter, operationIdsOf, resourcePrefix, splitByResource } from '../../src/platform/http/openapi-router.js';
import { problemHandler } from '../../src/platform/http/problem.js';
import { requestId } from '../../src/platform/http/request-id.js';
import { createLogger } from '../../src/platform/logger.js';
import { loadSpec } from '../../src/platform/spec.js';
import { expectProblem } from '../helpers/problem.js';
import { operations } from '../../generated/server/operations.js';

describe('the OpenAPI router', () => {
  describe('resourcePrefix', () => {
    for (const [path, prefix] of [
      ['/v1/customers', '/v1/customers'],
      ['/v1/customers/{id}', '/v1/customers'],
      ['/v1/payments/{id}/capture', '/v1/payments'],
      ['/admin/accounts', '/admin/accounts'],
      ['/health', '/health'],
      ['/openapi.json', '/openapi.json'],
    ] as const) {
      it(`maps ${path} to ${prefix}`, () => expect(resourcePrefix(path)).to.equal(prefix));
    }
  });

  describe('splitByResource', () => {
    it('gives each resource a document holding only its own paths, and loses none', () => {
      const spec = loadSpec();
      const groups = splitByResource(spec);
      const all = [...groups.values()].flatMap((doc) => Object.keys(doc.paths ?? {}));
      expect(all.sort()).to.deep.equal(Object.keys(spec.paths ?? {}).sort());
      expect(Object.keys(groups.get('/v1/customers')!.paths!)).to.deep.equal(['/v1/customers', '/v1/customers/{id}']);
      // Each holds the components its paths reach, as they are in the whole document, and no others.
      const customers = groups.get('/v1/customers')!.components!;
      expect(customers.schemas!.Customer).to.equal(spec.components!.schemas!.Customer);
      expect(customers.schemas).to.not.have.property('Reconciliation');
      expect(customers.securitySchemes).to.deep.equal(spec.components!.securitySchemes);
      for (const doc of groups.values()) {
        const refs = [...JSON.stringify(doc.paths).matchAll(/"#\/components\/(\w+)\/([^"]+)"/g)];
        for (const [, kind, name] of refs) expect((doc.components as Record<string, Record<string, unknown>>)[kind!]?.[name!], `${kind}/${name}`).to.not.equal(undefined);
      }
    });
  });

  describe('response validation', () => {
    // Handlers that answer off-contract; the type system normally forbids this, so the casts
    // stand in for a handler that drifted at run time (e.g. data read from the database).
    function appWith(overrides: Partial<Record<keyof Handlers, unknown>>) {
      const spec = loadSpec();
      const notUsed = async () => {
        throw new Error('not used');
      };
      const handlers = Object.fromEntries(
        operationIdsOf(spec).map((id) => [id, overrides[id as keyof Handlers] ?? notUsed]),
      ) as unknown as Handlers;
      const log = createLogger('silent');
      const app = express();
      app.use(requestId());
      app.use(buildApiRouter({ spec, handlers, authenticate: (_req, _res, next) => next(), validateResponses: true, log }));
      app.use(problemHandler(log));
      return app;
    }

    it('turns a response body that breaks the spec into a 500, so it never passes silently', async () => {
      const app = appWith({ getHealth: async () => ({ status: 200, body: { status: 'sort of' } }) });
      expectProblem(await request(app).get('/health'), 500, 'internal_error');
    });

    it('turns an undocumented status into a 500', async () => {
      const app = appWith({ getHealth: async () => ({ status: 202, body: { status: 'ok' } }) });
      expectProblem(await request(app).get('/health'), 500, 'internal_error');
    });

    it('passes a response that matches the spec', async () => {
      const app = appWith({ getHealth: async () => ({ status: 200, body: { status: 'ok' } }) });
      const res = await request(app).get('/health');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ status: 'ok' });
    });
  });

  it('lists every operationId of the spec', () => {
    expect(operationIdsOf(loadSpec()).sort()).to.deep.equal(Object.keys(operations).sort());
  });

  it('refuses to build when an operation has no handler', () => {
    const spec = loadSpec();
    expect(() =>
      buildApiRouter({ spec, handlers: {} as Handlers, authenticate: (_q, _s, n) => n(), validateResponses: true, log: createLogger('silent') }),
    ).to.throw(/no handler for operation/);
  });
});
