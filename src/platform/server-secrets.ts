import type { Knex } from 'knex';

/**
 * The secret pagination cursors are sealed with, shared by every instance on this database. The
 * codec derives its AES key from it rather than using it as one; the row keeps the name it had
 * when cursors were only signed, so no migration was needed to change the format.
 */
export async function loadCursorKey(db: Knex): Promise<Buffer> {
  const row: { value: Uint8Array } | undefined = await db('server_secrets').select('value').where({ name: 'cursor_hmac' }).first();
  if (!row) throw new Error('server_secrets has no cursor_hmac: run the migrations');
  return Buffer.from(row.value);
}
