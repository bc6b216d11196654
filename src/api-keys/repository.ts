import type { Knex } from 'knex';
import { keysetPage } from '../platform/db.js';
import type { Position } from '../platform/pagination.js';

export interface ApiKeyRow {
  id: string;
  account_id: string;
  name: string | null;
  scopes: string[];
  secret_hash: Buffer;
  redacted_secret: string;
  created_at: Date;
  revoked_at: Date | null;
}

export type ApiKeyRecord = Omit<ApiKeyRow, 'secret_hash'> & { created: Date };

const PUBLIC_COLUMNS = ['id', 'account_id', 'name', 'scopes', 'redacted_secret', 'created_at', 'revoked_at'] as const;

function toRecord(row: Omit<ApiKeyRow, 'secret_hash'>): ApiKeyRecord {
  return { ...row, created: row.created_at };
}

export async function insertApiKey(db: Knex, row: Omit<ApiKeyRow, 'created_at' | 'revoked_at'>): Promise<ApiKeyRecord> {
  const [inserted] = await db('api_keys').insert(row).returning(PUBLIC_COLUMNS);
  return toRecord(inserted);
}

/** The key with its hash, for authentication. The only read that selects the hash. */
export async function findApiKeyForAuth(db: Knex, id: string): Promise<Pick<ApiKeyRow, 'id' | 'account_id' | 'scopes' | 'secret_hash' | 'revoked_at'> | undefined> {
  return db('api_keys').select('id', 'account_id', 'scopes', 'secret_hash', 'revoked_at').where({ id }).first();
}

export async function findApiKey(db: Knex, accountId: string, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db('api_keys').select(PUBLIC_COLUMNS).where({ account_id: accountId, id }).first();
  return row ? toRecord(row) : undefined;
}

/** Locks the account row until the transaction ends; false when there is no such account. */
export async function lockAccount(trx: Knex.Transaction, accountId: string): Promise<boolean> {
  return (await trx('accounts').select('id').where({ id: accountId }).forUpdate().first()) !== undefined;
}

export async function countActiveKeys(trx: Knex.Transaction, accountId: string): Promise<number> {
  const row = await trx('api_keys').where({ account_id: accountId }).whereNull('revoked_at').count<{ count: string | number }[]>({ count: '*' }).first();
  return Number(row?.count ?? 0);
}

export async function listApiKeys(db: Knex, accountId: string, limit: number, after?: Position): Promise<ApiKeyRecord[]> {
  const q = db('api_keys').select(PUBLIC_COLUMNS).where({ account_id: accountId });
  const rows = await keysetPage(q, { after, limit });
  return rows.map(toRecord);
}

/** Revokes the key if it is active; returns it either way, or undefined when it is not the account's. */
export async function revokeApiKey(db: Knex, accountId: string, id: string): Promise<ApiKeyRecord | undefined> {
  await db('api_keys').where({ account_id: accountId, id }).whereNull('revoked_at').update({ revoked_at: db.raw("date_trunc('milliseconds', now())") });
  const row = await db('api_keys').select(PUBLIC_COLUMNS).where({ account_id: accountId, id }).first();
  return row ? toRecord(row) : undefined;
}
