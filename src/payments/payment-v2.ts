/**
 * A payment as `/v2` shows it: the same row `/v1` shows, translated at the edge. Every amount is a
 * `Money` object (an amount is never read without its currency), `requires_capture` is called
 * `authorized`, and a decline is one `failure` object. The use cases, the rows and the events know
 * only the one payment; these functions are the whole difference between the versions.
 */
import type { components } from '../../generated/schema.js';
import type { ListPage } from '../platform/pagination.js';
import type { Payment } from './payment.js';

export type PaymentV2 = components['schemas']['PaymentV2'];
type StatusV1 = components['schemas']['PaymentStatus'];
type StatusV2 = components['schemas']['PaymentV2Status'];

const V2_STATUS: Record<StatusV1, StatusV2> = {
  processing: 'processing',
  requires_capture: 'authorized',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'canceled',
};
const V1_STATUS = Object.fromEntries(Object.entries(V2_STATUS).map(([v1, v2]) => [v2, v1])) as Record<StatusV2, StatusV1>;

/** A `/v2` status filter as the rows know it. */
export function statusFromV2(status: StatusV2): StatusV1 {
  return V1_STATUS[status];
}

export function toPaymentV2(p: Payment): PaymentV2 {
  const money = (value: number) => ({ value, currency: p.currency });
  return {
    id: p.id,
    object: 'payment',
    amount: money(p.amount),
    amount_captured: money(p.amount_captured),
    amount_refunded: money(p.amount_refunded),
    status: V2_STATUS[p.status],
    capture_method: p.capture_method,
    customer: p.customer,
    description: p.description,
    statement_descriptor: p.statement_descriptor,
    metadata: p.metadata,
    failure: p.failure_code === null ? null : { code: p.failure_code, message: p.failure_message },
    created: p.created,
  };
}

export function toPaymentListV2(page: ListPage<Payment>): ListPage<PaymentV2> {
  return { ...page, data: page.data.map(toPaymentV2) };
}
