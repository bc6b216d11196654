/**
 * The reconciliation job as integration code: the API's refusals and idempotency, drift handled by
 * rule (each mode of the simulator's `report_drift`), the processor's 429s waited out as its
 * Retry-After says, failures retried then reported honestly, the circuit breaker respected, two
 * instances sharing one run, and the metrics.
 */
import { expect } from 'chai';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { ReportDrift } from '../../generated/processor/processor_pb.js';
import { createLogger } from '../../src/platform/logger.js';
import * as repo from '../../src/reconciliation/repository.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { createTestApp, openSharedDatabase, type TestAccount, type TestApp } from '../helpers/app.js';
import { auth, discrepancies, endedWindow, getRun, reconcile, startRun, stuckPayment, succeededPayment } from './helpers.js';

type Window = { window_start: number; window_end: number };

/** The report calls the simulator answered with a page, by cursor. */
function okCursors(sim: ProcessorSimulator): string[] {
  return sim
    .ledger()
    .stats!.reportCalls.filter((c) => c.outcome === 'ok')
    .map((c) => c.cursor);
}

async function storedTransactions(t: TestApp, runId: string): Promise<Record<string, unknown>[]> {
  const rows = await t.db('reconciliation_transactions').where({ reconciliation_id: runId }).orderBy('id');
  return rows.map(({ reconciliation_id: _run, ...rest }: Record<string, unknown>) => ({ ...rest, amount: Number(rest.amount) }));
}

describe('reconciliation: the API', function () {
  this.timeout(30_000);
  let t: TestApp;
  let account: TestAccount;
  before(async () => {
    t = await createTestApp();
    account = await t.createAccount();
  });
  after(() => t.close());

  it('refuses a window that ends before it begins, ends in the future or spans more than 31 days, with 422 and no run', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const body of [
      { window_start: now - 100, window_end: now - 100 },
      { window_start: now - 100, window_end: now + 3_600 },
      { window_start: now - 32 * 86_400, window_end: now - 1 },
    ]) {
      const res = await request(t.app).post('/v1/reconciliations').set(auth(account)).send(body);
      expect(res.status, JSON.stringify(res.body)).to.equal(422);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body.code).to.equal('reconciliation_window_invalid');
    }
    const bad = await request(t.app).post('/v1/reconciliations').set(auth(account)).send({ window_start: 'yesterday', window_end: now });
    expect(bad.status).to.equal(400);
    expect(bad.body.code).to.equal('validation_failed');
    expect(Number((await t.db('reconciliations').count({ n: '*' }).first())!.n)).to.equal(0);
  });

  it('honours an Idempotency-Key: the same request replays the same run, a different one is 422', async () => {
    const now = Math.floor(Date.now() / 1000);
    const key = randomUUID();
    const body = { window_start: now - 60, window_end: now - 1 };
    const first = await request(t.app).post('/v1/reconciliations').set(auth(account)).set('Idempotency-Key', key).send(body);
    expect(first.status).to.equal(202);
    const again = await request(t.app).post('/v1/reconciliations').set(auth(account)).set('Idempotency-Key', key).send(body);
    expect(again.status).to.equal(202);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.body.id).to.equal(first.body.id);
    const other = await request(t.app).post('/v1/reconciliations').set(auth(account)).set('Idempotency-Key', key).send({ ...body, window_start: now - 61 });
    expect(other.status).to.equal(422);
    expect(other.body.code).to.equal('idempotency_key_reused');
    expect(Number((await t.db('reconciliations').where({ account_id: account.id }).count({ n: '*' }).first())!.n)).to.equal(1);
  });

  it('needs the write scope to start a run, and answers 404 for another account\'s run and its discrepancies', async () => {
    const reader = await t.createKey(account, ['read']);
    const now = Math.floor(Date.now() / 1000);
    const refused = await request(t.app).post('/v1/reconciliations').set('Authorization', `Bearer ${reader.secret}`).send({ window_start: now - 60, window_end: now - 1 });
    expect(refused.status).to.equal(403);
    const id = await startRun(t, account, { window_start: now - 60, window_end: now - 1 });
    const other = await t.createAccount('Other');
    for (const path of [`/v1/reconciliations/${id}`, `/v1/reconciliations/${id}/discrepancies`]) {
      const res = await request(t.app).get(path).set(auth(other));
      expect(res.status, path).to.equal(404);
      expect(res.body.code).to.equal('resource_not_found');
    }
    const mine = await request(t.app).get(`/v1/reconciliations/${id}`).set('Authorization', `Bearer ${reader.secret}`);
    expect(mine.status).to.equal(200);
    expect(mine.body).to.include({ id, object: 'reconciliation', status: 'queued', started: null, finished: null, failure: null });
  });

  it('pages through discrepancies with the cursor, each exactly once', async () => {
    const fresh = await t.createAccount();
    const startMs = Date.now() - 1_000;
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push(await succeededPayment(t, fresh, 1_000 + i));
    t.simulator.reset();
    const run = await reconcile(t, fresh, await endedWindow(startMs));
    expect(run.counts.discrepancies).to.equal(5);
    const paged = await discrepancies(t, fresh, run.id, 2);
    expect(paged.map((d) => d.local!.id).sort()).to.deep.equal(ids.sort());
  });
});

