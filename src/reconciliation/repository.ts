/**
 * Reconciliation data: runs, the report's transactions each run stored, and discrepancies. The
 * API's queries name the account; the worker's claim spans accounts under `FOR UPDATE SKIP
 * LOCKED`, and every later write of the worker is guarded by the lease token it claimed with, so
 * a worker whose lease lapsed (and whose run another instance took over) changes nothing.
 */
import type { Knex } from 'knex';
import type { components } from '../../generated/schema.js';
import { keysetPage } from '../platform/db.js';
import type { Position } from '../platform/pagination.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export type FailureCode = components['schemas']['ReconciliationFailureCode'];
export type DiscrepancyKind = components['schemas']['ReconciliationDiscrepancy']['kind'];

export interface DriftRecord {
  readonly path: string;
  readonly expected: string;
  readonly received: string;
}

export interface RunRow {
  id: string;
  account_id: string;
  status: RunStatus;
  window_start: Date;
  window_end: Date;
  report_until: Date;
  cursor: string | null;
  pages_fetched: number;
  transactions_fetched: number;
  throttled: number;
  payments_checked: number;
  refunds_checked: number;
  settled: number;
  discrepancy_count: number;
  failure_code: FailureCode | null;
  failure_detail: string | null;
  failure_drift: DriftRecord[] | null;
  lease_token: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
}

const RUN_COLUMNS = [
  'id',
  'account_id',
  'status',
  'window_start',
  'window_end',
  'report_until',
  'cursor',
  'pages_fetched',
  'transactions_fetched',
  'throttled',
  'payments_checked',
  'refunds_checked',
  'settled',
  'discrepancy_count',
  'failure_code',
  'failure_detail',
  'failure_drift',
  'lease_token',
  'started_at',
  'finished_at',
  'created_at',
] as const;

export interface SideRecord {
  readonly id: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
}

export interface DiscrepancyRow {
  id: string;
  reconciliation_id: string;
  account_id: string;
  kind: DiscrepancyKind;
  object_type: 'payment' | 'refund';
  local: SideRecord | null;
  processor: SideRecord | null;
  subject: string;
  created_at: Date;
}

const DISCREPANCY_COLUMNS = ['id', 'reconciliation_id', 'account_id', 'kind', 'object_type', 'local', 'processor', 'subject', 'created_at'] as const;

/** A transaction of the report as a run stores it: its account already matched, so without the metadata. */
/** A report transaction as stored: the row's columns (the processor's report type, less metadata and decline code). */
export interface StoredTransaction {
  readonly id: string;
  readonly type: 'charge' | 'capture' | 'void' | 'refund';
  readonly charge_id: string;
  readonly refund_id: string | null;
  readonly amount: number;
  readonly currency: string;
  readonly charge_status: 'authorized' | 'captured' | 'voided' | 'declined';
  readonly reference: string | null;
  readonly idempotency_key: string;
  readonly applied_at: Date;
}

const TRANSACTION_COLUMNS = ['id', 'type', 'charge_id', 'refund_id', 'amount', 'currency', 'charge_status', 'reference', 'idempotency_key', 'applied_at'] as const;

export async function insertRun(trx: Knex.Transaction, row: Pick<RunRow, 'id' | 'account_id' | 'window_start' | 'window_end'>): Promise<RunRow> {
  const [inserted] = await trx('reconciliations')
    .insert({ ...row, report_until: trx.raw("date_trunc('milliseconds', now())") })
    .returning(RUN_COLUMNS);
  return inserted;
}

export async function findRun(db: Knex, accountId: string, id: string): Promise<RunRow | undefined> {
  return db('reconciliations').select(RUN_COLUMNS).where({ account_id: accountId, id }).first();
}

/**
 * Takes one due run that no live lease holds: a queued one, or a running one whose worker's lease
 * lapsed (it resumes from the stored cursor). `SKIP LOCKED`, so two instances never take one run.
 */
export async function claimRun(db: Knex, token: string, leaseMs: number): Promise<RunRow | undefined> {
  return db.transaction(async (trx) => {
    const due = await trx('reconciliations')
      .select('id')
      .whereIn('status', ['queued', 'running'])
      .andWhere('next_attempt_at', '<=', trx.fn.now())
      .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', trx.fn.now()))
      .orderBy('created_at')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .first();
    if (!due) return undefined;
    const [row] = await trx('reconciliations')
      .where({ id: due.id })
      .update({
        status: 'running',
        lease_token: token,
        lease_until: trx.raw(`now() + make_interval(secs => ?)`, [leaseMs / 1000]),
        started_at: trx.raw('coalesce(started_at, now())'),
        updated_at: trx.fn.now(),
      })
      .returning(RUN_COLUMNS);
    return row as RunRow;
  });
}

/** Pushes the lease forward (before a long wait); false when the lease is no longer this worker's. */
export async function renewLease(db: Knex, id: string, token: string, ms: number): Promise<boolean> {
  const n = await db('reconciliations')
    .where({ id, lease_token: token, status: 'running' })
    .update({ lease_until: db.raw(`now() + make_interval(secs => ?)`, [ms / 1000]), updated_at: db.fn.now() });
  return n === 1;
}

/** Gives a run back, due again in `ms`, for any instance to resume from its checkpoint. */
export async function releaseRun(db: Knex, id: string, token: string, ms: number): Promise<void> {
  await db('reconciliations')
    .where({ id, lease_token: token })
    .update({ lease_token: null, lease_until: null, next_attempt_at: db.raw(`now() + make_interval(secs => ?)`, [ms / 1000]), updated_at: db.fn.now() });
}

