/**
 * Exactly-once under real concurrency: many requests in flight at once over real sockets, against
 * one API instance and against two instances sharing a database and a processor — two
 * operating-system processes (`src/main.ts`) on PostgreSQL; on PGlite, which one process opens at a
 * time, two app instances in this process sharing the one embedded database. Whatever the
 * interleaving, one key moves money once, counted in the processor's ledger and in the database:
 * - 50 identical requests with one key: one payment, one charge, and the answer replayed afterwards
 *   on every instance;
 * - 20 keys each sent 3 times, all at once: 20 payments, 20 charges, 20 finished keys;
 * - 30 captures of one payment under 30 different keys, across both instances: one 200, the rest
 *   409 payment_not_capturable, one capture at the processor.
 * Each test prints its status counts.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Db } from '../src/platform/db.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../src/processor/simulator/server.js';
import { OperationKind } from '../generated/processor/processor_pb.js';
import { createSharedStorage, spawnApi, type ApiProcess } from './helpers/api-process.js';
import { ADMIN_TOKEN, createTestApp, openSharedDatabase, storageUnderTest, type TestAccount, type TestApp } from './helpers/app.js';
import { listen, sendJson, type JsonReply, type Listening } from './helpers/http-server.js';

/** Where an API instance listens. */
interface Instance {
  readonly url: string;
}

const noDrop = async () => {};

function countStatuses(replies: readonly JsonReply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of replies) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/**
 * Every answer to one key is its payment (fresh once, replayed otherwise) or an in-flight conflict
 * to retry; returns the payment id.
 */
function expectOneOutcome(replies: readonly JsonReply[]): string {
  for (const r of replies) {
    expect(r.status, JSON.stringify(r.body)).to.be.oneOf([201, 409]);
    if (r.status === 409) {
      expect(r.body.code).to.equal('idempotency_in_flight');
      expect(r.headers.get('retry-after')).to.match(/^[1-9]\d*$/);
    }
  }
  const created = replies.filter((r) => r.status === 201);
  expect(created, 'at least one 201').to.have.length.greaterThan(0);
  const ids = new Set(created.map((r) => r.body.id as string));
  expect([...ids]).to.have.length(1);
  for (const r of created) expect(r.body.status).to.equal('succeeded');
  // Exactly one answer is the original; every other 201 says it is a replay.
  expect(created.filter((r) => r.headers.get('idempotent-replayed') === 'false')).to.have.length(1);
  for (const r of created) expect(r.headers.get('idempotent-replayed')).to.be.oneOf(['false', 'true']);
  return [...ids][0]!;
}

