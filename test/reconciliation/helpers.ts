/** What the reconciliation suites share: seeding what the books disagree on, and running a run. */
import { expect } from 'chai';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { FaultPoint } from '../../generated/processor/processor_pb.js';
import type { TestAccount, TestApp } from '../helpers/app.js';

export function auth(account: TestAccount): Record<string, string> {
  return { Authorization: `Bearer ${account.secret}` };
}

/** A payment the processor charged (captured) whose answer never reached Remit: left `processing`. */
export async function stuckPayment(t: TestApp, account: TestAccount, amount = 5_000): Promise<{ id: string; key: string }> {
  const key = randomUUID();
  t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.AFTER });
  try {
    const res = await request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', key).send({ amount, currency: 'EUR' });
    expect(res.status, JSON.stringify(res.body)).to.equal(503);
  } finally {
    t.simulator.setFaults({ errorRate: 0 });
  }
  const row = await t.db('payments').where({ account_id: account.id, status: 'processing' }).orderBy('created_at', 'desc').first();
  expect(row, 'a processing payment').to.not.equal(undefined);
  return { id: row.id as string, key };
}

export async function succeededPayment(t: TestApp, account: TestAccount, amount = 5_000): Promise<string> {
  const res = await request(t.app).post('/v1/payments').set(auth(account)).set('Idempotency-Key', randomUUID()).send({ amount, currency: 'EUR' });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  expect(res.body.status).to.equal('succeeded');
  return res.body.id as string;
}

/** A refund the processor made whose answer never reached Remit: left `pending`. */
export async function stuckRefund(t: TestApp, account: TestAccount, paymentId: string, amount: number): Promise<{ id: string; key: string }> {
  const key = randomUUID();
  t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.AFTER });
  try {
    const res = await request(t.app).post('/v1/refunds').set(auth(account)).set('Idempotency-Key', key).send({ payment: paymentId, amount });
    expect(res.status, JSON.stringify(res.body)).to.equal(503);
  } finally {
    t.simulator.setFaults({ errorRate: 0 });
  }
  const row = await t.db('refunds').where({ account_id: account.id, status: 'pending' }).orderBy('created_at', 'desc').first();
  expect(row, 'a pending refund').to.not.equal(undefined);
  return { id: row.id as string, key };
}

/** A window from `startMs` to the next whole second, waited for so that it has ended. */
export async function endedWindow(startMs: number): Promise<{ window_start: number; window_end: number }> {
  const window_end = Math.floor(Date.now() / 1000) + 1;
  while (Date.now() < window_end * 1000) await new Promise((r) => setTimeout(r, 20));
  return { window_start: Math.floor(startMs / 1000), window_end };
}

export interface RunBody {
  id: string;
  status: string;
  progress: { pages_fetched: number; transactions_fetched: number; throttled: number };
  counts: { payments_checked: number; refunds_checked: number; settled: number; discrepancies: number };
  failure: { code: string; detail: string; drift: { path: string; expected: string; received: string }[] | null } | null;
}

export async function startRun(t: TestApp, account: TestAccount, window: { window_start: number; window_end: number }): Promise<string> {
  const res = await request(t.app).post('/v1/reconciliations').set(auth(account)).send(window);
  expect(res.status, JSON.stringify(res.body)).to.equal(202);
  expect(res.body.status).to.equal('queued');
  return res.body.id as string;
}

export async function getRun(t: TestApp, account: TestAccount, id: string): Promise<RunBody> {
  const res = await request(t.app).get(`/v1/reconciliations/${id}`).set(auth(account));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as RunBody;
}

/** Starts a run and works it to its end in this process. */
export async function reconcile(t: TestApp, account: TestAccount, window: { window_start: number; window_end: number }): Promise<RunBody> {
  const id = await startRun(t, account, window);
  // Runs queued earlier and never worked go first (oldest first): work them too.
  for (let worked = 0; worked < 20; worked += 1) {
    const ran = await t.services.reconciliationWorker.runOnce();
    expect(ran, 'a due run').to.not.equal(undefined);
    if (ran === id) return getRun(t, account, id);
  }
  throw new Error(`run ${id} was not worked`);
}

export interface DiscrepancyBody {
  kind: string;
  object_type: string;
  local: { id: string; status: string; amount: number; currency: string } | null;
  processor: { id: string; status: string; amount: number; currency: string } | null;
}

/** Every discrepancy of a run, walking the pages with the cursor. */
export async function discrepancies(t: TestApp, account: TestAccount, id: string, limit = 100): Promise<DiscrepancyBody[]> {
  const all: DiscrepancyBody[] = [];
  let cursor: string | null = null;
  do {
    const res = await request(t.app)
      .get(`/v1/reconciliations/${id}/discrepancies`)
      .query({ limit, ...(cursor ? { cursor } : {}) })
      .set(auth(account));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    all.push(...(res.body.data as DiscrepancyBody[]));
    cursor = res.body.next_cursor as string | null;
  } while (cursor);
  return all;
}

/** The types of an object's events, oldest first. */
export async function eventTypes(t: TestApp, account: TestAccount, objectId: string): Promise<string[]> {
  const res = await request(t.app).get('/v1/events').query({ object_id: objectId, limit: 100 }).set(auth(account));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return (res.body.data as { type: string }[]).map((e) => e.type).reverse();
}
