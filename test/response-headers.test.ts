/**
 * The headers the spec marks `required: true` are on every answer, including the ones no operation
 * handler writes: a key without the scope (403), a path or method the spec does not have (404, 405),
 * the reference page's assets, and HEAD requests. The app's own response check turns a missing
 * required header into a 500, so every other test in the suite checks headers too; this file also
 * proves that check fails when it should.
 */
import { expect } from 'chai';
import request from 'supertest';
import { loadSpec } from '../src/platform/spec.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

const RATE_LIMIT_POLICY = /^"(read|write|account_read|account_write|admin|ops|auth)";q=\d+;w=\d+(, "\w+";q=\d+;w=\d+)*$/;
const RATE_LIMIT = /^"(read|write|account_read|account_write|admin|ops|auth)";r=\d+;t=\d+(, "\w+";r=\d+;t=\d+)*$/;

function expectRateLimitFields(res: request.Response, policy: string): void {
  expect(res.headers['request-id'], 'Request-Id').to.be.a('string');
  expect(res.headers['ratelimit-policy'], 'RateLimit-Policy').to.match(RATE_LIMIT_POLICY).and.match(new RegExp(`^"${policy}"`));
  expect(res.headers.ratelimit, 'RateLimit').to.match(RATE_LIMIT).and.match(new RegExp(`^"${policy}"`));
}

const remainingOf = (res: request.Response) => Number(/;r=(\d+);/.exec(String(res.headers.ratelimit))?.[1]);

