/** A refund as `/v2` shows it: the same row, its amount a `Money` object (see payments/payment-v2.ts). */
import type { components } from '../../generated/schema.js';
import type { ListPage } from '../platform/pagination.js';
import type { Refund } from './refund.js';

export type RefundV2 = components['schemas']['RefundV2'];

export function toRefundV2(r: Refund): RefundV2 {
  return {
    id: r.id,
    object: 'refund',
    payment: r.payment,
    amount: { value: r.amount, currency: r.currency },
    status: r.status,
    reason: r.reason,
    metadata: r.metadata,
    failure_code: r.failure_code,
    created: r.created,
  };
}

export function toRefundListV2(page: ListPage<Refund>): ListPage<RefundV2> {
  return { ...page, data: page.data.map(toRefundV2) };
}
