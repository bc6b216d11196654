import type { Knex } from 'knex';

const NOW_MS = "date_trunc('milliseconds', now())";

/**
 * OAuth 2.0 client credentials: the clients an account registers, their secrets (as SHA-256, like
 * API keys; several at once while a rotation overlaps), and the keys access tokens are signed with.
 *
 * A signing key's private half is sealed under the server's secrets key (WEBHOOK_SECRETS_KEY, or the
 * database's own in development), with its `kid` as associated data. `signs_until` is when it stops
 * signing (a rotation sets it); `retire_at` when it leaves the published set, which is no earlier than
 * the expiry of the last token it signed unless an operator withdrew it at once.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('oauth_clients', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('name');
    t.specificType('scopes', 'text[]').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('revoked_at', { useTz: true });
  });
  await db.raw('create index oauth_clients_page_idx on oauth_clients (account_id, created_at desc, id desc)');
  await db.raw('create index oauth_clients_revoked_idx on oauth_clients (revoked_at) where revoked_at is not null');

  await db.schema.createTable('oauth_client_secrets', (t) => {
    t.text('client_id').notNullable().references('id').inTable('oauth_clients').onDelete('CASCADE');
    t.binary('secret_hash').notNullable().primary();
    t.text('redacted_secret').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('expires_at', { useTz: true });
  });
  await db.raw('create index oauth_client_secrets_client_idx on oauth_client_secrets (client_id, created_at desc)');

  await db.schema.createTable('oauth_signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('sealed_key_id').notNullable();
    t.binary('sealed_private_jwk').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('signs_until', { useTz: true });
    t.timestamp('retire_at', { useTz: true });
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('oauth_signing_keys');
  await db.schema.dropTable('oauth_client_secrets');
  await db.schema.dropTable('oauth_clients');
}
