/**
 * Idempotency-Key semantics of the money-moving endpoints:
 * - replay: the same key and body get the first answer, byte for byte, with `Idempotent-Replayed:
 *   true`; the same fields in another order are the same request (canonical JSON);
 * - refusal of a reused key: another amount, currency or metadata, or another path (a payment's key
 *   sent with a refund), is a 422 idempotency_key_reused that changes nothing;
 * - account scoping: the same key in two accounts makes two payments;
 * - stored refusals (a 422, a 409) are replayed as they were, even after the state behind them
 *   changed; a 422 decided in the first phase is stored once however many requests with the key
 *   race, and a 5xx there leaves nothing behind, so the retry creates the payment;
 * - a key left at `started` by a claim of its own (an operation whose first phase is not one
 *   transaction) is resumed by a retry, which runs the first phase under the lease;
 * - the statements a new payment costs: a lookup of the key, then the key claimed in the first
 *   phase's transaction, two transactions in all; and a replay's: the lookup alone;
 * - recovery when the processor does not answer, before or after it applied the charge: a 503 with
 *   Retry-After, the payment left `processing`, and a retry with the key that completes it with one
 *   charge;
 * - in-flight conflicts: a second request while the first holds the key is a 409
 *   idempotency_in_flight with Retry-After, and a retry after the first finished replays it;
 * - lease takeover after a request dies mid-way: once the lease has expired a retry takes over,
 *   charging once, and the overtaken request never answers 201;
 * - the background completer finishes a payment whose client never retried and leaves a live lease
 *   alone; retention deletes finished keys past 24 hours and keeps the rest.
 *
 * "Exactly once" is counted where money would move (the processor simulator's ledger) and where the
 * records live (rows in the database), never inferred from the responses alone.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { fingerprint } from '../src/platform/idempotency/index.js';
import type { ProcessorSimulator } from '../src/processor/simulator/server.js';
import { FaultPoint, OperationKind } from '../generated/processor/processor_pb.js';
import { createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { listen, sendJson, type JsonReply, type Listening } from './helpers/http-server.js';
import { metricValue } from './helpers/metrics.js';
import { expectProblem } from './helpers/problem.js';

const PAYMENT = { amount: 1500, currency: 'EUR', metadata: { order: '1' } } as const;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` holds; bounded, so a condition that never comes fails the test instead of hanging it. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Side effects the processor applied for one processor key (a payment id, or `pay_…:capture`). */
function applied(sim: ProcessorSimulator, kind: 'charge' | 'capture' | 'void' | 'refund', key?: string) {
  const wanted = { charge: OperationKind.CHARGE, capture: OperationKind.CAPTURE, void: OperationKind.VOID, refund: OperationKind.REFUND }[kind];
  return sim.ledger().operations.filter((o) => o.kind === wanted && (key === undefined || o.idempotencyKey === key));
}

/** A fetch answer that is an RFC 9457 problem with this status and code. */
function expectFetchedProblem(res: JsonReply, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(res.body.code).to.equal(code);
  expect(res.body.status).to.equal(status);
}

/** A request whose outcome is awaited later: a rejection is kept, not reported as unhandled. */
function inBackground<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function keyRow(t: TestApp, account: TestAccount, key: string) {
  return t.db('idempotency_keys').where({ account_id: account.id, key }).first();
}

