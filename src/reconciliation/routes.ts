import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { ReconciliationService } from './service.js';

type ReconciliationOperations = 'createReconciliation' | 'retrieveReconciliation' | 'listReconciliationDiscrepancies';

export function reconciliationHandlers(reconciliations: ReconciliationService): HandlersFor<ReconciliationOperations> {
  return {
    createReconciliation: async ({ envelope, body }) => {
      const { body: run, replayed } = await reconciliations.create(envelope, body);
      return { status: 202, body: run, headers: replayHeaders(replayed) };
    },
    retrieveReconciliation: async ({ principal, params }) => ({ status: 200, body: await reconciliations.retrieve(accountIdOf(principal), params.id) }),
    listReconciliationDiscrepancies: async ({ principal, params, query }) => ({
      status: 200,
      body: await reconciliations.listDiscrepancies(accountIdOf(principal), params.id, query),
    }),
  };
}