describe('idempotency under concurrency', function () {
  this.timeout(60_000);

  let simulator: ProcessorSimulator;
  let database: Awaited<ReturnType<typeof openSharedDatabase>>;
  let a: TestApp;
  let b: TestApp;
  let serverA: Listening;
  let serverB: Listening;

  before(async function () {
    this.timeout(120_000);
    simulator = await startProcessorSimulator();
    database = await openSharedDatabase();
    a = await createTestApp({ simulator, database: { db: database.first, drop: noDrop } });
    b = await createTestApp({ simulator, database: { db: database.second, drop: noDrop } });
    serverA = await listen(a.app);
    serverB = await listen(b.app);
  });
  after(async () => {
    await serverA?.close();
    await serverB?.close();
    await a?.close();
    await b?.close();
    await database?.drop();
    await simulator?.close();
  });
  beforeEach(() => simulator.reset());

  const post = (server: Instance, account: TestAccount, path: string, key: string, body?: unknown) =>
    sendJson(`${server.url}${path}`, { secret: account.secret, key, body });

  const charges = () => simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE);

  async function expectOnePayment(db: Db, account: TestAccount, paymentId: string, amount: number): Promise<void> {
    const rows = await db('payments').where({ account_id: account.id }).select('id', 'status', 'amount');
    expect(rows).to.deep.equal([{ id: paymentId, status: 'succeeded', amount }]);
    expect(charges().map((o) => o.idempotencyKey)).to.deep.equal([paymentId]);
    const events = await db('events').where({ object_id: paymentId }).select('type');
    expect(events.map((e) => e.type)).to.have.members(['payment.created', 'payment.succeeded']);
  }

  /** 50 identical requests with one key, all at once, `servers` taking turns; then a retry on each server. */
  async function oneKeyAtOnce(db: Db, account: TestAccount, servers: readonly Instance[], label: string, body: { amount: number; currency: string; metadata?: Record<string, string> }): Promise<void> {
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => post(servers[i % servers.length]!, account, '/v1/payments', key, body)));

    console.log(`      50 × one key, ${label}: ${JSON.stringify(countStatuses(replies))}`);
    const paymentId = expectOneOutcome(replies);
    await expectOnePayment(db, account, paymentId, body.amount);

    for (const server of servers) {
      const retry = await post(server, account, '/v1/payments', key, body);
      expect(retry.status).to.equal(201);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect(retry.body.id).to.equal(paymentId);
    }
    expect(charges()).to.have.length(1);
  }

  /** 20 keys, each sent 3 times, all 60 requests at once; `servers` take turns. */
  async function manyKeysAtOnce(db: Db, account: TestAccount, servers: readonly Instance[], label: string): Promise<void> {
    const keys = Array.from({ length: 20 }, () => randomUUID());
    const sends = [0, 1, 2].flatMap((round) =>
      keys.map((key, i) => ({ key, i, server: servers[(round * keys.length + i) % servers.length]! })),
    );
    const replies = await Promise.all(sends.map(({ server, key, i }) => post(server, account, '/v1/payments', key, { amount: 1_000 + i, currency: 'EUR' })));

    console.log(`      ${label}, 20 keys × 3: ${JSON.stringify(countStatuses(replies))}`);
    const paymentIds = keys.map((key) => expectOneOutcome(replies.filter((_, n) => sends[n]!.key === key)));
    expect(new Set(paymentIds).size).to.equal(20);
    const rows = await db('payments').where({ account_id: account.id }).select('id', 'amount', 'status');
    expect(rows).to.have.length(20);
    for (const [i, id] of paymentIds.entries()) expect(rows.find((r) => r.id === id)).to.deep.equal({ id, amount: 1_000 + i, status: 'succeeded' });
    const charged = charges().map((o) => o.idempotencyKey);
    expect(charged).to.have.length(20);
    expect(charged).to.have.members(paymentIds);
    const keyRows = await db('idempotency_keys').where({ account_id: account.id }).select('key', 'resource_id', 'recovery_point');
    expect(keyRows).to.have.length(20);
    for (const [i, key] of keys.entries()) {
      expect(keyRows.find((r) => r.key === key)).to.deep.include({ resource_id: paymentIds[i], recovery_point: 'finished' });
    }
  }

  describe('one API instance', () => {
    it('makes exactly one payment from 50 concurrent identical requests with one key', async () => {
      await oneKeyAtOnce(a.db, await a.createAccount(), [serverA], 'one instance', { amount: 4_200, currency: 'EUR', metadata: { order: 'race' } });
    });

    it('makes exactly one payment per key when 20 keys are each sent 3 times at once', async () => {
      await manyKeysAtOnce(a.db, await a.createAccount(), [serverA], 'one instance');
    });
  });

  const processes = storageUnderTest() === 'postgres';
  const label = processes ? 'two processes' : 'two instances';
  describe(processes ? 'two API processes sharing PostgreSQL and a processor' : 'two API instances sharing the embedded database and a processor', () => {
    let one: Instance;
    let two: Instance;
    let db: Db;
    let newAccount: () => Promise<TestAccount>;
    let cleanup: (() => Promise<void>) | undefined;

    before(async function () {
      this.timeout(120_000);
      if (!processes) {
        [one, two, db] = [serverA, serverB, a.db];
        newAccount = () => a.createAccount();
        return;
      }
      const storage = await createSharedStorage();
      const spawned: ApiProcess[] = [];
      cleanup = async () => {
        await Promise.all(spawned.map((p) => p.stop('SIGTERM')));
        await db?.destroy();
        await storage.drop();
      };
      // Quotas are not under test here: 50 requests of one key must all reach the idempotency layer.
      const env = { ...storage.env, PROCESSOR_URL: simulator.url, RATE_LIMITS_ENABLED: 'false' };
      const first = await spawnApi(env);
      spawned.push(first);
      const second = await spawnApi(env);
      spawned.push(second);
      [one, two] = [first, second];
      db = storage.open();
      newAccount = async () => {
        const res = await sendJson(`${one.url}/admin/accounts`, { secret: ADMIN_TOKEN, body: { name: 'race' } });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return { id: res.body.account.id, secret: res.body.api_key.secret, keyId: res.body.api_key.id };
      };
    });
    after(() => cleanup?.());

    it('makes exactly one payment from 50 concurrent requests with one key split across both', async () => {
      await oneKeyAtOnce(db, await newAccount(), [one, two], label, { amount: 4_300, currency: 'EUR' });
    });

    it('makes exactly one payment per key when 20 keys are each sent 3 times at once across both', async () => {
      await manyKeysAtOnce(db, await newAccount(), [one, two], label);
    });

    it('captures once when 30 captures with different keys race for one payment', async () => {
      const account = await newAccount();
      const created = await post(one, account, '/v1/payments', randomUUID(), { amount: 7_700, currency: 'EUR', capture_method: 'manual' });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.status).to.equal('requires_capture');
      const id = created.body.id as string;

      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => post(i % 2 === 0 ? one : two, account, `/v1/payments/${id}/capture`, randomUUID())),
      );
      console.log(`      30 captures, 30 keys: ${JSON.stringify(countStatuses(replies))}`);

      // Different keys are different requests, so no answer is a replay or an in-flight conflict:
      // one capture wins, and every other one finds the payment no longer capturable.
      for (const r of replies) expect(r.status, JSON.stringify(r.body)).to.be.oneOf([200, 409]);
      const won = replies.filter((r) => r.status === 200);
      expect(won).to.have.length(1);
      expect(won[0]!.body).to.include({ id, status: 'succeeded', amount_captured: 7_700 });
      for (const r of replies.filter((x) => x.status === 409)) expect(r.body.code).to.equal('payment_not_capturable');

      const captures = simulator.ledger().operations.filter((o) => o.kind === OperationKind.CAPTURE);
      expect(captures.map((o) => o.idempotencyKey)).to.deep.equal([`${id}:capture`]);
      const succeeded = await db('events').where({ object_id: id, type: 'payment.succeeded' }).select('id');
      expect(succeeded).to.have.length(1);
      expect(await db('payments').where({ id }).first()).to.include({ status: 'succeeded', amount_captured: 7_700 });
    });
  });
});
