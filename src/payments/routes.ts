import { accountIdOf, idempotencyKeyOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { Payment, PaymentService } from './service.js';

type PaymentOperations = 'createPayment' | 'retrievePayment' | 'listPayments' | 'capturePayment' | 'cancelPayment';

export function paymentHandlers(payments: PaymentService): HandlersFor<PaymentOperations> {
  return {
    createPayment: async ({ principal, headers, method, path, requestId, body }) => {
      const result = await payments.create({ accountId: accountIdOf(principal), key: idempotencyKeyOf(headers), method, path, requestId, body });
      const payment = result.body as Payment;
      return { status: 201, body: payment, headers: { ...replayHeaders(result.replayed), Location: `/v1/payments/${payment.id}` } };
    },
    capturePayment: async ({ principal, headers, method, path, requestId, params }) => {
      const result = await payments.capture({ accountId: accountIdOf(principal), key: idempotencyKeyOf(headers), method, path, requestId, id: params.id });
      return { status: 200, body: result.body as Payment, headers: replayHeaders(result.replayed) };
    },
    cancelPayment: async ({ principal, headers, method, path, requestId, params }) => {
      const result = await payments.cancel({ accountId: accountIdOf(principal), key: idempotencyKeyOf(headers), method, path, requestId, id: params.id });
      return { status: 200, body: result.body as Payment, headers: replayHeaders(result.replayed) };
    },
    retrievePayment: async ({ principal, params }) => ({ status: 200, body: await payments.retrieve(accountIdOf(principal), params.id) }),
    listPayments: async ({ principal, query }) => ({ status: 200, body: await payments.list(accountIdOf(principal), query) }),
  };
}
