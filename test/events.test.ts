/**
 * The events every state change records, through the API and in the events table:
 * - each kind of payment and refund has exactly its sequence — automatic: created, succeeded;
 *   manual: created, requires_capture, then succeeded on capture or canceled on cancel; declined:
 *   created, failed; refund: created, succeeded, with no event added to the payment — and each
 *   event carries a snapshot of its object as it was then, and the request id and Idempotency-Key
 *   that caused it (null when none was sent);
 * - a replayed request or a rejected one (409, 422, 404, 400, 403) records no event, in either
 *   account;
 * - retrieve returns an event exactly as the list shows it, a 404 for an unknown event or another
 *   account's; the list filters by type and by object, and a walk with limit=1 visits every event
 *   once in (created, seq) order, the same as one large page;
 * - over every row of the database (the outbox invariant): each payment's and refund's events are
 *   exactly those of its status history — a payment the processor never answered has
 *   payment.created only — all in its account, the last one's snapshot in its current status; no
 *   event names an object that does not exist.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { FaultPoint } from '../generated/processor/processor_pb.js';
import type { ErrorCode } from '../src/platform/errors.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import type { Event, Payment, Refund } from './helpers/contract.js';
import { expectProblem } from './helpers/problem.js';

/** A payment or a refund, as an event carries it. */
type Snapshot = Payment | Refund;

/** The events each final state implies, oldest first: one per state change, no more. */
function expectedPaymentHistory(captureMethod: string, status: string): string[] {
  const histories: Record<string, string[]> = {
    processing: ['payment.created'],
    failed: ['payment.created', 'payment.failed'],
    requires_capture: ['payment.created', 'payment.requires_capture'],
    canceled: ['payment.created', 'payment.requires_capture', 'payment.canceled'],
    succeeded:
      captureMethod === 'manual'
        ? ['payment.created', 'payment.requires_capture', 'payment.succeeded']
        : ['payment.created', 'payment.succeeded'],
  };
  const history = histories[status];
  if (!history) throw new Error(`unexpected payment status ${status}`);
  return history;
}

function expectedRefundHistory(status: string): string[] {
  const histories: Record<string, string[]> = {
    pending: ['refund.created'],
    succeeded: ['refund.created', 'refund.succeeded'],
    failed: ['refund.created', 'refund.failed'],
  };
  const history = histories[status];
  if (!history) throw new Error(`unexpected refund status ${status}`);
  return history;
}

