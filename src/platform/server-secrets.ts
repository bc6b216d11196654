import type { Knex } from 'knex';

/** The key that signs pagination cursors, shared by every instance on this database. */
export async function loadCursorKey(db: Knex): Promise<Buffer> {
  const row: { value: Uint8Array } | undefined = await db('server_secrets').select('value').where({ name: 'cursor_hmac' }).first();
  if (!row) throw new Error('server_secrets has no cursor_hmac: run the migrations');
  return Buffer.from(row.value);
}
