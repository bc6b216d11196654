/**
 * A refund as the API shows it.
 *
 *   pending ──processor refunded──▶ succeeded
 *      └────processor refused────▶ failed
 */
import type { components } from '../../generated/schema.js';
import { toUnixSeconds } from '../platform/pagination.js';
import type { RefundRow } from './repository.js';

export type Refund = components['schemas']['Refund'];

export function toRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    object: 'refund',
    payment: row.payment_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    reason: row.reason,
    metadata: row.metadata,
    failure_code: row.failure_code,
    created: toUnixSeconds(row.created_at),
  };
}
