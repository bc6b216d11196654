import type { Knex } from 'knex';
import { keysetPage, preparedRead } from '../platform/db.js';
import type { CreatedBounds, Position } from '../platform/pagination.js';

export interface CustomerRow {
  id: string;
  account_id: string;
  email: string;
  name: string | null;
  phone: string | null;
  description: string | null;
  metadata: Record<string, string>;
  created_at: Date;
}

export interface CustomerFilter {
  readonly email?: string;
  readonly created?: CreatedBounds;
}

const COLUMNS = ['id', 'account_id', 'email', 'name', 'phone', 'description', 'metadata', 'created_at'] as const;

type Row = CustomerRow & { created: Date };
const withPosition = (row: CustomerRow): Row => ({ ...row, created: row.created_at });

// Every query names the account: a customer id from another account reads as absent.
function live(db: Knex, accountId: string) {
  return db('customers').where({ account_id: accountId }).whereNull('deleted_at');
}

export async function insertCustomer(db: Knex, row: Omit<CustomerRow, 'created_at'>): Promise<CustomerRow> {
  const [inserted] = await db('customers').insert(row).returning(COLUMNS);
  return inserted;
}

const customerById = preparedRead<'accountId' | 'id', CustomerRow>('remit_customer_by_id', ['accountId', 'id'], (db, p) =>
  live(db, p.accountId).select(COLUMNS).where({ id: p.id }).limit(1),
);

export async function findCustomer(db: Knex, accountId: string, id: string): Promise<CustomerRow | undefined> {
  return (await customerById(db, { accountId, id }))[0];
}

export async function updateCustomer(
  db: Knex,
  accountId: string,
  id: string,
  changes: Partial<Pick<CustomerRow, 'email' | 'name' | 'phone' | 'description' | 'metadata'>>,
): Promise<CustomerRow | undefined> {
  const [row] = await live(db, accountId).where({ id }).update(changes).returning(COLUMNS);
  return row;
}

export async function deleteCustomer(db: Knex, accountId: string, id: string): Promise<boolean> {
  const count = await live(db, accountId).where({ id }).update({ deleted_at: db.fn.now() });
  return count > 0;
}

export async function listCustomers(db: Knex, accountId: string, filter: CustomerFilter, limit: number, after?: Position): Promise<Row[]> {
  const q = live(db, accountId).select(COLUMNS);
  if (filter.email !== undefined) q.whereRaw('lower(email) = lower(?)', [filter.email]);
  const rows: CustomerRow[] = await keysetPage(q, { created: filter.created, after, limit });
  return rows.map(withPosition);
}
