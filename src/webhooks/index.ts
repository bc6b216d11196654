/**
 * The webhooks component's public entry: what the app composes. The relay delivers the outbox
 * (relay.ts), the service answers the API (service.ts), both over the same tables.
 */
export { WebhookRelay, type RelayOptions } from './relay.js';
export { WebhookService, type WebhookServiceOptions } from './service.js';
export { WebhookSender } from './send.js';
export { SecretBox } from './secrets.js';
