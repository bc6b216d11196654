/**
 * A payment as the API shows it, and the refusals its transitions share.
 *
 * The state machine, and nothing else:
 *
 *   processing ──charge authorized──▶ requires_capture ──capture──▶ succeeded
 *       │  └─────charge captured────────────────────────────────▶ succeeded
 *       └──────charge declined──▶ failed      requires_capture ──cancel──▶ canceled
 *
 * Every transition is a guarded UPDATE (`where status = from`) in the same transaction as its
 * event, and every processor call carries a key derived from the payment id (`pay_…`,
 * `pay_…:capture`, `pay_…:void`), so re-running a step after a crash or a lost answer replays the
 * processor's first answer rather than moving money again. Each transition is a use case of its
 * own: create-payment.ts, capture-payment.ts, cancel-payment.ts.
 */
import type { components } from '../../generated/schema.js';
import { AppError } from '../platform/errors.js';
import { toUnixSeconds } from '../platform/pagination.js';
import { unhandledRefusal, type ProcessorRefusal, type ProcessorResult } from '../processor/index.js';
import type { PaymentRow } from './repository.js';

export type Payment = components['schemas']['Payment'];

export function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    object: 'payment',
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    capture_method: row.capture_method,
    customer: row.customer_id,
    description: row.description,
    statement_descriptor: row.statement_descriptor,
    metadata: row.metadata,
    amount_captured: row.amount_captured,
    amount_refunded: row.amount_refunded,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created: toUnixSeconds(row.created_at),
  };
}

export function notCapturable(payment: Pick<PaymentRow, 'id' | 'status'>, detail?: string): AppError {
  return new AppError('payment_not_capturable', detail ?? `Payment '${payment.id}' is ${payment.status}; only a requires_capture payment can be captured.`);
}

export function notCancelable(payment: Pick<PaymentRow, 'id' | 'status'>, detail?: string): AppError {
  return new AppError('payment_not_cancelable', detail ?? `Payment '${payment.id}' is ${payment.status}; only a requires_capture payment can be canceled.`);
}

/**
 * What the processor's refusal of a capture or a void means for the payment: the charge is already
 * where the call wants it (`done`: whoever moved it, the outcome is the one asked for), its state
 * refuses the move (`refused`: a 409 for the client), or the request itself was wrong (`bug`).
 * Exhaustive: a code added to the processor contract stops the build until it is placed here.
 */
export function chargeMoveRefusal(code: ProcessorRefusal['code'], done: 'charge_already_captured' | 'charge_voided'): 'done' | 'refused' | 'bug' {
  switch (code) {
    case 'charge_already_captured':
    case 'charge_voided':
      return code === done ? 'done' : 'refused';
    case 'charge_declined':
    case 'charge_not_captured':
      return 'refused';
    case 'invalid_request':
    case 'idempotency_key_required':
    case 'idempotency_key_reused':
    case 'unauthorized':
    case 'charge_not_found':
    case 'amount_exceeds_refundable':
      return 'bug';
    default:
      return unhandledRefusal(code);
  }
}

/** A processor answer that is neither success nor a refusal this code expects: a bug, not a retry. */
export function unexpectedRefusal(action: string, result: ProcessorResult<unknown>): Error {
  return new Error(`processor refused ${action}: ${result.ok ? 'ok' : `${result.refusal.code} ${result.refusal.message}`}`);
}
