/**
 * Reconciliation's seeded cases, each against the processor simulator's real ledger: what a run
 * settles (exactly once, through the state machine, with its event), what it reports and leaves
 * alone, and that a second run finds nothing new.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createProcessorClient } from '../../src/processor/client.js';
import { OperationKind } from '../../generated/processor/processor_pb.js';
import { createTestApp, snapshot, TEST_PROCESSOR_OPTIONS, type TestAccount, type TestApp } from '../helpers/app.js';
import { auth, discrepancies, endedWindow, eventTypes, reconcile, stuckPayment, stuckRefund, succeededPayment } from './helpers.js';

describe('reconciliation: seeded cases', function () {
  this.timeout(60_000);
  let t: TestApp;
  let account: TestAccount;
  let startMs = 0;

  before(async () => {
    // One attempt per call and a breaker that does not open: each seeded failure is one lost answer.
    t = await createTestApp({ processor: { maxRetries: 0, breakerThreshold: 1_000 } });
  });
  beforeEach(async () => {
    account = await t.createAccount();
    startMs = Date.now() - 1_000;
  });
  after(() => t.close());

  it('settles a stuck processing payment the processor captured to succeeded, emitting payment.succeeded once', async () => {
    const stuck = await stuckPayment(t, account);
    const charges = t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE && o.idempotencyKey === stuck.id);
    expect(charges).to.have.length(1);

    const run = await reconcile(t, account, await endedWindow(startMs));
    expect(run.status, JSON.stringify(run)).to.equal('succeeded');
    expect(run.counts).to.deep.equal({ payments_checked: 1, refunds_checked: 0, settled: 1, discrepancies: 0 });

    const payment = await request(t.app).get(`/v1/payments/${stuck.id}`).set(auth(account));
    expect(payment.body.status).to.equal('succeeded');
    expect(payment.body.amount_captured).to.equal(5_000);
    expect(await eventTypes(t, account, stuck.id)).to.deep.equal(['payment.created', 'payment.succeeded']);

    // The client's own retry, with its key still unfinished, finds the outcome already there:
    // the same payment, no second event, no second charge.
    const retried = await request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', stuck.key).send({ amount: 5_000, currency: 'EUR' });
    expect(retried.status, JSON.stringify(retried.body)).to.equal(201);
    expect(retried.body.id).to.equal(stuck.id);
    expect(retried.body.status).to.equal('succeeded');
    expect(await eventTypes(t, account, stuck.id)).to.deep.equal(['payment.created', 'payment.succeeded']);
    expect(t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE && o.idempotencyKey === stuck.id)).to.have.length(1);
  });

  it('settles a pending refund the processor made to succeeded, emitting refund.succeeded once', async () => {
    const paymentId = await succeededPayment(t, account, 8_000);
    const stuck = await stuckRefund(t, account, paymentId, 3_000);

    const run = await reconcile(t, account, await endedWindow(startMs));
    expect(run.status, JSON.stringify(run)).to.equal('succeeded');
    expect(run.counts).to.deep.equal({ payments_checked: 1, refunds_checked: 1, settled: 1, discrepancies: 0 });

    const refund = await request(t.app).get(`/v1/refunds/${stuck.id}`).set(auth(account));
    expect(refund.body.status).to.equal('succeeded');
    const payment = await request(t.app).get(`/v1/payments/${paymentId}`).set(auth(account));
    expect(payment.body.amount_refunded).to.equal(3_000);
    expect(await eventTypes(t, account, stuck.id)).to.deep.equal(['refund.created', 'refund.succeeded']);

    const retried = await request(t.app).post('/v1/refunds').set(auth(account)).set('Idempotency-Key', stuck.key).send({ payment: paymentId, amount: 3_000 });
    expect(retried.status, JSON.stringify(retried.body)).to.equal(201);
    expect(retried.body.id).to.equal(stuck.id);
    expect(await eventTypes(t, account, stuck.id)).to.deep.equal(['refund.created', 'refund.succeeded']);
    expect(t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.REFUND && o.idempotencyKey === stuck.id)).to.have.length(1);
    expect((await request(t.app).get(`/v1/payments/${paymentId}`).set(auth(account))).body.amount_refunded).to.equal(3_000);
  });

  it('reports an amount mismatch with both sides and changes nothing', async () => {
    const stuck = await stuckPayment(t, account, 5_000);
    // Remit's book says another amount than the processor charged.
    await t.db('payments').where({ id: stuck.id }).update({ amount: 5_100 });
    const before = await snapshot(t.db);

    const run = await reconcile(t, account, await endedWindow(startMs));
    expect(run.status).to.equal('succeeded');
    expect(run.counts.settled).to.equal(0);
    const found = await discrepancies(t, account, run.id);
    expect(found).to.have.length(1);
    expect(found[0]).to.deep.include({ kind: 'amount_mismatch', object_type: 'payment' });
    expect(found[0]!.local).to.deep.equal({ id: stuck.id, status: 'processing', amount: 5_100, currency: 'EUR' });
    expect(found[0]!.processor).to.include({ status: 'captured', amount: 5_000, currency: 'EUR' });
    expect(found[0]!.processor!.id).to.match(/^ch_/);

    const after = await snapshot(t.db);
    for (const table of ['payments', 'refunds', 'events', 'idempotency_keys']) expect(after[table], table).to.deep.equal(before[table]);
  });

  it('reports a processor charge Remit has no payment for, and changes nothing', async () => {
    // A charge made outside Remit's payments, carrying this account.
    const outsider = createProcessorClient({ url: t.simulator.url, ...TEST_PROCESSOR_OPTIONS });
    try {
      const made = await outsider.createCharge('outside-charge-1', { amount: 777, currency: 'USD', capture: true, reference: 'pay_notremits0000000000', metadata: { remit_account: account.id } });
      expect(made.ok).to.equal(true);
    } finally {
      outsider.close();
    }
    const before = await snapshot(t.db);
    const run = await reconcile(t, account, await endedWindow(startMs));
    expect(run.status).to.equal('succeeded');
    const found = await discrepancies(t, account, run.id);
    expect(found).to.have.length(1);
    expect(found[0]).to.deep.include({ kind: 'missing_locally', object_type: 'payment', local: null });
    expect(found[0]!.processor).to.include({ status: 'captured', amount: 777, currency: 'USD' });
    const after = await snapshot(t.db);
    for (const table of ['payments', 'refunds', 'events']) expect(after[table], table).to.deep.equal(before[table]);
  });

  it('reports a payment the processor has no charge for as missing at the processor', async () => {
    const paymentId = await succeededPayment(t, account, 2_500);
    // The processor's books lose the charge (its ledger is reset): Remit's record stands alone.
    const other = await succeededPayment(t, account, 1_000);
    t.simulator.reset();
    const run = await reconcile(t, account, await endedWindow(startMs));
    const found = await discrepancies(t, account, run.id);
    expect(found.map((d) => [d.kind, d.local?.id]).sort()).to.deep.equal(
      [
        ['missing_at_processor', paymentId],
        ['missing_at_processor', other],
      ].sort(),
    );
    expect(found.every((d) => d.processor === null)).to.equal(true);
  });

  it('finds nothing new on a second run: nothing settled again, the same discrepancies, no event', async () => {
    const stuck = await stuckPayment(t, account, 4_000);
    const mismatched = await stuckPayment(t, account, 6_000);
    await t.db('payments').where({ id: mismatched.id }).update({ amount: 6_001 });
    const matched = await succeededPayment(t, account, 3_000);
    const window = await endedWindow(startMs);

    const first = await reconcile(t, account, window);
    expect(first.counts).to.deep.equal({ payments_checked: 3, refunds_checked: 0, settled: 1, discrepancies: 1 });
    const events = Number((await t.db('events').where({ account_id: account.id }).count({ n: '*' }).first())!.n);

    const second = await reconcile(t, account, window);
    expect(second.status).to.equal('succeeded');
    expect(second.counts).to.deep.equal({ payments_checked: 3, refunds_checked: 0, settled: 0, discrepancies: 1 });
    const firstFound = (await discrepancies(t, account, first.id)).map((d) => [d.kind, d.local?.id]);
    const secondFound = (await discrepancies(t, account, second.id)).map((d) => [d.kind, d.local?.id]);
    expect(secondFound).to.deep.equal(firstFound);
    expect(secondFound).to.deep.equal([['amount_mismatch', mismatched.id]]);
    expect(Number((await t.db('events').where({ account_id: account.id }).count({ n: '*' }).first())!.n)).to.equal(events);
    expect(await eventTypes(t, account, stuck.id)).to.deep.equal(['payment.created', 'payment.succeeded']);
    expect((await request(t.app).get(`/v1/payments/${matched}`).set(auth(account))).body.status).to.equal('succeeded');
  });

  it('keeps to its own account: another account\'s charges in the same report are neither settled nor reported', async () => {
    const other = await t.createAccount('Other');
    const theirs = await stuckPayment(t, other);
    const mine = await succeededPayment(t, account);
    const run = await reconcile(t, account, await endedWindow(startMs));
    expect(run.counts).to.deep.equal({ payments_checked: 1, refunds_checked: 0, settled: 0, discrepancies: 0 });
    expect((await t.db('payments').where({ id: theirs.id }).first()).status).to.equal('processing');
    expect(mine).to.match(/^pay_/);
  });
});
