/**
 * What a delivery's body says: the event as the endpoint's `api_version` shows it (the spec's
 * `webhooks` section, `PaymentWebhookV1` … `RefundWebhookV2`). The event stores the object as
 * `/v1` showed it when it changed; a `v2` endpoint gets it translated at the edge by the same
 * functions `/v2` answers with, so a payload and a read of the same version always agree.
 */
import type { components } from '../../generated/schema.js';
import { toPaymentV2, type Payment } from '../payments/index.js';
import { toRefundV2, type Refund } from '../refunds/index.js';
import { toUnixSeconds } from '../platform/pagination.js';
import type { OutboxEvent } from '../events/index.js';

/** Any event as delivered: the union of the spec's `PaymentWebhook` and `RefundWebhook`. */
export type WebhookPayload = components['schemas']['PaymentWebhook'] | components['schemas']['RefundWebhook'];
type PaymentEventType = components['schemas']['PaymentEventType'];
type RefundEventType = components['schemas']['RefundEventType'];

export function webhookPayload(event: OutboxEvent, version: 'v1' | 'v2'): WebhookPayload {
  const common = {
    id: event.id,
    object: 'event' as const,
    created: toUnixSeconds(event.created_at),
    request: { id: event.request_id, idempotency_key: event.idempotency_key },
  };
  const sequence = event.object_seq;
  if (event.type.startsWith('payment.')) {
    // Snapshots written before `statement_descriptor` existed lack it; the field is null then.
    const snapshot = event.data as Payment;
    const payment: Payment = { ...snapshot, statement_descriptor: snapshot.statement_descriptor ?? null };
    const type = event.type as PaymentEventType;
    return version === 'v1'
      ? { ...common, api_version: 'v1', type, data: { object: payment, sequence } }
      : { ...common, api_version: 'v2', type, data: { object: toPaymentV2(payment), sequence } };
  }
  const refund = event.data as Refund;
  const type = event.type as RefundEventType;
  return version === 'v1'
    ? { ...common, api_version: 'v1', type, data: { object: refund, sequence } }
    : { ...common, api_version: 'v2', type, data: { object: toRefundV2(refund), sequence } };
}
