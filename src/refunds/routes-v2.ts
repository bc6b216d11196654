/**
 * `/v2/refunds`: the same use case and reads as `/v1/refunds`, translated at the edge. A stated
 * `amount.currency` that is not the payment's is refused by the use case, inside its transaction
 * (`422 currency_mismatch`).
 */
import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import { toRefundListV2, toRefundV2 } from './refund-v2.js';
import type { RefundService } from './service.js';

export function refundHandlersV2(refunds: RefundService): HandlersFor<'createRefundV2' | 'retrieveRefundV2' | 'listRefundsV2'> {
  return {
    createRefundV2: async ({ envelope, body }) => {
      const { amount, ...rest } = body;
      const { body: refund, replayed } = await refunds.create(envelope, amount ? { ...rest, amount: amount.value } : rest, amount?.currency);
      return { status: 201, body: toRefundV2(refund), headers: { ...replayHeaders(replayed), Location: `/v2/refunds/${refund.id}` } };
    },
    retrieveRefundV2: async ({ principal, params }) => ({ status: 200, body: toRefundV2(await refunds.retrieve(accountIdOf(principal), params.id)) }),
    listRefundsV2: async ({ principal, query }) => ({ status: 200, body: toRefundListV2(await refunds.list(accountIdOf(principal), query)) }),
  };
}
