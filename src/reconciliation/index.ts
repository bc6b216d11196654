/**
 * The reconciliation component's public entry: what the app composes — the API's service and the
 * worker every process runs.
 */
export { ReconciliationService } from './service.js';
export { ReconciliationWorker, type ReconciliationWorkerOptions } from './worker.js';
