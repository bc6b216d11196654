import type { Knex } from 'knex';

export interface AccountRow {
  id: string;
  name: string;
  created_at: Date;
}

export async function insertAccount(db: Knex, row: Pick<AccountRow, 'id' | 'name'>): Promise<AccountRow> {
  const [inserted] = await db('accounts').insert(row).returning(['id', 'name', 'created_at']);
  return inserted;
}

export async function findAccountByName(db: Knex, name: string): Promise<AccountRow | undefined> {
  return db('accounts').select('id', 'name', 'created_at').where({ name }).orderBy('created_at', 'asc').first();
}