describe('reconciliation: the processor\'s report drifts', function () {
  this.timeout(60_000);
  let t: TestApp;
  let account: TestAccount;
  let window: Window;
  let baseline: Record<string, unknown>[];
  let stuckId = '';

  before(async () => {
    // Pages of 2 over 7 transactions: four pages, so a repeated item has a page to repeat into.
    t = await createTestApp({ processor: { maxRetries: 0, breakerThreshold: 1_000 }, reconciliation: { pageSize: 2 } });
    account = await t.createAccount();
    const startMs = Date.now() - 1_000;
    const paid = await succeededPayment(t, account, 9_000);
    await request(t.app).post('/v1/refunds').set(auth(account)).set('Idempotency-Key', randomUUID()).send({ payment: paid, amount: 1_000 }).expect(201);
    const manual = await request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', randomUUID()).send({ amount: 2_000, currency: 'EUR', capture_method: 'manual' });
    await request(t.app).post(`/v1/payments/${manual.body.id}/capture`).set(auth(account)).set('Idempotency-Key', randomUUID()).expect(200);
    await request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', randomUUID()).send({ amount: 1_402, currency: 'EUR' }).expect(201);
    stuckId = (await stuckPayment(t, account, 3_000)).id;
    await t.db('payments').where({ id: stuckId }).update({ amount: 3_001 });
    window = await endedWindow(startMs);
    const run = await reconcile(t, account, window);
    expect(run.status, JSON.stringify(run)).to.equal('succeeded');
    expect(run.progress.transactions_fetched).to.equal(6);
    baseline = await storedTransactions(t, run.id);
  });
  afterEach(() => t.simulator.setFaults({ reportDrift: ReportDrift.NONE }));
  after(() => t.close());

  const tolerated: [string, ReportDrift][] = [
    ['extra fields', ReportDrift.EXTRA_FIELDS],
    ['null in the optional fields', ReportDrift.NULL_OPTIONAL],
    ['numbers sent as strings', ReportDrift.NUMBER_AS_STRING],
    ['a page that repeats an item', ReportDrift.REPEATED_ITEM],
  ];
  for (const [name, drift] of tolerated) {
    it(`passes ${name} with the data intact`, async () => {
      t.simulator.setFaults({ reportDrift: drift });
      const run = await reconcile(t, account, window);
      expect(run.status, JSON.stringify(run.failure)).to.equal('succeeded');
      expect(await storedTransactions(t, run.id)).to.deep.equal(baseline);
      expect(run.counts.discrepancies).to.equal(1);
    });
  }

  const refused: [string, ReportDrift, RegExp, RegExp][] = [
    ['a null amount', ReportDrift.NULL_AMOUNT, /^transactions\[0\]\.amount$/, /^null$/],
    ['an unknown enum value', ReportDrift.UNKNOWN_ENUM, /^transactions\[0\]\.chargeStatus$/, /CHARGE_STATUS_PARTIALLY_CAPTURED/],
    ['a renamed field', ReportDrift.RENAMED_FIELD, /^transactions\[0\]\.amount$/, /absent.*amountMinor/],
  ];
  for (const [name, drift, path, received] of refused) {
    it(`fails the run on ${name} with processor_schema_drift naming the field, and stores nothing from the page`, async () => {
      t.simulator.setFaults({ reportDrift: drift });
      const before = await t.db('payments').where({ account_id: account.id }).orderBy('id');
      const run = await reconcile(t, account, window);
      expect(run.status).to.equal('failed');
      expect(run.failure!.code).to.equal('processor_schema_drift');
      const [issue] = run.failure!.drift!;
      expect(issue!.path).to.match(path);
      expect(issue!.received).to.match(received);
      expect(issue!.expected).to.be.a('string').and.not.equal('');
      expect(run.failure!.detail).to.contain(issue!.path);
      expect(run.progress.pages_fetched).to.equal(0);
      expect(await storedTransactions(t, run.id)).to.deep.equal([]);
      expect(await discrepancies(t, account, run.id)).to.deep.equal([]);
      expect(await t.db('payments').where({ account_id: account.id }).orderBy('id')).to.deep.equal(before);
    });
  }
});

