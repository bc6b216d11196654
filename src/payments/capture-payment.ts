/**
 * `POST /v1/payments/{id}/capture`: an authorized payment's money is taken.
 *
 * One phase: the payment must be `requires_capture`; the processor captures the charge (key
 * `pay_…:capture`); the payment becomes `succeeded` with its event, in one transaction. A crash
 * before the commit leaves the payment `requires_capture`, and re-running replays the capture at
 * the processor. Of two captures racing under different keys, the guarded update lets one win; the
 * other is a 409 `payment_not_capturable`.
 */
import { recordEvent } from '../events/index.js';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { IdempotentOperation } from '../platform/idempotency/index.js';
import { callProcessor, type ProcessorClient } from '../processor/index.js';
import { chargeMoveRefusal, notCapturable, toPayment, unexpectedRefusal, type Payment } from './payment.js';
import * as repo from './repository.js';

export type CapturePaymentParams = { readonly id: string };

export function capturePaymentOperation(deps: { readonly db: Db; readonly processor: ProcessorClient }): IdempotentOperation<CapturePaymentParams, Payment> {
  return {
    name: 'capturePayment',
    keyRequired: true,
    phases: {
      started: async (ctx) => {
        const payment = await repo.findPayment(deps.db, ctx.accountId, ctx.params.id);
        if (!payment) throw notFound('payment', ctx.params.id);
        if (payment.status !== 'requires_capture') throw notCapturable(payment);
        const result = await callProcessor(() => deps.processor.captureCharge(`${payment.id}:capture`, payment.processor_charge_id!));
        if (!result.ok) {
          // Already captured is what this call wants, whoever captured it.
          const meaning = chargeMoveRefusal(result.refusal.code, 'charge_already_captured');
          if (meaning === 'refused') throw notCapturable(payment, `The processor refused the capture (${result.refusal.code}).`);
          if (meaning === 'bug') throw unexpectedRefusal('capture', result);
        }
        return ctx.atomic(async (trx) => {
          const updated = await repo.transition(trx, ctx.accountId, payment.id, 'requires_capture', { status: 'succeeded', amount_captured: payment.amount });
          // A concurrent cancel or capture under another key changed it first.
          if (!updated) throw notCapturable((await repo.findPayment(trx, ctx.accountId, payment.id)) ?? payment);
          const body = toPayment(updated);
          await recordEvent(trx, ctx, 'payment.succeeded', body);
          return { response: { status: 200, body } };
        });
      },
    },
  };
}
