/**
 * The refunds component's public entry: a refund as `/v2` shows it, for webhook payloads in `v2`,
 * and what a reconciliation compares and settles.
 */
import { recordEvent, type EventSource } from '../events/index.js';
import { recordRefunded } from '../payments/index.js';
import type { Transaction } from '../platform/db.js';
import { toRefund } from './refund.js';
import { settle, type RefundRow } from './repository.js';

/**
 * Settles a refund left `pending` that the processor's report shows it made: `succeeded`, the
 * payment's refunded amount grown and `refund.succeeded` written, in the caller's transaction,
 * through the same guarded update as the create-refund use case. `undefined` when it is no longer
 * `pending`.
 */
export async function settlePendingRefund(trx: Transaction, source: EventSource, refundId: string, processorRefundId: string): Promise<RefundRow | undefined> {
  const settled = await settle(trx, refundId, { status: 'succeeded', processor_refund_id: processorRefundId });
  if (!settled) return undefined;
  await recordRefunded(trx, settled.payment_id, settled.amount);
  await recordEvent(trx, source, 'refund.succeeded', toRefund(settled));
  return settled;
}

export { refundsToReconcile, type ReconciledRefundRow } from './repository.js';
export { toRefundV2 } from './refund-v2.js';
export type { Refund } from './refund.js';
