/**
 * `POST /v1/payments/{id}/cancel`: an authorization is released and the payment ends `canceled`.
 *
 * One phase: the payment must be `requires_capture`; the processor voids the charge (key
 * `pay_…:void`); the payment becomes `canceled` with its event, in one transaction. An
 * Idempotency-Key is honoured, not required: releasing an authorization twice moves no money.
 */
import { recordEvent } from '../events/index.js';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { IdempotentOperation } from '../platform/idempotency/index.js';
import { callProcessor, type ProcessorClient } from '../processor/index.js';
import { chargeMoveRefusal, notCancelable, toPayment, unexpectedRefusal, type Payment } from './payment.js';
import * as repo from './repository.js';

export type CancelPaymentParams = { readonly id: string };

export function cancelPaymentOperation(deps: { readonly db: Db; readonly processor: ProcessorClient }): IdempotentOperation<CancelPaymentParams, Payment> {
  return {
    name: 'cancelPayment',
    keyRequired: false,
    phases: {
      started: async (ctx) => {
        const payment = await repo.findPayment(deps.db, ctx.accountId, ctx.params.id);
        if (!payment) throw notFound('payment', ctx.params.id);
        if (payment.status !== 'requires_capture') throw notCancelable(payment);
        const result = await callProcessor(() => deps.processor.voidCharge(`${payment.id}:void`, payment.processor_charge_id!));
        if (!result.ok) {
          // Already voided is what this call wants, whoever voided it.
          const meaning = chargeMoveRefusal(result.refusal.code, 'charge_voided');
          if (meaning === 'refused') throw notCancelable(payment, `The processor refused to release the authorization (${result.refusal.code}).`);
          if (meaning === 'bug') throw unexpectedRefusal('void', result);
        }
        return ctx.atomic(async (trx) => {
          const updated = await repo.transition(trx, ctx.accountId, payment.id, 'requires_capture', { status: 'canceled' });
          if (!updated) throw notCancelable((await repo.findPayment(trx, ctx.accountId, payment.id)) ?? payment);
          const body = toPayment(updated);
          await recordEvent(trx, ctx, 'payment.canceled', body);
          return { response: { status: 200, body } };
        });
      },
    },
  };
}
