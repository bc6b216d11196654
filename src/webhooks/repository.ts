/**
 * Webhook data: endpoints and their sealed secrets, deliveries, replays, and the outbox reads the
 * relay makes. Every query the API makes names the account; the relay's work queries span accounts
 * and claim rows with `FOR UPDATE SKIP LOCKED`, so instances share the work without a coordinator.
 */
import type { Knex } from 'knex';
import { keysetPage } from '../platform/db.js';
import type { Position } from '../platform/pagination.js';

export type EndpointStatus = 'enabled' | 'disabled';
export type DisabledReason = 'requested' | 'gone' | 'failing';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface EndpointRow {
  id: string;
  account_id: string;
  url: string;
  description: string | null;
  enabled_events: string[];
  api_version: 'v1' | 'v2';
  status: EndpointStatus;
  disabled_reason: DisabledReason | null;
  failing_since: Date | null;
  created_at: Date;
}

export interface SecretRow {
  id: number;
  endpoint_id: string;
  key_id: string;
  sealed: Uint8Array;
  created_at: Date;
  expires_at: Date | null;
}

export interface AttemptRecord {
  readonly attempted: number;
  readonly response_status: number | null;
  readonly latency_ms: number;
  readonly response_body: string | null;
  readonly error: 'timeout' | 'connection_failed' | 'address_not_allowed' | null;
}

export interface DeliveryRow {
  id: string;
  account_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  schedule_step: number;
  attempt_count: number;
  next_attempt_at: Date | null;
  lease_token: string | null;
  attempts: AttemptRecord[];
  created_at: Date;
}

export interface ReplayRow {
  id: string;
  account_id: string;
  endpoint_id: string;
  since: Date;
  until: Date;
  status: 'queued' | 'succeeded';
  event_count: number | null;
  created_at: Date;
  completed_at: Date | null;
}

const ENDPOINT_COLUMNS = ['id', 'account_id', 'url', 'description', 'enabled_events', 'api_version', 'status', 'disabled_reason', 'failing_since', 'created_at'] as const;
const DELIVERY_COLUMNS = [
  'id',
  'account_id',
  'endpoint_id',
  'event_id',
  'event_type',
  'status',
  'schedule_step',
  'attempt_count',
  'next_attempt_at',
  'lease_token',
  'attempts',
  'created_at',
] as const;
const REPLAY_COLUMNS = ['id', 'account_id', 'endpoint_id', 'since', 'until', 'status', 'event_count', 'created_at', 'completed_at'] as const;

// ---- endpoints ------------------------------------------------------------------------------

