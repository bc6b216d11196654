/**
 * Webhook delivery from the outbox, end to end: a real app, real receivers on 127.0.0.1, the
 * relay's rounds run by hand on an injected clock so the retry schedule can be walked without
 * waiting for it.
 * - Deliveries verify with the independent `standardwebhooks` package; `webhook-id` is the event
 *   id; payloads validate against the spec's `webhooks` schemas in the endpoint's `api_version`,
 *   with the object's own sequence number.
 * - Only subscribed types, only the account's own events, nothing written before the endpoint.
 * - The schedule: 500, a timeout, 429 + Retry-After, 200 → attempts exactly when scheduled; a
 *   schedule that runs out ends `failed`; 3xx is a failure and is not followed; 410 disables.
 * - An endpoint failing every attempt is degraded, then disabled, and the metrics say so.
 * - Rotation: both signatures during the overlap, only the new one after.
 * - Retry now and replay of a range keep the event ids; a replay resends exactly its range.
 * - A name that resolved to a public address at creation and to loopback at delivery (DNS
 *   rebinding) is refused at connect time.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createTestApp, type TestAccount, type TestApp, type TestAppOptions } from '../helpers/app.js';
import { metricValue } from '../helpers/metrics.js';
import { specValidator } from '../helpers/spec-schema.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { RETRY_SCHEDULE_MS } from '../../src/webhooks/schedule.js';

interface Endpoint {
  id: string;
  secret: string;
  status: string;
  disabled_reason: string | null;
  degraded: boolean;
}

/** A clock the test moves by hand; it starts at the real time so signatures stay within tolerance. */
function manualClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) };
}

async function setUp(options: TestAppOptions & { clock?: ReturnType<typeof manualClock> } = {}) {
  const clock = options.clock ?? manualClock();
  const t = await createTestApp({ now: clock.now, ...options, webhooks: { random: () => 0.5, timeoutMs: 300, ...options.webhooks } });
  const account = await t.createAccount('Webhooks account');
  return { t, account, clock };
}

function bearer(account: TestAccount) {
  return { Authorization: `Bearer ${account.secret}` };
}

