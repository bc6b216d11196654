/**
 * The operations endpoints, and what every route shares:
 * - `/health` is 200 without credentials; `/ready` is 200 with its checks, 503 `draining` with
 *   Retry-After once shutdown has begun (while `/health` stays 200), and 503 `not_ready` when the
 *   database is down;
 * - a lost database (the app's pool destroyed) and a PostgreSQL that refuses connections make API
 *   calls a 503 service_unavailable with Retry-After, not a 500; a real bug (a SQL error from a
 *   renamed column) is a 500 internal_error that names nothing internal;
 * - `/openapi.json` is the spec; `/docs` loads only assets this server serves;
 * - a well-formed incoming Request-Id is kept, in problems too, a malformed one is replaced, and
 *   every answer gets a distinct one;
 * - an unknown path is a 404 route_not_found problem, a known path with an undocumented method a
 *   405 with `Allow`.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../src/app.js';
import { createDb } from '../src/platform/db.js';
import { createLogger } from '../src/platform/logger.js';
import { createProcessorClient } from '../src/processor/client.js';
import { Lifecycle } from '../src/platform/shutdown.js';
import { loadSpec } from '../src/platform/spec.js';
import { redisCheck } from './helpers/redis.js';
import { TEST_PROCESSOR_OPTIONS, createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

describe('operations endpoints and cross-cutting behaviour', () => {
  let t: TestApp;
  let account: TestAccount;

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount();
  });
  after(() => t.close());

  describe('GET /health', () => {
    it('answers 200 without credentials', async () => {
      const res = await request(t.app).get('/health');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ status: 'ok' });
    });
  });

  describe('GET /ready', () => {
    it('answers 200 when the database answers', async () => {
      const res = await request(t.app).get('/ready');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ status: 'ready', checks: { database: 'up', processor: 'up', ...redisCheck(t) } });
    });

    it('answers 503 draining with Retry-After once shutdown has begun', async () => {
      const own = await createTestApp();
      try {
        own.lifecycle.startDraining();
        const res = await request(own.app).get('/ready');
        expect(res.status).to.equal(503);
        expect(res.headers['retry-after']).to.match(/^\d+$/);
        expect(res.body).to.deep.equal({ status: 'draining', checks: { database: 'up', processor: 'up', ...redisCheck(own) } });
        // Liveness is unaffected: the process is healthy, just leaving.
        await request(own.app).get('/health').expect(200);
      } finally {
        await own.close();
      }
    });
  });

  describe('when the database is unavailable', () => {
    let down: TestApp;
    let secret: string;

    before(async () => {
      down = await createTestApp();
      secret = (await down.createAccount()).secret;
      // Close the pool: every later query fails the way a lost database does.
      await down.db.destroy();
    });

    after(() => down.close());

    it('reports not_ready with the database down on /ready', async () => {
      const res = await request(down.app).get('/ready');
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.equal({ status: 'not_ready', checks: { database: 'down', processor: 'up', ...redisCheck(down) } });
    });

    it('answers API calls with 503 service_unavailable and Retry-After, not 500', async () => {
      const res = await request(down.app).get('/v1/customers').set('Authorization', `Bearer ${secret}`);
      expectProblem(res, 503, 'service_unavailable');
      expect(Number(res.headers['retry-after'])).to.be.greaterThan(0);
    });
  });

  describe('when PostgreSQL refuses connections', () => {
    it('answers 503 service_unavailable with Retry-After, within the connect timeout', async () => {
      // Nothing listens on port 1: the driver gets ECONNREFUSED on every attempt.
      const db = createDb({ url: 'postgres://postgres@127.0.0.1:1/remit' });
      const { app, services } = createApp({
        db,
        log: createLogger('silent'),
        lifecycle: new Lifecycle(),
        adminToken: 'x'.repeat(32),
        validateResponses: true,
        bodyLimitBytes: 65536,
        // Never called: no request here reaches a payment.
        processor: createProcessorClient({ url: 'http://127.0.0.1:1', ...TEST_PROCESSOR_OPTIONS }),
        idempotency: { leaseMs: 30_000, retentionMs: 86_400_000, jobIntervalMs: 60_000 },
      });
      try {
        const res = await request(app).get('/v1/customers').set('Authorization', 'Bearer sk_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
        expectProblem(res, 503, 'service_unavailable');
        expect(res.headers['retry-after']).to.match(/^\d+$/);
        const ready = await request(app).get('/ready');
        expect(ready.status).to.equal(503);
        expect(ready.body.checks.database).to.equal('down');
      } finally {
        await services.apiKeys.close();
        await db.destroy();
      }
    });
  });

  describe('unexpected errors', () => {
    it('answer 500 internal_error with no internal detail', async () => {
      const broken = await createTestApp();
      try {
        const { secret } = await broken.createAccount();
        // A schema the code does not expect: the query fails with a SQL error, a bug, not an outage.
        await broken.db.schema.alterTable('customers', (tb) => tb.renameColumn('email', 'email_address'));
        const res = await request(broken.app).get('/v1/customers').set('Authorization', `Bearer ${secret}`);
        expectProblem(res, 500, 'internal_error');
        expect(res.body.detail).to.equal('An unexpected error occurred. It has been logged with this request id.');
        expect(JSON.stringify(res.body)).not.to.match(/email_address|column/i);
      } finally {
        await broken.close();
      }
    });
  });

  describe('GET /openapi.json', () => {
    it('serves the spec as JSON', async () => {
      const res = await request(t.app).get('/openapi.json');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(JSON.parse(JSON.stringify(loadSpec())));
    });
  });

  describe('GET /docs', () => {
    it('serves a reference page whose assets come from this server', async () => {
      const res = await request(t.app).get('/docs');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/html/);
      const srcs = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(srcs.length).to.be.greaterThan(1);
      for (const src of srcs) {
        // Swagger UI's files, and the page's own script and stylesheet: all from this server.
        expect(src, 'no CDN').to.match(/^\/docs\/(assets|page)\//);
        const asset = await request(t.app).get(src);
        expect(asset.status, src).to.equal(200);
        expect(Number(asset.headers['content-length'])).to.be.greaterThan(src.startsWith('/docs/assets/') ? 1000 : 10);
      }
      expect((await request(t.app).get('/docs/page/init.js')).text).to.include("url: '/openapi.json'");
    });
  });

  describe('Request-Id', () => {
    it('keeps a well-formed incoming Request-Id on success and in problems', async () => {
      const ok = await request(t.app).get('/health').set('Request-Id', 'client-42.a:b_c');
      expect(ok.headers['request-id']).to.equal('client-42.a:b_c');
      const problem = await request(t.app).get('/v1/customers').set('Request-Id', 'client-43');
      expect(problem.headers['request-id']).to.equal('client-43');
      expect(problem.body.request_id).to.equal('client-43');
    });

    it('replaces a malformed incoming Request-Id with a generated one', async () => {
      for (const bad of ['has space', 'x'.repeat(129), '<script>', 'a\tb']) {
        const res = await request(t.app).get('/health').set('Request-Id', bad);
        expect(res.headers['request-id']).to.match(/^req_[A-Za-z0-9]{22}$/);
      }
    });

    it('gives every response a distinct id', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add(String((await request(t.app).get('/health')).headers['request-id']));
      expect(ids.size).to.equal(20);
    });
  });

  describe('unknown routes and methods', () => {
    it('answers an unknown path with 404 route_not_found problem+json', async () => {
      expectProblem(await request(t.app).get('/v1/nothing-here'), 404, 'route_not_found');
      expectProblem(await request(t.app).get('/'), 404, 'route_not_found');
      expectProblem(await request(t.app).get('/v1/customers/cus_x/extra').set('Authorization', `Bearer ${account.secret}`), 404, 'route_not_found');
    });

    it('answers a known path with an undocumented method with 405 and Allow', async () => {
      const res = await request(t.app).put('/v1/customers').set('Authorization', `Bearer ${account.secret}`);
      expectProblem(res, 405, 'method_not_allowed');
      expect(res.headers.allow?.split(', ').sort()).to.deep.equal(['GET', 'POST']);
    });
  });
});
