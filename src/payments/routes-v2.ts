/**
 * `/v2/payments`: the same use cases and reads as `/v1/payments` (routes.ts), with the request and
 * the answer translated at the edge (payment-v2.ts). A payment made through either version is
 * read, captured, canceled and refunded through the other. An Idempotency-Key is fingerprinted
 * with its path, so a key first used on one version's path and sent again on the other's is a
 * `422 idempotency_key_reused`, as for any other request.
 */
import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import { statusFromV2, toPaymentListV2, toPaymentV2 } from './payment-v2.js';
import type { PaymentService } from './service.js';

type PaymentOperationsV2 = 'createPaymentV2' | 'retrievePaymentV2' | 'listPaymentsV2' | 'capturePaymentV2' | 'cancelPaymentV2';

export function paymentHandlersV2(payments: PaymentService): HandlersFor<PaymentOperationsV2> {
  return {
    createPaymentV2: async ({ envelope, body }) => {
      const { amount, ...rest } = body;
      const { body: payment, replayed } = await payments.create(envelope, { ...rest, amount: amount.value, currency: amount.currency });
      return { status: 201, body: toPaymentV2(payment), headers: { ...replayHeaders(replayed), Location: `/v2/payments/${payment.id}` } };
    },
    capturePaymentV2: async ({ envelope, params }) => {
      const { body, replayed } = await payments.capture(envelope, params.id);
      return { status: 200, body: toPaymentV2(body), headers: replayHeaders(replayed) };
    },
    cancelPaymentV2: async ({ envelope, params }) => {
      const { body, replayed } = await payments.cancel(envelope, params.id);
      return { status: 200, body: toPaymentV2(body), headers: replayHeaders(replayed) };
    },
    retrievePaymentV2: async ({ principal, params }) => ({ status: 200, body: toPaymentV2(await payments.retrieve(accountIdOf(principal), params.id)) }),
    listPaymentsV2: async ({ principal, query }) => {
      const { status, ...rest } = query;
      const page = await payments.list(accountIdOf(principal), { ...rest, ...(status ? { status: statusFromV2(status) } : {}) });
      return { status: 200, body: toPaymentListV2(page) };
    },
  };
}
