/**
 * `POST /v1/payments`: a payment is recorded before any money moves, then charged.
 *
 * 1. `started` → the payment is inserted as `processing` with its `payment.created` event
 *    (recovery point `payment_created`), in the transaction that claims a new key. An unknown
 *    customer is a 422 decided here, stored, replayed.
 * 2. `payment_created` → the processor is charged with the payment id as its idempotency key, and
 *    the outcome (`requires_capture`, `succeeded` or `failed`), its event and the 201 commit
 *    together. A crash between the charge and the commit leaves the key here; whoever resumes it
 *    (a retry after the lease, or the completer) charges again with the same key, and the processor
 *    replays its first answer: one charge.
 */
import type { components } from '../../generated/schema.js';
import { customerExists } from '../customers/index.js';
import { recordEvent } from '../events/index.js';
import type { Db } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import type { IdempotentOperation } from '../platform/idempotency/index.js';
import { newId } from '../platform/ids.js';
import { ACCOUNT_METADATA_KEY, callProcessor, type ProcessorClient } from '../processor/index.js';
import { toPayment, unexpectedRefusal, type Payment } from './payment.js';
import * as repo from './repository.js';

export type CreatePaymentParams = { readonly body: components['schemas']['PaymentCreateRequest'] };

/** Phase 1 hands the payment it inserted to phase 2, which otherwise reads it back. */
export function createPaymentOperation(deps: { readonly db: Db; readonly processor: ProcessorClient }): IdempotentOperation<CreatePaymentParams, Payment, repo.PaymentRow> {
  return {
    name: 'createPayment',
    keyRequired: true,
    phases: {
      started: {
        atomic: async (trx, ctx) => {
          const input = ctx.params.body;
          if (input.customer !== undefined && !(await customerExists(trx, ctx.accountId, input.customer))) {
            throw new AppError('referenced_resource_not_found', `No customer with id '${input.customer}' exists in this account.`);
          }
          const payment = await repo.insertPayment(trx, {
            id: newId('pay'),
            account_id: ctx.accountId,
            customer_id: input.customer ?? null,
            amount: input.amount,
            currency: input.currency,
            capture_method: input.capture_method ?? 'automatic',
            description: input.description ?? null,
            statement_descriptor: input.statement_descriptor ?? null,
            metadata: input.metadata ?? {},
          });
          await recordEvent(trx, ctx, 'payment.created', toPayment(payment));
          return { next: 'payment_created', resourceId: payment.id, carry: payment };
        },
      },

      payment_created: async (ctx) => {
        const payment = ctx.carried ?? (await repo.findPayment(deps.db, ctx.accountId, ctx.resourceId!));
        if (!payment) throw new Error(`payment ${ctx.resourceId} recorded by phase 1 is missing`);
        const result = await callProcessor(() =>
          deps.processor.createCharge(payment.id, {
            amount: payment.amount,
            currency: payment.currency,
            capture: payment.capture_method === 'automatic',
            reference: payment.id,
            // Which account the charge belongs to, so the account's reconciliation finds it in the processor's report.
            metadata: { [ACCOUNT_METADATA_KEY]: ctx.accountId },
            ...(payment.statement_descriptor === null ? {} : { statement_descriptor: payment.statement_descriptor }),
          }),
        );
        // A decline is a charge with status `declined`, not a refusal: every refusal here is a bug.
        if (!result.ok) throw unexpectedRefusal('charge', result);
        const charge = result.value;
        return ctx.atomic(async (trx) => {
          const changes =
            charge.status === 'declined'
              ? { status: 'failed' as const, failure_code: charge.decline_code ?? 'card_declined', failure_message: 'The card was declined.' }
              : charge.status === 'authorized'
                ? { status: 'requires_capture' as const }
                : { status: 'succeeded' as const, amount_captured: charge.amount_captured };
          const updated = await repo.transition(trx, ctx.accountId, payment.id, 'processing', { ...changes, processor_charge_id: charge.id });
          if (!updated) {
            // A reconciliation may have settled it from the processor's report while the key was
            // unfinished: the same outcome, its event already written, so the answer is the payment.
            const settled = await repo.findPayment(trx, ctx.accountId, payment.id);
            if (settled?.status !== changes.status || settled.processor_charge_id !== charge.id) throw new Error(`payment ${payment.id} left processing under a held key`);
            return { response: { status: 201, body: toPayment(settled) } };
          }
          const body = toPayment(updated);
          await recordEvent(trx, ctx, `payment.${changes.status}`, body);
          return { response: { status: 201, body } };
        });
      },
    },
  };
}
