/**
 * The events component's public entry: what other components may ask of it. Every state change
 * writes its event through `recordEvent`, in the transaction of the change itself (the outbox).
 */
export { recordEvent, type EventSource } from './record.js';
export type { EventType } from './service.js';