/** Counts a throttled request on the run's progress. */
export async function countThrottle(db: Knex, id: string, token: string): Promise<void> {
  await db('reconciliations').where({ id, lease_token: token }).increment('throttled', 1);
}

/**
 * Stores one page's transactions and its cursor (the checkpoint) in one transaction, under the
 * lease, and renews the lease. A transaction the run already holds (a page that repeats an item) is stored once; one that
 * comes back different is returned, for the caller to refuse as drift. Returns how many were new,
 * or `lost` when the lease is no longer this worker's.
 */
export async function storePage(
  trx: Knex.Transaction,
  id: string,
  token: string,
  rows: readonly StoredTransaction[],
  cursor: string | null,
  leaseMs: number,
): Promise<{ lost: true } | { lost: false; added: number; conflicting: StoredTransaction | undefined }> {
  const run = await trx('reconciliations').select('id').where({ id, lease_token: token, status: 'running' }).forUpdate().first();
  if (!run) return { lost: true };
  let added = 0;
  if (rows.length > 0) {
    // Checked before anything is written: a refused page leaves nothing behind.
    const stored: StoredTransaction[] = await trx('reconciliation_transactions')
      .select(TRANSACTION_COLUMNS)
      .where({ reconciliation_id: id })
      .whereIn(
        'id',
        rows.map((r) => r.id),
      );
    const byId = new Map(stored.map((t) => [t.id, t]));
    const conflicting = rows.find((r) => {
      const known = byId.get(r.id);
      if (known === undefined) byId.set(r.id, r); // an id twice in one page is held to its first sending too
      return known !== undefined && !sameTransaction(known, r);
    });
    if (conflicting) return { lost: false, added: 0, conflicting };
    const inserted = await trx('reconciliation_transactions')
      .insert(rows.map((r) => ({ ...r, reconciliation_id: id })))
      .onConflict(['reconciliation_id', 'id'])
      .ignore()
      .returning('id');
    added = inserted.length;
  }
  await trx('reconciliations')
    .where({ id })
    .update({
      cursor,
      pages_fetched: trx.raw('pages_fetched + 1'),
      transactions_fetched: trx.raw('transactions_fetched + ?', [added]),
      // Each page stored is a sign of life: the lease runs on from it.
      lease_until: trx.raw(`now() + make_interval(secs => ?)`, [leaseMs / 1000]),
      updated_at: trx.fn.now(),
    });
  return { lost: false, added, conflicting: undefined };
}

function sameTransaction(a: StoredTransaction, b: StoredTransaction): boolean {
  return TRANSACTION_COLUMNS.every((c) => (c === 'applied_at' ? a.applied_at.getTime() === b.applied_at.getTime() : String(a[c]) === String(b[c])));
}

export async function runTransactions(db: Knex, id: string): Promise<StoredTransaction[]> {
  const rows = await db('reconciliation_transactions').select(TRANSACTION_COLUMNS).where({ reconciliation_id: id }).orderBy('applied_at').orderBy('id');
  return rows.map((r: StoredTransaction) => ({ ...r, amount: Number(r.amount) }));
}

/** Ends a run as failed, under the lease; false when the lease was lost. */
export async function failRun(db: Knex, id: string, token: string, failure: { code: FailureCode; detail: string; drift?: readonly DriftRecord[] }): Promise<boolean> {
  const n = await db('reconciliations')
    .where({ id, lease_token: token, status: 'running' })
    .update({
      status: 'failed',
      failure_code: failure.code,
      failure_detail: failure.detail,
      failure_drift: failure.drift === undefined ? null : JSON.stringify(failure.drift),
      lease_token: null,
      lease_until: null,
      finished_at: db.fn.now(),
      updated_at: db.fn.now(),
    });
  return n === 1;
}

/** Locks the run for its final transaction; undefined when the lease was lost. */
export async function lockOwnedRun(trx: Knex.Transaction, id: string, token: string): Promise<RunRow | undefined> {
  return trx('reconciliations').select(RUN_COLUMNS).where({ id, lease_token: token, status: 'running' }).forUpdate().first();
}

export async function succeedRun(trx: Knex.Transaction, id: string, counts: Pick<RunRow, 'payments_checked' | 'refunds_checked' | 'settled' | 'discrepancy_count'>): Promise<void> {
  await trx('reconciliations')
    .where({ id })
    .update({ ...counts, status: 'succeeded', lease_token: null, lease_until: null, finished_at: trx.fn.now(), updated_at: trx.fn.now() });
}

export async function insertDiscrepancies(trx: Knex.Transaction, rows: readonly Omit<DiscrepancyRow, 'created_at'>[]): Promise<void> {
  if (rows.length === 0) return;
  for (let i = 0; i < rows.length; i += 500) {
    await trx('reconciliation_discrepancies')
      .insert(rows.slice(i, i + 500).map((r) => ({ ...r, local: r.local && JSON.stringify(r.local), processor: r.processor && JSON.stringify(r.processor) })))
      .onConflict(['reconciliation_id', 'object_type', 'subject'])
      .ignore();
  }
}

export async function listDiscrepancies(db: Knex, reconciliationId: string, limit: number, after?: Position): Promise<(DiscrepancyRow & Position)[]> {
  const q = db('reconciliation_discrepancies').select(DISCREPANCY_COLUMNS).where({ reconciliation_id: reconciliationId });
  const rows: DiscrepancyRow[] = await keysetPage(q, { after, limit });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}