describe('reconciliation: rate limits, failures and the breaker', function () {
  this.timeout(60_000);
  let t: TestApp;
  let account: TestAccount;
  let window: Window;

  before(async () => {
    t = await createTestApp({ processor: { maxRetries: 0, breakerThreshold: 4, breakerHalfOpenMs: 60_000 }, reconciliation: { pageSize: 1, maxRetries: 2, backoffInitialMs: 20 } });
    account = await t.createAccount();
    const startMs = Date.now() - 1_000;
    for (let i = 0; i < 5; i += 1) await succeededPayment(t, account, 1_000 + i);
    window = await endedWindow(startMs);
  });
  after(() => t.close());

  it('completes through a 429 on every third page, each retry sent no sooner than Retry-After said, no page fetched twice', async () => {
    t.simulator.setFaults({ reportThrottleEvery: 3, reportRetryAfterS: 1 });
    const from = t.simulator.ledger().stats!.reportCalls.length;
    const run = await reconcile(t, account, window);
    t.simulator.setFaults({ reportThrottleEvery: 0 });
    expect(run.status, JSON.stringify(run.failure)).to.equal('succeeded');
    expect(run.counts.payments_checked).to.equal(5);
    const calls = t.simulator.ledger().stats!.reportCalls.slice(from);
    const throttled = calls.filter((c) => c.outcome === 'throttled');
    expect(throttled.length).to.be.at.least(2);
    expect(run.progress.throttled).to.equal(throttled.length);
    calls.forEach((c, i) => {
      if (c.outcome !== 'throttled') return;
      const next = calls[i + 1]!;
      expect(next.cursor, 'the retry asks for the same page').to.equal(c.cursor);
      expect(Number(next.atUnixMs - c.atUnixMs), 'spacing after a 429 with Retry-After: 1').to.be.at.least(1_000);
    });
    const ok = calls.filter((c) => c.outcome === 'ok').map((c) => c.cursor);
    expect(new Set(ok).size, 'no page fetched twice').to.equal(ok.length);
    expect(ok.length).to.equal(run.progress.pages_fetched);
  });

  it('retries a failing report request with backoff, then fails the run processor_unavailable', async () => {
    t.simulator.setFaults({ errorRate: 1 });
    const from = t.simulator.ledger().stats!.reportCalls.length;
    try {
      const run = await reconcile(t, account, window);
      expect(run.status).to.equal('failed');
      expect(run.failure!.code).to.equal('processor_unavailable');
      expect(run.failure!.drift).to.equal(null);
      // The first attempt and two retries.
      expect(t.simulator.ledger().stats!.reportCalls.slice(from).map((c) => c.outcome)).to.deep.equal(['error', 'error', 'error']);
    } finally {
      t.simulator.setFaults({ errorRate: 0 });
    }
  });

  it('stops at an open circuit breaker without calling the processor, and says so', async () => {
    // The previous test's three failures and one more open the breaker (threshold 4).
    t.simulator.setFaults({ errorRate: 1 });
    await request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', randomUUID()).send({ amount: 1_000, currency: 'EUR' }).expect(503);
    t.simulator.setFaults({ errorRate: 0 });
    expect(t.processor.health()).to.equal('degraded');
    const from = t.simulator.ledger().stats!.reportCalls.length;
    const run = await reconcile(t, account, window);
    expect(run.status).to.equal('failed');
    expect(run.failure!.code).to.equal('processor_unavailable');
    expect(run.failure!.detail).to.match(/circuit breaker is open/);
    expect(t.simulator.ledger().stats!.reportCalls.length).to.equal(from);
  });

  it('counts runs, pages, 429s and discrepancies in /metrics', async () => {
    const res = await request(t.app).get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.text).to.match(/^remit_reconciliation_runs_total\{outcome="succeeded"\} 1$/m);
    expect(res.text).to.match(/^remit_reconciliation_runs_total\{outcome="processor_unavailable"\} 2$/m);
    expect(res.text).to.match(/^remit_reconciliation_report_pages_total [1-9]/m);
    expect(res.text).to.match(/^remit_reconciliation_report_throttled_total [2-9]/m);
  });
});