export async function countEndpoints(db: Knex, accountId: string): Promise<number> {
  const row = await db('webhook_endpoints').where({ account_id: accountId }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

export async function insertEndpoint(
  trx: Knex.Transaction,
  row: Pick<EndpointRow, 'id' | 'account_id' | 'url' | 'description' | 'enabled_events' | 'api_version'>,
  secret: { keyId: string; sealed: Buffer },
): Promise<EndpointRow> {
  const [inserted] = await trx('webhook_endpoints')
    .insert({ ...row, enabled_events: JSON.stringify(row.enabled_events) })
    .returning(ENDPOINT_COLUMNS);
  await trx('webhook_secrets').insert({ endpoint_id: row.id, key_id: secret.keyId, sealed: secret.sealed });
  return inserted;
}

export async function findEndpoint(db: Knex, accountId: string, id: string): Promise<EndpointRow | undefined> {
  return db('webhook_endpoints').select(ENDPOINT_COLUMNS).where({ account_id: accountId, id }).first();
}

export async function endpointsByIds(db: Knex, ids: readonly string[]): Promise<EndpointRow[]> {
  if (ids.length === 0) return [];
  return db('webhook_endpoints').select(ENDPOINT_COLUMNS).whereIn('id', ids);
}

/** Locks the endpoint row for the rest of the caller's transaction. */
export async function lockEndpoint(trx: Knex.Transaction, accountId: string, id: string): Promise<EndpointRow | undefined> {
  return trx('webhook_endpoints').select(ENDPOINT_COLUMNS).where({ account_id: accountId, id }).forUpdate().first();
}

export async function listEndpoints(db: Knex, accountId: string, limit: number, after?: Position): Promise<(EndpointRow & { created: Date })[]> {
  const q = db('webhook_endpoints').select(ENDPOINT_COLUMNS).where({ account_id: accountId });
  const rows: EndpointRow[] = await keysetPage(q, { after, limit });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}

export type EndpointChanges = Partial<Pick<EndpointRow, 'url' | 'description' | 'enabled_events' | 'api_version' | 'status' | 'disabled_reason' | 'failing_since'>>;

export async function updateEndpoint(db: Knex, accountId: string, id: string, changes: EndpointChanges): Promise<EndpointRow | undefined> {
  const values: Record<string, unknown> = { ...changes, updated_at: db.fn.now() };
  if (changes.enabled_events) values.enabled_events = JSON.stringify(changes.enabled_events);
  const [row] = await db('webhook_endpoints').where({ account_id: accountId, id }).update(values).returning(ENDPOINT_COLUMNS);
  return row;
}

export async function deleteEndpoint(db: Knex, accountId: string, id: string): Promise<boolean> {
  // `returning`, not the affected count: the embedded driver does not report counts for deletes.
  return (await db('webhook_endpoints').where({ account_id: accountId, id }).delete().returning('id')).length > 0;
}

// ---- secrets --------------------------------------------------------------------------------

/**
 * Rotation: the current secret keeps signing until `previousUntil` (now, for no overlap), a secret
 * still in an earlier overlap stops at once, and the new secret becomes current.
 */
export async function rotateSecret(trx: Knex.Transaction, endpointId: string, secret: { keyId: string; sealed: Buffer }, now: Date, previousUntil: Date): Promise<void> {
  await trx('webhook_secrets').where({ endpoint_id: endpointId }).whereNotNull('expires_at').where('expires_at', '>', now).update({ expires_at: now });
  await trx('webhook_secrets').where({ endpoint_id: endpointId }).whereNull('expires_at').update({ expires_at: previousUntil });
  await trx('webhook_secrets').insert({ endpoint_id: endpointId, key_id: secret.keyId, sealed: secret.sealed });
}

/** The secrets that sign at `now`, newest first, for each endpoint asked for. */
export async function activeSecrets(db: Knex, endpointIds: readonly string[], now: Date): Promise<SecretRow[]> {
  if (endpointIds.length === 0) return [];
  return db('webhook_secrets')
    .select('id', 'endpoint_id', 'key_id', 'sealed', 'created_at', 'expires_at')
    .whereIn('endpoint_id', endpointIds)
    .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now))
    .orderBy([{ column: 'endpoint_id' }, { column: 'id', order: 'desc' }]);
}

// ---- fan-out -------------------------------------------------------------------------------

/** The enabled endpoints of these accounts, with what each subscribes to and when it was created. */
export async function enabledEndpointsOf(trx: Knex.Transaction, accountIds: readonly string[]): Promise<Pick<EndpointRow, 'id' | 'account_id' | 'enabled_events' | 'created_at'>[]> {
  if (accountIds.length === 0) return [];
  return trx('webhook_endpoints').select('id', 'account_id', 'enabled_events', 'created_at').whereIn('account_id', accountIds).where({ status: 'enabled' });
}

export interface NewDelivery {
  readonly id: string;
  readonly account_id: string;
  readonly endpoint_id: string;
  readonly event_id: string;
  readonly event_type: string;
  readonly next_attempt_at: Date;
}

