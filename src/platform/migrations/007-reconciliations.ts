import type { Knex } from 'knex';

const NOW_MS = "date_trunc('milliseconds', now())";

/**
 * Reconciliation runs against the processor's report, the report's transactions each run read,
 * and what the two books disagreed on.
 *
 * A run is worked by one process at a time: it is claimed under `FOR UPDATE SKIP LOCKED` with a
 * lease (`lease_until`, and a token every write of the worker is guarded by), so a process that
 * dies mid-run leaves it to any other once the lease lapses. `cursor` is the checkpoint: the
 * report's cursor after the last page stored, written in the transaction that stores the page.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('reconciliations', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('status').notNullable().defaultTo('queued');
    t.timestamp('window_start', { useTz: true }).notNullable();
    t.timestamp('window_end', { useTz: true }).notNullable();
    // The report is read up to here (the run's creation), so later moves of the window's charges are seen.
    t.timestamp('report_until', { useTz: true }).notNullable();
    t.text('cursor');
    t.integer('pages_fetched').notNullable().defaultTo(0);
    t.integer('transactions_fetched').notNullable().defaultTo(0);
    t.integer('throttled').notNullable().defaultTo(0);
    t.integer('payments_checked').notNullable().defaultTo(0);
    t.integer('refunds_checked').notNullable().defaultTo(0);
    t.integer('settled').notNullable().defaultTo(0);
    t.integer('discrepancy_count').notNullable().defaultTo(0);
    t.text('failure_code');
    t.text('failure_detail');
    t.jsonb('failure_drift');
    // Claims that ended without finishing (the processor unavailable); the run fails past a bound.
    t.integer('attempts').notNullable().defaultTo(0);
    t.uuid('lease_token');
    t.timestamp('lease_until', { useTz: true });
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
  });
  await db.raw(`alter table reconciliations add constraint reconciliations_status_check
    check (status in ('queued', 'running', 'succeeded', 'failed') and (failure_code is null) = (status <> 'failed'))`);
  await db.raw('alter table reconciliations add constraint reconciliations_window_check check (window_start < window_end and window_end <= report_until)');
  await db.raw(`create index reconciliations_due_idx on reconciliations (next_attempt_at) where status in ('queued', 'running')`);

  // The report as read: normalised, one row per transaction, whatever page or retry brought it.
  await db.schema.createTable('reconciliation_transactions', (t) => {
    t.text('reconciliation_id').notNullable().references('id').inTable('reconciliations').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('type').notNullable();
    t.text('charge_id').notNullable();
    t.text('refund_id');
    t.bigInteger('amount').notNullable();
    t.text('currency').notNullable();
    t.text('charge_status').notNullable();
    t.text('reference');
    t.text('idempotency_key').notNullable();
    t.timestamp('applied_at', { useTz: true }).notNullable();
    t.primary(['reconciliation_id', 'id']);
  });

  await db.schema.createTable('reconciliation_discrepancies', (t) => {
    t.text('id').primary();
    t.text('reconciliation_id').notNullable().references('id').inTable('reconciliations').onDelete('CASCADE');
    t.text('account_id').notNullable();
    t.text('kind').notNullable();
    t.text('object_type').notNullable();
    t.jsonb('local');
    t.jsonb('processor');
    // What the discrepancy is about: the local id, else the processor's; unique per run.
    t.text('subject').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.unique(['reconciliation_id', 'object_type', 'subject']);
  });
  await db.raw(`alter table reconciliation_discrepancies add constraint reconciliation_discrepancies_kind_check
    check (kind in ('missing_locally', 'missing_at_processor', 'amount_mismatch', 'status_mismatch'))`);
  await db.raw('create index reconciliation_discrepancies_page_idx on reconciliation_discrepancies (reconciliation_id, created_at desc, id desc)');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('reconciliation_discrepancies');
  await db.schema.dropTable('reconciliation_transactions');
  await db.schema.dropTable('reconciliations');
}
