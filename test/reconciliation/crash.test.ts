/**
 * A reconciliation run whose process is killed mid-way (SIGKILL, while it waits out a 429) is
 * resumed by another process from its checkpoint once the lease lapses: every page is fetched from
 * the processor exactly once, counted at the simulator.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { call, createSharedStorage, spawnApi, waitFor, type ApiProcess, type SharedStorage } from '../helpers/api-process.js';
import { ADMIN_TOKEN } from '../helpers/app.js';

const LEASE_MS = 2_000;
// Half the lease: the worker waits it out holding the run, so it dies holding it.
const RETRY_AFTER_S = 1;

describe('reconciliation: a run killed mid-way', function () {
  this.timeout(120_000);
  let sim: ProcessorSimulator;
  let storage: SharedStorage;
  const processes: ApiProcess[] = [];

  const env = () => ({
    ...storage.env,
    PROCESSOR_URL: sim.url,
    RECONCILIATION_PAGE_SIZE: '1',
    RECONCILIATION_LEASE_MS: String(LEASE_MS),
    RECONCILIATION_INTERVAL_MS: '50',
  });

  before(async () => {
    sim = await startProcessorSimulator();
    storage = await createSharedStorage();
  });
  after(async () => {
    if (process.env.REMIT_CHILD_LOG_LEVEL) for (const api of processes) console.log(api.output());
    for (const api of processes) await api.stop('SIGKILL');
    await sim.close();
    await storage.drop();
  });

  it('resumes from its checkpoint in another process and fetches no page twice', async () => {
    const first = await spawnApi(env());
    processes.push(first);
    const created = await call(first.url, 'POST', '/admin/accounts', { secret: ADMIN_TOKEN, body: { name: 'Reconciliation crash' } });
    expect(created.status).to.equal(201);
    const secret = (created.body.api_key as { secret: string }).secret;
    const startS = Math.floor(Date.now() / 1000) - 1;
    for (let i = 0; i < 6; i += 1) {
      const paid = await call(first.url, 'POST', '/v1/payments', { secret, key: randomUUID(), body: { amount: 1_000 + i, currency: 'EUR' } });
      expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
    }
    const endS = Math.floor(Date.now() / 1000) + 1;
    await waitFor('the window to end', () => (Date.now() >= endS * 1000 ? true : undefined), 3_000);

    sim.setFaults({ reportThrottleEvery: 3, reportRetryAfterS: RETRY_AFTER_S });
    const started = await call(first.url, 'POST', '/v1/reconciliations', { secret, body: { window_start: startS, window_end: endS } });
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const id = started.body.id as string;

    // Two pages stored, the third throttled: the worker is waiting out Retry-After. Kill it there.
    await waitFor('the first 429', () => (sim.ledger().stats!.reportCalls.some((c) => c.outcome === 'throttled') ? true : undefined), 20_000, 5);
    await first.stop('SIGKILL');
    const before = sim.ledger().stats!.reportCalls.map((c) => ({ cursor: c.cursor, outcome: c.outcome }));
    expect(before.map((c) => c.outcome)).to.deep.equal(['ok', 'ok', 'throttled']);

    const second = await spawnApi(env());
    processes.push(second);
    const run = await waitFor(
      'the run to finish in the second process',
      async () => {
        const res = await call(second.url, 'GET', `/v1/reconciliations/${id}`, { secret });
        return res.body.status === 'succeeded' || res.body.status === 'failed' ? res.body : undefined;
      },
      60_000,
      100,
    );
    expect(run.status, JSON.stringify(run)).to.equal('succeeded');
    const calls = sim.ledger().stats!.reportCalls;
    const ok = calls.filter((c) => c.outcome === 'ok').map((c) => c.cursor);
    expect(new Set(ok).size, `no page fetched twice: ${JSON.stringify(ok)}`).to.equal(ok.length);
    expect(ok.length).to.equal((run.progress as { pages_fetched: number }).pages_fetched);
    expect(ok.length).to.equal(6);
    // The second process asked first for the page the first one was waiting for.
    expect(calls[3]!.cursor).to.equal(before[2]!.cursor);
    expect((run.counts as { payments_checked: number }).payments_checked).to.equal(6);
  });
});
