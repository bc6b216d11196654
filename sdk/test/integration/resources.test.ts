/**
 * Every resource method against the real API, and auto-pagination across real pages: the SDK's
 * generated namespaces reach every operation they claim, with the types and the answers the
 * server really gives.
 */
import { expect } from 'chai';
import { operationSpecs } from '../../src/generated/resources.js';
import { AuthenticationError, NotFoundError, Page, Remit, type Customer, type Payment } from '../../src/index.js';
import { recordingFetch, startApi, type RunningApi } from '../helpers/api.js';
import { startReceiver } from '../../../test/helpers/webhook-receiver.js';

describe('SDK against the API', function () {
  this.timeout(60_000);
  let api: RunningApi;

  before(async () => {
    api = await startApi();
  });
  after(() => api?.close());

  describe('every resource method', () => {
    const recorder = recordingFetch();

    // Every operation the SDK exposes must have been reached by the tests of this block.
    after(() => {
      const reached = (spec: (typeof operationSpecs)[keyof typeof operationSpecs]) => {
        const pattern = new RegExp(`^${spec.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
        return recorder.attempts.some((a) => a.method === spec.method && pattern.test(a.path) && a.status !== null && a.status < 300);
      };
      const missed = Object.values(operationSpecs).filter((spec) => !reached(spec)).map((spec) => spec.operationId);
      expect(missed, 'SDK operations no test called successfully').to.deep.equal([]);
    });

    const remit = () => api.client({ fetch: recorder.fetch });

    it('customers: create, retrieve, update, list, delete', async () => {
      const created = await remit().customers.create({ email: 'ada@example.com', name: 'Ada', metadata: { tier: 'gold' } });
      expect(created).to.include({ object: 'customer', email: 'ada@example.com', name: 'Ada', phone: null });

      const fetched = await remit().customers.retrieve(created.id);
      expect(fetched).to.deep.equal(created);

      const updated = await remit().customers.update(created.id, { name: null, phone: '+44 20 7946 0000' });
      expect(updated).to.include({ name: null, phone: '+44 20 7946 0000' });

      const page = await remit().customers.list({ email: 'ADA@example.com' });
      expect(page.data.map((c) => c.id)).to.deep.equal([created.id]);

      const deleted = await remit().customers.delete(created.id);
      expect(deleted).to.deep.equal({ id: created.id, object: 'customer', deleted: true });
      const err = await remit().customers.retrieve(created.id).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotFoundError);
    });

    it('customers: lists by an email with reserved characters exactly as it was created', async () => {
      for (const email of ['a*b@example.com', "o'neil!x@example.com"]) {
        const created = await remit().customers.create({ email });
        const page = await remit().customers.list({ email });
        expect(page.data.map((c) => c.id), email).to.deep.equal([created.id]);
        await remit().customers.delete(created.id);
      }
    });

    it('payments: create (automatic and manual), retrieve, capture, cancel, list', async () => {
      const customer = await remit().customers.create({ email: 'payer@example.com' });
      const automatic = await remit().payments.create({ amount: 2_500, currency: 'EUR', customer: customer.id, description: 'order 1' });
      expect(automatic).to.include({ status: 'succeeded', amount_captured: 2_500, customer: customer.id, failure_code: null });

      const toCapture = await remit().payments.create({ amount: 1_000, currency: 'GBP', capture_method: 'manual' });
      expect(toCapture.status).to.equal('requires_capture');
      expect((await remit().payments.capture(toCapture.id)).status).to.equal('succeeded');

      const toCancel = await remit().payments.create({ amount: 700, currency: 'USD', capture_method: 'manual' });
      expect((await remit().payments.cancel(toCancel.id)).status).to.equal('canceled');

      const declined = await remit().payments.create({ amount: 1_402, currency: 'EUR' });
      expect(declined.status).to.equal('failed');
      expect(declined.failure_code).to.be.a('string');

      expect(await remit().payments.retrieve(automatic.id)).to.deep.equal(automatic);
      const mine = await remit().payments.list({ customer: customer.id });
      expect(mine.data.map((p) => p.id)).to.deep.equal([automatic.id]);
    });

    it('refunds: create, retrieve, list', async () => {
      const payment = await remit().payments.create({ amount: 5_000, currency: 'EUR' });
      const refund = await remit().refunds.create({ payment: payment.id, amount: 1_500, reason: 'requested_by_customer' });
      expect(refund).to.include({ object: 'refund', payment: payment.id, amount: 1_500, status: 'succeeded', reason: 'requested_by_customer' });
      expect(await remit().refunds.retrieve(refund.id)).to.deep.equal(refund);
      const page = await remit().refunds.list({ payment: payment.id });
      expect(page.data.map((r) => r.id)).to.deep.equal([refund.id]);
      expect((await remit().payments.retrieve(payment.id)).amount_refunded).to.equal(1_500);
    });

    it('v2 payments: create (automatic and manual), retrieve, capture, cancel, list', async () => {
      const customer = await remit().customers.create({ email: 'payer-v2@example.com' });
      const automatic = await remit().v2.payments.create({ amount: { value: 2_500, currency: 'EUR' }, customer: customer.id });
      expect(automatic).to.include({ status: 'succeeded', customer: customer.id, failure: null });
      expect(automatic.amount_captured).to.deep.equal({ value: 2_500, currency: 'EUR' });

      const toCapture = await remit().v2.payments.create({ amount: { value: 1_000, currency: 'GBP' }, capture_method: 'manual' });
      expect(toCapture.status).to.equal('authorized');
      expect((await remit().v2.payments.capture(toCapture.id)).status).to.equal('succeeded');
      const toCancel = await remit().v2.payments.create({ amount: { value: 700, currency: 'USD' }, capture_method: 'manual' });
      expect((await remit().v2.payments.cancel(toCancel.id)).status).to.equal('canceled');

      const declined = await remit().v2.payments.create({ amount: { value: 1_402, currency: 'EUR' } });
      expect(declined.status).to.equal('failed');
      expect(declined.failure?.code).to.be.a('string');

      expect(await remit().v2.payments.retrieve(automatic.id)).to.deep.equal(automatic);
      const mine = await remit().v2.payments.list({ customer: customer.id });
      expect(mine.data.map((p) => p.id)).to.deep.equal([automatic.id]);
    });

    it('v2 refunds: create, retrieve, list', async () => {
      const payment = await remit().v2.payments.create({ amount: { value: 5_000, currency: 'EUR' } });
      const refund = await remit().v2.refunds.create({ payment: payment.id, amount: { value: 1_500, currency: 'EUR' }, reason: 'requested_by_customer' });
      expect(refund).to.include({ object: 'refund', payment: payment.id, status: 'succeeded', reason: 'requested_by_customer' });
      expect(refund.amount).to.deep.equal({ value: 1_500, currency: 'EUR' });
      expect(await remit().v2.refunds.retrieve(refund.id)).to.deep.equal(refund);
      const page = await remit().v2.refunds.list({ payment: payment.id });
      expect(page.data.map((r) => r.id)).to.deep.equal([refund.id]);
      expect((await remit().v2.payments.retrieve(payment.id)).amount_refunded).to.deep.equal({ value: 1_500, currency: 'EUR' });
    });

    it('reconciliations: create, retrieve, listDiscrepancies', async () => {
      const startS = Math.floor(Date.now() / 1000) - 1;
      const payment = await remit().payments.create({ amount: 3_300, currency: 'EUR' });
      // The processor loses the charge: the run reports the payment missing there.
      api.t.simulator.reset();
      const endS = Math.floor(Date.now() / 1000) + 1;
      while (Date.now() < endS * 1000) await new Promise((r) => setTimeout(r, 20));
      const run = await remit().reconciliations.create({ window_start: startS, window_end: endS });
      expect(run).to.include({ object: 'reconciliation', status: 'queued', failure: null });
      for (let i = 0; i < 10 && (await api.t.services.reconciliationWorker.runOnce()) !== run.id; i += 1);
      const done = await remit().reconciliations.retrieve(run.id);
      expect(done.status).to.equal('succeeded');
      const found = [];
      for await (const d of remit().reconciliations.listDiscrepancies(run.id, { limit: 1 })) found.push(d);
      expect(found.map((d) => [d.kind, d.local?.id])).to.deep.include(['missing_at_processor', payment.id]);
      expect(found).to.have.length(done.counts.discrepancies);
    });

    it('events: list with filters, retrieve', async () => {
      const payment = await remit().payments.create({ amount: 900, currency: 'EUR' });
      const page = await remit().events.list({ object_id: payment.id });
      expect(page.data.map((e) => e.type)).to.deep.equal(['payment.succeeded', 'payment.created']);
      const [latest] = page.data;
      const event = await remit().events.retrieve(latest!.id);
      expect(event).to.deep.equal(latest);
      expect((event.data.object as Payment).id).to.equal(payment.id);
      expect(event.request.idempotency_key, 'the key the SDK generated').to.match(/^[0-9a-f-]{36}$/);
    });

    it('apiKeys: create, list, revoke — and a revoked key stops working', async () => {
      const key = await remit().apiKeys.create({ name: 'reporting', scopes: ['read'] });
      expect(key.secret).to.match(/^sk_/);
      expect(key.scopes).to.deep.equal(['read']);
      const listed = await remit().apiKeys.list();
      expect(listed.data.map((k) => k.id)).to.include(key.id);
      expect(listed.data.every((k) => !('secret' in k))).to.equal(true);

      const reader = api.client({ apiKey: key.secret });
      await reader.customers.list();
      const revoked = await remit().apiKeys.revoke(key.id);
      expect(revoked.revoked_at).to.be.a('number');
      const err = await reader.customers.list().catch((e: unknown) => e);
      expect((err as { status?: number }).status).to.equal(401);
    });

    it('oauthClients: create, list, rotateSecret, revoke — and the client authenticates until it is revoked', async () => {
      const client = await remit().oauthClients.create({ name: 'nightly export', scopes: ['read'] });
      expect(client).to.include({ object: 'oauth_client', name: 'nightly export', revoked_at: null });
      expect(client.id).to.match(/^cli_/);
      expect(client.client_secret).to.match(/^cs_/);
      const listed = await remit().oauthClients.list();
      expect(listed.data.map((c) => c.id)).to.include(client.id);
      expect(listed.data.every((c) => !('client_secret' in c))).to.equal(true);

      const reader = (clientSecret: string) => new Remit({ clientId: client.id, clientSecret, baseURL: api.server.url });
      expect((await reader(client.client_secret).customers.list()).object).to.equal('list');
      const rotated = await remit().oauthClients.rotateSecret(client.id, { overlap_seconds: 0 });
      expect(rotated.client_secret).to.not.equal(client.client_secret);
      const oldSecret = await reader(client.client_secret).customers.list().catch((e: unknown) => e);
      expect(oldSecret).to.be.instanceOf(AuthenticationError);
      expect((oldSecret as AuthenticationError).code).to.equal('invalid_client');
      expect((await reader(rotated.client_secret).customers.list()).object).to.equal('list');

      const revoked = await remit().oauthClients.revoke(client.id);
      expect(revoked.revoked_at).to.be.a('number');
      const err = await reader(rotated.client_secret).customers.list().catch((e: unknown) => e);
      expect((err as { status?: number; code?: string }).code).to.equal('invalid_client');
    });

    it('webhookEndpoints: create, retrieve, update, list, deliveries, retry, replay, rotate, delete — and a delivery verifies with webhooks.verify', async () => {
      const receiver = await startReceiver();
      try {
        const endpoint = await remit().webhookEndpoints.create({ url: `${receiver.url}/hooks`, enabled_events: ['payment.succeeded'], description: 'orders' });
        expect(endpoint.secret).to.match(/^whsec_/);
        expect(endpoint).to.include({ object: 'webhook_endpoint', api_version: 'v2', status: 'enabled', description: 'orders' });
        const payment = await remit().payments.create({ amount: 1_300, currency: 'EUR' });
        await api.t.services.webhookRelay.runOnce();
        const [delivered] = receiver.received;
        const event = await remit().webhooks.verify(delivered!.body, delivered!.headers, endpoint.secret);
        expect(event.type).to.equal('payment.succeeded');
        if (event.api_version !== 'v2' || event.type !== 'payment.succeeded') throw new Error('expected a v2 payment event');
        expect(event.data.object.id).to.equal(payment.id);
        expect(event.data.object.amount).to.deep.equal({ value: 1_300, currency: 'EUR' });

        const { secret: _secret, previous_secret_expires: _expires, ...shown } = endpoint;
        expect(await remit().webhookEndpoints.retrieve(endpoint.id)).to.deep.equal(shown);
        const updated = await remit().webhookEndpoints.update(endpoint.id, { description: null, api_version: 'v1' });
        expect([updated.description, updated.api_version]).to.deep.equal([null, 'v1']);
        expect((await remit().webhookEndpoints.list()).data.map((e) => e.id)).to.include(endpoint.id);
        const deliveries = await remit().webhookEndpoints.listDeliveries(endpoint.id, { status: 'delivered' });
        expect(deliveries.data.map((d) => d.event.id)).to.deep.equal([event.id]);
        const retried = await remit().webhookEndpoints.retryDelivery(endpoint.id, deliveries.data[0]!.id);
        expect(retried.status).to.equal('pending');
        receiver.received.splice(0);
        const replay = await remit().webhookEndpoints.createReplay(endpoint.id, { since: event.created, until: event.created });
        expect(replay.status).to.equal('queued');
        await api.t.services.webhookRelay.runOnce();
        const replayed = await remit().webhookEndpoints.retrieveReplay(endpoint.id, replay.id);
        expect(replayed.status).to.equal('succeeded');
        // The account's other payments of that second are in the window too.
        expect(replayed.event_count).to.equal(receiver.received.length);
        expect(receiver.ids()).to.include(event.id);
        const rotated = await remit().webhookEndpoints.rotateSecret(endpoint.id, { overlap_seconds: 0 });
        expect([rotated.secret === endpoint.secret, rotated.previous_secret_expires]).to.deep.equal([false, null]);
        expect((await remit().webhookEndpoints.delete(endpoint.id)).deleted).to.equal(true);
      } finally {
        await receiver.close();
      }
    });

    it('sends one Idempotency-Key per logical call, which the API records on the event', async () => {
      const before = recorder.attempts.length;
      const payment = await remit().payments.create({ amount: 1_100, currency: 'EUR' }, { idempotencyKey: 'sdk-it-order-1' });
      const replay = await remit().payments.create({ amount: 1_100, currency: 'EUR' }, { idempotencyKey: 'sdk-it-order-1' }).withResponse();
      expect(replay.data).to.deep.equal(payment);
      expect(replay.response.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.requestId).to.match(/^req_/);
      expect(recorder.attempts.slice(before).map((a) => a.key)).to.deep.equal(['sdk-it-order-1', 'sdk-it-order-1']);
      const [created] = (await remit().events.list({ object_id: payment.id, type: 'payment.created' })).data;
      expect(created!.request.idempotency_key).to.equal('sdk-it-order-1');
    });
  });

  describe('auto-pagination', () => {
    // An account of its own, so the walks see only the rows made here.
    let remit: Remit;
    before(async () => {
      const account = await api.t.createAccount('pagination');
      remit = api.client({ apiKey: account.secret });
    });

    it('walks 45 customers with limit 10: every customer exactly once, newest first, over 5 pages', async () => {
      const created: Customer[] = [];
      for (let i = 0; i < 45; i++) created.push(await remit.customers.create({ email: `walker${i}@example.com` }));

      const seen: string[] = [];
      for await (const customer of remit.customers.list({ limit: 10 })) seen.push(customer.id);
      expect(seen).to.have.length(45);
      expect(new Set(seen).size).to.equal(45);
      expect(seen).to.deep.equal(created.map((c) => c.id).reverse());

      const sizes: number[] = [];
      const first = await remit.customers.list({ limit: 10 });
      expect(first).to.be.instanceOf(Page);
      for await (const page of first.iterPages()) sizes.push(page.data.length);
      expect(sizes).to.deep.equal([10, 10, 10, 10, 5]);
    });

    it('keeps the filters on every page (payments by status, created range)', async () => {
      const succeeded: string[] = [];
      for (let i = 0; i < 12; i++) {
        succeeded.push((await remit.payments.create({ amount: 1_000 + i, currency: 'EUR' })).id);
        if (i % 3 === 0) await remit.payments.create({ amount: 500 + i, currency: 'EUR', capture_method: 'manual' });
      }
      const walked: Payment[] = [];
      for await (const p of remit.payments.list({ status: 'succeeded', limit: 5, created: { gte: 0 } })) walked.push(p);
      expect(walked.map((p) => p.id)).to.deep.equal(succeeded.reverse());
      expect(walked.every((p) => p.status === 'succeeded')).to.equal(true);

      const page = await remit.payments.list({ status: 'requires_capture', limit: 2 });
      const next = await page.getNextPage();
      expect(next.data.map((p) => p.status)).to.deep.equal(['requires_capture', 'requires_capture']);
      expect(next.hasNextPage()).to.equal(false);
    });
  });
});
