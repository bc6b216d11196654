/**
 * `POST /v1/reconciliations`: one atomic phase, the queued run and the stored answer commit
 * together; a worker on any instance picks the run up. An Idempotency-Key is honoured, not
 * required: without one, each request starts a run.
 */
import type { components } from '../../generated/schema.js';
import { AppError } from '../platform/errors.js';
import type { IdempotentOperation } from '../platform/idempotency/index.js';
import { newId } from '../platform/ids.js';
import { toReconciliation, type Reconciliation } from './reconciliation.js';
import * as repo from './repository.js';

export type CreateReconciliationParams = { readonly body: components['schemas']['ReconciliationCreateRequest'] };

/** The longest window one run checks: the report of a longer one is split into several runs. */
export const MAX_WINDOW_S = 31 * 86_400;

export function createReconciliationOperation(deps: { readonly now: () => number }): IdempotentOperation<CreateReconciliationParams, Reconciliation> {
  return {
    name: 'createReconciliation',
    keyRequired: false,
    phases: {
      started: {
        atomic: async (trx, ctx) => {
          const { window_start: start, window_end: end } = ctx.params.body;
          const nowS = Math.floor(deps.now() / 1000);
          if (end <= start) throw new AppError('reconciliation_window_invalid', `window_end (${end}) is not after window_start (${start}): the window holds nothing.`);
          if (end > nowS) throw new AppError('reconciliation_window_invalid', `window_end (${end}) is in the future (now is ${nowS}): the processor cannot have reported it yet.`);
          if (end - start > MAX_WINDOW_S) throw new AppError('reconciliation_window_invalid', `The window spans ${end - start} s, more than ${MAX_WINDOW_S} (31 days); split it into several runs.`);
          const row = await repo.insertRun(trx, { id: newId('rec'), account_id: ctx.accountId, window_start: new Date(start * 1000), window_end: new Date(end * 1000) });
          return { response: { status: 202, body: toReconciliation(row) } };
        },
      },
    },
  };
}
