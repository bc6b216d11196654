/**
 * The payment state machine through the API. Every transition is checked where it happens: in the
 * answer, in the row in the database, and in the operations of the processor simulator's ledger.
 * - Create: an automatic payment is charged and captured at once, a manual one only authorized
 *   (`requires_capture`), a declined one recorded as `failed` with its failure_code. A customer of
 *   another account or an unknown one is a 422 and a read-only key a 403: no payment is created and
 *   the processor is not called.
 * - Capture from every status: a `requires_capture` payment is captured once, and the same key
 *   replays the capture without a second one; a `succeeded`, `canceled`, `failed` or `processing`
 *   payment is a 409 payment_not_capturable that changes neither the row nor the ledger, and the
 *   stored 409 is replayed under its key.
 * - Cancel: a `requires_capture` payment is voided once, with or without a key; a `succeeded`,
 *   `failed` or `canceled` one is a 409 payment_not_cancelable that changes nothing.
 * - Another account's payment is a 404 on retrieve, capture and cancel, is not listed, and is left
 *   as it was.
 * - The list: filtered by each status, by customer, by both and by created range; newest first in
 *   the database's (created, id) order, every page walked once, and a filtered walk stays inside
 *   its filter.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { ChargeStatus, FaultPoint, OperationKind } from '../generated/processor/processor_pb.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import type { Payment } from './helpers/contract.js';
import { expectProblem } from './helpers/problem.js';


describe('payments', () => {
  let t: TestApp;
  let account: TestAccount;
  let other: TestAccount;

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount('Payments account');
    other = await t.createAccount('Another account');
  });
  after(() => t.close());

  const bearer = (acct: TestAccount = account) => ({ Authorization: `Bearer ${acct.secret}` });

  /** POSTs with a fresh Idempotency-Key unless one is given; `null` sends none. */
  function post(path: string, body?: object, options: { key?: string | null; acct?: TestAccount; secret?: string } = {}) {
    let req = request(t.app)
      .post(path)
      .set('Authorization', `Bearer ${options.secret ?? (options.acct ?? account).secret}`);
    const key = options.key === undefined ? randomUUID() : options.key;
    if (key !== null) req = req.set('Idempotency-Key', key);
    return body === undefined ? req : req.send(body);
  }

  async function createPayment(body: object = {}, acct: TestAccount = account): Promise<Payment> {
    const res = await post('/v1/payments', { amount: 2500, currency: 'EUR', ...body }, { acct });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  /** The kinds of the processor side effects applied for this payment, in order. */
  function ledgerOpsFor(paymentId: string): string[] {
    const snap = t.simulator.ledger();
    const charges = new Set(snap.charges.filter((c) => c.reference === paymentId).map((c) => c.id));
    const refunds = new Set(snap.refunds.filter((r) => charges.has(r.chargeId)).map((r) => r.id));
    return snap.operations.filter((o) => charges.has(o.target) || refunds.has(o.target)).map((o) => OperationKind[o.kind].toLowerCase());
  }

  async function paymentRow(id: string) {
    return t.db('payments').where({ id }).first();
  }

  /** A payment left `processing`: the processor never answered its charge. */
  async function processingPayment(): Promise<string> {
    const before = await t.db('payments').where({ account_id: account.id }).pluck('id');
    t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
    try {
      const res = await post('/v1/payments', { amount: 1200, currency: 'EUR' });
      expectProblem(res, 503, 'processor_unavailable');
    } finally {
      t.simulator.setFaults({ errorRate: 0 });
    }
    const ids: string[] = await t.db('payments').where({ account_id: account.id }).whereNotIn('id', before).pluck('id');
    expect(ids).to.have.length(1);
    expect((await paymentRow(ids[0]!)).status).to.equal('processing');
    return ids[0]!;
  }

  async function manualPayment(): Promise<Payment> {
    const p = await createPayment({ capture_method: 'manual' });
    expect(p.status).to.equal('requires_capture');
    return p;
  }

  async function canceledPayment(): Promise<Payment> {
    const p = await manualPayment();
    const res = await post(`/v1/payments/${p.id}/cancel`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body;
  }

  describe('POST /v1/payments', () => {
    it('charges an automatic payment at once: succeeded, fully captured, one charge at the processor', async () => {
      const res = await post('/v1/payments', { amount: 2500, currency: 'EUR', description: 'Order 42', metadata: { order: '42' } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.headers['request-id']).to.match(/^req_/);
      expect(res.headers['idempotent-replayed']).to.equal('false');
      expect(res.body).to.include({
        object: 'payment',
        amount: 2500,
        currency: 'EUR',
        status: 'succeeded',
        capture_method: 'automatic',
        customer: null,
        description: 'Order 42',
        amount_captured: 2500,
        amount_refunded: 0,
        failure_code: null,
        failure_message: null,
      });
      expect(res.body.id).to.match(/^pay_[A-Za-z0-9]{22}$/);
      expect(res.body.metadata).to.deep.equal({ order: '42' });
      expect(res.body.created).to.be.within(Math.floor(Date.now() / 1000) - 60, Math.floor(Date.now() / 1000) + 60);
      expect(ledgerOpsFor(res.body.id)).to.deep.equal(['charge']);
      const row = await paymentRow(res.body.id);
      expect(row).to.include({ account_id: account.id, status: 'succeeded' });
      const charge = t.simulator.ledger().charges.find((c) => c.reference === res.body.id)!;
      expect(row.processor_charge_id).to.equal(charge.id);
      expect(charge).to.include({ amount: 2500n, status: ChargeStatus.CAPTURED });
    });

    it('authorizes a manual payment without capturing it: requires_capture, nothing captured', async () => {
      const res = await post('/v1/payments', { amount: 3100, currency: 'GBP', capture_method: 'manual' });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ status: 'requires_capture', capture_method: 'manual', amount: 3100, currency: 'GBP', amount_captured: 0 });
      expect(ledgerOpsFor(res.body.id)).to.deep.equal(['charge']);
      expect(t.simulator.ledger().charges.find((c) => c.reference === res.body.id)).to.include({ status: ChargeStatus.AUTHORIZED });
    });

    it('records a declined charge as a failed payment with its failure_code', async () => {
      const res = await post('/v1/payments', { amount: 1402, currency: 'EUR' });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ status: 'failed', failure_code: 'card_declined', amount_captured: 0, amount_refunded: 0 });
      expect(res.body.failure_message).to.be.a('string').and.not.equal('');
      expect(ledgerOpsFor(res.body.id)).to.deep.equal(['charge']);
      expect((await paymentRow(res.body.id)).status).to.equal('failed');
    });

    it('charges a customer of the account and names it on the payment', async () => {
      const cus = await request(t.app).post('/v1/customers').set(bearer()).send({ email: 'payer@example.com' });
      expect(cus.status).to.equal(201);
      const payment = await createPayment({ customer: cus.body.id });
      expect(payment).to.include({ customer: cus.body.id, status: 'succeeded' });
      expect((await paymentRow(payment.id)).customer_id).to.equal(cus.body.id);
    });

    for (const [label, customerOf] of [
      ['a customer of another account', async () => {
        const res = await request(t.app).post('/v1/customers').set(bearer(other)).send({ email: 'theirs@example.com' });
        expect(res.status).to.equal(201);
        return res.body.id as string;
      }],
      ['an unknown customer', async () => 'cus_doesnotexist0000000000'],
    ] as const) {
      it(`refuses ${label} with 422 referenced_resource_not_found and creates nothing`, async () => {
        const customer = await customerOf();
        const paymentsBefore = await t.db('payments').count({ n: '*' }).first();
        const eventsBefore = await t.db('events').count({ n: '*' }).first();
        const opsBefore = t.simulator.ledger().operations.length;
        const res = await post('/v1/payments', { amount: 2500, currency: 'EUR', customer });
        expectProblem(res, 422, 'referenced_resource_not_found');
        expect(res.text).not.to.include('theirs@example.com');
        expect(await t.db('payments').count({ n: '*' }).first()).to.deep.equal(paymentsBefore);
        expect(await t.db('events').count({ n: '*' }).first()).to.deep.equal(eventsBefore);
        expect(t.simulator.ledger().operations.length).to.equal(opsBefore);
      });
    }

    it('keeps a statement descriptor, shows it on v1 and v2, and refuses one the card networks would not print', async () => {
      const payment = await createPayment({ statement_descriptor: 'REMIT COFFEE 42' });
      expect(payment.statement_descriptor).to.equal('REMIT COFFEE 42');
      expect((await paymentRow(payment.id)).statement_descriptor).to.equal('REMIT COFFEE 42');
      const v2 = await request(t.app).get(`/v2/payments/${payment.id}`).set(bearer()).expect(200);
      expect(v2.body.statement_descriptor).to.equal('REMIT COFFEE 42');
      // Without one, the field is there and null: an additive change every client can ignore.
      expect((await createPayment()).statement_descriptor).to.equal(null);
      const before = await t.db('payments').count<{ n: string }[]>({ n: '*' });
      for (const bad of ['ab', 'x'.repeat(23), '12345', 'REMIT*COFFEE', 'café latte']) {
        expectProblem(await post('/v1/payments', { amount: 100, currency: 'EUR', statement_descriptor: bad }), 400, 'validation_failed');
      }
      expect(await t.db('payments').count<{ n: string }[]>({ n: '*' })).to.deep.equal(before);
    });

    it('refuses a read-only key with 403 insufficient_scope and creates nothing', async () => {
      const readOnly = await t.createKey(account, ['read']);
      const paymentsBefore = await t.db('payments').count({ n: '*' }).first();
      const opsBefore = t.simulator.ledger().operations.length;
      const res = await post('/v1/payments', { amount: 2500, currency: 'EUR' }, { secret: readOnly.secret });
      expectProblem(res, 403, 'insufficient_scope');
      expect(await t.db('payments').count({ n: '*' }).first()).to.deep.equal(paymentsBefore);
      expect(t.simulator.ledger().operations.length).to.equal(opsBefore);
      // The same key may still read.
      await request(t.app).get('/v1/payments').set('Authorization', `Bearer ${readOnly.secret}`).expect(200);
    });
  });

  describe('POST /v1/payments/{id}/capture', () => {
    it('captures a requires_capture payment: succeeded, fully captured, one capture at the processor', async () => {
      const p = await manualPayment();
      const res = await post(`/v1/payments/${p.id}/capture`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.headers['idempotent-replayed']).to.equal('false');
      expect(res.body).to.include({ id: p.id, status: 'succeeded', amount_captured: p.amount, amount_refunded: 0 });
      expect(ledgerOpsFor(p.id)).to.deep.equal(['charge', 'capture']);
      expect(await paymentRow(p.id)).to.include({ status: 'succeeded' });
      expect(t.simulator.ledger().charges.find((c) => c.reference === p.id)).to.include({ status: ChargeStatus.CAPTURED, amountCaptured: BigInt(p.amount) });
    });

    it('replays the first capture when the same Idempotency-Key is sent again, without capturing twice', async () => {
      const p = await manualPayment();
      const key = randomUUID();
      const first = await post(`/v1/payments/${p.id}/capture`, undefined, { key });
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(first.headers['idempotent-replayed']).to.equal('false');
      const again = await post(`/v1/payments/${p.id}/capture`, undefined, { key });
      expect(again.status, JSON.stringify(again.body)).to.equal(200);
      expect(again.headers['idempotent-replayed']).to.equal('true');
      expect(again.body).to.deep.equal(first.body);
      expect(ledgerOpsFor(p.id)).to.deep.equal(['charge', 'capture']);
    });

    it('answers a second capture under a new key with 409 payment_not_capturable, capturing nothing more', async () => {
      const p = await manualPayment();
      await post(`/v1/payments/${p.id}/capture`).expect(200);
      expectProblem(await post(`/v1/payments/${p.id}/capture`), 409, 'payment_not_capturable');
      expect(ledgerOpsFor(p.id)).to.deep.equal(['charge', 'capture']);
    });

    const notCapturable: [string, () => Promise<string>][] = [
      ['canceled', async () => (await canceledPayment()).id],
      ['failed', async () => (await createPayment({ amount: 2402 })).id],
      ['succeeded', async () => (await createPayment()).id],
      ['processing', () => processingPayment()],
    ];
    for (const [status, make] of notCapturable) {
      it(`refuses to capture a ${status} payment with 409 payment_not_capturable and leaves it ${status}`, async () => {
        const id = await make();
        const before = await paymentRow(id);
        expect(before.status).to.equal(status);
        const ops = ledgerOpsFor(id);
        const res = await post(`/v1/payments/${id}/capture`);
        expectProblem(res, 409, 'payment_not_capturable');
        expect(await paymentRow(id)).to.deep.equal(before);
        expect(ledgerOpsFor(id)).to.deep.equal(ops);
        expect(ops).not.to.include('capture');
      });
    }

    it('replays a stored 409 with Idempotent-Replayed: true', async () => {
      const p = await canceledPayment();
      const key = randomUUID();
      const first = await post(`/v1/payments/${p.id}/capture`, undefined, { key });
      expectProblem(first, 409, 'payment_not_capturable');
      expect(first.headers['idempotent-replayed']).to.equal('false');
      const again = await post(`/v1/payments/${p.id}/capture`, undefined, { key });
      expectProblem(again, 409, 'payment_not_capturable');
      expect(again.headers['idempotent-replayed']).to.equal('true');
      expect(again.body.detail).to.equal(first.body.detail);
      expect(ledgerOpsFor(p.id)).to.deep.equal(['charge', 'void']);
    });
  });

  describe('POST /v1/payments/{id}/cancel', () => {
    it('releases the authorization of a requires_capture payment: canceled, one void at the processor', async () => {
      const p = await manualPayment();
      const res = await post(`/v1/payments/${p.id}/cancel`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.include({ id: p.id, status: 'canceled', amount_captured: 0 });
      expect(ledgerOpsFor(p.id)).to.deep.equal(['charge', 'void']);
      expect(await paymentRow(p.id)).to.include({ status: 'canceled' });
      expect(t.simulator.ledger().charges.find((c) => c.reference === p.id)).to.include({ status: ChargeStatus.VOIDED });
    });

    it('works without an Idempotency-Key, and a second cancel is 409 payment_not_cancelable', async () => {
      const p = await manualPayment();
      const first = await post(`/v1/payments/${p.id}/cancel`, undefined, { key: null });
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(first.body.status).to.equal('canceled');
      const second = await post(`/v1/payments/${p.id}/cancel`, undefined, { key: null });
      expectProblem(second, 409, 'payment_not_cancelable');
      expect(second.headers['idempotent-replayed']).to.equal('false');
      expect(ledgerOpsFor(p.id)).to.deep.equal(['charge', 'void']);
    });

    const notCancelable: [string, () => Promise<string>][] = [
      ['succeeded', async () => (await createPayment()).id],
      ['failed', async () => (await createPayment({ amount: 3402 })).id],
      ['canceled', async () => (await canceledPayment()).id],
    ];
    for (const [status, make] of notCancelable) {
      it(`refuses to cancel a ${status} payment with 409 payment_not_cancelable and leaves it ${status}`, async () => {
        const id = await make();
        const before = await paymentRow(id);
        expect(before.status).to.equal(status);
        const ops = ledgerOpsFor(id);
        expectProblem(await post(`/v1/payments/${id}/cancel`), 409, 'payment_not_cancelable');
        expect(await paymentRow(id)).to.deep.equal(before);
        expect(ledgerOpsFor(id)).to.deep.equal(ops);
      });
    }
  });

  describe('GET /v1/payments/{id}', () => {
    it('returns the payment as it was created', async () => {
      const created = await createPayment({ amount: 777, currency: 'JPY', metadata: { a: 'b' } });
      const res = await request(t.app).get(`/v1/payments/${created.id}`).set(bearer());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(created);
    });

    it('returns the payment in its current status after a capture', async () => {
      const p = await manualPayment();
      const captured = await post(`/v1/payments/${p.id}/capture`).expect(200);
      const res = await request(t.app).get(`/v1/payments/${p.id}`).set(bearer());
      expect(res.body).to.deep.equal(captured.body);
    });

    it('is 404 resource_not_found for an unknown payment', async () => {
      expectProblem(await request(t.app).get('/v1/payments/pay_doesnotexist').set(bearer()), 404, 'resource_not_found');
    });
  });

  describe("another account's payment", () => {
    let theirs: Payment;

    before(async () => {
      const res = await post('/v1/payments', { amount: 4200, currency: 'EUR', capture_method: 'manual' }, { acct: other });
      expect(res.status).to.equal(201);
      theirs = res.body;
    });

    it('is 404 on retrieve', async () => {
      expectProblem(await request(t.app).get(`/v1/payments/${theirs.id}`).set(bearer()), 404, 'resource_not_found');
    });

    it('is 404 on capture, and is not captured', async () => {
      expectProblem(await post(`/v1/payments/${theirs.id}/capture`), 404, 'resource_not_found');
      expect((await paymentRow(theirs.id)).status).to.equal('requires_capture');
      expect(ledgerOpsFor(theirs.id)).to.deep.equal(['charge']);
    });

    it('is 404 on cancel, and is not canceled', async () => {
      expectProblem(await post(`/v1/payments/${theirs.id}/cancel`), 404, 'resource_not_found');
      expect((await paymentRow(theirs.id)).status).to.equal('requires_capture');
      expect(ledgerOpsFor(theirs.id)).to.deep.equal(['charge']);
    });

    it('is not listed', async () => {
      const res = await request(t.app).get('/v1/payments').query({ limit: 100 }).set(bearer());
      expect(res.status).to.equal(200);
      expect(res.body.data.map((p: Payment) => p.id)).not.to.include(theirs.id);
    });

    it('is still there for its own account, untouched', async () => {
      const res = await request(t.app).get(`/v1/payments/${theirs.id}`).set(bearer(other));
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(theirs);
    });
  });

  describe('GET /v1/payments', () => {
    let own: TestApp;
    let acct: TestAccount;
    let customerId: string;
    const byStatus: Record<string, string[]> = { succeeded: [], requires_capture: [], failed: [], canceled: [] };
    const ofCustomer: string[] = [];
    const backdated: string[] = [];
    const all: string[] = [];
    const list = (query: Record<string, string | number>) =>
      request(own.app).get('/v1/payments').query(query).set('Authorization', `Bearer ${acct.secret}`);

    before(async () => {
      own = await createTestApp();
      acct = await own.createAccount();
      const cus = await request(own.app).post('/v1/customers').set('Authorization', `Bearer ${acct.secret}`).send({ email: 'lister@example.com' });
      customerId = cus.body.id;
      const specs: object[] = [
        { amount: 100 },
        { amount: 200, customer: customerId },
        { amount: 1402 },
        { amount: 300, capture_method: 'manual' },
        { amount: 400, capture_method: 'manual', customer: customerId },
        { amount: 500 },
        { amount: 600, customer: customerId },
        { amount: 700, capture_method: 'manual' },
      ];
      for (const spec of specs) {
        const res = await request(own.app)
          .post('/v1/payments')
          .set('Authorization', `Bearer ${acct.secret}`)
          .set('Idempotency-Key', randomUUID())
          .send({ currency: 'EUR', ...spec });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        all.push(res.body.id);
        if ('customer' in spec) ofCustomer.push(res.body.id);
      }
      // One manual payment is canceled, so every final status is represented.
      const canceled = all[7]!;
      await request(own.app).post(`/v1/payments/${canceled}/cancel`).set('Authorization', `Bearer ${acct.secret}`).expect(200);
      const rows: { id: string; status: string }[] = await own.db('payments').select('id', 'status');
      for (const row of rows) byStatus[row.status]!.push(row.id);
      // Three payments two hours in the past give the created range something to split.
      backdated.push(all[0]!, all[1]!, all[2]!);
      await own.db('payments').whereIn('id', backdated).update({ created_at: new Date(Date.now() - 2 * 3_600_000) });
    });
    after(() => own?.close());

    it('has payments in every status to filter', () => {
      expect(byStatus.succeeded).to.have.length(4);
      expect(byStatus.failed).to.have.length(1);
      expect(byStatus.requires_capture).to.have.length(2);
      expect(byStatus.canceled).to.have.length(1);
    });

    for (const status of ['succeeded', 'requires_capture', 'failed', 'canceled', 'processing']) {
      it(`filters by status=${status}`, async () => {
        const res = await list({ status, limit: 100 });
        expect(res.status).to.equal(200);
        expect(res.body.data.every((p: Payment) => p.status === status)).to.equal(true);
        expect(res.body.data.map((p: Payment) => p.id)).to.have.members(byStatus[status] ?? []);
      });
    }

    it('filters by customer', async () => {
      const res = await list({ customer: customerId, limit: 100 });
      expect(res.status).to.equal(200);
      expect(res.body.data.map((p: Payment) => p.id)).to.have.members(ofCustomer);
      expect(res.body.data.every((p: Payment) => p.customer === customerId)).to.equal(true);
    });

    it('combines the status and customer filters', async () => {
      const res = await list({ customer: customerId, status: 'requires_capture' });
      expect(res.body.data.map((p: Payment) => p.id)).to.deep.equal([all[4]]);
    });

    it('filters by created range', async () => {
      const split = Math.floor(Date.now() / 1000) - 3600;
      const older = await list({ 'created[lt]': split, limit: 100 });
      expect(older.status).to.equal(200);
      expect(older.body.data.map((p: Payment) => p.id)).to.have.members(backdated);
      const newer = await list({ 'created[gte]': split, limit: 100 });
      expect(newer.body.data.map((p: Payment) => p.id)).to.have.members(all.filter((id) => !backdated.includes(id)));
      const future = await list({ 'created[gt]': Math.floor(Date.now() / 1000) + 3600 });
      expect(future.body.data).to.have.length(0);
      const between = await list({ 'created[gte]': split - 7200, 'created[lte]': split, limit: 100 });
      expect(between.body.data.map((p: Payment) => p.id)).to.have.members(backdated);
    });

    it('lists newest first and walks every page exactly once with the cursor', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await list({ limit: 3, ...(cursor ? { cursor } : {}) });
        expect(res.status).to.equal(200);
        expect(res.body.object).to.equal('list');
        expect(res.body.data.length).to.be.at.most(3);
        seen.push(...res.body.data.map((p: Payment) => p.id));
        cursor = res.body.next_cursor ?? undefined;
        expect(res.body.has_more).to.equal(cursor !== undefined);
        pages++;
      } while (cursor && pages < 10);
      expect(pages).to.equal(3);
      expect(seen).to.have.length(all.length);
      expect(new Set(seen).size).to.equal(all.length);
      expect(seen).to.have.members(all);
      const rows: { id: string }[] = await own.db('payments').select('id').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      expect(seen).to.deep.equal(rows.map((r) => r.id));
      // The backdated payments are the oldest, so they come last.
      expect(seen.slice(-3)).to.have.members(backdated);
    });

    it('pages through a filtered list without leaving the filter', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await list({ status: 'succeeded', limit: 1, ...(cursor ? { cursor } : {}) });
        expect(res.status).to.equal(200);
        seen.push(...res.body.data.map((p: Payment) => p.id));
        cursor = res.body.next_cursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);
      expect(seen).to.have.length(byStatus.succeeded!.length);
      expect(seen).to.have.members(byStatus.succeeded!);
    });
  });
});
