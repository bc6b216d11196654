import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * Secrets every API instance must share, generated once when the database is created: the secret
 * pagination cursors are encrypted under (through a key derived from it) lives here, so cursors
 * stay valid across instances and restarts without another setting to distribute.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('server_secrets', (t) => {
    t.text('name').primary();
    t.binary('value').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db('server_secrets').insert({ name: 'cursor_hmac', value: randomBytes(32) });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('server_secrets');
}
