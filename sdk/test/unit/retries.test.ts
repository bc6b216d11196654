/**
 * Retries through the whole client against a scripted server: how many attempts each answer gets,
 * the one Idempotency-Key every attempt of a call carries, and the waits between attempts (taken
 * from Retry-After, the RateLimit field or jittered backoff) recorded by a fake clock.
 */
import { expect } from 'chai';
import { APIError, ConflictError, InternalServerError, RateLimitError } from '../../src/index.js';
import { FAKE_NOW_MS, fakeRuntime, rejectionOf, testClient } from '../helpers/client.js';
import { problem, startFaultServer, type FaultServer, type Step } from '../helpers/fault-server.js';

const CUSTOMER = {
  id: 'cus_1',
  object: 'customer',
  email: 'a@example.com',
  name: null,
  phone: null,
  description: null,
  metadata: {},
  created: 1_700_000_000,
};
const ok = { status: 200, body: CUSTOMER };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('SDK retries (scripted server)', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer();
  });
  after(() => server.close());

  describe('attempts per answer, with the default maxRetries (2)', () => {
    const cases: { answer: string; status: number; step: Step; attempts: number }[] = [
      { answer: '500', status: 500, step: problem(500, 'internal_error'), attempts: 3 },
      { answer: '502', status: 502, step: { status: 502, body: 'Bad Gateway' }, attempts: 3 },
      { answer: '503', status: 503, step: problem(503, 'service_unavailable', { 'retry-after': '2' }), attempts: 3 },
      { answer: '408', status: 408, step: { status: 408, body: '' }, attempts: 3 },
      { answer: '429', status: 429, step: problem(429, 'rate_limited', { 'retry-after': '1' }), attempts: 3 },
      { answer: '409 idempotency_in_flight', status: 409, step: problem(409, 'idempotency_in_flight', { 'retry-after': '1' }), attempts: 3 },
      { answer: '409 payment_not_capturable', status: 409, step: problem(409, 'payment_not_capturable'), attempts: 1 },
      { answer: '400', status: 400, step: problem(400, 'validation_failed'), attempts: 1 },
      { answer: '401', status: 401, step: problem(401, 'invalid_api_key'), attempts: 1 },
      { answer: '403', status: 403, step: problem(403, 'insufficient_scope'), attempts: 1 },
      { answer: '404', status: 404, step: problem(404, 'resource_not_found'), attempts: 1 },
      { answer: '413', status: 413, step: problem(413, 'payload_too_large'), attempts: 1 },
      { answer: '422', status: 422, step: problem(422, 'idempotency_key_reused'), attempts: 1 },
    ];
    for (const { answer, status, step, attempts } of cases) {
      it(`${answer} → ${attempts} attempt${attempts > 1 ? 's' : ''}, then the error`, async () => {
        server.script(step);
        const err = await rejectionOf(testClient(server.url).customers.create({ email: 'a@example.com' }));
        expect(err).to.be.instanceOf(APIError);
        expect((err as APIError).status).to.equal(status);
        expect(server.requests).to.have.length(attempts);
      });
    }

    it('succeeds on the attempt after transient failures, and returns that answer', async () => {
      server.script(problem(503, 'processor_unavailable'), { drop: true }, ok);
      const customer = await testClient(server.url).customers.create({ email: 'a@example.com' });
      expect(customer.id).to.equal('cus_1');
      expect(server.requests).to.have.length(3);
    });
  });

  describe('maxRetries', () => {
    it('takes the client option, and a per-call override', async () => {
      server.script(problem(500, 'internal_error'));
      await rejectionOf(testClient(server.url, { maxRetries: 4 }).customers.retrieve('cus_1'));
      expect(server.requests).to.have.length(5);

      server.script(problem(500, 'internal_error'));
      await rejectionOf(testClient(server.url, { maxRetries: 4 }).customers.retrieve('cus_1', { maxRetries: 1 }));
      expect(server.requests).to.have.length(2);
    });

    it('0 sends a single attempt', async () => {
      server.script(problem(429, 'rate_limited', { 'retry-after': '1' }));
      const err = await rejectionOf(testClient(server.url, { maxRetries: 0 }).customers.list());
      expect(err).to.be.instanceOf(RateLimitError);
      expect(server.requests).to.have.length(1);
    });

    it('rejects a negative or fractional value before sending anything', async () => {
      server.script(ok);
      expect(() => testClient(server.url, { maxRetries: -1 })).to.throw(/maxRetries/);
      const err = await rejectionOf(testClient(server.url).customers.retrieve('cus_1', { maxRetries: 1.5 }));
      expect((err as Error).message).to.match(/maxRetries/);
      expect(server.requests).to.have.length(0);
    });
  });

  describe('Remit-Retry-Count', () => {
    it('numbers every attempt of a call, 0 first, for safe and unsafe calls alike', async () => {
      server.script(problem(500, 'internal_error'), { drop: true }, problem(429, 'rate_limited', { 'retry-after': '1' }), ok);
      await testClient(server.url, { maxRetries: 3 }).customers.create({ email: 'a@example.com' });
      const unsafe = server.requests.map((r) => r.headers['remit-retry-count']);
      server.script(problem(503, 'service_unavailable', { 'retry-after': '1' }), ok);
      await testClient(server.url, { maxRetries: 3 }).customers.retrieve('cus_1');
      const safe = server.requests.map((r) => r.headers['remit-retry-count']);
      expect(unsafe).to.deep.equal(['0', '1', '2', '3']);
      expect(safe).to.deep.equal(['0', '1']);
    });

    it('starts again at 0 for the next call', async () => {
      const client = testClient(server.url, { maxRetries: 1 });
      server.script(problem(500, 'internal_error'), ok, ok);
      await client.customers.retrieve('cus_1');
      await client.customers.retrieve('cus_1');
      expect(server.requests.map((r) => r.headers['remit-retry-count'])).to.deep.equal(['0', '1', '0']);
    });
  });

  describe('Idempotency-Key', () => {
    it('sends one generated key (a UUID) on every attempt of an unsafe call', async () => {
      server.script(problem(500, 'internal_error'), { drop: true }, problem(409, 'idempotency_in_flight', { 'retry-after': '1' }), ok);
      await testClient(server.url, { maxRetries: 3 }).customers.create({ email: 'a@example.com' });
      const keys = server.requests.map((r) => r.headers['idempotency-key']);
      expect(keys).to.have.length(4);
      expect(keys[0]).to.match(UUID);
      expect(new Set(keys).size, 'the same key on every retry').to.equal(1);
    });

    it('gives each logical call a key of its own', async () => {
      server.script(ok);
      const client = testClient(server.url);
      await client.payments.capture('pay_1');
      await client.payments.capture('pay_1');
      const [a, b] = server.requests.map((r) => r.headers['idempotency-key']);
      expect(a).to.match(UUID);
      expect(b).to.match(UUID);
      expect(a).not.to.equal(b);
    });

    it('sends the caller key instead, on every attempt', async () => {
      server.script(problem(503, 'processor_unavailable'), ok);
      await testClient(server.url).payments.create({ amount: 100, currency: 'EUR' }, { idempotencyKey: 'order-42' });
      expect(server.requests.map((r) => r.headers['idempotency-key'])).to.deep.equal(['order-42', 'order-42']);
    });

    it('takes a caller key given as a header, and the option over the header', async () => {
      server.script(ok);
      const client = testClient(server.url);
      await client.customers.create({ email: 'a@example.com' }, { headers: { 'idempotency-key': 'from-header' } });
      await client.customers.create({ email: 'a@example.com' }, { headers: { 'Idempotency-Key': 'from-header' }, idempotencyKey: 'from-option' });
      expect(server.requests.map((r) => r.headers['idempotency-key'])).to.deep.equal(['from-header', 'from-option']);
    });

    it('retries a POST the API does not deduplicate (creating an API key) only when nothing was done', async () => {
      const created = { status: 201, body: { id: 'key_1', object: 'api_key', name: null, scopes: ['read'], redacted_secret: 'sk_…abcd', created: 1, revoked_at: null, secret: 'sk_x' } };
      server.script(problem(429, 'rate_limited', { 'retry-after': '1' }), created);
      await testClient(server.url).apiKeys.create({ scopes: ['read'] });
      expect(server.requests).to.have.length(2);

      server.script(problem(500, 'internal_error'), created);
      const afterFailure = await rejectionOf(testClient(server.url).apiKeys.create({ scopes: ['read'] }));
      expect(afterFailure).to.be.instanceOf(InternalServerError);
      expect(server.requests, 'a 500 may hide a created key: not sent again').to.have.length(1);

      server.script(problem(500, 'internal_error'), ok);
      await testClient(server.url).customers.update('cus_1', { name: 'B' });
      expect(server.requests, 'a PATCH is safe to repeat').to.have.length(2);
    });

    it('keys POST, PATCH and DELETE, and never a GET', async () => {
      server.script(ok);
      const client = testClient(server.url);
      await client.customers.update('cus_1', { name: 'B' });
      await client.customers.delete('cus_1');
      await client.apiKeys.revoke('key_1');
      await client.payments.cancel('pay_1');
      await client.customers.retrieve('cus_1');
      await client.customers.list();
      const sent = server.requests.map((r) => [r.method, typeof r.headers['idempotency-key']]);
      expect(sent).to.deep.equal([
        ['PATCH', 'string'],
        ['DELETE', 'string'],
        ['DELETE', 'string'],
        ['POST', 'string'],
        ['GET', 'undefined'],
        ['GET', 'undefined'],
      ]);
    });

    it('keys an unsafe call even with retries off', async () => {
      server.script(ok);
      await testClient(server.url, { maxRetries: 0 }).refunds.create({ payment: 'pay_1' });
      expect(server.requests[0]!.headers['idempotency-key']).to.match(UUID);
    });
  });

  describe('waits between attempts', () => {
    it('waits Retry-After seconds', async () => {
      const runtime = fakeRuntime();
      server.script(problem(429, 'rate_limited', { 'retry-after': '3' }), problem(503, 'processor_unavailable', { 'retry-after': '2' }), ok);
      await testClient(server.url, {}, runtime).payments.create({ amount: 100, currency: 'EUR' });
      expect(runtime.sleeps).to.deep.equal([3_000, 2_000]);
    });

    it('waits until a Retry-After HTTP-date', async () => {
      const runtime = fakeRuntime();
      server.script(problem(503, 'service_unavailable', { 'retry-after': new Date(FAKE_NOW_MS + 5_000).toUTCString() }), ok);
      await testClient(server.url, {}, runtime).customers.list();
      expect(runtime.sleeps).to.deep.equal([5_000]);
    });

    it("waits the RateLimit field's t= when the quota is used up", async () => {
      const runtime = fakeRuntime();
      server.script(problem(429, 'rate_limited', { ratelimit: '"write";r=0;t=7', 'ratelimit-policy': '"write";q=5;w=10' }), ok);
      await testClient(server.url, {}, runtime).customers.create({ email: 'a@example.com' });
      expect(runtime.sleeps).to.deep.equal([7_000]);
    });

    it('caps a long Retry-After at 60 s', async () => {
      const runtime = fakeRuntime();
      server.script(problem(503, 'service_unavailable', { 'retry-after': '86400' }), ok);
      await testClient(server.url, {}, runtime).customers.list();
      expect(runtime.sleeps).to.deep.equal([60_000]);
    });

    it('backs off 0.5 s, 1 s, 2 s, 4 s, 8 s, 8 s without server guidance (no jitter drawn)', async () => {
      const runtime = fakeRuntime({ random: 0 });
      server.script(problem(500, 'internal_error'));
      await rejectionOf(testClient(server.url, { maxRetries: 6 }, runtime).customers.list());
      expect(runtime.sleeps).to.deep.equal([500, 1_000, 2_000, 4_000, 8_000, 8_000]);
      expect(server.requests).to.have.length(7);
    });

    it('jitters the backoff within (0.75, 1] of each step', async () => {
      const runtime = fakeRuntime({ random: 0.999_999 });
      server.script({ drop: true });
      await rejectionOf(testClient(server.url, { maxRetries: 5 }, runtime).customers.list());
      const steps = [500, 1_000, 2_000, 4_000, 8_000];
      expect(runtime.sleeps).to.have.length(steps.length);
      runtime.sleeps.forEach((ms, i) => expect(ms).to.be.within(steps[i]! * 0.75, steps[i]! * 0.7501));
    });

    it('does not wait after the last attempt', async () => {
      const runtime = fakeRuntime();
      server.script(problem(503, 'processor_unavailable', { 'retry-after': '1' }));
      const err = await rejectionOf(testClient(server.url, {}, runtime).customers.list());
      expect(err).to.be.instanceOf(InternalServerError);
      expect(runtime.sleeps).to.have.length(2);
    });

    it('ends a non-retryable 409 at once, with its code', async () => {
      const runtime = fakeRuntime();
      server.script(problem(409, 'payment_not_cancelable'));
      const err = await rejectionOf(testClient(server.url, {}, runtime).payments.cancel('pay_1'));
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as ConflictError).code).to.equal('payment_not_cancelable');
      expect(runtime.sleeps).to.deep.equal([]);
    });
  });
});
