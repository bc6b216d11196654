/**
 * The processor component's public entry: the adapter to the card processor (spec/processor.proto),
 * its result and refusal types, and the translation of "no answer" into the API's 503.
 */
export {
  ACCOUNT_METADATA_KEY,
  callProcessor,
  createProcessorClient,
  unhandledRefusal,
  type ProcessorClient,
  type ProcessorOptions,
  type ProcessorResult,
  type ProcessorRefusal,
} from './client.js';
export { ReportDriftError, ReportRefusedError, type DriftIssue, type ReportChargeStatus, type ReportTransaction, type ReportTransactionType } from './report.js';
