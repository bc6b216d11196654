/**
 * Crash recovery with real process kills: the API runs as its own process (`src/main.ts`), the
 * processor records a charge but its answer never arrives, and the process is killed with SIGKILL
 * at that moment — after the money moved, before the payment's outcome was committed. A second
 * process on the same storage must finish the payment without charging again, whether the client
 * retries or not: a retry while the killed process's lease is live gets a 409 idempotency_in_flight
 * with Retry-After and no processor call; once the lease expires the retry completes the same
 * payment (201, events created then succeeded) with the one charge, and later retries replay it.
 * Without any retry, the new process's background completer finishes it.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import type { Db } from '../src/platform/db.js';
import { worstProcessorCallMs } from '../src/platform/config.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../src/processor/simulator/server.js';
import { FaultPoint, OperationKind } from '../generated/processor/processor_pb.js';
import { call, createSharedStorage, spawnApi, sleep, waitFor, type ApiProcess, type Reply, type SharedStorage } from './helpers/api-process.js';
import { ADMIN_TOKEN, createTestApp } from './helpers/app.js';

const PROCESSOR_TIMEOUT_MS = 3_000;
const PROCESSOR_MAX_RETRIES = 0;
// The configuration demands a lease above twice the longest processor call (6 s here). A few
// seconds more leave room to send a retry while the dead process's lease still holds, yet keep
// the wait for it to expire short.
const LEASE_MS = 2 * worstProcessorCallMs(PROCESSOR_TIMEOUT_MS, PROCESSOR_MAX_RETRIES) + 4_000;
// Never fires during a test: the retry, not the completer, must be what resumes the payment.
const COMPLETER_OFF_MS = 3_600_000;
const COMPLETER_FAST_MS = 200;

const PAYMENT = { amount: 4_200, currency: 'EUR', description: 'crash test' };

/** The payment's event types in the order they happened (the API lists newest first). */
async function eventTypes(base: string, secret: string, paymentId: string): Promise<string[]> {
  const res = await call(base, 'GET', `/v1/events?object_id=${paymentId}&limit=100`, { secret });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return (res.body.data as { type: string }[]).map((e) => e.type).reverse();
}

function charges(sim: ProcessorSimulator) {
  return sim.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE);
}

/** One crash: storage, simulator, the first process and what it left behind. */
class CrashScene {
  sim!: ProcessorSimulator;
  storage!: SharedStorage;
  db: Db | undefined;
  readonly processes: ApiProcess[] = [];
  readonly key = `crash-${randomUUID()}`;
  secret = '';
  accountId = '';
  /** How the client's request ended when the process died. */
  clientOutcome: 'answered' | 'connection lost' = 'answered';

  env(completerIntervalMs: number): Record<string, string> {
    return {
      ...this.storage.env,
      PROCESSOR_URL: this.sim.url,
      PROCESSOR_TIMEOUT_MS: String(PROCESSOR_TIMEOUT_MS),
      PROCESSOR_MAX_RETRIES: String(PROCESSOR_MAX_RETRIES),
      IDEMPOTENCY_LEASE_MS: String(LEASE_MS),
      IDEMPOTENCY_JOB_INTERVAL_MS: String(completerIntervalMs),
    };
  }

  async start(completerIntervalMs: number): Promise<ApiProcess> {
    // On PGlite only one process may hold the data directory.
    if (this.db) {
      await this.db.destroy();
      this.db = undefined;
    }
    const api = await spawnApi(this.env(completerIntervalMs));
    this.processes.push(api);
    return api;
  }

