/**
 * The payments component's public entry: what refunds ask of a payment, inside the refund's own
 * transaction — lock it while what remains refundable is decided, and add what was refunded.
 */
import { recordEvent, type EventSource } from '../events/index.js';
import type { Db, Transaction } from '../platform/db.js';
import { toPayment } from './payment.js';
import { addRefunded, findPayment, lockPayment, transition, type PaymentRow } from './repository.js';

/** What a refund needs to know of its payment. */
export type RefundablePayment = Pick<PaymentRow, 'id' | 'status' | 'currency' | 'amount_captured' | 'amount_refunded' | 'processor_charge_id'>;

/** The payment, locked until the transaction ends: refunds of one payment queue behind each other. */
export function lockPaymentForRefund(trx: Transaction, accountId: string, id: string): Promise<RefundablePayment | undefined> {
  return lockPayment(trx, accountId, id);
}

/** The payment as it stands, unlocked (the refund's processor call reads its charge id). */
export function findRefundablePayment(db: Db, accountId: string, id: string): Promise<RefundablePayment | undefined> {
  return findPayment(db, accountId, id);
}

/** Adds a succeeded refund's amount to the payment, in the refund's transaction. */
export async function recordRefunded(trx: Transaction, paymentId: string, amount: number): Promise<void> {
  await addRefunded(trx, paymentId, amount);
}

/** What the processor's records prove about a payment left `processing`: the outcome its charge had. */
export type ChargeOutcome =
  | { readonly status: 'succeeded'; readonly amount_captured: number }
  | { readonly status: 'requires_capture' }
  | { readonly status: 'failed'; readonly failure_code: string };

/**
 * Moves a payment left `processing` to the outcome its charge had, with the event that transition
 * writes, in the caller's transaction: the same guarded transition as the create-payment use case,
 * so of the two (or of two reconciliations) only one applies. `undefined` when it is no longer
 * `processing`.
 */
export async function settleProcessingPayment(trx: Transaction, source: EventSource, paymentId: string, chargeId: string, outcome: ChargeOutcome): Promise<PaymentRow | undefined> {
  const changes =
    outcome.status === 'failed'
      ? { status: 'failed' as const, failure_code: outcome.failure_code, failure_message: 'The card was declined.' }
      : outcome.status === 'succeeded'
        ? { status: 'succeeded' as const, amount_captured: outcome.amount_captured }
        : { status: 'requires_capture' as const };
  const updated = await transition(trx, source.accountId, paymentId, 'processing', { ...changes, processor_charge_id: chargeId });
  if (updated) await recordEvent(trx, source, `payment.${changes.status}`, toPayment(updated));
  return updated;
}

export { paymentsToReconcile, type ReconciledPaymentRow } from './repository.js';

/** A payment as `/v2` shows it, from the `/v1` snapshot an event stored (webhook payloads in `v2`). */
export { toPaymentV2 } from './payment-v2.js';
export type { Payment } from './payment.js';