describe('reconciliation: stopping', function () {
  this.timeout(30_000);

  it('gives a run back when the worker stops mid-wait, for any instance to resume', async () => {
    const t = await createTestApp({ reconciliation: { intervalMs: 20 } });
    try {
      const account = await t.createAccount();
      const startMs = Date.now() - 1_000;
      await succeededPayment(t, account);
      // Every report call is refused with Retry-After: 10: the worker waits holding the run.
      t.simulator.setFaults({ reportThrottleEvery: 1, reportRetryAfterS: 10 });
      const id = await startRun(t, account, await endedWindow(startMs));
      t.services.reconciliationWorker.start();
      let run = await getRun(t, account, id);
      while (run.progress.throttled === 0) {
        await new Promise((r) => setTimeout(r, 20));
        run = await getRun(t, account, id);
      }
      const stopping = Date.now();
      await t.services.reconciliationWorker.stop();
      expect(Date.now() - stopping, 'the wait ends at once').to.be.below(5_000);
      const row = await t.db('reconciliations').where({ id }).first();
      expect(row).to.include({ status: 'running', lease_token: null, lease_until: null });
      // Due again at once: a worker resumes it (the processor no longer throttling).
      t.simulator.setFaults({ reportThrottleEvery: 0 });
      expect(await t.services.reconciliationWorker.runOnce()).to.equal(id);
      expect((await getRun(t, account, id)).status).to.equal('succeeded');
    } finally {
      await t.close();
    }
  });
});

describe('reconciliation: two instances', function () {
  this.timeout(60_000);

  it('work one run once: each page fetched by exactly one of them', async () => {
    const sim = await startProcessorSimulator();
    const shared = await openSharedDatabase();
    const options = { simulator: sim, processor: { breakerThreshold: 1_000 }, reconciliation: { pageSize: 1, intervalMs: 20 } };
    const a = await createTestApp({ ...options, database: { db: shared.first, drop: async () => {} } });
    const b = await createTestApp({ ...options, database: { db: shared.second, drop: async () => {} } });
    try {
      const account = await a.createAccount();
      const startMs = Date.now() - 1_000;
      for (let i = 0; i < 6; i += 1) await succeededPayment(a, account, 1_000 + i);
      sim.setFaults({ latencyMs: 30 });
      const window = await endedWindow(startMs);
      a.services.reconciliationWorker.start();
      b.services.reconciliationWorker.start();
      const id = await startRun(a, account, window);
      let run = await getRun(b, account, id);
      const deadline = Date.now() + 20_000;
      while (run.status !== 'succeeded' && run.status !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        run = await getRun(b, account, id);
      }
      expect(run.status, JSON.stringify(run)).to.equal('succeeded');
      const ok = okCursors(sim);
      expect(new Set(ok).size, 'no page fetched twice').to.equal(ok.length);
      expect(ok.length).to.equal(run.progress.pages_fetched);
      expect(run.progress.pages_fetched).to.equal(6);
      expect(run.counts.payments_checked).to.equal(6);
    } finally {
      await a.close();
      await b.close();
      await shared.drop();
      await sim.close();
    }
  });
});