describe('idempotency keys', () => {
  // The processor timeout is long enough for the tests that hold a request inside the processor;
  // the lease (5 s) is longer than any request here, as production requires.
  let t: TestApp;
  let server: Listening;

  before(async function () {
    this.timeout(60_000);
    t = await createTestApp({ processor: { timeoutMs: 3_000 } });
    server = await listen(t.app);
  });
  after(async () => {
    await server?.close();
    await t?.close();
  });
  afterEach(() => t.simulator.reset());

  const auth = (account: TestAccount) => ({ Authorization: `Bearer ${account.secret}` });

  function pay(account: TestAccount, key: string, body: object = PAYMENT) {
    return request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', key).send(body);
  }

  function payOverSocket(account: TestAccount, key: string, body: object = PAYMENT) {
    return sendJson(`${server.url}/v1/payments`, { secret: account.secret, key, body });
  }

  async function paymentRows(account: TestAccount) {
    return t.db('payments').where({ account_id: account.id }).select('*');
  }

  describe('POST /v1/payments', () => {
    it('replays the first response when the same Idempotency-Key is sent twice', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      const first = await pay(account, key);
      expect(first.status, JSON.stringify(first.body)).to.equal(201);
      expect(first.body.status).to.equal('succeeded');
      expect(first.headers['idempotent-replayed']).to.equal('false');

      const second = await pay(account, key);
      expect(second.status).to.equal(201);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(second.body).to.deep.equal(first.body);
      // The same bytes, not only the same value: fields in the same order (metadata included).
      expect(second.text).to.equal(first.text);

      const rows = await paymentRows(account);
      expect(rows.map((r) => r.id)).to.deep.equal([first.body.id]);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
      expect(applied(t.simulator, 'charge', first.body.id)).to.have.length(1);
      const events = await t.db('events').where({ object_id: first.body.id }).select('type');
      expect(events.map((e) => e.type)).to.have.members(['payment.created', 'payment.succeeded']);
    });

    it('treats the same fields in another order as the same request and replays it', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      const first = await pay(account, key, { amount: 2100, currency: 'EUR' });
      expect(first.status).to.equal(201);
      const second = await pay(account, key, { currency: 'EUR', amount: 2100 });
      expect(second.status, JSON.stringify(second.body)).to.equal(201);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(second.body).to.deep.equal(first.body);
      expect(await paymentRows(account)).to.have.length(1);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
    });

    for (const [change, body] of [
      ['amount', { ...PAYMENT, amount: PAYMENT.amount + 1 }],
      ['currency', { ...PAYMENT, currency: 'USD' }],
      ['metadata', { ...PAYMENT, metadata: { order: '2' } }],
    ] as const) {
      it(`refuses the key with 422 idempotency_key_reused when the ${change} differs, creating nothing`, async () => {
        const account = await t.createAccount();
        const key = randomUUID();
        expect((await pay(account, key)).status).to.equal(201);
        const before = await snapshot(t.db);
        const opsBefore = t.simulator.ledger().operations.length;

        const res = await pay(account, key, body);
        expectProblem(res, 422, 'idempotency_key_reused');
        expect(res.headers['idempotent-replayed']).to.equal('false');
        expect(await snapshot(t.db)).to.deep.equal(before);
        expect(t.simulator.ledger().operations).to.have.length(opsBefore);
      });
    }

    it('refuses a key first used for a payment when it comes with a refund (422), creating nothing', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      const payment = await pay(account, key);
      expect(payment.status).to.equal(201);
      const before = await snapshot(t.db);

      const res = await request(t.app).post('/v1/refunds').set(auth(account)).set('Idempotency-Key', key).send({ payment: payment.body.id });
      expectProblem(res, 422, 'idempotency_key_reused');
      expect(await snapshot(t.db)).to.deep.equal(before);
      expect(await t.db('refunds').where({ account_id: account.id })).to.have.length(0);
      expect(applied(t.simulator, 'refund')).to.have.length(0);
    });

    it('scopes keys to the account: the same key in two accounts makes two payments', async () => {
      const [a, b] = [await t.createAccount('A'), await t.createAccount('B')];
      const key = randomUUID();
      const inA = await pay(a, key);
      const inB = await pay(b, key);
      expect(inA.status).to.equal(201);
      expect(inB.status).to.equal(201);
      expect(inB.headers['idempotent-replayed']).to.equal('false');
      expect(inA.body.id).not.to.equal(inB.body.id);
      expect((await paymentRows(a)).map((r) => r.id)).to.deep.equal([inA.body.id]);
      expect((await paymentRows(b)).map((r) => r.id)).to.deep.equal([inB.body.id]);
      expect(applied(t.simulator, 'charge').map((o) => o.idempotencyKey)).to.have.members([inA.body.id, inB.body.id]);
    });

    it('replays a stored 422 referenced_resource_not_found with the replay header, creating nothing on either attempt', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      const body = { ...PAYMENT, customer: 'cus_DoesNotExist0000000000' };
      const first = await pay(account, key, body);
      expectProblem(first, 422, 'referenced_resource_not_found');
      expect(first.headers['idempotent-replayed']).to.equal('false');

      // The account gains a customer meanwhile; the stored answer to this key does not change.
      await request(t.app).post('/v1/customers').set(auth(account)).send({ email: 'late@example.com' }).expect(201);
      const second = await pay(account, key, body);
      expectProblem(second, 422, 'referenced_resource_not_found');
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(second.body.detail).to.equal(first.body.detail);
      expect(await paymentRows(account)).to.have.length(0);
      expect(applied(t.simulator, 'charge')).to.have.length(0);
      const row = await keyRow(t, account, key);
      expect(row).to.include({ recovery_point: 'finished', response_status: 422 });
    });

    it('replays a stored 409 for a refund even after the payment became refundable', async () => {
      const account = await t.createAccount();
      const payment = await pay(account, randomUUID(), { ...PAYMENT, capture_method: 'manual' });
      expect(payment.body.status).to.equal('requires_capture');
      const refundKey = randomUUID();
      const refund = () => request(t.app).post('/v1/refunds').set(auth(account)).set('Idempotency-Key', refundKey).send({ payment: payment.body.id });

      expectProblem(await refund(), 409, 'payment_not_refundable');
      const captured = await request(t.app).post(`/v1/payments/${payment.body.id}/capture`).set(auth(account)).set('Idempotency-Key', randomUUID());
      expect(captured.status, JSON.stringify(captured.body)).to.equal(200);
      expect(captured.body.status).to.equal('succeeded');

      const replay = await refund();
      expectProblem(replay, 409, 'payment_not_refundable');
      expect(replay.headers['idempotent-replayed']).to.equal('true');
      expect(await t.db('refunds').where({ account_id: account.id })).to.have.length(0);
      expect(applied(t.simulator, 'refund')).to.have.length(0);

      // The same refund under a new key is a new request, and now succeeds.
      const fresh = await request(t.app).post('/v1/refunds').set(auth(account)).set('Idempotency-Key', randomUUID()).send({ payment: payment.body.id });
      expect(fresh.status, JSON.stringify(fresh.body)).to.equal(201);
      expect(applied(t.simulator, 'refund')).to.have.length(1);
    });

    it('stores a 422 decided in the first phase once when requests with one key race, and replays it to every other', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      const body = { ...PAYMENT, customer: 'cus_DoesNotExist0000000000' };

      // The first phase runs in the transaction that inserts the key, so its 422 rolls the key back
      // too; the key is then stored finished, and a request that claimed it meanwhile must not
      // leave a second answer behind.
      const replies = await Promise.all(Array.from({ length: 10 }, () => payOverSocket(account, key, body)));
      for (const reply of replies) expectFetchedProblem(reply, 422, 'referenced_resource_not_found');
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'false'), 'answers that are not replays').to.have.length(1);
      expect(new Set(replies.map((r) => r.body.detail)).size).to.equal(1);

      expect(await paymentRows(account)).to.have.length(0);
      expect(await t.db('events').where({ account_id: account.id })).to.have.length(0);
      expect(applied(t.simulator, 'charge')).to.have.length(0);
      const rows = await t.db('idempotency_keys').where({ account_id: account.id }).select('*');
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ key, recovery_point: 'finished', response_status: 422, locked_at: null, lock_token: null });
    });

    it('leaves nothing behind when the first phase fails with a 5xx, and a retry with the key creates the payment once', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      // The database refuses the payment's insert as an overloaded server does (SQLSTATE class 53).
      await t.db.raw("create function refuse_payment() returns trigger language plpgsql as $$ begin raise exception 'refused' using errcode = '53000'; end $$");
      await t.db.raw('create trigger refuse_payment before insert on payments for each row execute function refuse_payment()');
      let failed: Awaited<ReturnType<typeof pay>>;
      try {
        failed = await pay(account, key);
      } finally {
        await t.db.raw('drop trigger refuse_payment on payments');
        await t.db.raw('drop function refuse_payment()');
      }
      expectProblem(failed, 503, 'service_unavailable');
      expect(failed.headers['retry-after']).to.match(/^[1-9]\d*$/);
      // The key went with the phase's transaction: the retry is a first attempt, not a resumption.
      expect(await keyRow(t, account, key)).to.equal(undefined);
      expect(await paymentRows(account)).to.have.length(0);
      expect(await t.db('events').where({ account_id: account.id })).to.have.length(0);

      const retried = await pay(account, key);
      expect(retried.status, JSON.stringify(retried.body)).to.equal(201);
      expect(retried.headers['idempotent-replayed']).to.equal('false');
      expect((await paymentRows(account)).map((r) => r.id)).to.deep.equal([retried.body.id]);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
      expect(applied(t.simulator, 'charge', retried.body.id)).to.have.length(1);
      expect(await keyRow(t, account, key)).to.include({ recovery_point: 'finished', response_status: 201, attempts: 1 });
    });
  });

  describe('a key left at `started` by a claim of its own (the path of operations whose first phase calls the processor)', () => {
    it('is resumed by a retry: the first phase runs under the lease, and the payment is made once', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      // What such a claim leaves when its first phase then fails with a 5xx: the key, unleased.
      await t.db('idempotency_keys').insert({
        account_id: account.id,
        key,
        operation: 'createPayment',
        fingerprint: fingerprint('POST', '/v1/payments', PAYMENT),
        request_method: 'POST',
        request_path: '/v1/payments',
        request_params: JSON.stringify({ body: PAYMENT }),
        recovery_point: 'started',
        attempts: 1,
      });

      const resumed = await pay(account, key);
      expect(resumed.status, JSON.stringify(resumed.body)).to.equal(201);
      expect(resumed.headers['idempotent-replayed']).to.equal('false');
      expect(resumed.body.status).to.equal('succeeded');
      expect((await paymentRows(account)).map((r) => r.id)).to.deep.equal([resumed.body.id]);
      expect(applied(t.simulator, 'charge', resumed.body.id)).to.have.length(1);
      expect(await keyRow(t, account, key)).to.include({ recovery_point: 'finished', response_status: 201, resource_id: resumed.body.id, attempts: 2 });
      const events = await t.db('events').where({ object_id: resumed.body.id }).select('type');
      expect(events.map((e) => e.type)).to.have.members(['payment.created', 'payment.succeeded']);
    });
  });

  describe('what a new payment asks of the database', () => {
    /** `begin`, `commit`, or the verb and table of a statement (`insert payments`). */
    function kindOf(sql: string): string {
      const control = /^(begin|commit|rollback);?$/i.exec(sql.trim());
      if (control) return control[1]!.toLowerCase();
      const write = /^(insert) into "(\w+)"|^(update|delete) (?:from )?"(\w+)"/i.exec(sql);
      if (write) return `${(write[1] ?? write[3])!.toLowerCase()} ${write[2] ?? write[4]}`;
      const read = /^select .*? from "(\w+)"/i.exec(sql);
      return read ? `select ${read[1]}` : sql;
    }

    /** The statements `send` makes, by transaction; authentication's are not counted (a key-cache miss reads the key). */
    async function statementsOf<T>(send: () => Promise<T>): Promise<{ result: T; transactions: string[][]; outside: string[] }> {
      const statements: { tx: string | undefined; kind: string }[] = [];
      const listen = (query: { sql: string; __knexTxId?: string }) => statements.push({ tx: query.__knexTxId, kind: kindOf(query.sql) });
      t.db.on('query', listen);
      let result: T;
      try {
        result = await send();
      } finally {
        t.db.off('query', listen);
      }
      const counted = statements.filter((s) => !s.kind.endsWith(' api_keys'));
      const inside = counted.filter((s) => s.tx !== undefined);
      const transactions = [...new Set(inside.map((s) => s.tx))].map((tx) => inside.filter((s) => s.tx === tx).map((s) => s.kind));
      return { result, transactions, outside: counted.filter((s) => s.tx === undefined).map((s) => s.kind) };
    }

    it('looks the key up, claims it in the first phase\'s transaction and hands the payment to the second: two transactions', async () => {
      const account = await t.createAccount();
      // The first request also verifies the API key; from then on it is served from the key cache.
      expect((await pay(account, randomUUID())).status).to.equal(201);

      const { result: res, transactions, outside } = await statementsOf(() => pay(account, randomUUID()));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(outside, 'statements outside a transaction').to.deep.equal(['select idempotency_keys']);
      expect(transactions).to.deep.equal([
        // Phase `started`: the key, the payment, its event and the recovery point, one commit.
        ['begin', 'insert idempotency_keys', 'insert payments', 'insert events', 'update idempotency_keys', 'commit'],
        // Phase `payment_created`, after the charge: the outcome, its event and the stored response.
        ['begin', 'update payments', 'insert events', 'update idempotency_keys', 'commit'],
      ]);
    });

    it('replays a finished key with one lookup, writing nothing and opening no transaction', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      const first = await pay(account, key);
      expect(first.status, JSON.stringify(first.body)).to.equal(201);

      const { result: res, transactions, outside } = await statementsOf(() => pay(account, key));
      expect(res.status).to.equal(201);
      expect(res.headers['idempotent-replayed']).to.equal('true');
      expect(res.text).to.equal(first.text);
      // The lookup before any transaction finds the key finished and reads its stored answer,
      // without a lock.
      expect(transactions).to.deep.equal([]);
      expect(outside).to.deep.equal(['select idempotency_keys']);
      expect(await paymentRows(account)).to.have.length(1);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
    });
  });

  describe('when the processor cannot answer', () => {
    it('answers 503 with Retry-After, keeps the payment processing, and a retry with the key completes it without a second charge (charge never applied)', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });

      const failed = await pay(account, key);
      expectProblem(failed, 503, 'processor_unavailable');
      expect(failed.headers['retry-after']).to.match(/^[1-9]\d*$/);
      expect(applied(t.simulator, 'charge')).to.have.length(0);

      const rows = await paymentRows(account);
      expect(rows).to.have.length(1);
      const paymentId = rows[0]!.id as string;
      expect(rows[0]).to.include({ status: 'processing', processor_charge_id: null });
      const listed = await request(t.app).get('/v1/payments').query({ status: 'processing' }).set(auth(account));
      expect(listed.status).to.equal(200);
      expect(listed.body.data.map((p: { id: string; status: string }) => [p.id, p.status])).to.deep.equal([[paymentId, 'processing']]);
      const held = await keyRow(t, account, key);
      expect(held).to.include({ recovery_point: 'payment_created', resource_id: paymentId, locked_at: null, lock_token: null, response_status: null });

      t.simulator.setFaults({ errorRate: 0 });
      const retried = await pay(account, key);
      expect(retried.status, JSON.stringify(retried.body)).to.equal(201);
      expect(retried.body).to.include({ id: paymentId, status: 'succeeded', amount_captured: PAYMENT.amount });
      expect(await paymentRows(account)).to.have.length(1);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
      expect(applied(t.simulator, 'charge', paymentId)).to.have.length(1);
      expect(await keyRow(t, account, key)).to.include({ recovery_point: 'finished', response_status: 201, attempts: 2 });
      const events = await t.db('events').where({ object_id: paymentId }).select('type');
      expect(events.map((e) => e.type)).to.have.members(['payment.created', 'payment.succeeded']);
    });

    it('charges once when the processor applied the charge but its answer was lost, and a retry completes the payment', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.AFTER });

      const failed = await pay(account, key);
      expectProblem(failed, 503, 'processor_unavailable');
      expect(failed.headers['retry-after']).to.match(/^[1-9]\d*$/);
      const [row] = await paymentRows(account);
      expect(row).to.include({ status: 'processing' });
      // The processor did move the money: exactly one charge, keyed by the payment id.
      expect(applied(t.simulator, 'charge', row.id)).to.have.length(1);

      t.simulator.setFaults({ errorRate: 0 });
      const replaysBefore = t.simulator.ledger().stats!.replays;
      const retried = await pay(account, key);
      expect(retried.status, JSON.stringify(retried.body)).to.equal(201);
      expect(retried.body).to.include({ id: row.id, status: 'succeeded' });
      expect(Number(t.simulator.ledger().stats!.replays)).to.be.greaterThan(Number(replaysBefore));
      expect(applied(t.simulator, 'charge')).to.have.length(1);
      expect(await paymentRows(account)).to.have.length(1);
    });
  });

  describe('a second request while the first holds the key', () => {
    it('is 409 idempotency_in_flight with Retry-After, and once the first finishes a retry replays it', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      t.simulator.setFaults({ latencyMs: 1_500 });
      const seen = t.simulator.ledger().stats!.requests;

      const first = inBackground(payOverSocket(account, key));
      await waitFor('the first request to reach the processor', () => t.simulator.ledger().stats!.requests > seen);
      const second = await payOverSocket(account, key);
      expectFetchedProblem(second, 409, 'idempotency_in_flight');
      expect(second.headers.get('retry-after')).to.match(/^[1-9]\d*$/);

      const done = await first;
      if (!done.ok) throw done.error;
      expect(done.value.status, JSON.stringify(done.value.body)).to.equal(201);
      expect(done.value.headers.get('idempotent-replayed')).to.equal('false');

      t.simulator.setFaults({ latencyMs: 0 });
      const retry = await payOverSocket(account, key);
      expect(retry.status).to.equal(201);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect(retry.body).to.deep.equal(done.value.body);
      expect(await paymentRows(account)).to.have.length(1);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
    });
  });

  describe('idempotencyJobs.completeAbandoned()', () => {
    it('does not touch a key whose lease is live', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      t.simulator.setFaults({ latencyMs: 1_500 });
      const seen = t.simulator.ledger().stats!.requests;

      const first = inBackground(payOverSocket(account, key));
      await waitFor('the request to reach the processor', () => t.simulator.ledger().stats!.requests > seen);
      const held = await keyRow(t, account, key);
      expect(held).to.include({ recovery_point: 'payment_created', attempts: 1 });
      expect(held.lock_token).to.be.a('string');

      expect(await t.services.idempotencyJobs.completeAbandoned()).to.deep.equal({ resumed: 0, finished: 0 });
      expect(await keyRow(t, account, key)).to.include({ lock_token: held.lock_token, attempts: 1, recovery_point: 'payment_created' });
      expect(t.simulator.ledger().stats!.requests).to.equal(seen + 1n);

      const done = await first;
      if (!done.ok) throw done.error;
      expect(done.value.status, JSON.stringify(done.value.body)).to.equal(201);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
      expect(await paymentRows(account)).to.have.length(1);
    });
  });

  describe('idempotencyJobs.deleteExpired()', () => {
    it('deletes finished keys older than the retention period and keeps newer and unfinished ones', async () => {
      const account = await t.createAccount();
      const [old, recent, young, unfinished] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      for (const key of [old, recent, young]) expect((await pay(account, key)).status).to.equal(201);
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      expectProblem(await pay(account, unfinished), 503, 'processor_unavailable');
      t.simulator.setFaults({ errorRate: 0 });

      // Ages rows by moving their creation time back: this simulates the clock passing the 24 h
      // retention, not any of the logic under test.
      const age = (keys: string[], hours: number) =>
        t.db('idempotency_keys')
          .where({ account_id: account.id })
          .whereIn('key', keys)
          .update({ created_at: t.db.raw(`now() - interval '${hours} hours'`) });
      await age([old, unfinished], 25);
      await age([young], 23);
      const paymentsBefore = await paymentRows(account);

      const expired = () => metricValue(t.metrics, 'remit_idempotency_outcomes_total', { operation: 'createPayment', outcome: 'expired' });
      const expiredBefore = await expired();
      expect(await t.services.idempotencyJobs.deleteExpired()).to.equal(1);
      expect((await expired()) - expiredBefore).to.equal(1);
      const left = await t.db('idempotency_keys').where({ account_id: account.id }).select('key', 'recovery_point');
      expect(left.map((r) => r.key)).to.have.members([recent, young, unfinished]);
      expect(left.find((r) => r.key === unfinished)?.recovery_point).to.equal('payment_created');
      // Only the key goes; the payment it created stays.
      expect(await paymentRows(account)).to.have.length(paymentsBefore.length);
      expect(await t.services.idempotencyJobs.deleteExpired()).to.equal(0);
    });
  });
});

