/** The refunds component's public entry: a refund as `/v2` shows it, for webhook payloads in `v2`. */
export { toRefundV2 } from './refund-v2.js';
export type { Refund } from './refund.js';