describe('reconciliation: the log', function () {
  this.timeout(30_000);

  it('logs each page stored and each 429 with the run id, and the outcome', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    const t = await createTestApp({ log: createLogger('info', 'json', stream), reconciliation: { pageSize: 1 } });
    try {
      const account = await t.createAccount();
      const startMs = Date.now() - 1_000;
      for (let i = 0; i < 3; i += 1) await succeededPayment(t, account, 1_000 + i);
      t.simulator.setFaults({ reportThrottleEvery: 2, reportRetryAfterS: 0 });
      const run = await reconcile(t, account, await endedWindow(startMs));
      expect(run.status).to.equal('succeeded');
      const lines = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.reconciliation === run.id);
      const pages = lines.filter((l) => l.msg === 'reconciliation report page stored');
      expect(pages.map((l) => l.page)).to.deep.equal([1, 2, 3]);
      expect(pages.every((l) => l.account === account.id && l.component === 'reconciliation')).to.equal(true);
      expect(lines.filter((l) => l.msg === 'processor throttled the report; waiting as Retry-After says').length).to.equal(run.progress.throttled);
      expect(run.progress.throttled).to.be.at.least(1);
      expect(lines.at(-1)).to.include({ msg: 'reconciliation succeeded', settled: 0 });
    } finally {
      await t.close();
    }
  });
});

describe('reconciliation: storing a page', function () {
  this.timeout(30_000);

  it('refuses a transaction sent again with other content, storing nothing of that page and keeping the checkpoint', async () => {
    const t = await createTestApp();
    try {
      const account = await t.createAccount();
      const now = Math.floor(Date.now() / 1000);
      const id = await startRun(t, account, { window_start: now - 60, window_end: now });
      const token = randomUUID();
      expect((await repo.claimRun(t.db, token, 30_000))!.id).to.equal(id);
      const at = new Date();
      const txn = (n: number, amount = 1_000): repo.StoredTransaction => ({
        id: `txn_${n}`,
        type: 'charge',
        charge_id: `ch_${n}`,
        refund_id: null,
        amount,
        currency: 'EUR',
        charge_status: 'captured',
        reference: `pay_${n}`,
        idempotency_key: `pay_${n}`,
        applied_at: at,
      });
      const first = await t.db.transaction((trx) => repo.storePage(trx, id, token, [txn(1), txn(2)], 'c1', 30_000));
      expect(first).to.deep.equal({ lost: false, added: 2, conflicting: undefined });
      // The same item again, unchanged: stored once.
      const again = await t.db.transaction((trx) => repo.storePage(trx, id, token, [txn(2), txn(3)], 'c2', 30_000));
      expect(again).to.deep.equal({ lost: false, added: 1, conflicting: undefined });
      // Sent again with another amount, or twice in one page with two: refused, nothing of the page written.
      for (const [page, culprit] of [
        [[txn(2, 999), txn(4)], 'txn_2'],
        [[txn(4), txn(4, 5)], 'txn_4'],
      ] as const) {
        const refused = await t.db.transaction((trx) => repo.storePage(trx, id, token, page, 'c3', 30_000));
        expect(refused.lost === false && refused.conflicting?.id).to.equal(culprit);
      }
      const rows = await t.db('reconciliation_transactions').where({ reconciliation_id: id }).orderBy('id');
      expect(rows.map((r: { id: string; amount: string | number }) => [r.id, Number(r.amount)])).to.deep.equal([
        ['txn_1', 1_000],
        ['txn_2', 1_000],
        ['txn_3', 1_000],
      ]);
      expect(await t.db('reconciliations').where({ id }).first()).to.include({ cursor: 'c2', pages_fetched: 2, transactions_fetched: 3 });
      // Another token (the lease lost): nothing is written.
      expect(await t.db.transaction((trx) => repo.storePage(trx, id, randomUUID(), [txn(9)], 'c9', 30_000))).to.deep.equal({ lost: true });
    } finally {
      await t.close();
    }
  });
});
