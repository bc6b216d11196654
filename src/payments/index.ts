/**
 * The payments component's public entry: what refunds ask of a payment, inside the refund's own
 * transaction — lock it while what remains refundable is decided, and add what was refunded.
 */
import type { Db, Transaction } from '../platform/db.js';
import { addRefunded, findPayment, lockPayment, type PaymentRow } from './repository.js';

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

/** A payment as `/v2` shows it, from the `/v1` snapshot an event stored (webhook payloads in `v2`). */
export { toPaymentV2 } from './payment-v2.js';
export type { Payment } from './payment.js';
