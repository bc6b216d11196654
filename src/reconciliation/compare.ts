/**
 * What the two books say, side by side: pure functions of the report's transactions and Remit's
 * payments and refunds, deciding for each object of the window whether it matches, can be settled
 * (Remit left it `processing` or `pending` and the report proves how it ended, amounts agreeing), or
 * is a discrepancy to report. Nothing here writes; the worker applies the decisions.
 *
 * Scope: the payments and refunds created in the window, the processor's charges and refunds
 * applied in it, and, joined to either, their counterparts whenever created (a payment created a
 * moment before the window whose charge landed inside it is compared, not reported missing).
 */
import type { ChargeOutcome, ReconciledPaymentRow } from '../payments/index.js';
import type { ReconciledRefundRow } from '../refunds/index.js';
import type { DiscrepancyKind, SideRecord, StoredTransaction } from './repository.js';

type ChargeState = StoredTransaction['charge_status'];

/** A charge as the report shows it: its creation, then every move the report holds. */
export interface ReportedCharge {
  readonly id: string;
  readonly reference: string | null;
  readonly amount: number;
  readonly currency: string;
  readonly status: ChargeState;
  readonly amountCaptured: number;
  readonly createdAt: Date;
}

export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly objectType: 'payment' | 'refund';
  readonly local: SideRecord | null;
  readonly processor: SideRecord | null;
}

export type Settlement =
  | { readonly objectType: 'payment'; readonly id: string; readonly chargeId: string; readonly outcome: ChargeOutcome }
  | { readonly objectType: 'refund'; readonly id: string; readonly processorRefundId: string };

export interface Comparison {
  readonly paymentsChecked: number;
  readonly refundsChecked: number;
  readonly settlements: readonly Settlement[];
  readonly discrepancies: readonly Discrepancy[];
}

/** The payment status each charge status corresponds to. */
const PAYMENT_STATUS_OF: Record<ChargeState, string> = {
  authorized: 'requires_capture',
  captured: 'succeeded',
  voided: 'canceled',
  declined: 'failed',
};

/** Folds the report into charges (from their charge transaction on) and refunds (by Remit's refund id, their key). */
export function foldReport(transactions: readonly StoredTransaction[]): { charges: Map<string, ReportedCharge>; refunds: Map<string, StoredTransaction> } {
  const charges = new Map<string, ReportedCharge>();
  const refunds = new Map<string, StoredTransaction>();
  for (const t of transactions) {
    if (t.type === 'refund') {
      refunds.set(t.idempotency_key, t);
      continue;
    }
    const known = charges.get(t.charge_id);
    if (t.type === 'charge') {
      charges.set(t.charge_id, {
        id: t.charge_id,
        reference: t.reference,
        amount: t.amount,
        currency: t.currency,
        status: t.charge_status,
        amountCaptured: t.charge_status === 'captured' ? t.amount : 0,
        createdAt: t.applied_at,
      });
    } else if (known) {
      // A capture or a void of a charge created before the report's start is out of scope.
      charges.set(t.charge_id, { ...known, status: t.charge_status, amountCaptured: t.type === 'capture' ? t.amount : known.amountCaptured });
    }
  }
  return { charges, refunds };
}

/** The ids of Remit's objects the report names, to load beside those created in the window. */
export function referencedIds(transactions: readonly StoredTransaction[]): { payments: string[]; refunds: string[] } {
  const payments = new Set<string>();
  const refunds = new Set<string>();
  for (const t of transactions) {
    if (t.type === 'charge' && t.reference?.startsWith('pay_')) payments.add(t.reference);
    if (t.type === 'refund' && t.idempotency_key.startsWith('re_')) refunds.add(t.idempotency_key);
  }
  return { payments: [...payments], refunds: [...refunds] };
}

function inWindow(at: Date, window: { start: Date; end: Date }): boolean {
  return at >= window.start && at < window.end;
}

function chargeSide(c: ReportedCharge): SideRecord {
  return { id: c.id, status: c.status, amount: c.amount, currency: c.currency };
}

function paymentSide(p: ReconciledPaymentRow): SideRecord {
  return { id: p.id, status: p.status, amount: Number(p.amount), currency: p.currency };
}

function refundSide(r: ReconciledRefundRow): SideRecord {
  return { id: r.id, status: r.status, amount: Number(r.amount), currency: r.currency };
}

function processorRefundSide(t: StoredTransaction): SideRecord {
  return { id: t.refund_id ?? t.id, status: 'succeeded', amount: t.amount, currency: t.currency };
}

function sameMoney(a: { amount: number; currency: string }, b: { amount: number; currency: string }): boolean {
  return a.amount === b.amount && a.currency.toUpperCase() === b.currency.toUpperCase();
}

