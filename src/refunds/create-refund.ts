/**
 * `POST /v1/refunds`: all or part of a succeeded payment goes back through the processor.
 *
 * 1. `started` → the payment is locked, so concurrent refunds of it queue and each sees what the
 *    others reserved: a pending refund counts against what remains, and the database's own check
 *    (`amount_refunded <= amount_captured`) backs the arithmetic. The refund is inserted `pending`
 *    with its `refund.created` event (recovery point `refund_created`), in the transaction that
 *    claims a new key. An unknown payment (422), one that is not `succeeded` (409) or an amount
 *    above what remains (422) is decided here.
 * 2. `refund_created` → the processor refunds with the refund id as its key, so a resumed phase
 *    cannot refund twice; the refund settles `succeeded` (and the payment's refunded amount grows)
 *    or `failed` with the processor's code, with its event and the 201, in one transaction.
 */
import type { components } from '../../generated/schema.js';
import { recordEvent } from '../events/index.js';
import { findRefundablePayment, lockPaymentForRefund, recordRefunded, type RefundablePayment } from '../payments/index.js';
import type { Db } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import type { IdempotentOperation } from '../platform/idempotency/index.js';
import { newId } from '../platform/ids.js';
import { callProcessor, unhandledRefusal, type ProcessorClient } from '../processor/index.js';
import { toRefund, type Refund } from './refund.js';
import * as repo from './repository.js';

export type CreateRefundParams = {
  readonly body: components['schemas']['RefundCreateRequest'];
  /** The currency the client stated the amount in (`/v2`); refused unless it is the payment's. */
  readonly currency?: string;
};

/** What phase 1 hands to phase 2, which otherwise reads both back. */
type Inserted = { readonly refund: repo.RefundRow; readonly payment: RefundablePayment };

export function createRefundOperation(deps: { readonly db: Db; readonly processor: ProcessorClient }): IdempotentOperation<CreateRefundParams, Refund, Inserted> {
  return {
    name: 'createRefund',
    keyRequired: true,
    phases: {
      started: {
        atomic: async (trx, ctx) => {
          const input = ctx.params.body;
          const payment = await lockPaymentForRefund(trx, ctx.accountId, input.payment);
          if (!payment) throw new AppError('referenced_resource_not_found', `No payment with id '${input.payment}' exists in this account.`);
          if (payment.status !== 'succeeded') {
            throw new AppError('payment_not_refundable', `Payment '${payment.id}' is ${payment.status}; only a succeeded payment can be refunded.`);
          }
          if (ctx.params.currency !== undefined && ctx.params.currency !== payment.currency) {
            throw new AppError('currency_mismatch', `Payment '${payment.id}' is in ${payment.currency}; a refund of it cannot be in ${ctx.params.currency}.`);
          }
          const remaining = payment.amount_captured - payment.amount_refunded - (await repo.pendingAmount(trx, payment.id));
          const amount = input.amount ?? remaining;
          if (amount <= 0 || amount > remaining) {
            throw new AppError(
              'amount_exceeds_refundable',
              `Payment '${payment.id}' has ${Math.max(remaining, 0)} ${payment.currency} left to refund (pending refunds included); ${amount} was asked.`,
            );
          }
          const refund = await repo.insertRefund(trx, {
            id: newId('re'),
            account_id: ctx.accountId,
            payment_id: payment.id,
            amount,
            currency: payment.currency,
            reason: input.reason ?? null,
            metadata: input.metadata ?? {},
          });
          await recordEvent(trx, ctx, 'refund.created', toRefund(refund));
          return { next: 'refund_created', resourceId: refund.id, carry: { refund, payment } };
        },
      },

      refund_created: async (ctx) => {
        const { refund, payment } = ctx.carried ?? (await findInserted(deps.db, ctx.accountId, ctx.resourceId!));
        const result = await callProcessor(() => deps.processor.createRefund(refund.id, { charge: payment.processor_charge_id!, amount: refund.amount }));
        if (!result.ok) {
          const { code } = result.refusal;
          switch (code) {
            // The contract's 409 and 422 codes: the processor's decision, final; the refund fails with it.
            case 'charge_not_captured':
            case 'amount_exceeds_refundable':
            case 'idempotency_key_reused':
            case 'charge_already_captured':
            case 'charge_voided':
            case 'charge_declined':
              break;
            case 'invalid_request':
            case 'idempotency_key_required':
            case 'unauthorized':
            case 'charge_not_found':
              throw new Error(`processor refused refund: ${code} ${result.refusal.message}`);
            default:
              unhandledRefusal(code);
          }
        }
        return ctx.atomic(async (trx) => {
          const settled = result.ok
            ? await repo.settle(trx, refund.id, { status: 'succeeded', processor_refund_id: result.value.id })
            : await repo.settle(trx, refund.id, { status: 'failed', failure_code: result.refusal.code });
          if (!settled) {
            // A reconciliation may have settled it from the processor's report while the key was
            // unfinished: the same outcome, its event already written, so the answer is the refund.
            const current = await repo.findRefund(trx, ctx.accountId, refund.id);
            if (!result.ok || current?.status !== 'succeeded' || current.processor_refund_id !== result.value.id) throw new Error(`refund ${refund.id} left pending under a held key`);
            return { response: { status: 201, body: toRefund(current) } };
          }
          if (settled.status === 'succeeded') await recordRefunded(trx, payment.id, settled.amount);
          const body = toRefund(settled);
          await recordEvent(trx, ctx, settled.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed', body);
          return { response: { status: 201, body } };
        });
      },
    },
  };
}

/** The refund phase 1 inserted and its payment, read back when phase 2 resumes from its recovery point. */
async function findInserted(db: Db, accountId: string, refundId: string): Promise<Inserted> {
  const refund = await repo.findRefund(db, accountId, refundId);
  const payment = refund && (await findRefundablePayment(db, accountId, refund.payment_id));
  if (!refund || !payment) throw new Error(`refund ${refundId} recorded by phase 1 is missing`);
  return { refund, payment };
}
