import type { Db } from '../platform/db.js';
import type { components, operations } from '../../generated/schema.js';
import { notFound } from '../platform/errors.js';
import { DEFAULT_LIMIT, SEQUENCE_PATTERN, fromUnixSeconds, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import * as repo from './repository.js';

export type Event = components['schemas']['Event'];
export type EventType = components['schemas']['EventType'];
type ListQuery = NonNullable<operations['listEvents']['parameters']['query']>;

const LIST = 'events';

type PaymentEvent = components['schemas']['PaymentEvent'];
type RefundEvent = components['schemas']['RefundEvent'];

/** The stored snapshot, typed by the event's type: `payment.*` carry a payment, `refund.*` a refund. */
function toResource(row: repo.EventRow): Event {
  const common = {
    id: row.id,
    object: 'event' as const,
    created: toUnixSeconds(row.created_at),
    request: { id: row.request_id, idempotency_key: row.idempotency_key },
  };
  if (row.type.startsWith('payment.')) {
    return { ...common, type: row.type as PaymentEvent['type'], data: { object: row.data as PaymentEvent['data']['object'], sequence: row.object_seq } };
  }
  return { ...common, type: row.type as RefundEvent['type'], data: { object: row.data as RefundEvent['data']['object'], sequence: row.object_seq } };
}

export class EventService {
  constructor(
    private readonly db: Db,
    private readonly cursors: CursorCodec,
  ) {}

  async retrieve(accountId: string, id: string): Promise<Event> {
    const row = await repo.findEvent(this.db, accountId, id);
    if (!row) throw notFound('event', id);
    return toResource(row);
  }

  async list(accountId: string, query: ListQuery): Promise<ListPage<Event>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const filter = { type: query.type, object_id: query.object_id, created: query.created };
    const after = query.cursor ? await this.cursors.decode(scope, filter, query.cursor, SEQUENCE_PATTERN) : undefined;
    const rows = await repo.listEvents(
      this.db,
      accountId,
      { type: query.type, objectId: query.object_id, created: query.created && fromUnixSeconds(query.created) },
      limit + 1,
      after,
    );
    return this.cursors.page(scope, filter, rows, limit, toResource, (row) => ({ created: row.created_at, id: String(row.seq) }));
  }
}
