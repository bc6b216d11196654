import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

const NOW_MS = "date_trunc('milliseconds', now())";

/**
 * Webhooks: endpoints, their signing secrets, one delivery row per (event, endpoint), and replays.
 *
 * The relay claims work by a status flag under `FOR UPDATE SKIP LOCKED`, never by "the last
 * sequence seen": `events.seq` is assigned when a transaction inserts, not when it commits, so a
 * reader that remembered the highest seq it saw would skip for ever a row whose transaction began
 * earlier and committed later. An event waits with `fanned_out = false` until a relay has written
 * its deliveries; a delivery waits with `status = 'pending'` until an attempt settles it.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('events', (t) => {
    // The object's own change counter, so a receiver can ignore a stale update (deliveries are not ordered).
    t.integer('object_seq');
    t.boolean('fanned_out').notNullable().defaultTo(false);
  });
  await db.raw(`update events set object_seq = s.n, fanned_out = true
    from (select seq, row_number() over (partition by account_id, object_id order by seq) as n from events) s
    where events.seq = s.seq`);
  await db.raw('alter table events alter column object_seq set not null');
  await db.raw('create index events_unrelayed_idx on events (seq) where not fanned_out');

  await db.schema.createTable('webhook_endpoints', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts');
    t.text('url').notNullable();
    t.text('description');
    t.jsonb('enabled_events').notNullable();
    t.text('api_version').notNullable();
    t.text('status').notNullable().defaultTo('enabled');
    t.text('disabled_reason');
    // The start of the current run of failed attempts: degraded, then disabled, as it ages.
    t.timestamp('failing_since', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
  });
  await db.raw(`alter table webhook_endpoints add constraint webhook_endpoints_status_check
    check ((status = 'enabled' and disabled_reason is null) or (status = 'disabled' and disabled_reason in ('requested', 'gone', 'failing')))`);
  await db.raw(`alter table webhook_endpoints add constraint webhook_endpoints_version_check check (api_version in ('v1', 'v2'))`);
  await db.raw('create index webhook_endpoints_account_created_idx on webhook_endpoints (account_id, created_at desc, id desc)');

  // Secrets are kept encrypted (AES-256-GCM under WEBHOOK_SECRETS_KEY): the server needs them to
  // sign, so a hash will not do, and a database dump alone must not let anyone forge deliveries.
  await db.schema.createTable('webhook_secrets', (t) => {
    t.bigIncrements('id');
    t.text('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    t.text('key_id').notNullable();
    t.binary('sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    // Null while the secret is current; a rotation sets it to the end of the overlap.
    t.timestamp('expires_at', { useTz: true });
  });
  await db.raw('create index webhook_secrets_endpoint_idx on webhook_secrets (endpoint_id)');

  await db.schema.createTable('webhook_deliveries', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable();
    t.text('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    t.text('event_id').notNullable().references('id').inTable('events');
    // Kept with the delivery, so listing deliveries reads no other component's table.
    t.text('event_type').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    // Attempts in the current run of the retry schedule (a manual retry or a replay starts a new run).
    t.integer('schedule_step').notNullable().defaultTo(0);
    t.integer('attempt_count').notNullable().defaultTo(0);
    // When the next attempt is due; a claim pushes it past the attempt's lease, so a relay that
    // dies mid-attempt leaves the delivery due again once the lease has passed.
    t.timestamp('next_attempt_at', { useTz: true });
    t.text('lease_token');
    t.jsonb('attempts').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.unique(['endpoint_id', 'event_id']);
  });
  await db.raw(`alter table webhook_deliveries add constraint webhook_deliveries_status_check
    check (status in ('pending', 'delivered', 'failed') and (status = 'pending') = (next_attempt_at is not null))`);
  await db.raw(`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`);
  await db.raw('create index webhook_deliveries_endpoint_created_idx on webhook_deliveries (endpoint_id, created_at desc, id desc)');

  await db.schema.createTable('webhook_replays', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable();
    t.text('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    t.timestamp('since', { useTz: true }).notNullable();
    t.timestamp('until', { useTz: true }).notNullable();
    t.text('status').notNullable().defaultTo('queued');
    t.integer('event_count');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.raw(NOW_MS));
    t.timestamp('completed_at', { useTz: true });
  });
  await db.raw(`alter table webhook_replays add constraint webhook_replays_status_check check (status in ('queued', 'succeeded'))`);
  await db.raw(`create index webhook_replays_queued_idx on webhook_replays (created_at) where status = 'queued'`);

  // Development's sealing key, used only while WEBHOOK_SECRETS_KEY is unset (never in production).
  await db('server_secrets').insert({ name: 'webhook_secrets_key', value: randomBytes(32) });
}

export async function down(db: Knex): Promise<void> {
  await db('server_secrets').where({ name: 'webhook_secrets_key' }).delete();
  await db.schema.dropTable('webhook_replays');
  await db.schema.dropTable('webhook_deliveries');
  await db.schema.dropTable('webhook_secrets');
  await db.schema.dropTable('webhook_endpoints');
  await db.schema.alterTable('events', (t) => {
    t.dropColumn('object_seq');
    t.dropColumn('fanned_out');
  });
}
