import type { Knex } from 'knex';

const NOW_MS = "date_trunc('milliseconds', now())";

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('payments', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    // No foreign key: a payment keeps naming its customer after the customer is deleted.
    t.text('customer_id');
    t.bigInteger('amount').notNullable();
    t.text('currency').notNullable();
    t.text('capture_method').notNullable();
    t.text('status').notNullable();
    t.text('description');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.bigInteger('amount_captured').notNullable().defaultTo(0);
    t.bigInteger('amount_refunded').notNullable().defaultTo(0);
    t.text('failure_code');
    t.text('failure_message');
    t.text('processor_charge_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
  });
  await db.raw(`alter table payments add constraint payments_status_check
    check (status in ('processing', 'requires_capture', 'succeeded', 'failed', 'canceled'))`);
  // The database refuses what the service must never do, whatever the code path.
  await db.raw(`alter table payments add constraint payments_amounts_check
    check (amount > 0 and amount_captured between 0 and amount and amount_refunded between 0 and amount_captured)`);
  await db.raw('create index payments_account_created_idx on payments (account_id, created_at desc, id desc)');
  await db.raw('create index payments_account_status_idx on payments (account_id, status, created_at desc, id desc)');
  await db.raw('create index payments_account_customer_idx on payments (account_id, customer_id, created_at desc, id desc)');

  await db.schema.createTable('refunds', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('payment_id').notNullable().references('id').inTable('payments');
    t.bigInteger('amount').notNullable();
    t.text('currency').notNullable();
    t.text('status').notNullable();
    t.text('reason');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.text('failure_code');
    t.text('processor_refund_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
  });
  await db.raw(`alter table refunds add constraint refunds_status_check check (status in ('pending', 'succeeded', 'failed'))`);
  await db.raw('alter table refunds add constraint refunds_amount_check check (amount > 0)');
  await db.raw('create index refunds_account_created_idx on refunds (account_id, created_at desc, id desc)');
  await db.raw('create index refunds_account_payment_idx on refunds (account_id, payment_id, created_at desc, id desc)');

  // The outbox: written in the same transaction as the change it records. `seq` orders events
  // that share a millisecond, so a payment's events always list in the order they happened.
  await db.schema.createTable('events', (t) => {
    t.bigIncrements('seq');
    t.text('id').notNullable().unique();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('type').notNullable();
    t.text('object_id').notNullable();
    t.jsonb('data').notNullable();
    t.text('request_id');
    t.text('idempotency_key');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
  });
  await db.raw('create index events_account_created_idx on events (account_id, created_at desc, seq desc)');
  await db.raw('create index events_account_type_idx on events (account_id, type, created_at desc, seq desc)');
  await db.raw('create index events_account_object_idx on events (account_id, object_id, created_at desc, seq desc)');

  // Idempotency keys with recovery points (one row per account and key). A request holds the row
  // by a lease (`locked_at` + `lock_token`), never by a transaction held open across the processor
  // call; each phase of the work commits atomically with the recovery point it reached.
  await db.schema.createTable('idempotency_keys', (t) => {
    t.bigIncrements('id');
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('key').notNullable();
    t.text('operation').notNullable();
    t.text('fingerprint').notNullable();
    t.text('request_method').notNullable();
    t.text('request_path').notNullable();
    t.jsonb('request_params').notNullable();
    t.text('request_id');
    t.text('recovery_point').notNullable();
    t.text('resource_id');
    t.timestamp('locked_at', { useTz: true });
    t.text('lock_token');
    t.integer('response_status');
    t.jsonb('response_body');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.unique(['account_id', 'key'], { indexName: 'idempotency_keys_account_key_uniq' });
  });
  // The background completer looks only at unfinished keys; retention deletes by age.
  await db.raw(
    "create index idempotency_keys_unfinished_idx on idempotency_keys (updated_at) where recovery_point <> 'finished'",
  );
  await db.raw('create index idempotency_keys_created_idx on idempotency_keys (created_at)');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('idempotency_keys');
  await db.schema.dropTable('events');
  await db.schema.dropTable('refunds');
  await db.schema.dropTable('payments');
}
