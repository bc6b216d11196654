/** A reconciliation run and its discrepancies as the API shows them. */
import type { components } from '../../generated/schema.js';
import { toUnixSeconds } from '../platform/pagination.js';
import type { DiscrepancyRow, RunRow } from './repository.js';

export type Reconciliation = components['schemas']['Reconciliation'];
export type ReconciliationDiscrepancy = components['schemas']['ReconciliationDiscrepancy'];

export function toReconciliation(row: RunRow): Reconciliation {
  return {
    id: row.id,
    object: 'reconciliation',
    status: row.status,
    window_start: toUnixSeconds(row.window_start),
    window_end: toUnixSeconds(row.window_end),
    progress: { pages_fetched: row.pages_fetched, transactions_fetched: row.transactions_fetched, throttled: row.throttled },
    counts: { payments_checked: row.payments_checked, refunds_checked: row.refunds_checked, settled: row.settled, discrepancies: row.discrepancy_count },
    failure: row.failure_code === null ? null : { code: row.failure_code, detail: row.failure_detail ?? '', drift: row.failure_drift },
    created: toUnixSeconds(row.created_at),
    started: row.started_at && toUnixSeconds(row.started_at),
    finished: row.finished_at && toUnixSeconds(row.finished_at),
  };
}

export function toDiscrepancy(row: DiscrepancyRow): ReconciliationDiscrepancy {
  return {
    id: row.id,
    object: 'reconciliation_discrepancy',
    reconciliation: row.reconciliation_id,
    kind: row.kind,
    object_type: row.object_type,
    local: row.local,
    processor: row.processor,
    created: toUnixSeconds(row.created_at),
  };
}
