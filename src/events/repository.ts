import type { Knex } from 'knex';
import { keysetPage, preparedRead } from '../platform/db.js';
import type { CreatedBounds, Position } from '../platform/pagination.js';

export interface EventRow {
  seq: number;
  id: string;
  account_id: string;
  type: string;
  object_id: string;
  data: unknown;
  request_id: string | null;
  idempotency_key: string | null;
  /** The object's own change counter: 1 for its first event. */
  object_seq: number;
  created_at: Date;
}

export interface NewEvent {
  readonly id: string;
  readonly account_id: string;
  readonly type: string;
  readonly object_id: string;
  /** The resource as the API shows it right after the change. */
  readonly data: unknown;
  readonly request_id: string | null;
  readonly idempotency_key: string | null;
}

export interface EventFilter {
  readonly type?: string;
  readonly objectId?: string;
  readonly created?: CreatedBounds;
}

const COLUMNS = ['seq', 'id', 'account_id', 'type', 'object_id', 'data', 'request_id', 'idempotency_key', 'object_seq', 'created_at'] as const;

/** The outbox write: always called with the transaction that makes the change it records. */
export async function insertEvent(trx: Knex.Transaction, event: NewEvent): Promise<void> {
  // Changes to one object are serialised by the lock its use case holds on it, so max + 1 is the
  // next number; the object's events are few and found through events_account_object_idx.
  await trx('events').insert({
    ...event,
    data: JSON.stringify(event.data),
    object_seq: trx.raw('(select coalesce(max(object_seq), 0) + 1 from events where account_id = ? and object_id = ?)', [event.account_id, event.object_id]),
  });
}

const eventById = preparedRead<'accountId' | 'id', EventRow>('remit_event_by_id', ['accountId', 'id'], (db, p) =>
  db('events').select(COLUMNS).where({ account_id: p.accountId, id: p.id }).limit(1),
);

export async function findEvent(db: Knex, accountId: string, id: string): Promise<EventRow | undefined> {
  return (await eventById(db, { accountId, id }))[0];
}

/** Newest first by (created_at, seq): `seq` breaks ties in the order the events were written. */
export async function listEvents(db: Knex, accountId: string, filter: EventFilter, limit: number, after?: Position): Promise<(EventRow & { created: Date })[]> {
  const q = db('events').select(COLUMNS).where({ account_id: accountId });
  if (filter.type !== undefined) q.where({ type: filter.type });
  if (filter.objectId !== undefined) q.where({ object_id: filter.objectId });
  const rows: EventRow[] = await keysetPage(q, { created: filter.created, after, limit, tiebreak: 'seq' });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}

// ---- the outbox, as the webhook relay reads it ---------------------------------------------

/** Whether any event waits for fan-out: a probe of the partial index, outside any transaction. */
export async function anyUnrelayedEvent(db: Knex): Promise<boolean> {
  return (await db('events').select('seq').where({ fanned_out: false }).limit(1)).length > 0;
}

/**
 * Claims events no relay has fanned out yet, oldest first, skipping those another relay holds.
 * The status flag, not a remembered sequence, is what makes this lossless: an event committed
 * late with a low `seq` is still `fanned_out = false` and is found by the next claim.
 */
export async function claimUnrelayedEvents(trx: Knex.Transaction, limit: number): Promise<EventRow[]> {
  return trx('events').select(COLUMNS).where({ fanned_out: false }).orderBy('seq').limit(limit).forUpdate().skipLocked();
}

export async function markFannedOut(trx: Knex.Transaction, seqs: readonly number[]): Promise<void> {
  if (seqs.length > 0) await trx('events').whereIn('seq', seqs).update({ fanned_out: true });
}

export async function findEventsByIds(db: Knex, ids: readonly string[]): Promise<EventRow[]> {
  if (ids.length === 0) return [];
  return db('events').select(COLUMNS).whereIn('id', ids);
}

/** The account's events in [since, until] (whole seconds) of the given types (`*`: all), by sequence, a page at a time. */
export async function eventsInWindow(
  trx: Knex.Transaction,
  window: { readonly accountId: string; readonly since: Date; readonly until: Date; readonly types: readonly string[] },
  afterSeq: number,
  limit: number,
): Promise<{ seq: number; id: string; type: string }[]> {
  const q = trx('events')
    .select('seq', 'id', 'type')
    .where({ account_id: window.accountId })
    .where('created_at', '>=', window.since)
    .whereRaw("created_at < ?::timestamptz + interval '1 second'", [window.until])
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit);
  if (!window.types.includes('*')) q.whereIn('type', window.types);
  return q;
}

/** Events waiting for fan-out, for the relay's backlog gauge. */
export async function countUnrelayedEvents(db: Knex): Promise<number> {
  const row = await db('events').where({ fanned_out: false }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