describe('idempotency keys with a short lease', () => {
  // A lease shorter than the processor timeout lets a second attempt take over a request that is
  // still running, which production configuration forbids; here it stands in for a request whose
  // process died after reaching the processor, without killing anything.
  const LEASE_MS = 300;
  let t: TestApp;
  let server: Listening;

  before(async function () {
    this.timeout(60_000);
    t = await createTestApp({ leaseMs: LEASE_MS, processor: { timeoutMs: 3_000, maxRetries: 0 } });
    server = await listen(t.app);
  });
  after(async () => {
    await server?.close();
    await t?.close();
  });
  afterEach(() => t.simulator.reset());

  const payOverSocket = (account: TestAccount, key: string) => sendJson(`${server.url}/v1/payments`, { secret: account.secret, key, body: PAYMENT });

  /** Reads the database clock, which is what decides lease expiry. */
  async function idleLongerThanLease(account: TestAccount, key: string, column: 'locked_at' | 'updated_at'): Promise<boolean> {
    const row = await t.db('idempotency_keys')
      .where({ account_id: account.id, key })
      .first(t.db.raw(`coalesce(${column} < now() - make_interval(secs => ?), true) as idle`, [LEASE_MS / 1000]));
    return row?.idle === true;
  }

  describe('POST /v1/payments', function () {
    this.timeout(20_000);

    it('lets a retry take over once the lease has expired, charging once, and the overtaken request never answers 201', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      // The processor applies the charge and then never answers: the first request is stuck
      // after the money moved, as if its process had died there.
      t.simulator.setFaults({ timeoutRate: 1, faultPoint: FaultPoint.AFTER, hangMs: 60_000 });

      const first = inBackground(payOverSocket(account, key));
      await waitFor('the charge to be applied', () => applied(t.simulator, 'charge').length === 1);
      const paymentId = applied(t.simulator, 'charge')[0]!.idempotencyKey;
      await waitFor('the lease to expire', () => idleLongerThanLease(account, key, 'locked_at'));
      t.simulator.setFaults({ timeoutRate: 0 });

      const resumed = () => metricValue(t.metrics, 'remit_idempotency_outcomes_total', { operation: 'createPayment', outcome: 'resumed' });
      const resumedBefore = await resumed();
      const takeover = await payOverSocket(account, key);
      expect(takeover.status, JSON.stringify(takeover.body)).to.equal(201);
      expect((await resumed()) - resumedBefore, 'the retry counted as resuming the abandoned attempt').to.equal(1);
      expect(takeover.body).to.include({ id: paymentId, status: 'succeeded' });

      const overtaken = await first;
      if (!overtaken.ok) throw overtaken.error;
      expect(overtaken.value.status, JSON.stringify(overtaken.value.body)).to.be.oneOf([409, 503]);
      expectFetchedProblem(overtaken.value, overtaken.value.status, overtaken.value.status === 409 ? 'idempotency_in_flight' : 'processor_unavailable');

      expect(applied(t.simulator, 'charge')).to.have.length(1);
      const rows = await t.db('payments').where({ account_id: account.id }).select('id', 'status');
      expect(rows).to.deep.equal([{ id: paymentId, status: 'succeeded' }]);
      // The overtaken request's failure did not undo the answer the takeover recorded.
      const row = await t.db('idempotency_keys').where({ account_id: account.id, key }).first();
      expect(row).to.include({ recovery_point: 'finished', response_status: 201, locked_at: null });
      expect(row.response_body.id).to.equal(paymentId);

      const retry = await payOverSocket(account, key);
      expect(retry.status).to.equal(201);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect(retry.body).to.deep.equal(takeover.body);
      expect(applied(t.simulator, 'charge')).to.have.length(1);
    });
  });

  describe('idempotencyJobs.completeAbandoned()', () => {
    it('completes a payment whose client never retried after a 503, and a later retry replays it', async () => {
      const account = await t.createAccount();
      const key = randomUUID();
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      const failed = await payOverSocket(account, key);
      expectFetchedProblem(failed, 503, 'processor_unavailable');
      t.simulator.setFaults({ errorRate: 0 });

      const [processing] = await t.db('payments').where({ account_id: account.id }).select('id', 'status');
      expect(processing).to.deep.include({ status: 'processing' });
      await waitFor('the key to sit idle for longer than the lease', () => idleLongerThanLease(account, key, 'updated_at'));
      expect(applied(t.simulator, 'charge')).to.have.length(0);

      const recovered = () => metricValue(t.metrics, 'remit_idempotency_outcomes_total', { operation: 'createPayment', outcome: 'recovered' });
      const recoveredBefore = await recovered();
      expect(await t.services.idempotencyJobs.completeAbandoned()).to.deep.equal({ resumed: 1, finished: 1 });
      // The round counted its backlog before working it off, and counted the key it finished.
      expect(await metricValue(t.metrics, 'remit_idempotency_unfinished_keys')).to.equal(1);
      expect((await recovered()) - recoveredBefore).to.equal(1);
      const payment = await t.db('payments').where({ id: processing.id }).first();
      expect(payment).to.include({ status: 'succeeded', amount_captured: PAYMENT.amount });
      expect(applied(t.simulator, 'charge', processing.id)).to.have.length(1);
      expect(await t.db('idempotency_keys').where({ account_id: account.id, key }).first()).to.include({
        recovery_point: 'finished',
        response_status: 201,
        locked_at: null,
      });
      const events = await t.db('events').where({ object_id: processing.id }).select('type');
      expect(events.map((e) => e.type)).to.have.members(['payment.created', 'payment.succeeded']);

      const retry = await payOverSocket(account, key);
      expect(retry.status).to.equal(201);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect(retry.body).to.include({ id: processing.id, status: 'succeeded' });

      // Nothing is left to complete, so a second round moves no money.
      expect(await t.services.idempotencyJobs.completeAbandoned()).to.deep.equal({ resumed: 0, finished: 0 });
      expect(applied(t.simulator, 'charge')).to.have.length(1);
      expect(await metricValue(t.metrics, 'remit_idempotency_unfinished_keys')).to.equal(0);
      expect((await recovered()) - recoveredBefore).to.equal(1);
    });
  });
});