describe('response headers the spec requires', () => {
  let t: TestApp;
  let account: TestAccount;
  let readOnly: { secret: string };

  before(async () => {
    t = await createTestApp({ rateLimits: { policies: { read: { points: 1000, windowS: 60 }, write: { points: 1000, windowS: 60 } } } });
    account = await t.createAccount();
    readOnly = await t.createKey(account, ['read']);
  });
  after(() => t.close());

  describe('403 insufficient_scope', () => {
    it('carries the key’s write quota fields and WWW-Authenticate, and spends one request of that quota', async () => {
      const first = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${readOnly.secret}`).send({ email: 'a@example.com' });
      expectProblem(first, 403, 'insufficient_scope');
      expectRateLimitFields(first, 'write');
      expect(first.headers['www-authenticate']).to.match(/error="insufficient_scope", scope="write"/);
      const second = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${readOnly.secret}`).send({ email: 'a@example.com' });
      expect(remainingOf(second)).to.equal(remainingOf(first) - 1);
      expect(await t.db('customers').where({ account_id: account.id })).to.have.length(0);
    });

    it('is a 429 once the key’s write quota is spent on refusals', async () => {
      const own = await createTestApp({ rateLimits: { policies: { write: { points: 2, windowS: 60 } } } });
      try {
        const acct = await own.createAccount();
        const key = await own.createKey(acct, ['read']);
        const send = () => request(own.app).post('/v1/customers').set('Authorization', `Bearer ${key.secret}`).send({ email: 'a@example.com' });
        expectProblem(await send(), 403, 'insufficient_scope');
        expectProblem(await send(), 403, 'insufficient_scope');
        const refused = await send();
        expectProblem(refused, 429, 'rate_limited');
        expect(refused.headers['retry-after']).to.match(/^\d+$/);
      } finally {
        await own.close();
      }
    });
  });

  describe('answers no operation writes', () => {
    it('404 for an unknown path carries the address’s ops quota fields', async () => {
      const res = await request(t.app).get('/v1/nothing-here');
      expectProblem(res, 404, 'route_not_found');
      expectRateLimitFields(res, 'ops');
    });

    it('404 for an unknown path under a known resource carries them too', async () => {
      const res = await request(t.app).get('/v1/customers/cus_abc/notes').set('Authorization', `Bearer ${account.secret}`);
      expectProblem(res, 404, 'route_not_found');
      expectRateLimitFields(res, 'ops');
    });

    it('405 for an undocumented method carries them and Allow', async () => {
      const res = await request(t.app).put('/v1/customers').set('Authorization', `Bearer ${account.secret}`).send({});
      expectProblem(res, 405, 'method_not_allowed');
      expectRateLimitFields(res, 'ops');
      expect(res.headers.allow).to.be.a('string');
    });

    it('the reference page’s static assets carry them', async () => {
      const res = await request(t.app).get('/docs/assets/swagger-ui.css');
      expect(res.status).to.equal(200);
      expectRateLimitFields(res, 'ops');
    });

    it('an address over its ops quota gets 429 for unknown paths as well', async () => {
      const own = await createTestApp({ rateLimits: { policies: { ops: { points: 2, windowS: 60 } } } });
      try {
        await request(own.app).get('/nope').expect(404);
        await request(own.app).get('/nope').expect(404);
        const refused = await request(own.app).get('/nope');
        expectProblem(refused, 429, 'rate_limited');
        expectRateLimitFields(refused, 'ops');
      } finally {
        await own.close();
      }
    });
  });

  describe('HEAD', () => {
    for (const path of ['/health', '/ready']) {
      it(`HEAD ${path} answers 200 with GET's headers and no body`, async () => {
        const get = await request(t.app).get(path);
        const head = await request(t.app).head(path);
        expect(head.status).to.equal(200);
        expect(head.text ?? '').to.equal('');
        expect(head.headers['content-type']).to.equal(get.headers['content-type']);
        expect(head.headers['content-length']).to.equal(get.headers['content-length']);
        expectRateLimitFields(head, 'ops');
      });
    }

    it('HEAD on a read operation is authenticated and counted as a read', async () => {
      const anonymous = await request(t.app).head('/v1/customers');
      expect(anonymous.status).to.equal(401);
      const head = await request(t.app).head('/v1/customers').set('Authorization', `Bearer ${account.secret}`);
      expect(head.status).to.equal(200);
      expectRateLimitFields(head, 'read');
    });

    it('HEAD where the spec has no GET is a 405', async () => {
      const res = await request(t.app).head('/v1/payments/pay_abc/capture').set('Authorization', `Bearer ${account.secret}`);
      expect(res.status).to.equal(405);
    });
  });

  describe('Location on 201', () => {
    it('names the created resource, on the first answer and on a replay', async () => {
      const auth = { Authorization: `Bearer ${account.secret}` };
      const customer = await request(t.app).post('/v1/customers').set(auth).set('Idempotency-Key', 'loc-cus').send({ email: 'loc@example.com' });
      expect(customer.status).to.equal(201);
      expect(customer.headers.location).to.equal(`/v1/customers/${customer.body.id}`);
      const replay = await request(t.app).post('/v1/customers').set(auth).set('Idempotency-Key', 'loc-cus').send({ email: 'loc@example.com' });
      expect(replay.headers['idempotent-replayed']).to.equal('true');
      expect(replay.headers.location).to.equal(customer.headers.location);
      const fetched = await request(t.app).get(customer.headers.location!).set(auth);
      expect(fetched.body).to.deep.equal(customer.body);

      const payment = await request(t.app).post('/v1/payments').set(auth).set('Idempotency-Key', 'loc-pay').send({ amount: 500, currency: 'EUR' });
      expect(payment.headers.location).to.equal(`/v1/payments/${payment.body.id}`);
      const refund = await request(t.app).post('/v1/refunds').set(auth).set('Idempotency-Key', 'loc-re').send({ payment: payment.body.id });
      expect(refund.headers.location).to.equal(`/v1/refunds/${refund.body.id}`);
      expect((await request(t.app).get(refund.headers.location!).set(auth)).body.id).to.equal(refund.body.id);
      const key = await request(t.app).post('/v1/api_keys').set(auth).send({ scopes: ['read'] });
      expect(key.headers.location).to.equal(`/v1/api_keys/${key.body.id}`);
    });
  });

  describe('the app’s own check', () => {
    it('turns an answer without a header its documented response requires into a 500', async () => {
      const spec = loadSpec();
      const health = (spec.paths!['/health']!.get as { responses: Record<string, { headers: Record<string, unknown> }> }).responses['200']!;
      health.headers['X-Promised'] = { required: true, schema: { type: 'string' } };
      const own = await createTestApp({ spec });
      try {
        const res = await request(own.app).get('/health');
        expectProblem(res, 500, 'internal_error');
      } finally {
        await own.close();
      }
    });

    it('turns a header whose value breaks its schema into a 500', async () => {
      const spec = loadSpec();
      const health = (spec.paths!['/health']!.get as { responses: Record<string, { headers: Record<string, unknown> }> }).responses['200']!;
      health.headers['Request-Id'] = { required: true, schema: { type: 'string', pattern: '^never$' } };
      const own = await createTestApp({ spec });
      try {
        expectProblem(await request(own.app).get('/health'), 500, 'internal_error');
      } finally {
        await own.close();
      }
    });

    it('turns a problem answer without a required header into a 500', async () => {
      const spec = loadSpec();
      const responses = (spec.paths!['/v1/customers']!.post as { responses: Record<string, unknown> }).responses;
      responses['403'] = {
        description: 'a 403 promising a header nobody sends',
        headers: { 'X-Promised': { required: true, schema: { type: 'string' } } },
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
      const own = await createTestApp({ spec });
      try {
        const acct = await own.createAccount();
        const key = await own.createKey(acct, ['read']);
        const res = await request(own.app).post('/v1/customers').set('Authorization', `Bearer ${key.secret}`).send({ email: 'a@example.com' });
        expectProblem(res, 500, 'internal_error');
      } finally {
        await own.close();
      }
    });

    it('does not ask for the rate-limit fields from an instance with rate limits off', async () => {
      const own = await createTestApp({ rateLimits: false });
      try {
        const res = await request(own.app).get('/health');
        expect(res.status).to.equal(200);
        expect(res.headers['ratelimit-policy']).to.equal(undefined);
      } finally {
        await own.close();
      }
    });
  });
});
