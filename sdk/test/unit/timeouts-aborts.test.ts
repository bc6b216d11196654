/**
 * Calls that get no answer: a server that hangs (each attempt times out, then the call fails with
 * APIConnectionTimeoutError), one that drops connections, and calls the caller aborts — before
 * sending, while an attempt is in flight, and while waiting for the next attempt.
 */
import { expect } from 'chai';
import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, Remit, RemitError } from '../../src/index.js';
import { fakeRuntime, rejectionOf, testClient } from '../helpers/client.js';
import { problem, startFaultServer, type FaultServer } from '../helpers/fault-server.js';

const LIST = { object: 'list', data: [], has_more: false, next_cursor: null };

/** Resolves once `server` has received `count` requests. */
async function requestsReceived(server: FaultServer, count: number): Promise<void> {
  while (server.requests.length < count) await new Promise((r) => setTimeout(r, 2));
}

describe('SDK timeouts and aborts (scripted server)', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer();
  });
  after(() => server.close());

  describe('timeouts', () => {
    it('times out each attempt against a hanging server and fails with APIConnectionTimeoutError after the retries', async () => {
      server.script({ hang: true });
      const runtime = fakeRuntime();
      const err = await rejectionOf(testClient(server.url, { timeout: 50 }, runtime).customers.list());
      expect(err).to.be.instanceOf(APIConnectionTimeoutError);
      expect(err).to.be.instanceOf(APIConnectionError);
      expect(err).to.be.instanceOf(RemitError);
      expect((err as Error).message).to.match(/timed out \(50 ms per attempt, 3 attempts\)/);
      expect(server.requests).to.have.length(3);
      expect(runtime.sleeps, 'backoff between the attempts').to.have.length(2);
    });

    it('times out a body that never finishes, not only missing headers', async () => {
      server.script({ stallMidBody: true });
      const err = await rejectionOf(testClient(server.url, { timeout: 50, maxRetries: 0 }).customers.list());
      expect(err).to.be.instanceOf(APIConnectionTimeoutError);
      expect(server.requests).to.have.length(1);
    });

    it('retries a timed-out attempt and returns the answer of the next', async () => {
      server.script({ hang: true }, { status: 200, body: LIST });
      const page = await testClient(server.url, { timeout: 50 }).customers.list();
      expect(page.data).to.deep.equal([]);
      expect(server.requests).to.have.length(2);
    });

    it('takes a per-call timeout over the client one', async () => {
      server.script({ status: 200, body: LIST, delayMs: 150 });
      const client = testClient(server.url, { timeout: 20, maxRetries: 0 });
      await client.customers.list({}, { timeout: 2_000 });
      expect(await rejectionOf(client.customers.list())).to.be.instanceOf(APIConnectionTimeoutError);
    });

    it('rejects a timeout that is not a positive number', async () => {
      expect(() => testClient(server.url, { timeout: 0 })).to.throw(RemitError, /timeout/);
      const err = await rejectionOf(testClient(server.url).customers.list({}, { timeout: -5 }));
      expect((err as Error).message).to.match(/timeout/);
    });
  });

  describe('connection errors', () => {
    it('fails with APIConnectionError (not a timeout) after retrying dropped connections', async () => {
      server.script({ drop: true });
      const err = await rejectionOf(testClient(server.url).customers.create({ email: 'a@example.com' }));
      expect(err).to.be.instanceOf(APIConnectionError);
      expect(err).not.to.be.instanceOf(APIConnectionTimeoutError);
      expect((err as Error).message).to.match(/3 attempts/);
      expect((err as Error).cause, 'the underlying fetch error').to.be.instanceOf(Error);
      expect(server.requests).to.have.length(3);
    });

    it('treats a connection dropped mid-body as a connection error, and retries it', async () => {
      server.script({ dropMidBody: true }, { status: 200, body: LIST });
      const page = await testClient(server.url).customers.list();
      expect(page.has_more).to.equal(false);
      expect(server.requests).to.have.length(2);
    });

    it('fails with APIConnectionError when nothing listens', async () => {
      const closed = await startFaultServer();
      await closed.close();
      const err = await rejectionOf(testClient(closed.url, { maxRetries: 1 }).customers.list());
      expect(err).to.be.instanceOf(APIConnectionError);
    });
  });

  describe('aborts', () => {
    it('sends nothing when the signal is already aborted', async () => {
      server.script({ status: 200, body: LIST });
      const err = await rejectionOf(testClient(server.url).customers.list({}, { signal: AbortSignal.abort() }));
      expect(err).to.be.instanceOf(APIUserAbortError);
      expect(server.requests).to.have.length(0);
    });

    it('stops an attempt in flight at once, and does not retry it', async () => {
      server.script({ hang: true });
      const controller = new AbortController();
      const call = testClient(server.url, { timeout: 30_000 }).customers.create({ email: 'a@example.com' }, { signal: controller.signal });
      await requestsReceived(server, 1);
      const started = Date.now();
      controller.abort();
      const err = await rejectionOf(call);
      expect(err).to.be.instanceOf(APIUserAbortError);
      expect(Date.now() - started).to.be.below(1_000);
      expect(server.requests).to.have.length(1);
    });

    it('stops the wait before the next attempt, even when the wait itself ignores the signal', async () => {
      server.script(problem(503, 'processor_unavailable', { 'retry-after': '30' }));
      const runtime = fakeRuntime({ mode: 'hold' });
      const controller = new AbortController();
      const call = testClient(server.url, {}, runtime).payments.create({ amount: 100, currency: 'EUR' }, { signal: controller.signal });
      while (runtime.sleeps.length === 0) await new Promise((r) => setTimeout(r, 2));
      controller.abort();
      const err = await rejectionOf(call);
      expect(err).to.be.instanceOf(APIUserAbortError);
      expect(runtime.sleeps).to.deep.equal([30_000]);
      expect(server.requests, 'no attempt after the abort').to.have.length(1);
    });

    it('stops a real backoff wait (the default sleep) when the signal aborts', async () => {
      server.script(problem(429, 'rate_limited', { 'retry-after': '30' }));
      const controller = new AbortController();
      // No fake runtime: the client's own sleep, which would wait the full 30 s.
      const plain = new Remit({ apiKey: 'sk_test', baseURL: server.url });
      const call = plain.customers.list({}, { signal: controller.signal });
      await requestsReceived(server, 1);
      const started = Date.now();
      setTimeout(() => controller.abort(), 20);
      const err = await rejectionOf(call);
      expect(err).to.be.instanceOf(APIUserAbortError);
      expect(Date.now() - started).to.be.below(2_000);
      expect(server.requests).to.have.length(1);
    });
  });
});
