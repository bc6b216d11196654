/**
 * Refunds through the API, checked in the answer, in the database and in the processor simulator's
 * ledger:
 * - a refund without an amount refunds what remains; partial refunds add up in the payment's
 *   amount_refunded, to exactly the captured amount and no further;
 * - a refund beyond what remains is a 422 amount_exceeds_refundable; a `requires_capture`, `failed`
 *   or `canceled` payment is a 409 payment_not_refundable; an unknown payment or another account's
 *   is a 422 referenced_resource_not_found. Each leaves no refund row, no event, no refund at the
 *   processor, and the payment as it was;
 * - the same key replays the refund, which is made once; the key reused for another refund is a
 *   422;
 * - retrieve (404 for an unknown refund or another account's), and the list filtered by payment,
 *   newest first, walked page by page;
 * - 10 refunds of 100 against a payment of 500, sent at once over real sockets: exactly 5 succeed
 *   and 5 are 422, leaving 5 refund rows, 5 refunds at the processor and amount_refunded 500.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { OperationKind, type Operation } from '../generated/processor/processor_pb.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import type { Payment, Refund } from './helpers/contract.js';
import { expectProblem } from './helpers/problem.js';


describe('refunds', () => {
  let t: TestApp;
  let account: TestAccount;
  let other: TestAccount;

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount('Refunds account');
    other = await t.createAccount('Another account');
  });
  after(() => t.close());

  const bearer = (acct: TestAccount = account) => ({ Authorization: `Bearer ${acct.secret}` });

  function post(path: string, body?: object, options: { key?: string; acct?: TestAccount } = {}) {
    const req = request(t.app)
      .post(path)
      .set(bearer(options.acct))
      .set('Idempotency-Key', options.key ?? randomUUID());
    return body === undefined ? req : req.send(body);
  }

  async function createPayment(body: object = {}, acct: TestAccount = account): Promise<Payment> {
    const res = await post('/v1/payments', { amount: 1000, currency: 'EUR', ...body }, { acct });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  async function refund(body: object, key?: string): Promise<Refund> {
    const res = await post('/v1/refunds', body, key === undefined ? {} : { key });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  async function paymentOf(id: string, acct: TestAccount = account): Promise<Payment> {
    const res = await request(t.app).get(`/v1/payments/${id}`).set(bearer(acct));
    expect(res.status).to.equal(200);
    return res.body;
  }

  /** The refunds the processor applied against this payment's charge. */
  function processorRefundOps(paymentId: string): Operation[] {
    const snap = t.simulator.ledger();
    const charges = new Set(snap.charges.filter((c) => c.reference === paymentId).map((c) => c.id));
    const refunds = new Set(snap.refunds.filter((r) => charges.has(r.chargeId)).map((r) => r.id));
    return snap.operations.filter((o) => o.kind === OperationKind.REFUND && refunds.has(o.target));
  }

  async function refundRows(paymentId: string) {
    return t.db('refunds').where({ payment_id: paymentId }).orderBy('created_at');
  }

  /** Asserts that a refused refund left no trace: no refund row, no event, nothing at the processor. */
  async function expectNothingRefunded(paymentId: string, run: () => Promise<void>) {
    const rowsBefore = await refundRows(paymentId);
    const eventsBefore = await t.db('events').count({ n: '*' }).first();
    const refundOpsBefore = t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.REFUND).length;
    const paymentBefore = await t.db('payments').where({ id: paymentId }).first();
    await run();
    expect(await refundRows(paymentId)).to.deep.equal(rowsBefore);
    expect(await t.db('events').count({ n: '*' }).first()).to.deep.equal(eventsBefore);
    expect(t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.REFUND).length).to.equal(refundOpsBefore);
    expect(await t.db('payments').where({ id: paymentId }).first()).to.deep.equal(paymentBefore);
  }

  describe('POST /v1/refunds', () => {
    it('refunds a payment in full when no amount is given', async () => {
      const p = await createPayment({ amount: 1500, currency: 'USD' });
      const res = await post('/v1/refunds', { payment: p.id, reason: 'requested_by_customer', metadata: { ticket: 'T-1' } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.headers['idempotent-replayed']).to.equal('false');
      expect(res.body).to.include({
        object: 'refund',
        payment: p.id,
        amount: 1500,
        currency: 'USD',
        status: 'succeeded',
        reason: 'requested_by_customer',
        failure_code: null,
      });
      expect(res.body.id).to.match(/^re_[A-Za-z0-9]{22}$/);
      expect(res.body.metadata).to.deep.equal({ ticket: 'T-1' });
      expect((await paymentOf(p.id)).amount_refunded).to.equal(1500);
      const ops = processorRefundOps(p.id);
      expect(ops).to.have.length(1);
      const row = await t.db('refunds').where({ id: res.body.id }).first();
      expect(row).to.include({ account_id: account.id, status: 'succeeded', processor_refund_id: ops[0]!.target });
      expect(t.simulator.ledger().refunds.find((r) => r.id === ops[0]!.target)).to.include({ amount: 1500n });
    });

    it('refunds part of a payment, and the next refund defaults to what remains', async () => {
      const p = await createPayment({ amount: 1000 });
      const part = await refund({ payment: p.id, amount: 300 });
      expect(part).to.include({ amount: 300, status: 'succeeded', reason: null });
      expect((await paymentOf(p.id)).amount_refunded).to.equal(300);
      const rest = await refund({ payment: p.id });
      expect(rest).to.include({ amount: 700, status: 'succeeded' });
      const after = await paymentOf(p.id);
      expect(after).to.include({ amount_refunded: 1000, status: 'succeeded' });
      expect(processorRefundOps(p.id)).to.have.length(2);
      // Nothing remains: a further refund, with or without an amount, is refused.
      await expectNothingRefunded(p.id, async () => {
        expectProblem(await post('/v1/refunds', { payment: p.id }), 422, 'amount_exceeds_refundable');
        expectProblem(await post('/v1/refunds', { payment: p.id, amount: 1 }), 422, 'amount_exceeds_refundable');
      });
    });

    it("accumulates several partial refunds in the payment's amount_refunded", async () => {
      const p = await createPayment({ amount: 1000 });
      const amounts = [100, 250, 50, 125];
      let total = 0;
      for (const amount of amounts) {
        const r = await refund({ payment: p.id, amount });
        expect(r.amount).to.equal(amount);
        total += amount;
        expect((await paymentOf(p.id)).amount_refunded).to.equal(total);
      }
      const rows = await refundRows(p.id);
      expect(rows.map((r: { amount: number }) => Number(r.amount)).sort((a: number, b: number) => a - b)).to.deep.equal([...amounts].sort((a, b) => a - b));
      expect(processorRefundOps(p.id)).to.have.length(amounts.length);
      const charge = t.simulator.ledger().charges.find((c) => c.reference === p.id)!;
      expect(charge.amountRefunded).to.equal(BigInt(total));
    });

    it('refuses a refund larger than the payment with 422 amount_exceeds_refundable and creates nothing', async () => {
      const p = await createPayment({ amount: 1000 });
      await expectNothingRefunded(p.id, async () => {
        expectProblem(await post('/v1/refunds', { payment: p.id, amount: 1001 }), 422, 'amount_exceeds_refundable');
      });
      expect((await paymentOf(p.id)).amount_refunded).to.equal(0);
    });

    it('refuses a refund larger than what remains after partial refunds, and creates nothing', async () => {
      const p = await createPayment({ amount: 1000 });
      await refund({ payment: p.id, amount: 600 });
      await expectNothingRefunded(p.id, async () => {
        expectProblem(await post('/v1/refunds', { payment: p.id, amount: 401 }), 422, 'amount_exceeds_refundable');
      });
      // Exactly what remains is still accepted.
      expect(await refund({ payment: p.id, amount: 400 })).to.include({ amount: 400, status: 'succeeded' });
      expect((await paymentOf(p.id)).amount_refunded).to.equal(1000);
    });

    const notRefundable: [string, () => Promise<string>][] = [
      ['requires_capture', async () => (await createPayment({ capture_method: 'manual' })).id],
      ['failed', async () => (await createPayment({ amount: 5402 })).id],
      [
        'canceled',
        async () => {
          const p = await createPayment({ capture_method: 'manual' });
          await post(`/v1/payments/${p.id}/cancel`).expect(200);
          return p.id;
        },
      ],
    ];
    for (const [status, make] of notRefundable) {
      it(`refuses to refund a ${status} payment with 409 payment_not_refundable and creates nothing`, async () => {
        const id = await make();
        expect((await paymentOf(id)).status).to.equal(status);
        await expectNothingRefunded(id, async () => {
          expectProblem(await post('/v1/refunds', { payment: id }), 409, 'payment_not_refundable');
          expectProblem(await post('/v1/refunds', { payment: id, amount: 1 }), 409, 'payment_not_refundable');
        });
      });
    }

    it('refuses an unknown payment with 422 referenced_resource_not_found and creates nothing', async () => {
      const before = await t.db('refunds').count({ n: '*' }).first();
      const opsBefore = t.simulator.ledger().operations.length;
      expectProblem(await post('/v1/refunds', { payment: 'pay_doesnotexist0000000000' }), 422, 'referenced_resource_not_found');
      expect(await t.db('refunds').count({ n: '*' }).first()).to.deep.equal(before);
      expect(t.simulator.ledger().operations.length).to.equal(opsBefore);
    });

    it("refuses another account's payment with 422 referenced_resource_not_found and leaves it unrefunded", async () => {
      const theirs = await createPayment({ amount: 800 }, other);
      await expectNothingRefunded(theirs.id, async () => {
        const res = await post('/v1/refunds', { payment: theirs.id });
        expectProblem(res, 422, 'referenced_resource_not_found');
      });
      expect((await paymentOf(theirs.id, other)).amount_refunded).to.equal(0);
    });

    it('replays the same refund with Idempotent-Replayed: true and refunds only once', async () => {
      const p = await createPayment({ amount: 1000 });
      const key = randomUUID();
      const first = await post('/v1/refunds', { payment: p.id, amount: 250 }, { key });
      expect(first.status, JSON.stringify(first.body)).to.equal(201);
      expect(first.headers['idempotent-replayed']).to.equal('false');
      const again = await post('/v1/refunds', { payment: p.id, amount: 250 }, { key });
      expect(again.status, JSON.stringify(again.body)).to.equal(201);
      expect(again.headers['idempotent-replayed']).to.equal('true');
      expect(again.body).to.deep.equal(first.body);
      expect(await refundRows(p.id)).to.have.length(1);
      expect(processorRefundOps(p.id)).to.have.length(1);
      expect((await paymentOf(p.id)).amount_refunded).to.equal(250);
    });

    it('answers a key reused for a different refund with 422 idempotency_key_reused and refunds nothing more', async () => {
      const p = await createPayment({ amount: 1000 });
      const key = randomUUID();
      await refund({ payment: p.id, amount: 100 }, key);
      await expectNothingRefunded(p.id, async () => {
        expectProblem(await post('/v1/refunds', { payment: p.id, amount: 200 }, { key }), 422, 'idempotency_key_reused');
      });
    });
  });

  describe('GET /v1/refunds/{id} and GET /v1/refunds', () => {
    let p1: Payment;
    let p2: Payment;
    const ofP1: Refund[] = [];
    let ofP2: Refund;

    before(async () => {
      p1 = await createPayment({ amount: 900 });
      p2 = await createPayment({ amount: 900 });
      for (const amount of [100, 200, 300]) ofP1.push(await refund({ payment: p1.id, amount }));
      ofP2 = await refund({ payment: p2.id, amount: 50 });
    });

    it('retrieves a refund', async () => {
      const res = await request(t.app).get(`/v1/refunds/${ofP1[1]!.id}`).set(bearer());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(ofP1[1]);
    });

    it('is 404 resource_not_found for an unknown refund', async () => {
      expectProblem(await request(t.app).get('/v1/refunds/re_doesnotexist').set(bearer()), 404, 'resource_not_found');
    });

    it("is 404 for another account's refund", async () => {
      expectProblem(await request(t.app).get(`/v1/refunds/${ofP2.id}`).set(bearer(other)), 404, 'resource_not_found');
      const theirs = await request(t.app).get('/v1/refunds').query({ limit: 100 }).set(bearer(other));
      expect(theirs.status).to.equal(200);
      expect(theirs.body.data.map((r: Refund) => r.id)).not.to.include(ofP2.id);
    });

    it('filters by payment, newest first', async () => {
      const res = await request(t.app).get('/v1/refunds').query({ payment: p1.id }).set(bearer());
      expect(res.status).to.equal(200);
      expect(res.body.data.map((r: Refund) => r.id)).to.have.members(ofP1.map((r) => r.id));
      expect(res.body.data.every((r: Refund) => r.payment === p1.id)).to.equal(true);
      const rows: { id: string }[] = await t.db('refunds')
        .where({ payment_id: p1.id })
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      expect(res.body.data.map((r: Refund) => r.id)).to.deep.equal(rows.map((r) => r.id));
      const other2 = await request(t.app).get('/v1/refunds').query({ payment: p2.id }).set(bearer());
      expect(other2.body.data).to.deep.equal([ofP2]);
    });

    it('walks every page of a payment\'s refunds exactly once with the cursor', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await request(t.app)
          .get('/v1/refunds')
          .query({ payment: p1.id, limit: 2, ...(cursor ? { cursor } : {}) })
          .set(bearer());
        expect(res.status).to.equal(200);
        seen.push(...res.body.data.map((r: Refund) => r.id));
        cursor = res.body.next_cursor ?? undefined;
        expect(res.body.has_more).to.equal(cursor !== undefined);
        pages++;
      } while (cursor && pages < 10);
      expect(pages).to.equal(2);
      expect(seen).to.have.length(3);
      expect(seen).to.have.members(ofP1.map((r) => r.id));
    });
  });

  describe('concurrent refunds of one payment', () => {
    it('lets exactly as many refunds through as the payment covers, over real concurrent connections', async () => {
      const p = await createPayment({ amount: 500 });
      const server = createServer(t.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const responses = await Promise.all(
          Array.from({ length: 10 }, async (_, i) => {
            const res = await fetch(`http://127.0.0.1:${port}/v1/refunds`, {
              method: 'POST',
              headers: {
                Authorization: `Bearer ${account.secret}`,
                'Content-Type': 'application/json',
                'Idempotency-Key': `concurrent-${p.id}-${i}`,
              },
              body: JSON.stringify({ payment: p.id, amount: 100 }),
            });
            return { status: res.status, body: (await res.json()) as { code?: string; status?: string; amount?: number } };
          }),
        );
        const statuses = responses.map((r) => r.status).sort();
        expect(statuses, JSON.stringify(responses)).to.deep.equal([201, 201, 201, 201, 201, 422, 422, 422, 422, 422]);
        for (const r of responses.filter((x) => x.status === 201)) expect(r.body).to.include({ status: 'succeeded', amount: 100 });
        for (const r of responses.filter((x) => x.status === 422)) expect(r.body.code).to.equal('amount_exceeds_refundable');
      } finally {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      expect((await paymentOf(p.id)).amount_refunded).to.equal(500);
      const rows = await refundRows(p.id);
      expect(rows).to.have.length(5);
      expect(rows.every((r: { status: string }) => r.status === 'succeeded')).to.equal(true);
      expect(processorRefundOps(p.id)).to.have.length(5);
      expect(t.simulator.ledger().charges.find((c) => c.reference === p.id)!.amountRefunded).to.equal(500n);
      const events = await t.db('events').whereIn('object_id', rows.map((r: { id: string }) => r.id));
      expect(events).to.have.length(10);
    });
  });
});
