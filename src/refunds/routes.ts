import { accountIdOf, idempotencyKeyOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { Refund, RefundService } from './service.js';

export function refundHandlers(refunds: RefundService): HandlersFor<'createRefund' | 'retrieveRefund' | 'listRefunds'> {
  return {
    createRefund: async ({ principal, headers, method, path, requestId, body }) => {
      const result = await refunds.create({ accountId: accountIdOf(principal), key: idempotencyKeyOf(headers), method, path, requestId, body });
      const refund = result.body as Refund;
      return { status: 201, body: refund, headers: { ...replayHeaders(result.replayed), Location: `/v1/refunds/${refund.id}` } };
    },
    retrieveRefund: async ({ principal, params }) => ({ status: 200, body: await refunds.retrieve(accountIdOf(principal), params.id) }),
    listRefunds: async ({ principal, query }) => ({ status: 200, body: await refunds.list(accountIdOf(principal), query) }),
  };
}