describe('events', () => {
  let t: TestApp;
  let account: TestAccount;
  let other: TestAccount;

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount('Events account');
    other = await t.createAccount('Another account');
  });
  after(() => t.close());

  const bearer = (acct: TestAccount = account) => ({ Authorization: `Bearer ${acct.secret}` });

  interface Sent {
    readonly key: string | null;
    readonly requestId: string;
  }

  /** POSTs with a fresh key (or the one given; null sends none) and a known Request-Id. */
  function post(path: string, body: object | undefined, options: { key?: string | null; acct?: TestAccount } = {}) {
    const key = options.key === undefined ? randomUUID() : options.key;
    const requestId = `req-events-${randomUUID()}`;
    let req = request(t.app).post(path).set(bearer(options.acct)).set('Request-Id', requestId);
    if (key !== null) req = req.set('Idempotency-Key', key);
    const pending = body === undefined ? req : req.send(body);
    return { pending, sent: { key, requestId } satisfies Sent };
  }

  async function ok(path: string, body: object | undefined, status: number, options: { key?: string | null; acct?: TestAccount } = {}) {
    const { pending, sent } = post(path, body, options);
    const res = await pending;
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    return { body: res.body as Snapshot, sent };
  }

  const createPayment = (body: object, options: { key?: string | null; acct?: TestAccount } = {}) =>
    ok('/v1/payments', { amount: 1000, currency: 'EUR', ...body }, 201, options);

  /** The object's events as the API lists them: newest first. */
  async function eventsOf(objectId: string, acct: TestAccount = account): Promise<Event[]> {
    const res = await request(t.app).get('/v1/events').query({ object_id: objectId, limit: 100 }).set(bearer(acct));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.has_more).to.equal(false);
    return res.body.data;
  }

  const typesOf = (events: Event[]) => events.map((e) => e.type);

  async function accountEventCount(acct: TestAccount = account): Promise<number> {
    const row = await t.db('events').where({ account_id: acct.id }).count({ n: '*' }).first();
    return Number(row?.n);
  }

  describe('the events of one payment or refund', () => {
    it('records an automatic payment as payment.created then payment.succeeded', async () => {
      const { body: payment, sent } = await createPayment({ amount: 1234 });
      const events = await eventsOf(payment.id);
      // Newest first.
      expect(typesOf(events)).to.deep.equal(['payment.succeeded', 'payment.created']);
      const [succeeded, created] = events as [Event, Event];
      expect(created.data.object).to.include({ id: payment.id, object: 'payment', status: 'processing', amount: 1234, amount_captured: 0 });
      expect(succeeded.data.object).to.deep.equal(payment);
      for (const e of events) {
        expect(e.id).to.match(/^evt_[A-Za-z0-9]{22}$/);
        expect(e.object).to.equal('event');
        expect(e.request).to.deep.equal({ id: sent.requestId, idempotency_key: sent.key });
        expect(e.created).to.be.within(payment.created as number, (payment.created as number) + 60);
      }
    });

    it('records a manual payment and its capture as created, requires_capture, succeeded', async () => {
      const { body: payment, sent: createSent } = await createPayment({ capture_method: 'manual', amount: 2000 });
      const { body: captured, sent: captureSent } = await ok(`/v1/payments/${payment.id}/capture`, undefined, 200);
      const events = await eventsOf(payment.id);
      expect(typesOf(events)).to.deep.equal(['payment.succeeded', 'payment.requires_capture', 'payment.created']);
      const [succeeded, authorized, created] = events as [Event, Event, Event];
      expect(created.data.object.status).to.equal('processing');
      expect(authorized.data.object).to.deep.equal(payment);
      expect(authorized.data.object).to.include({ status: 'requires_capture', amount_captured: 0 });
      expect(succeeded.data.object).to.deep.equal(captured);
      expect(succeeded.data.object).to.include({ status: 'succeeded', amount_captured: 2000 });
      expect(created.request).to.deep.equal({ id: createSent.requestId, idempotency_key: createSent.key });
      expect(authorized.request).to.deep.equal({ id: createSent.requestId, idempotency_key: createSent.key });
      expect(succeeded.request).to.deep.equal({ id: captureSent.requestId, idempotency_key: captureSent.key });
    });

    it('records a cancel as payment.canceled after created and requires_capture', async () => {
      const { body: payment } = await createPayment({ capture_method: 'manual' });
      const { body: canceled, sent } = await ok(`/v1/payments/${payment.id}/cancel`, undefined, 200);
      const events = await eventsOf(payment.id);
      expect(typesOf(events)).to.deep.equal(['payment.canceled', 'payment.requires_capture', 'payment.created']);
      expect(events[0]!.data.object).to.deep.equal(canceled);
      expect(events[0]!.data.object.status).to.equal('canceled');
      expect(events[0]!.request).to.deep.equal({ id: sent.requestId, idempotency_key: sent.key });
    });

    it('records a cancel sent without Idempotency-Key with a null key and the request id', async () => {
      const { body: payment } = await createPayment({ capture_method: 'manual' });
      const { sent } = await ok(`/v1/payments/${payment.id}/cancel`, undefined, 200, { key: null });
      const events = await eventsOf(payment.id);
      expect(typesOf(events)).to.deep.equal(['payment.canceled', 'payment.requires_capture', 'payment.created']);
      expect(events[0]!.request).to.deep.equal({ id: sent.requestId, idempotency_key: null });
    });

    it('records a declined payment as payment.created then payment.failed', async () => {
      const { body: payment, sent } = await createPayment({ amount: 1402 });
      const events = await eventsOf(payment.id);
      expect(typesOf(events)).to.deep.equal(['payment.failed', 'payment.created']);
      expect(events[0]!.data.object).to.deep.equal(payment);
      expect(events[0]!.data.object).to.include({ status: 'failed', failure_code: 'card_declined' });
      expect(events[1]!.data.object).to.include({ status: 'processing', failure_code: null });
      for (const e of events) expect(e.request.idempotency_key).to.equal(sent.key);
    });

    it('records a refund as refund.created then refund.succeeded, and adds no event to the payment', async () => {
      const { body: payment } = await createPayment({ amount: 900 });
      const paymentEvents = await eventsOf(payment.id);
      const { body: refund, sent } = await ok('/v1/refunds', { payment: payment.id, amount: 400 }, 201);
      const events = await eventsOf(refund.id);
      expect(typesOf(events)).to.deep.equal(['refund.succeeded', 'refund.created']);
      const [succeeded, created] = events as [Event, Event];
      expect(created.data.object).to.include({ id: refund.id, object: 'refund', status: 'pending', amount: 400, payment: payment.id });
      expect(succeeded.data.object).to.deep.equal(refund);
      expect(succeeded.data.object.status).to.equal('succeeded');
      for (const e of events) expect(e.request).to.deep.equal({ id: sent.requestId, idempotency_key: sent.key });
      expect(await eventsOf(payment.id)).to.deep.equal(paymentEvents);
    });
  });

  describe('no event without a state change', () => {
    it('records nothing for replayed requests', async () => {
      const createKey = randomUUID();
      const { body: payment } = await createPayment({ capture_method: 'manual' }, { key: createKey });
      const captureKey = randomUUID();
      await ok(`/v1/payments/${payment.id}/capture`, undefined, 200, { key: captureKey });
      const refundKey = randomUUID();
      const { body: refund } = await ok('/v1/refunds', { payment: payment.id, amount: 100 }, 201, { key: refundKey });
      const before = await accountEventCount();

      const replays = [
        post('/v1/payments', { amount: 1000, currency: 'EUR', capture_method: 'manual' }, { key: createKey }).pending,
        post(`/v1/payments/${payment.id}/capture`, undefined, { key: captureKey }).pending,
        post('/v1/refunds', { payment: payment.id, amount: 100 }, { key: refundKey }).pending,
      ];
      for (const pending of replays) {
        const res = await pending;
        expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
        expect(res.headers['idempotent-replayed']).to.equal('true');
      }
      expect(await accountEventCount()).to.equal(before);
      expect(typesOf(await eventsOf(payment.id))).to.deep.equal(['payment.succeeded', 'payment.requires_capture', 'payment.created']);
      expect(typesOf(await eventsOf(refund.id))).to.deep.equal(['refund.succeeded', 'refund.created']);
    });

    it('records nothing for rejected requests', async () => {
      const { body: succeeded } = await createPayment({});
      const { body: manual } = await createPayment({ capture_method: 'manual' });
      const { body: theirs } = await createPayment({ capture_method: 'manual' }, { acct: other });
      const readOnly = await t.createKey(account, ['read']);
      const before = await accountEventCount();
      const theirsBefore = await accountEventCount(other);

      const rejected: [number, ErrorCode, PromiseLike<request.Response>][] = [
        [409, 'payment_not_capturable', post(`/v1/payments/${succeeded.id}/capture`, undefined).pending],
        [409, 'payment_not_cancelable', post(`/v1/payments/${succeeded.id}/cancel`, undefined).pending],
        [422, 'amount_exceeds_refundable', post('/v1/refunds', { payment: succeeded.id, amount: 1001 }).pending],
        [409, 'payment_not_refundable', post('/v1/refunds', { payment: manual.id }).pending],
        [422, 'referenced_resource_not_found', post('/v1/refunds', { payment: theirs.id }).pending],
        [422, 'referenced_resource_not_found', post('/v1/payments', { amount: 1000, currency: 'EUR', customer: 'cus_doesnotexist' }).pending],
        [404, 'resource_not_found', post(`/v1/payments/${theirs.id}/capture`, undefined).pending],
        [404, 'resource_not_found', post(`/v1/payments/${theirs.id}/cancel`, undefined).pending],
        [400, 'validation_failed', post('/v1/payments', { amount: 0, currency: 'EUR' }).pending],
        [400, 'idempotency_key_required', post('/v1/payments', { amount: 1000, currency: 'EUR' }, { key: null }).pending],
        [
          403,
          'insufficient_scope',
          request(t.app).post('/v1/payments').set('Authorization', `Bearer ${readOnly.secret}`).set('Idempotency-Key', randomUUID()).send({ amount: 1000, currency: 'EUR' }),
        ],
      ];
      for (const [status, code, pending] of rejected) expectProblem(await pending, status, code);
      expect(await accountEventCount()).to.equal(before);
      expect(await accountEventCount(other)).to.equal(theirsBefore);
      expect(typesOf(await eventsOf(succeeded.id))).to.deep.equal(['payment.succeeded', 'payment.created']);
      expect(typesOf(await eventsOf(manual.id))).to.deep.equal(['payment.requires_capture', 'payment.created']);
      expect(typesOf(await eventsOf(theirs.id, other))).to.deep.equal(['payment.requires_capture', 'payment.created']);
    });
  });

  describe('GET /v1/events/{id}', () => {
    it('retrieves an event exactly as the list shows it', async () => {
      const { body: payment } = await createPayment({ capture_method: 'manual' });
      const events = await eventsOf(payment.id);
      for (const e of events) {
        const res = await request(t.app).get(`/v1/events/${e.id}`).set(bearer());
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal(e);
      }
    });

    it('is 404 resource_not_found for an unknown event', async () => {
      expectProblem(await request(t.app).get('/v1/events/evt_doesnotexist').set(bearer()), 404, 'resource_not_found');
    });

    it("is 404 for another account's event, which it does not list either", async () => {
      const { body: payment } = await createPayment({});
      const [event] = await eventsOf(payment.id);
      expectProblem(await request(t.app).get(`/v1/events/${event!.id}`).set(bearer(other)), 404, 'resource_not_found');
      expect(await eventsOf(payment.id, other)).to.deep.equal([]);
      const all = await request(t.app).get('/v1/events').query({ limit: 100 }).set(bearer(other));
      expect(all.status).to.equal(200);
      expect(all.body.data.map((e: Event) => e.id)).not.to.include(event!.id);
    });
  });

  describe('GET /v1/events', () => {
    let own: TestAccount;
    const objects: string[] = [];

    before(async () => {
      // An account of its own, so its full event stream is known.
      own = await t.createAccount('Event stream account');
      const auto = await createPayment({ amount: 500 }, { acct: own });
      const manual = await createPayment({ capture_method: 'manual', amount: 700 }, { acct: own });
      await ok(`/v1/payments/${manual.body.id}/capture`, undefined, 200, { acct: own });
      const declined = await createPayment({ amount: 2402 }, { acct: own });
      const refund = await ok('/v1/refunds', { payment: auto.body.id, amount: 200 }, 201, { acct: own });
      objects.push(auto.body.id, manual.body.id, declined.body.id, refund.body.id);
    });

    it('filters by type', async () => {
      const failed = await request(t.app).get('/v1/events').query({ type: 'payment.failed' }).set(bearer(own));
      expect(failed.status).to.equal(200);
      expect(failed.body.data.map((e: Event) => [e.type, e.data.object.id])).to.deep.equal([['payment.failed', objects[2]]]);
      const created = await request(t.app).get('/v1/events').query({ type: 'payment.created' }).set(bearer(own));
      expect(typesOf(created.body.data)).to.deep.equal(['payment.created', 'payment.created', 'payment.created']);
      expect(created.body.data.map((e: Event) => e.data.object.id)).to.have.members(objects.slice(0, 3));
      const refunds = await request(t.app).get('/v1/events').query({ type: 'refund.succeeded' }).set(bearer(own));
      expect(refunds.body.data.map((e: Event) => e.data.object.id)).to.deep.equal([objects[3]]);
      const none = await request(t.app).get('/v1/events').query({ type: 'payment.canceled' }).set(bearer(own));
      expect(none.body.data).to.deep.equal([]);
    });

    it('combines the type and object filters', async () => {
      const res = await request(t.app).get('/v1/events').query({ type: 'payment.requires_capture', object_id: objects[1]! }).set(bearer(own));
      expect(typesOf(res.body.data)).to.deep.equal(['payment.requires_capture']);
      expect(res.body.data[0].data.object.id).to.equal(objects[1]);
    });

    it('visits every event exactly once, newest first by (created, seq), paging with limit=1', async () => {
      const seen: Event[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await request(t.app)
          .get('/v1/events')
          .query({ limit: 1, ...(cursor ? { cursor } : {}) })
          .set(bearer(own));
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.body.data).to.have.length(1);
        seen.push(...res.body.data);
        cursor = res.body.next_cursor ?? undefined;
        expect(res.body.has_more).to.equal(cursor !== undefined);
        pages++;
      } while (cursor && pages < 50);
      // 2 (automatic) + 3 (manual, captured) + 2 (declined) + 2 (refund).
      expect(seen).to.have.length(9);
      expect(new Set(seen.map((e) => e.id)).size).to.equal(9);
      const rows: { id: string }[] = await t.db('events')
        .select('id')
        .where({ account_id: own.id })
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'seq', order: 'desc' }]);
      expect(seen.map((e) => e.id)).to.deep.equal(rows.map((r) => r.id));
      // Read oldest first, each object's events come in the order its state changed.
      const chronological = [...seen].reverse();
      const automatic = chronological.filter((e) => e.data.object.id === objects[0]).map((e) => e.type);
      expect(automatic).to.deep.equal(['payment.created', 'payment.succeeded']);
      const manual = chronological.filter((e) => e.data.object.id === objects[1]).map((e) => e.type);
      expect(manual).to.deep.equal(['payment.created', 'payment.requires_capture', 'payment.succeeded']);
      // The whole list is the same as one big page.
      const whole = await request(t.app).get('/v1/events').query({ limit: 100 }).set(bearer(own));
      expect(whole.body.data).to.deep.equal(seen);
    });
  });

  describe('the outbox', () => {
    it('holds, for every payment and refund, exactly the events of its status history', async () => {
      // A payment the processor never answered: recorded, with its created event and no other.
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      try {
        const { pending } = post('/v1/payments', { amount: 1000, currency: 'EUR' }, {});
        expectProblem(await pending, 503, 'processor_unavailable');
      } finally {
        t.simulator.setFaults({ errorRate: 0 });
      }

      const payments: { id: string; account_id: string; status: string; capture_method: string }[] = await t.db('payments').select('id', 'account_id', 'status', 'capture_method');
      const refunds: { id: string; account_id: string; status: string }[] = await t.db('refunds').select('id', 'account_id', 'status');
      const events: { id: string; account_id: string; object_id: string; type: string; data: Snapshot }[] = await t.db('events')
        .select('id', 'account_id', 'object_id', 'type', 'data')
        .orderBy('seq');
      expect(payments.map((p) => p.status)).to.include.members(['processing', 'succeeded', 'failed', 'requires_capture', 'canceled']);
      expect(refunds.length).to.be.at.least(3);

      const byObject = new Map<string, typeof events>();
      for (const e of events) byObject.set(e.object_id, [...(byObject.get(e.object_id) ?? []), e]);
      for (const p of payments) {
        const own = byObject.get(p.id) ?? [];
        expect(own.map((e) => e.type), `${p.capture_method} payment ${p.id} (${p.status})`).to.deep.equal(expectedPaymentHistory(p.capture_method, p.status));
        expect(own.every((e) => e.account_id === p.account_id)).to.equal(true);
        expect(own.at(-1)!.data.status).to.equal(p.status);
        byObject.delete(p.id);
      }
      for (const r of refunds) {
        const own = byObject.get(r.id) ?? [];
        expect(own.map((e) => e.type), `refund ${r.id} (${r.status})`).to.deep.equal(expectedRefundHistory(r.status));
        expect(own.every((e) => e.account_id === r.account_id)).to.equal(true);
        expect(own.at(-1)!.data.status).to.equal(r.status);
        byObject.delete(r.id);
      }
      // No event about an object that does not exist.
      expect([...byObject.keys()]).to.deep.equal([]);
    });
  });
});
