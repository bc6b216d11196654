import type { Knex } from 'knex';

// Timestamps are truncated to milliseconds so that a value read into a JS Date and written back
// (as in a pagination cursor) compares equal to the stored one.
const NOW_MS = "date_trunc('milliseconds', now())";

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('accounts', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
  });

  await db.schema.createTable('api_keys', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('name');
    t.specificType('scopes', 'text[]').notNullable();
    // SHA-256 of the secret. Secrets are 256 random bits, so a fast hash is not brute-forceable.
    t.binary('secret_hash').notNullable();
    t.text('redacted_secret').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('revoked_at', { useTz: true });
    t.index(['account_id', 'created_at', 'id'], 'api_keys_account_created_idx');
  });

  await db.schema.createTable('customers', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('email').notNullable();
    t.text('name');
    t.text('phone');
    t.text('description');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('deleted_at', { useTz: true });
  });
  // Lists read live customers of one account, newest first, by keyset on (created_at, id).
  await db.raw(
    'create index customers_account_created_idx on customers (account_id, created_at desc, id desc) where deleted_at is null',
  );
  await db.raw(
    'create index customers_account_email_idx on customers (account_id, lower(email), created_at desc, id desc) where deleted_at is null',
  );
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('customers');
  await db.schema.dropTable('api_keys');
  await db.schema.dropTable('accounts');
}
