/**
 * The API under a failing processor: errors, dropped connections and hangs, before or after the
 * processor applies the charge. Whatever the processor does, a client that retries with the same
 * Idempotency-Key ends up with one payment and one charge per key, and the API answers honestly
 * (503 processor_unavailable with Retry-After) rather than with a 500:
 * - 100 payments, 10 at a time over real sockets, with 30 % of processor calls faulted (a seeded
 *   mix of the three kinds): every key ends in a succeeded payment with its two events, charged
 *   exactly once, and no answer is a 500 or off the contract; a table of the counts is printed;
 * - the circuit breaker opens after consecutive failures (requests then fail fast with 503, each
 *   payment left `processing` with its key free for a retry, and `/ready` stays 200 with
 *   `processor: degraded`) and closes once the processor recovers;
 * - one API request spends exactly maxRetries + 1 processor requests when every attempt fails, and
 *   the key retried after the processor recovers charges once.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { FaultPoint, OperationKind } from '../generated/processor/processor_pb.js';
import { redisCheck } from './helpers/redis.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(t: TestApp): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(t.app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function chargeCounts(t: TestApp): Map<string, number> {
  const counts = new Map<string, number>();
  for (const op of t.simulator.ledger().operations) {
    if (op.kind === OperationKind.CHARGE) counts.set(op.idempotencyKey, (counts.get(op.idempotencyKey) ?? 0) + 1);
  }
  return counts;
}

describe('payments under processor faults', function () {
  this.timeout(120_000);

  describe('with 30 % of processor calls failing (errors, drops and hangs, before or after the charge)', () => {
    const N = 100;
    const CONCURRENCY = 10;
    const MAX_ATTEMPTS = 10;
    // Retry-After is honoured but capped, so a hundred clients finish in seconds.
    const RETRY_AFTER_CAP_MS = 50;

    let t: TestApp;
    let account: TestAccount;
    let server: { url: string; close: () => Promise<void> };

    before(async () => {
      // Breaker threshold high: this test is about retries and keys, not about failing fast.
      t = await createTestApp({ processor: { timeoutMs: 200, maxRetries: 2, breakerThreshold: 50 } });
      account = await t.createAccount();
      server = await listen(t);
    });
    after(async () => {
      await server?.close();
      await t?.close();
    });

    it('charges each of 100 payments exactly once, never answers 500, and every payment ends succeeded', async () => {
      t.simulator.setFaults({ errorRate: 0.1, dropRate: 0.1, timeoutRate: 0.1, faultPoint: FaultPoint.RANDOM, hangMs: 60_000, seed: 42n });

      const statuses = new Map<number, number>();
      const offContract: string[] = [];
      const final = new Map<string, { status: number; body: Record<string, unknown> }>();

      async function pay(i: number): Promise<void> {
        const key = `fault-${i}`;
        // 1000..1099: none ends in 402, so none is declined.
        const body = JSON.stringify({ amount: 1_000 + i, currency: 'EUR', metadata: { i: String(i) } });
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
          const res = await fetch(`${server.url}/v1/payments`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${account.secret}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
            body,
            signal: AbortSignal.timeout(20_000),
          });
          const json = (await res.json()) as Record<string, unknown>;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          final.set(key, { status: res.status, body: json });
          if (res.status === 201) return;
          const retryAfter = res.headers.get('retry-after');
          const expectedCode = res.status === 503 ? 'processor_unavailable' : res.status === 409 ? 'idempotency_in_flight' : undefined;
          if (expectedCode === undefined || json.code !== expectedCode || retryAfter === null || !/^[1-9]\d*$/.test(retryAfter)) {
            offContract.push(`${key} attempt ${attempt}: ${res.status} retry-after=${retryAfter} ${JSON.stringify(json)}`);
            return;
          }
          await sleep(Math.min(Number(retryAfter) * 1_000, RETRY_AFTER_CAP_MS));
        }
      }

      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < N) await pay(next++);
        }),
      );

      const ledger = t.simulator.ledger();
      const charges = chargeCounts(t);
      console.table({
        'payments (keys)': N,
        'API requests sent': [...statuses.values()].reduce((a, b) => a + b, 0),
        'API 201': statuses.get(201) ?? 0,
        'API 503': statuses.get(503) ?? 0,
        'API 409': statuses.get(409) ?? 0,
        'API other': [...statuses].filter(([s]) => ![201, 503, 409].includes(s)).reduce((a, [, n]) => a + n, 0),
        'processor requests': ledger.stats!.requests,
        'processor replays': ledger.stats!.replays,
        'faults: error': ledger.stats!.faults!.error,
        'faults: drop': ledger.stats!.faults!.drop,
        'faults: timeout': ledger.stats!.faults!.timeout,
        'ledger charges': [...charges.values()].reduce((a, b) => a + b, 0),
      });

      expect(offContract, 'answers other than 201, 503 processor_unavailable or 409 idempotency_in_flight with Retry-After').to.deep.equal([]);
      expect(statuses.get(500) ?? 0).to.equal(0);
      // The faults really happened, of every kind.
      expect(Number(ledger.stats!.faults!.error)).to.be.greaterThan(0);
      expect(Number(ledger.stats!.faults!.drop)).to.be.greaterThan(0);
      expect(Number(ledger.stats!.faults!.timeout)).to.be.greaterThan(0);

      const unfinished = [...final].filter(([, r]) => r.status !== 201).map(([k, r]) => `${k}: ${r.status}`);
      expect(unfinished, `keys without a 201 after ${MAX_ATTEMPTS} attempts`).to.deep.equal([]);
      expect(final.size).to.equal(N);
      for (const { body } of final.values()) expect(body.status).to.equal('succeeded');

      // One payment per key, and the key's response names it.
      const payments = await t.db('payments').where({ account_id: account.id });
      expect(payments).to.have.length(N);
      expect(payments.filter((p) => p.status !== 'succeeded').map((p) => `${p.id} ${p.status}`)).to.deep.equal([]);
      const keys = await t.db('idempotency_keys').where({ account_id: account.id });
      expect(keys).to.have.length(N);
      for (const k of keys) {
        expect(k.recovery_point, k.key).to.equal('finished');
        expect(k.resource_id, k.key).to.equal(final.get(k.key)!.body.id);
      }
      expect(new Set(keys.map((k) => k.resource_id)).size).to.equal(N);

      // One charge per payment, keyed by the payment id: no duplicate however often it was retried.
      expect([...charges.values()].reduce((a, b) => a + b, 0)).to.equal(N);
      expect([...charges.values()].filter((n) => n !== 1)).to.deep.equal([]);
      expect([...charges.keys()].sort()).to.deep.equal(payments.map((p) => p.id).sort());

      // And exactly two events per payment, in order.
      const events = await t.db('events').where({ account_id: account.id }).orderBy('seq');
      const byPayment = new Map<string, string[]>();
      for (const e of events) byPayment.set(e.object_id, [...(byPayment.get(e.object_id) ?? []), e.type]);
      expect(byPayment.size).to.equal(N);
      for (const [id, types] of byPayment) expect(types, id).to.deep.equal(['payment.created', 'payment.succeeded']);
    });
  });

  describe('circuit breaker', () => {
    let t: TestApp;
    let account: TestAccount;

    before(async () => {
      t = await createTestApp({ processor: { timeoutMs: 200, maxRetries: 0, breakerThreshold: 3, breakerHalfOpenMs: 300 } });
      account = await t.createAccount();
    });
    after(() => t?.close());

    const pay = (key: string) =>
      request(t.app).post('/v1/payments').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', key).send({ amount: 2_500, currency: 'EUR' });

    it('opens after consecutive failures so requests fail fast with 503, keeps /ready at 200 with processor degraded, and closes once the processor recovers', async () => {
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      const deltas: number[] = [];
      for (let i = 0; i < 10; i++) {
        const before = t.simulator.ledger().stats!.requests;
        const res = await pay(`breaker-${i}`);
        expectProblem(res, 503, 'processor_unavailable');
        expect(Number(res.headers['retry-after'])).to.be.at.least(1);
        deltas.push(Number(t.simulator.ledger().stats!.requests - before));
        if (deltas.at(-1) === 0) break;
      }
      // Three failures reach the processor; the fourth request is refused without calling it.
      expect(deltas).to.deep.equal([1, 1, 1, 0]);

      const degraded = await request(t.app).get('/ready');
      expect(degraded.status).to.equal(200);
      expect(degraded.body).to.deep.equal({ status: 'ready', checks: { database: 'up', processor: 'degraded', ...redisCheck(t) } });

      // Every refused payment stays processing with its key released, ready for a retry.
      const payments = await t.db('payments').where({ account_id: account.id });
      expect(payments.map((p) => p.status)).to.deep.equal(['processing', 'processing', 'processing', 'processing']);
      const keys = await t.db('idempotency_keys').where({ account_id: account.id });
      for (const k of keys) expect({ point: k.recovery_point, locked: k.locked_at }).to.deep.equal({ point: 'payment_created', locked: null });

      t.simulator.setFaults({ errorRate: 0 });
      await sleep(400);
      const before = t.simulator.ledger().stats!.requests;
      const ok = await pay('breaker-after');
      expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
      expect(ok.body.status).to.equal('succeeded');
      expect(t.simulator.ledger().stats!.requests - before).to.equal(1n);

      const up = await request(t.app).get('/ready');
      expect(up.status).to.equal(200);
      expect(up.body).to.deep.equal({ status: 'ready', checks: { database: 'up', processor: 'up', ...redisCheck(t) } });

      const ledger = t.simulator.ledger();
      console.table({
        'API requests': deltas.length + 1,
        'processor requests per API request while failing': deltas.join(', '),
        'processor requests': ledger.stats!.requests,
        'faults: error': ledger.stats!.faults!.error,
        'ledger charges': ledger.operations.filter((o) => o.kind === OperationKind.CHARGE).length,
      });
    });
  });

  describe('retry budget', () => {
    let t: TestApp;
    let account: TestAccount;
    const KEY = 'budget-1';
    const BODY = { amount: 3_100, currency: 'EUR' };

    before(async () => {
      t = await createTestApp({ processor: { timeoutMs: 200, maxRetries: 2, breakerThreshold: 50 } });
      account = await t.createAccount();
    });
    after(() => t?.close());

    const pay = () => request(t.app).post('/v1/payments').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', KEY).send(BODY);

    it('spends exactly maxRetries + 1 processor requests on one API request when every attempt fails, then answers 503', async () => {
      t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      const before = t.simulator.ledger().stats!.requests;
      const res = await pay();
      expectProblem(res, 503, 'processor_unavailable');
      expect(Number(res.headers['retry-after'])).to.be.at.least(1);
      expect(t.simulator.ledger().stats!.requests - before).to.equal(3n);
      expect(t.simulator.ledger().operations).to.deep.equal([]);

      const key = await t.db('idempotency_keys').where({ account_id: account.id, key: KEY }).first();
      expect(key).to.include({ recovery_point: 'payment_created', locked_at: null, response_status: null });
      const payment = await t.db('payments').where({ id: key.resource_id }).first();
      expect(payment.status).to.equal('processing');
    });

    it('charges once when the same key is retried after the processor recovers', async () => {
      t.simulator.setFaults({ errorRate: 0 });
      const key = await t.db('idempotency_keys').where({ account_id: account.id, key: KEY }).first();
      const res = await pay();
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.headers['idempotent-replayed']).to.equal('false');
      expect(res.body).to.include({ id: key.resource_id, status: 'succeeded' });
      expect(t.simulator.ledger().operations.map((o) => [o.kind, o.idempotencyKey])).to.deep.equal([[OperationKind.CHARGE, key.resource_id]]);
      const payments = await t.db('payments').where({ account_id: account.id });
      expect(payments).to.have.length(1);
    });
  });
});