async function createEndpoint(t: TestApp, account: TestAccount, body: Record<string, unknown>): Promise<Endpoint> {
  const res = await request(t.app).post('/v1/webhook_endpoints').set(bearer(account)).send({ enabled_events: ['*'], ...body });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

async function createPayment(t: TestApp, account: TestAccount, body: Record<string, unknown> = {}): Promise<{ id: string }> {
  const res = await request(t.app)
    .post('/v1/payments')
    .set(bearer(account))
    .set('Idempotency-Key', randomUUID())
    .send({ amount: 2500, currency: 'EUR', ...body });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

async function eventsOf(t: TestApp, account: TestAccount, objectId: string): Promise<{ id: string; type: string }[]> {
  const res = await request(t.app).get('/v1/events').query({ object_id: objectId, limit: 100 }).set(bearer(account));
  expect(res.status).to.equal(200);
  return [...res.body.data].reverse();
}

async function deliveries(t: TestApp, account: TestAccount, endpointId: string) {
  const res = await request(t.app).get(`/v1/webhook_endpoints/${endpointId}/deliveries`).query({ limit: 100 }).set(bearer(account));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data as {
    id: string;
    event: { id: string; type: string };
    status: string;
    attempt_count: number;
    next_attempt: number | null;
    attempts: { response_status: number | null; error: string | null; response_body: string | null }[];
  }[];
}

async function endpointOf(t: TestApp, account: TestAccount, id: string): Promise<Endpoint> {
  const res = await request(t.app).get(`/v1/webhook_endpoints/${id}`).set(bearer(account));
  expect(res.status).to.equal(200);
  return res.body;
}

describe('webhook delivery', () => {
  describe('signed deliveries of the outbox', () => {
    let t: TestApp;
    let account: TestAccount;
    let receiver: WebhookReceiver;
    before(async () => {
      ({ t, account } = await setUp());
      receiver = await startReceiver();
    });
    after(async () => {
      await t.close();
      await receiver.close();
    });
    beforeEach(() => receiver.received.splice(0));

    it('delivers every event of a payment, verifiable with the standardwebhooks package, webhook-id the event id, in the v1 payload the spec documents', async () => {
      const endpoint = await createEndpoint(t, account, { url: `${receiver.url}/v1`, api_version: 'v1' });
      const payment = await createPayment(t, account);
      const events = await eventsOf(t, account, payment.id);
      expect(events.map((e) => e.type)).to.deep.equal(['payment.created', 'payment.succeeded']);
      // /v1/events shows the same per-object sequence the payloads carry.
      expect(events.map((e) => (e as unknown as { data: { sequence: number } }).data.sequence)).to.deep.equal([1, 2]);

      await t.services.webhookRelay.runOnce();

      expect(receiver.ids()).to.have.members(events.map((e) => e.id));
      expect(receiver.received).to.have.length(events.length);
      const verifier = new Webhook(endpoint.secret);
      const validate = specValidator('PaymentWebhookV1');
      for (const delivery of receiver.received) {
        const verified = verifier.verify(delivery.body, delivery.headers as Record<string, string>) as { id: string };
        expect(verified.id).to.equal(delivery.headers['webhook-id']);
        const payload = JSON.parse(delivery.body);
        expect(validate(payload), JSON.stringify(validate.errors)).to.equal(true);
        expect(payload.data.object.id).to.equal(payment.id);
      }
      const bySequence = receiver.received.map((d) => JSON.parse(d.body)).sort((a, b) => a.data.sequence - b.data.sequence);
      expect(bySequence.map((p) => [p.type, p.data.sequence])).to.deep.equal([
        ['payment.created', 1],
        ['payment.succeeded', 2],
      ]);
      const listed = await deliveries(t, account, endpoint.id);
      expect(listed.map((d) => d.status)).to.deep.equal(['delivered', 'delivered']);
      expect(listed.every((d) => d.attempt_count === 1 && d.next_attempt === null && d.attempts[0]!.response_status === 200)).to.equal(true);
    });

    it('sends an endpoint on api_version v2 the payment as /v2 shows it, with the same ids and sequence', async () => {
      const endpoint = await createEndpoint(t, account, { url: `${receiver.url}/v2`, api_version: 'v2', enabled_events: ['payment.succeeded'] });
      const payment = await createPayment(t, account, { amount: 4100 });
      await t.services.webhookRelay.runOnce();

      const mine = receiver.received.filter((d) => d.headers['user-agent'] !== undefined && JSON.parse(d.body).data.object.id === payment.id && JSON.parse(d.body).api_version === 'v2');
      expect(mine).to.have.length(1);
      const payload = JSON.parse(mine[0]!.body);
      const validate = specValidator('PaymentWebhookV2');
      expect(validate(payload), JSON.stringify(validate.errors)).to.equal(true);
      expect(payload.type).to.equal('payment.succeeded');
      expect(payload.data.object.amount).to.deep.equal({ value: 4100, currency: 'EUR' });
      expect(payload.data.object.status).to.equal('succeeded');
      expect(payload.data.sequence).to.equal(2);
      new Webhook(endpoint.secret).verify(mine[0]!.body, mine[0]!.headers as Record<string, string>);
      await request(t.app).delete(`/v1/webhook_endpoints/${endpoint.id}`).set(bearer(account)).expect(200);
    });

    it('sends only the types an endpoint subscribes to, only its own account\'s events, and nothing written before it existed', async () => {
      const before = await createPayment(t, account);
      const other = await t.createAccount('Another account');
      const refundsOnly = await startReceiver();
      try {
        await createEndpoint(t, account, { url: refundsOnly.url, enabled_events: ['refund.succeeded', 'refund.failed'] });
        const payment = await createPayment(t, account);
        await createPayment(t, other);
        const refund = await request(t.app).post('/v1/refunds').set(bearer(account)).set('Idempotency-Key', randomUUID()).send({ payment: payment.id, amount: 100 });
        expect(refund.status, JSON.stringify(refund.body)).to.equal(201);
        await t.services.webhookRelay.runOnce();

        const refundEvents = await eventsOf(t, account, refund.body.id);
        expect(refundsOnly.ids()).to.deep.equal(refundEvents.filter((e) => e.type === 'refund.succeeded').map((e) => e.id));
        const types = refundsOnly.received.map((d) => JSON.parse(d.body).type);
        expect(types).to.deep.equal(['refund.succeeded']);
        const beforeIds = (await eventsOf(t, account, before.id)).map((e) => e.id);
        expect(refundsOnly.ids()).to.not.include.members(beforeIds);
      } finally {
        await refundsOnly.close();
      }
    });
  });

  describe('the retry schedule, on an injected clock', () => {
    it('retries a 500, a timeout and a 429 with Retry-After at the scheduled times, and stops at the 200', async () => {
      const { t, account, clock } = await setUp();
      const receiver = await startReceiver({ now: clock.now });
      try {
        const replies = [{ status: 500 }, { hang: true }, { status: 429, headers: { 'Retry-After': '120' } }, { status: 200 }];
        receiver.respond = (_d, i) => replies[i] ?? { status: 200 };
        const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.succeeded'] });
        await createPayment(t, account);
        const start = clock.now();
        const relay = t.services.webhookRelay;

        await relay.runOnce(); // attempt 1, immediately: 500
        clock.advance(RETRY_SCHEDULE_MS[1]! - 1);
        await relay.runOnce(); // not yet due
        expect(receiver.received).to.have.length(1);
        clock.advance(1);
        await relay.runOnce(); // attempt 2 at +5 s: times out
        expect(receiver.received).to.have.length(2);
        const afterTimeout = clock.now();
        clock.advance(RETRY_SCHEDULE_MS[2]!);
        await relay.runOnce(); // attempt 3 at +5 min: 429, Retry-After 120 s
        const after429 = clock.now();
        clock.advance(119_999);
        await relay.runOnce();
        expect(receiver.received).to.have.length(3);
        clock.advance(1);
        await relay.runOnce(); // attempt 4, 120 s later (not the schedule's 30 min): 200
        clock.advance(RETRY_SCHEDULE_MS[4]!);
        await relay.runOnce(); // nothing more: it was delivered

        expect(receiver.received.map((d) => d.at - start)).to.deep.equal([0, RETRY_SCHEDULE_MS[1], afterTimeout - start + RETRY_SCHEDULE_MS[2]!, after429 - start + 120_000]);
        expect(new Set(receiver.ids()).size).to.equal(1);
        const [delivery] = await deliveries(t, account, endpoint.id);
        expect(delivery!.status).to.equal('delivered');
        expect(delivery!.attempt_count).to.equal(4);
        expect(delivery!.attempts.map((a) => [a.response_status, a.error])).to.deep.equal([
          [500, null],
          [null, 'timeout'],
          [429, null],
          [200, null],
        ]);
        expect((await endpointOf(t, account, endpoint.id)).status).to.equal('enabled');
      } finally {
        await t.close();
        await receiver.close();
      }
    });

    it('ends the delivery failed when every attempt of the schedule fails, one attempt per step', async () => {
      const { t, account, clock } = await setUp();
      const receiver = await startReceiver({ now: clock.now });
      try {
        receiver.respond = () => ({ status: 503, body: 'maintenance' });
        const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.succeeded'] });
        await createPayment(t, account);
        await t.services.webhookRelay.runOnce();
        for (const delay of RETRY_SCHEDULE_MS.slice(1)) {
          clock.advance(delay);
          await t.services.webhookRelay.runOnce();
        }
        clock.advance(RETRY_SCHEDULE_MS.at(-1)! * 2);
        await t.services.webhookRelay.runOnce();

        expect(receiver.received).to.have.length(RETRY_SCHEDULE_MS.length);
        const [delivery] = await deliveries(t, account, endpoint.id);
        expect(delivery!.status).to.equal('failed');
        expect(delivery!.next_attempt).to.equal(null);
        expect(delivery!.attempts[0]!.response_body).to.equal('maintenance');
        expect(await metricValue(t.metrics, 'remit_webhook_deliveries_total', { outcome: 'failed' })).to.equal(1);
      } finally {
        await t.close();
        await receiver.close();
      }
    });

    it('counts a redirect as a failure and never follows it', async () => {
      const { t, account } = await setUp();
      const target = await startReceiver();
      const receiver = await startReceiver();
      try {
        receiver.respond = () => ({ status: 307, headers: { Location: `${target.url}/elsewhere` } });
        const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.succeeded'] });
        await createPayment(t, account);
        await t.services.webhookRelay.runOnce();

        expect(receiver.received).to.have.length(1);
        expect(target.received).to.have.length(0);
        const [delivery] = await deliveries(t, account, endpoint.id);
        expect(delivery!.status).to.equal('pending');
        expect(delivery!.attempts[0]!.response_status).to.equal(307);
        expect(delivery!.next_attempt).to.be.a('number');
      } finally {
        await t.close();
        await receiver.close();
        await target.close();
      }
    });

    it('disables the endpoint at once on a 410 and sends it nothing more', async () => {
      const { t, account } = await setUp();
      const receiver = await startReceiver();
      try {
        receiver.respond = () => ({ status: 410 });
        const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.succeeded'] });
        await createPayment(t, account);
        await t.services.webhookRelay.runOnce();
        await createPayment(t, account);
        await t.services.webhookRelay.runOnce();

        expect(receiver.received).to.have.length(1);
        const shown = await endpointOf(t, account, endpoint.id);
        expect([shown.status, shown.disabled_reason]).to.deep.equal(['disabled', 'gone']);
        const listed = await deliveries(t, account, endpoint.id);
        expect(listed.map((d) => d.status)).to.deep.equal(['failed']);
        const retry = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/deliveries/${listed[0]!.id}/retry`).set(bearer(account));
        expect(retry.status).to.equal(409);
        expect(retry.body.code).to.equal('webhook_endpoint_disabled');
      } finally {
        await t.close();
        await receiver.close();
      }
    });

    it('marks an endpoint that keeps failing degraded, then disables it, and the metrics count both', async () => {
      const { t, account, clock } = await setUp({ webhooks: { degradedAfterMs: 60_000, disableAfterMs: 600_000 } });
      const receiver = await startReceiver();
      try {
        receiver.respond = () => ({ status: 500 });
        const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.succeeded'] });
        await createPayment(t, account);
        await t.services.webhookRelay.runOnce();
        expect((await endpointOf(t, account, endpoint.id)).degraded).to.equal(false);

        clock.advance(RETRY_SCHEDULE_MS[1]!);
        await t.services.webhookRelay.runOnce();
        clock.advance(60_000);
        const degraded = await endpointOf(t, account, endpoint.id);
        expect([degraded.status, degraded.degraded]).to.deep.equal(['enabled', true]);
        await t.services.webhookRelay.refreshGauges();
        expect(await metricValue(t.metrics, 'remit_webhook_endpoints', { state: 'degraded' })).to.equal(1);

        clock.advance(RETRY_SCHEDULE_MS[2]! + 600_000);
        await t.services.webhookRelay.runOnce();
        const disabled = await endpointOf(t, account, endpoint.id);
        expect([disabled.status, disabled.disabled_reason, disabled.degraded]).to.deep.equal(['disabled', 'failing', false]);
        await t.services.webhookRelay.refreshGauges();
        expect(await metricValue(t.metrics, 'remit_webhook_endpoints', { state: 'disabled' })).to.equal(1);
        expect(await metricValue(t.metrics, 'remit_webhook_endpoints', { state: 'degraded' })).to.equal(0);
        expect(await metricValue(t.metrics, 'remit_webhook_attempts_total', { result: 'http_error' })).to.equal(3);

        // Enabled again, it starts afresh and the pending delivery resumes.
        receiver.respond = () => ({ status: 204 });
        const enabled = await request(t.app).patch(`/v1/webhook_endpoints/${endpoint.id}`).set(bearer(account)).send({ status: 'enabled' });
        expect([enabled.body.status, enabled.body.disabled_reason, enabled.body.failing_since]).to.deep.equal(['enabled', null, null]);
        clock.advance(RETRY_SCHEDULE_MS[3]!);
        await t.services.webhookRelay.runOnce();
        expect((await deliveries(t, account, endpoint.id))[0]!.status).to.equal('delivered');
      } finally {
        await t.close();
        await receiver.close();
      }
    });
  });

  describe('rotation, retry and replay', () => {
    let t: TestApp;
    let account: TestAccount;
    let clock: ReturnType<typeof manualClock>;
    let receiver: WebhookReceiver;
    before(async () => {
      ({ t, account, clock } = await setUp());
      receiver = await startReceiver();
    });
    after(async () => {
      await t.close();
      await receiver.close();
    });
    beforeEach(() => receiver.received.splice(0));

    it('signs with both secrets during the overlap and only with the new one after it', async () => {
      const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.created'] });
      const rotated = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/rotate_secret`).set(bearer(account)).send({ overlap_seconds: 60 });
      expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200);
      expect(rotated.headers['cache-control']).to.equal('no-store');
      const newSecret: string = rotated.body.secret;
      expect(newSecret).to.not.equal(endpoint.secret);
      expect(rotated.body.previous_secret_expires).to.equal(Math.floor(clock.now() / 1000) + 60);

      await createPayment(t, account);
      await t.services.webhookRelay.runOnce();
      const during = receiver.received[0]!;
      expect(String(during.headers['webhook-signature']).split(' ')).to.have.length(2);
      new Webhook(endpoint.secret).verify(during.body, during.headers as Record<string, string>);
      new Webhook(newSecret).verify(during.body, during.headers as Record<string, string>);

      clock.advance(61_000);
      await createPayment(t, account);
      await t.services.webhookRelay.runOnce();
      const after = receiver.received[1]!;
      expect(String(after.headers['webhook-signature']).split(' ')).to.have.length(1);
      new Webhook(newSecret).verify(after.body, after.headers as Record<string, string>);
      expect(() => new Webhook(endpoint.secret).verify(after.body, after.headers as Record<string, string>)).to.throw();
      await request(t.app).delete(`/v1/webhook_endpoints/${endpoint.id}`).set(bearer(account)).expect(200);
    });

    it('retries a delivered delivery on request, with the same webhook-id', async () => {
      const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.succeeded'] });
      await createPayment(t, account);
      await t.services.webhookRelay.runOnce();
      const [delivery] = await deliveries(t, account, endpoint.id);
      expect(delivery!.status).to.equal('delivered');

      const key = randomUUID();
      const retried = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/deliveries/${delivery!.id}/retry`).set(bearer(account)).set('Idempotency-Key', key);
      expect(retried.status, JSON.stringify(retried.body)).to.equal(202);
      expect([retried.body.status, retried.body.next_attempt]).to.deep.equal(['pending', Math.floor(clock.now() / 1000)]);
      const again = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/deliveries/${delivery!.id}/retry`).set(bearer(account)).set('Idempotency-Key', key);
      expect(again.headers['idempotent-replayed']).to.equal('true');
      await t.services.webhookRelay.runOnce();

      expect(receiver.ids()).to.deep.equal([delivery!.event.id, delivery!.event.id]);
      const [after] = await deliveries(t, account, endpoint.id);
      expect([after!.status, after!.attempt_count]).to.deep.equal(['delivered', 2]);
      await request(t.app).delete(`/v1/webhook_endpoints/${endpoint.id}`).set(bearer(account)).expect(200);
    });

    it('replays exactly the events of a range, with their original ids, whether or not they were delivered', async () => {
      const endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.created'] });
      const payments = [await createPayment(t, account), await createPayment(t, account), await createPayment(t, account)];
      await t.services.webhookRelay.runOnce();
      expect(receiver.received).to.have.length(3);
      receiver.received.splice(0);
      // Spread the events over time so a window can hold the middle one only.
      const base = Math.floor(Date.now() / 1000) - 1_000;
      for (const [i, p] of payments.entries()) {
        await t.db('events').where({ object_id: p.id }).update({ created_at: new Date((base + i * 100) * 1000) });
      }
      const middle = (await eventsOf(t, account, payments[1]!.id)).filter((e) => e.type === 'payment.created');

      const replay = await request(t.app)
        .post(`/v1/webhook_endpoints/${endpoint.id}/replays`)
        .set(bearer(account))
        .send({ since: base + 50, until: base + 100 });
      expect(replay.status, JSON.stringify(replay.body)).to.equal(202);
      expect([replay.body.status, replay.body.event_count]).to.deep.equal(['queued', null]);
      await t.services.webhookRelay.runOnce();

      expect(receiver.ids()).to.deep.equal(middle.map((e) => e.id));
      const done = await request(t.app).get(`/v1/webhook_endpoints/${endpoint.id}/replays/${replay.body.id}`).set(bearer(account));
      expect([done.body.status, done.body.event_count]).to.deep.equal(['succeeded', 1]);
      expect(done.body.completed).to.be.a('number');

      const backwards = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(bearer(account)).send({ since: base + 100, until: base });
      expect(backwards.status).to.equal(422);
      expect(backwards.body.code).to.equal('replay_window_invalid');
    });
  });

  describe('targets resolved again at delivery', () => {
    it('refuses to connect when the name resolves to a private address at delivery, though it was public at creation (DNS rebinding)', async () => {
      const receiver = await startReceiver();
      const { t, account } = await setUp({ webhooks: { allowPrivateTargets: false, lookup: async () => ['93.184.216.34'] } });
      try {
        const port = new URL(receiver.url).port;
        const endpoint = await createEndpoint(t, account, { url: `https://localhost:${port}/hooks`, enabled_events: ['payment.succeeded'] });
        await createPayment(t, account);
        await t.services.webhookRelay.runOnce();

        expect(receiver.received).to.have.length(0);
        const [delivery] = await deliveries(t, account, endpoint.id);
        expect(delivery!.attempts.map((a) => a.error)).to.deep.equal(['address_not_allowed']);
        expect(await metricValue(t.metrics, 'remit_webhook_attempts_total', { result: 'address_not_allowed' })).to.equal(1);
      } finally {
        await t.close();
        await receiver.close();
      }
    });
  });
});