  /** Charges at the processor through a first process, and kills it before the answer arrives. */
  async crash(): Promise<void> {
    this.sim = await startProcessorSimulator();
    this.storage = await createSharedStorage();
    const first = await this.start(COMPLETER_OFF_MS);
    const created = await call(first.url, 'POST', '/admin/accounts', { secret: ADMIN_TOKEN, body: { name: 'Crash test' } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    this.secret = (created.body.api_key as { secret: string }).secret;
    this.accountId = (created.body.account as { id: string }).id;

    // The charge is applied, then the answer is withheld: the process waits on the processor.
    this.sim.setFaults({ timeoutRate: 1, faultPoint: FaultPoint.AFTER, hangMs: 60_000 });
    const pending = call(first.url, 'POST', '/v1/payments', { secret: this.secret, key: this.key, body: PAYMENT }).then(
      () => 'answered' as const,
      () => 'connection lost' as const,
    );
    await waitFor('the processor to record the charge', () => (charges(this.sim).length > 0 ? true : undefined), 10_000, 5);
    await first.stop('SIGKILL');
    this.clientOutcome = await pending;
    this.sim.setFaults({ timeoutRate: 0 });
    this.db = this.storage.open();
  }

  async keyRow() {
    return this.db!('idempotency_keys').where({ account_id: this.accountId, key: this.key }).first();
  }

  /** Milliseconds of the key's lease left, by the database's clock (negative once expired). */
  async leaseLeftMs(): Promise<number> {
    const row = await this.db!('idempotency_keys')
      .select(this.db!.raw('extract(epoch from (locked_at + make_interval(secs => ?) - now())) * 1000 as left_ms', [LEASE_MS / 1000]))
      .where({ account_id: this.accountId, key: this.key })
      .first();
    return Number(row.left_ms);
  }

  async close(): Promise<void> {
    // With REMIT_CHILD_LOG_LEVEL set, the processes' logs are worth seeing.
    if (process.env.REMIT_CHILD_LOG_LEVEL) for (const api of this.processes) console.log(api.output());
    for (const api of this.processes) await api.stop('SIGKILL');
    await this.db?.destroy();
    await this.sim?.close();
    await this.storage?.drop();
  }
}

describe('crash between the processor call and the commit', function () {
  // Each scene starts two API processes and waits out a lease; generous bounds for slow machines.
  this.timeout(180_000);

  describe('POST /v1/payments retried by the client after the process was killed', () => {
    const scene = new CrashScene();
    let paymentId = '';
    /** When the dead process's lease ends, on this process's clock. */
    let leaseEndsAt = 0;
    let resumed: Reply | undefined;

    before(async () => {
      await scene.crash();
      // Read the clock after the query returns: the query's own `now()` is the later of the two,
      // so the estimate errs towards a lease that ends later, never earlier.
      const leftMs = await scene.leaseLeftMs();
      leaseEndsAt = Date.now() + leftMs;
    });
    after(() => scene.close());

    it('leaves the payment processing, the key locked at payment_created and one charge at the processor', async () => {
      // The client never got an answer: the process died holding its request.
      expect(scene.clientOutcome).to.equal('connection lost');
      const db = scene.db!;
      const payments = await db('payments').where({ account_id: scene.accountId });
      expect(payments).to.have.length(1);
      const payment = payments[0];
      paymentId = payment.id;
      expect(payment.status).to.equal('processing');
      expect(payment.processor_charge_id).to.equal(null);

      const key = await scene.keyRow();
      expect(key).to.include({ recovery_point: 'payment_created', resource_id: paymentId, response_status: null, attempts: 1 });
      expect(key.locked_at, 'the dead process still holds the lease').to.not.equal(null);
      expect(key.lock_token).to.be.a('string');

      const events = await db('events').where({ object_id: paymentId }).orderBy('seq');
      expect(events.map((e) => e.type)).to.deep.equal(['payment.created']);

      const ops = charges(scene.sim);
      expect(ops).to.have.length(1);
      expect(ops[0]!.idempotencyKey).to.equal(paymentId);
    });

    it('answers a retry within the lease of the killed process with 409 idempotency_in_flight and Retry-After, without calling the processor', async () => {
      // Asked of an instance opened on the same storage right after the kill, while the lease
      // still holds by the database clock (the clock the API itself goes by).
      const t = await createTestApp({ simulator: scene.sim, database: { db: scene.db!, drop: async () => {} }, leaseMs: LEASE_MS });
      const before = await scene.keyRow();
      const requestsBefore = scene.sim.ledger().stats!.requests;
      try {
        const leftMs = await scene.leaseLeftMs();
        if (leftMs < 1_000) {
          // Too late to be sure the request arrives within the lease (a very slow machine).
          console.log(`      (only ${Math.round(leftMs)} ms of the lease left; the in-lease retry was not sent)`);
          return;
        }
        const res = await request(t.app).post('/v1/payments').set('Authorization', `Bearer ${scene.secret}`).set('Idempotency-Key', scene.key).send(PAYMENT);
        expect(res.status, JSON.stringify(res.body)).to.equal(409);
        expect(res.body.code).to.equal('idempotency_in_flight');
        expect(res.headers['retry-after']).to.equal('1');
      } finally {
        await t.close();
      }
      expect(scene.sim.ledger().stats!.requests).to.equal(requestsBefore);
      const after = await scene.keyRow();
      expect(after).to.deep.equal(before);
    });

    it('resumes a retry in a new process once the lease expires: 201 succeeded, same payment, one charge, events created then succeeded', async () => {
      const second = await scene.start(COMPLETER_OFF_MS);

      // The new process may come up while the lease still holds; then it too must refuse.
      if (Date.now() < leaseEndsAt - 1_000) {
        const early = await call(second.url, 'POST', '/v1/payments', { secret: scene.secret, key: scene.key, body: PAYMENT });
        expect(early.status, JSON.stringify(early.body)).to.equal(409);
        expect(early.body.code).to.equal('idempotency_in_flight');
        expect(early.headers.get('retry-after')).to.equal('1');
      } else {
        console.log('      (the second process came up too close to the end of the lease for an in-lease retry against it)');
      }

      const wait = leaseEndsAt + 500 - Date.now();
      if (wait > 0) await sleep(wait);
      const requestsBefore = scene.sim.ledger().stats!.requests;
      resumed = await call(second.url, 'POST', '/v1/payments', { secret: scene.secret, key: scene.key, body: PAYMENT });
      expect(resumed.status, JSON.stringify(resumed.body)).to.equal(201);
      expect(resumed.body).to.include({ id: paymentId, status: 'succeeded', amount: PAYMENT.amount, amount_captured: PAYMENT.amount });
      expect(resumed.headers.get('idempotent-replayed')).to.equal('false');

      // The resumed charge reused the payment's processor key: the processor replayed it.
      const ledger = scene.sim.ledger();
      expect(ledger.stats!.requests).to.equal(requestsBefore + 1n);
      expect(ledger.stats!.replays).to.equal(1n);
      const ops = charges(scene.sim);
      expect(ops).to.have.length(1);
      expect(ops[0]!.idempotencyKey).to.equal(paymentId);
      expect(ledger.operations).to.have.length(1);

      expect(await eventTypes(second.url, scene.secret, paymentId)).to.deep.equal(['payment.created', 'payment.succeeded']);
      const got = await call(second.url, 'GET', `/v1/payments/${paymentId}`, { secret: scene.secret });
      expect(got.body).to.deep.equal(resumed.body);
    });

    it('replays the finished response to a further retry with the same key', async () => {
      expect(resumed, 'the resumed response').to.not.equal(undefined);
      const second = scene.processes.at(-1)!;
      const again = await call(second.url, 'POST', '/v1/payments', { secret: scene.secret, key: scene.key, body: PAYMENT });
      expect(again.status).to.equal(201);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(again.body).to.deep.equal(resumed!.body);
      expect(charges(scene.sim)).to.have.length(1);
      expect(await eventTypes(second.url, scene.secret, paymentId)).to.deep.equal(['payment.created', 'payment.succeeded']);
    });
  });

  describe('a payment abandoned by the crash and never retried', () => {
    const scene = new CrashScene();
    let paymentId = '';
    let completed: Reply | undefined;

    before(async () => {
      await scene.crash();
      const key = await scene.keyRow();
      paymentId = key.resource_id;
    });
    after(() => scene.close());

    // On PGlite this also guards the retention job (see IdempotencyJobs.deleteExpired): knex-pglite
    // reports a delete as a result object, not a count; miscounted, the job's batch loop would never
    // end and the process would stop answering at its first job round.
    it('is finished by the background completer of a new process after the lease expires: succeeded, one charge', async () => {
      const payment = await scene.db!('payments').where({ id: paymentId }).first();
      expect(payment.status).to.equal('processing');
      expect((await scene.keyRow()).recovery_point).to.equal('payment_created');

      const second = await scene.start(COMPLETER_FAST_MS);
      completed = await waitFor(
        'the completer to finish the payment',
        async () => {
          const res = await call(second.url, 'GET', `/v1/payments/${paymentId}`, { secret: scene.secret, timeoutMs: 10_000 }).catch((err: unknown) => {
            throw new Error(`the new API process stopped answering while its completer ran: ${String(err)}`);
          });
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          return res.body.status === 'processing' ? undefined : res;
        },
        LEASE_MS + 60_000,
        100,
      );
      expect(completed.body).to.include({ id: paymentId, status: 'succeeded', amount_captured: PAYMENT.amount });

      const ops = charges(scene.sim);
      expect(ops).to.have.length(1);
      expect(ops[0]!.idempotencyKey).to.equal(paymentId);
      expect(scene.sim.ledger().stats!.replays).to.equal(1n);
      expect(await eventTypes(second.url, scene.secret, paymentId)).to.deep.equal(['payment.created', 'payment.succeeded']);
    });

    it('then replays 201 with Idempotent-Replayed to a retry with the same key', async () => {
      expect(completed, 'the completed payment').to.not.equal(undefined);
      const second = scene.processes.at(-1)!;
      const res = await call(second.url, 'POST', '/v1/payments', { secret: scene.secret, key: scene.key, body: PAYMENT });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.headers.get('idempotent-replayed')).to.equal('true');
      expect(res.body).to.deep.equal(completed!.body);
      expect(charges(scene.sim)).to.have.length(1);
      expect(await eventTypes(second.url, scene.secret, paymentId)).to.deep.equal(['payment.created', 'payment.succeeded']);
    });
  });
});