/** The outcome a processing payment settles to, given its charge. */
function outcomeOf(charge: ReportedCharge): ChargeOutcome | undefined {
  switch (charge.status) {
    case 'captured':
      return { status: 'succeeded', amount_captured: charge.amountCaptured };
    case 'authorized':
      return { status: 'requires_capture' };
    case 'declined':
      return { status: 'failed', failure_code: 'card_declined' };
    case 'voided':
      // Remit voids only a payment it holds as requires_capture: a processing one cannot be voided.
      return undefined;
  }
}

export function compare(input: {
  readonly window: { readonly start: Date; readonly end: Date };
  readonly transactions: readonly StoredTransaction[];
  readonly payments: readonly ReconciledPaymentRow[];
  readonly refunds: readonly ReconciledRefundRow[];
}): Comparison {
  const { window } = input;
  const { charges, refunds: reportedRefunds } = foldReport(input.transactions);
  const settlements: Settlement[] = [];
  const discrepancies: Discrepancy[] = [];

  // Payments: each one in scope against the charge that names it (its reference) or that it names.
  const chargeByPayment = new Map<string, ReportedCharge>();
  for (const c of charges.values()) if (c.reference !== null) chargeByPayment.set(c.reference, c);
  const paymentsById = new Map(input.payments.map((p) => [p.id, p]));
  const matchedCharges = new Set<string>();
  let paymentsChecked = 0;
  for (const p of input.payments) {
    const charge = chargeByPayment.get(p.id) ?? (p.processor_charge_id === null ? undefined : charges.get(p.processor_charge_id));
    if (!charge && !inWindow(p.created_at, window)) continue;
    paymentsChecked += 1;
    if (!charge) {
      discrepancies.push({ kind: 'missing_at_processor', objectType: 'payment', local: paymentSide(p), processor: null });
      continue;
    }
    matchedCharges.add(charge.id);
    // A declined charge moved nothing, and the report says so with an amount of 0.
    if (charge.status !== 'declined' && !sameMoney({ amount: Number(p.amount), currency: p.currency }, charge)) {
      discrepancies.push({ kind: 'amount_mismatch', objectType: 'payment', local: paymentSide(p), processor: chargeSide(charge) });
      continue;
    }
    if (p.status === PAYMENT_STATUS_OF[charge.status]) continue;
    const outcome = p.status === 'processing' ? outcomeOf(charge) : undefined;
    if (outcome) settlements.push({ objectType: 'payment', id: p.id, chargeId: charge.id, outcome });
    else discrepancies.push({ kind: 'status_mismatch', objectType: 'payment', local: paymentSide(p), processor: chargeSide(charge) });
  }
  for (const c of charges.values()) {
    if (matchedCharges.has(c.id) || !inWindow(c.createdAt, window)) continue;
    if (c.reference !== null && paymentsById.has(c.reference)) continue;
    discrepancies.push({ kind: 'missing_locally', objectType: 'payment', local: null, processor: chargeSide(c) });
  }

  // Refunds: each one in scope against the processor's refund made under its id.
  const matchedRefunds = new Set<string>();
  let refundsChecked = 0;
  for (const r of input.refunds) {
    const reported = reportedRefunds.get(r.id);
    if (!reported && !inWindow(r.created_at, window)) continue;
    refundsChecked += 1;
    if (!reported) {
      // A refund the processor refused was never made there: both books agree nothing moved.
      if (r.status !== 'failed') discrepancies.push({ kind: 'missing_at_processor', objectType: 'refund', local: refundSide(r), processor: null });
      continue;
    }
    matchedRefunds.add(reported.id);
    if (!sameMoney({ amount: Number(r.amount), currency: r.currency }, reported)) {
      discrepancies.push({ kind: 'amount_mismatch', objectType: 'refund', local: refundSide(r), processor: processorRefundSide(reported) });
    } else if (r.status === 'pending' && reported.refund_id !== null) {
      settlements.push({ objectType: 'refund', id: r.id, processorRefundId: reported.refund_id });
    } else if (r.status !== 'succeeded') {
      discrepancies.push({ kind: 'status_mismatch', objectType: 'refund', local: refundSide(r), processor: processorRefundSide(reported) });
    }
  }
  for (const t of reportedRefunds.values()) {
    if (matchedRefunds.has(t.id) || !inWindow(t.applied_at, window)) continue;
    discrepancies.push({ kind: 'missing_locally', objectType: 'refund', local: null, processor: processorRefundSide(t) });
  }

  return { paymentsChecked, refundsChecked, settlements, discrepancies };
}
