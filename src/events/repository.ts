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

const COLUMNS = ['seq', 'id', 'account_id', 'type', 'object_id', 'data', 'request_id', 'idempotency_key', 'created_at'] as const;

/** The outbox write: always called with the transaction that makes the change it records. */
export async function insertEvent(trx: Knex.Transaction, event: NewEvent): Promise<void> {
  await trx('events').insert({ ...event, data: JSON.stringify(event.data) });
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
