import type { components } from '../../generated/schema.js';
import type { Knex } from 'knex';
import { keysetPage, preparedRead } from '../platform/db.js';
import type { CreatedBounds, Position } from '../platform/pagination.js';

export type RefundStatus = components['schemas']['RefundStatus'];

export interface RefundRow {
  id: string;
  account_id: string;
  payment_id: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
  metadata: Record<string, string>;
  failure_code: string | null;
  processor_refund_id: string | null;
  created_at: Date;
}

export interface RefundFilter {
  readonly paymentId?: string;
  readonly created?: CreatedBounds;
}

const COLUMNS = [
  'id',
  'account_id',
  'payment_id',
  'amount',
  'currency',
  'status',
  'reason',
  'metadata',
  'failure_code',
  'processor_refund_id',
  'created_at',
] as const;

export type NewRefund = Pick<RefundRow, 'id' | 'account_id' | 'payment_id' | 'amount' | 'currency' | 'reason' | 'metadata'>;

export async function insertRefund(trx: Knex.Transaction, row: NewRefund): Promise<RefundRow> {
  const [inserted] = await trx('refunds')
    .insert({ ...row, metadata: JSON.stringify(row.metadata), status: 'pending' })
    .returning(COLUMNS);
  return inserted;
}

const refundById = preparedRead<'accountId' | 'id', RefundRow>('remit_refund_by_id', ['accountId', 'id'], (db, p) =>
  db('refunds').select(COLUMNS).where({ account_id: p.accountId, id: p.id }).limit(1),
);

export async function findRefund(db: Knex, accountId: string, id: string): Promise<RefundRow | undefined> {
  return (await refundById(db, { accountId, id }))[0];
}

/** What pending refunds of a payment hold back from being refunded again. */
export async function pendingAmount(trx: Knex.Transaction, paymentId: string): Promise<number> {
  const row = await trx('refunds').where({ payment_id: paymentId, status: 'pending' }).sum({ total: 'amount' }).first();
  return Number(row?.total ?? 0);
}

export async function settle(
  trx: Knex.Transaction,
  id: string,
  changes: Pick<RefundRow, 'status'> & Partial<Pick<RefundRow, 'failure_code' | 'processor_refund_id'>>,
): Promise<RefundRow | undefined> {
  const [row] = await trx('refunds')
    .where({ id, status: 'pending' })
    .update({ ...changes, updated_at: trx.fn.now() })
    .returning(COLUMNS);
  return row;
}

export async function listRefunds(db: Knex, accountId: string, filter: RefundFilter, limit: number, after?: Position): Promise<(RefundRow & Position)[]> {
  const q = db('refunds').select(COLUMNS).where({ account_id: accountId });
  if (filter.paymentId !== undefined) q.where({ payment_id: filter.paymentId });
  const rows: RefundRow[] = await keysetPage(q, { created: filter.created, after, limit });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}

/** What a reconciliation compares of a refund. */
export type ReconciledRefundRow = Pick<RefundRow, 'id' | 'payment_id' | 'status' | 'amount' | 'currency' | 'processor_refund_id' | 'created_at'>;

/** The account's refunds created in [from, to), and those named by `ids` whenever created. */
export async function refundsToReconcile(db: Knex, accountId: string, from: Date, to: Date, ids: readonly string[]): Promise<ReconciledRefundRow[]> {
  return db('refunds')
    .select('id', 'payment_id', 'status', 'amount', 'currency', 'processor_refund_id', 'created_at')
    .where({ account_id: accountId })
    .andWhere((q) => {
      q.where((w) => w.where('created_at', '>=', from).andWhere('created_at', '<', to));
      if (ids.length > 0) q.orWhereIn('id', ids);
    });
}
