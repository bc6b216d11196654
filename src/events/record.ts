import type { Transaction } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import { insertEvent } from './repository.js';
import type { EventType } from './service.js';

export interface EventSource {
  readonly accountId: string;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
}

/**
 * Writes the event for a state change. Takes the transaction of the change itself (the outbox):
 * the change and its event commit together or not at all.
 */
export async function recordEvent(trx: Transaction, source: EventSource, type: EventType, object: { id: string }): Promise<void> {
  await insertEvent(trx, {
    id: newId('evt'),
    account_id: source.accountId,
    type,
    object_id: object.id,
    data: object,
    request_id: source.requestId,
    idempotency_key: source.idempotencyKey,
  });
}
