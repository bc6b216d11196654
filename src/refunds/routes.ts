import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { RefundService } from './service.js';

export function refundHandlers(refunds: RefundService): HandlersFor<'createRefund' | 'retrieveRefund' | 'listRefunds'> {
  return {
    createRefund: async ({ envelope, body }) => {
      const { body: refund, replayed } = await refunds.create(envelope, body);
      return { status: 201, body: refund, headers: { ...replayHeaders(replayed), Location: `/v1/refunds/${refund.id}` } };
    },
    retrieveRefund: async ({ principal, params }) => ({ status: 200, body: await refunds.retrieve(accountIdOf(principal), params.id) }),
    listRefunds: async ({ principal, query }) => ({ status: 200, body: await refunds.list(accountIdOf(principal), query) }),
  };
}
