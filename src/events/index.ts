/**
 * The events component's public entry: what other components may ask of it. Every state change
 * writes its event through `recordEvent`, in the transaction of the change itself (the outbox);
 * the webhook relay reads the outbox through the rest.
 */
export { recordEvent, type EventSource } from './record.js';
export type { EventType } from './service.js';
export {
  anyUnrelayedEvent,
  claimUnrelayedEvents,
  countUnrelayedEvents,
  eventsInWindow,
  findEventsByIds,
  markFannedOut,
  type EventRow as OutboxEvent,
} from './repository.js';
