import type { components } from '../../generated/schema.js';
import type { Knex } from 'knex';
import { keysetPage, preparedRead } from '../platform/db.js';
import type { CreatedBounds, Position } from '../platform/pagination.js';

export type PaymentStatus = components['schemas']['PaymentStatus'];

export interface PaymentRow {
  id: string;
  account_id: string;
  customer_id: string | null;
  amount: number;
  currency: string;
  capture_method: components['schemas']['CaptureMethod'];
  status: PaymentStatus;
  description: string | null;
  statement_descriptor: string | null;
  metadata: Record<string, string>;
  amount_captured: number;
  amount_refunded: number;
  failure_code: string | null;
  failure_message: string | null;
  processor_charge_id: string | null;
  created_at: Date;
}

export interface PaymentFilter {
  readonly status?: PaymentStatus;
  readonly customerId?: string;
  readonly created?: CreatedBounds;
}

const COLUMNS = [
  'id',
  'account_id',
  'customer_id',
  'amount',
  'currency',
  'capture_method',
  'status',
  'description',
  'statement_descriptor',
  'metadata',
  'amount_captured',
  'amount_refunded',
  'failure_code',
  'failure_message',
  'processor_charge_id',
  'created_at',
] as const;

export type NewPayment = Pick<PaymentRow, 'id' | 'account_id' | 'customer_id' | 'amount' | 'currency' | 'capture_method' | 'description' | 'statement_descriptor' | 'metadata'>;

export async function insertPayment(trx: Knex.Transaction, row: NewPayment): Promise<PaymentRow> {
  const [inserted] = await trx('payments')
    .insert({ ...row, metadata: JSON.stringify(row.metadata), status: 'processing' })
    .returning(COLUMNS);
  return inserted;
}

const paymentById = preparedRead<'accountId' | 'id', PaymentRow>('remit_payment_by_id', ['accountId', 'id'], (db, p) =>
  db('payments').select(COLUMNS).where({ account_id: p.accountId, id: p.id }).limit(1),
);

export async function findPayment(db: Knex, accountId: string, id: string): Promise<PaymentRow | undefined> {
  return (await paymentById(db, { accountId, id }))[0];
}

/** The payment, locked until the transaction ends: refunds of one payment queue behind each other. */
export async function lockPayment(trx: Knex.Transaction, accountId: string, id: string): Promise<PaymentRow | undefined> {
  return trx('payments').select(COLUMNS).where({ account_id: accountId, id }).forUpdate().first();
}

/**
 * Moves a payment from `from` to a new status. Guarded by the current status, so of two racing
 * transitions only one applies; the loser gets `undefined` and re-reads.
 */
export async function transition(
  trx: Knex.Transaction,
  accountId: string,
  id: string,
  from: PaymentStatus,
  changes: Partial<Pick<PaymentRow, 'status' | 'amount_captured' | 'failure_code' | 'failure_message' | 'processor_charge_id'>>,
): Promise<PaymentRow | undefined> {
  const [row] = await trx('payments')
    .where({ account_id: accountId, id, status: from })
    .update({ ...changes, updated_at: trx.fn.now() })
    .returning(COLUMNS);
  return row;
}

export async function addRefunded(trx: Knex.Transaction, id: string, amount: number): Promise<PaymentRow> {
  const [row] = await trx('payments')
    .where({ id })
    .update({ amount_refunded: trx.raw('amount_refunded + ?', [amount]), updated_at: trx.fn.now() })
    .returning(COLUMNS);
  return row;
}

export async function listPayments(db: Knex, accountId: string, filter: PaymentFilter, limit: number, after?: Position): Promise<(PaymentRow & Position)[]> {
  const q = db('payments').select(COLUMNS).where({ account_id: accountId });
  if (filter.status !== undefined) q.where({ status: filter.status });
  if (filter.customerId !== undefined) q.where({ customer_id: filter.customerId });
  const rows: PaymentRow[] = await keysetPage(q, { created: filter.created, after, limit });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}

/** What a reconciliation compares of a payment. */
export type ReconciledPaymentRow = Pick<PaymentRow, 'id' | 'status' | 'amount' | 'currency' | 'processor_charge_id' | 'created_at'>;

/** The account's payments created in [from, to), and those named by `ids` whenever created. */
export async function paymentsToReconcile(db: Knex, accountId: string, from: Date, to: Date, ids: readonly string[]): Promise<ReconciledPaymentRow[]> {
  return db('payments')
    .select('id', 'status', 'amount', 'currency', 'processor_charge_id', 'created_at')
    .where({ account_id: accountId })
    .andWhere((q) => {
      q.where((w) => w.where('created_at', '>=', from).andWhere('created_at', '<', to));
      if (ids.length > 0) q.orWhereIn('id', ids);
    });
}
