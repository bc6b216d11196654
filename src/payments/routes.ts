import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { PaymentService } from './service.js';

type PaymentOperations = 'createPayment' | 'retrievePayment' | 'listPayments' | 'capturePayment' | 'cancelPayment';

export function paymentHandlers(payments: PaymentService): HandlersFor<PaymentOperations> {
  return {
    createPayment: async ({ envelope, body }) => {
      const { body: payment, replayed } = await payments.create(envelope, body);
      return { status: 201, body: payment, headers: { ...replayHeaders(replayed), Location: `/v1/payments/${payment.id}` } };
    },
    capturePayment: async ({ envelope, params }) => {
      const { body, replayed } = await payments.capture(envelope, params.id);
      return { status: 200, body, headers: replayHeaders(replayed) };
    },
    cancelPayment: async ({ envelope, params }) => {
      const { body, replayed } = await payments.cancel(envelope, params.id);
      return { status: 200, body, headers: replayHeaders(replayed) };
    },
    retrievePayment: async ({ principal, params }) => ({ status: 200, body: await payments.retrieve(accountIdOf(principal), params.id) }),
    listPayments: async ({ principal, query }) => ({ status: 200, body: await payments.list(accountIdOf(principal), query) }),
  };
}