/** Fan-out: one delivery per (event, endpoint); a second fan-out of the same pair writes nothing. */
export async function insertDeliveries(trx: Knex.Transaction, rows: readonly NewDelivery[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await trx('webhook_deliveries').insert(rows).onConflict(['endpoint_id', 'event_id']).ignore().returning('id');
  return inserted.length;
}

// ---- deliveries -----------------------------------------------------------------------------

/**
 * Claims due deliveries of enabled endpoints. The claim moves `next_attempt_at` to the end of the
 * attempt's lease and stamps a token: the attempt's result is written only under that token, and
 * if this process dies the delivery is simply due again when the lease ends, for any relay.
 */
export async function claimDueDeliveries(db: Knex, now: Date, leaseUntil: Date, token: string, limit: number): Promise<DeliveryRow[]> {
  const due = db('webhook_deliveries as d2')
    .select('d2.id')
    .join('webhook_endpoints as we', 'we.id', 'd2.endpoint_id')
    .where('d2.status', 'pending')
    .where('d2.next_attempt_at', '<=', now)
    .where('we.status', 'enabled')
    .orderBy('d2.next_attempt_at')
    .limit(limit)
    .forUpdate('d2')
    .skipLocked();
  return db('webhook_deliveries').whereIn('id', due).update({ next_attempt_at: leaseUntil, lease_token: token }).returning(DELIVERY_COLUMNS);
}

export interface AttemptResult {
  readonly status: DeliveryStatus;
  readonly scheduleStep: number;
  readonly nextAttemptAt: Date | null;
  readonly attempts: readonly AttemptRecord[];
}

/** Records an attempt, only if this claim still holds the delivery (a retry may have re-queued it). */
export async function recordAttempt(db: Knex, id: string, token: string, result: AttemptResult): Promise<boolean> {
  const updated = await db('webhook_deliveries')
    .where({ id, lease_token: token })
    .update({
      status: result.status,
      schedule_step: result.scheduleStep,
      attempt_count: db.raw('attempt_count + 1'),
      next_attempt_at: result.nextAttemptAt,
      lease_token: null,
      attempts: JSON.stringify(result.attempts),
      updated_at: db.fn.now(),
    })
    .returning('id');
  return updated.length > 0;
}

/** The first failure of a run starts the clock; a success stops it. */
export async function markEndpointFailing(db: Knex, id: string, now: Date): Promise<EndpointRow | undefined> {
  const [row] = await db('webhook_endpoints')
    .where({ id })
    .update({ failing_since: db.raw('coalesce(failing_since, ?)', [now]) })
    .returning(ENDPOINT_COLUMNS);
  return row;
}

export async function markEndpointHealthy(db: Knex, id: string): Promise<void> {
  await db('webhook_endpoints').where({ id }).whereNotNull('failing_since').update({ failing_since: null });
}

/** Disables an enabled endpoint (a 410, or failing for too long); already disabled keeps its reason. */
export async function disableEndpoint(db: Knex, id: string, reason: DisabledReason): Promise<boolean> {
  const rows = await db('webhook_endpoints').where({ id, status: 'enabled' }).update({ status: 'disabled', disabled_reason: reason, updated_at: db.fn.now() }).returning('id');
  return rows.length > 0;
}

export async function listDeliveries(
  db: Knex,
  accountId: string,
  endpointId: string,
  filter: { status?: DeliveryStatus; eventId?: string },
  limit: number,
  after?: Position,
): Promise<(DeliveryRow & { created: Date })[]> {
  const q = db('webhook_deliveries').select(DELIVERY_COLUMNS).where({ account_id: accountId, endpoint_id: endpointId });
  if (filter.status) q.where({ status: filter.status });
  if (filter.eventId) q.where({ event_id: filter.eventId });
  const rows: DeliveryRow[] = await keysetPage(q, { after, limit });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}

/**
 * The endpoint's delivery, due now on a new run of the schedule; an attempt in flight under the
 * old claim no longer records. Undefined when the endpoint has no such delivery.
 */
export async function requeueDelivery(db: Knex, accountId: string, endpointId: string, id: string, now: Date): Promise<DeliveryRow | undefined> {
  const [row] = await db('webhook_deliveries')
    .where({ account_id: accountId, endpoint_id: endpointId, id })
    .update({ status: 'pending', schedule_step: 0, next_attempt_at: now, lease_token: null, updated_at: db.fn.now() })
    .returning(DELIVERY_COLUMNS);
  return row;
}

// ---- replays --------------------------------------------------------------------------------

export async function insertReplay(db: Knex, row: Pick<ReplayRow, 'id' | 'account_id' | 'endpoint_id' | 'since' | 'until'>): Promise<ReplayRow> {
  const [inserted] = await db('webhook_replays').insert(row).returning(REPLAY_COLUMNS);
  return inserted;
}

export async function findReplay(db: Knex, accountId: string, endpointId: string, id: string): Promise<ReplayRow | undefined> {
  return db('webhook_replays').select(REPLAY_COLUMNS).where({ account_id: accountId, endpoint_id: endpointId, id }).first();
}

export async function claimQueuedReplay(trx: Knex.Transaction): Promise<ReplayRow | undefined> {
  return trx('webhook_replays').select(REPLAY_COLUMNS).where({ status: 'queued' }).orderBy('created_at').limit(1).forUpdate().skipLocked().first();
}

/** A replay's deliveries: new ones are created, existing ones due again from the start of the schedule. */
export async function upsertReplayDeliveries(trx: Knex.Transaction, rows: readonly NewDelivery[]): Promise<void> {
  if (rows.length === 0) return;
  await trx('webhook_deliveries')
    .insert(rows)
    .onConflict(['endpoint_id', 'event_id'])
    .merge({ status: 'pending', schedule_step: 0, next_attempt_at: trx.raw('excluded.next_attempt_at'), lease_token: null, updated_at: trx.fn.now() });
}

export async function completeReplay(trx: Knex.Transaction, id: string, eventCount: number, now: Date): Promise<void> {
  await trx('webhook_replays').where({ id }).update({ status: 'succeeded', event_count: eventCount, completed_at: now });
}

// ---- what the metrics show ------------------------------------------------------------------

export interface DeliveryBacklog {
  readonly pendingDeliveries: number;
  readonly dueDeliveries: number;
  /** Seconds since the oldest pending delivery was created; 0 with none. */
  readonly oldestPendingS: number;
  readonly endpoints: { readonly enabled: number; readonly degraded: number; readonly disabled: number };
}

export async function deliveryBacklog(db: Knex, now: Date, degradedBefore: Date): Promise<DeliveryBacklog> {
  const [deliveries, endpoints] = await Promise.all([
    // Deliveries of a disabled endpoint wait for it to be enabled again: they are not backlog.
    db('webhook_deliveries as d')
      .join('webhook_endpoints as we', 'we.id', 'd.endpoint_id')
      .where({ 'd.status': 'pending', 'we.status': 'enabled' })
      .select(
        db.raw('count(*) as pending'),
        db.raw('count(*) filter (where d.next_attempt_at <= ?) as due', [now]),
        db.raw('coalesce(extract(epoch from (?::timestamptz - min(d.created_at))), 0) as oldest', [now]),
      )
      .first(),
    db('webhook_endpoints')
      .select(
        db.raw(`count(*) filter (where status = 'enabled' and (failing_since is null or failing_since > ?)) as enabled`, [degradedBefore]),
        db.raw(`count(*) filter (where status = 'enabled' and failing_since <= ?) as degraded`, [degradedBefore]),
        db.raw(`count(*) filter (where status = 'disabled') as disabled`),
      )
      .first(),
  ]);
  return {
    pendingDeliveries: Number(deliveries?.pending ?? 0),
    dueDeliveries: Number(deliveries?.due ?? 0),
    oldestPendingS: Math.max(0, Number(deliveries?.oldest ?? 0)),
    endpoints: { enabled: Number(endpoints?.enabled ?? 0), degraded: Number(endpoints?.degraded ?? 0), disabled: Number(endpoints?.disabled ?? 0) },
  };
}

/**
 * Serialises endpoint creation within an account until the transaction ends, so two concurrent
 * creations cannot both pass the per-account limit.
 */
export async function lockAccountEndpoints(trx: Knex.Transaction, accountId: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`webhook_endpoints:${accountId}`]);
}
