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

/**
 * Development only: the key webhook signing secrets are sealed under when WEBHOOK_SECRETS_KEY is
 * unset (production requires the variable, so that a copy of the database alone opens nothing).
 */
export async function loadWebhookSecretsKey(db: Knex): Promise<Buffer> {
  const row: { value: Uint8Array } | undefined = await db('server_secrets').select('value').where({ name: 'webhook_secrets_key' }).first();
  if (!row) throw new Error('server_secrets has no webhook_secrets_key: run the migrations');
  return Buffer.from(row.value);
}
