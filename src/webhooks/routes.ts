import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { WebhookService } from './service.js';

type WebhookOperations =
  | 'createWebhookEndpoint'
  | 'listWebhookEndpoints'
  | 'retrieveWebhookEndpoint'
  | 'updateWebhookEndpoint'
  | 'deleteWebhookEndpoint'
  | 'rotateWebhookEndpointSecret'
  | 'listWebhookDeliveries'
  | 'retryWebhookDelivery'
  | 'createWebhookReplay'
  | 'retrieveWebhookReplay';

/** Answers holding a signing secret are never stored by a cache (RFC 9111 §5.2.2.5). */
const SECRET_HEADERS = { 'Cache-Control': 'no-store' } as const;

export function webhookHandlers(webhooks: WebhookService): HandlersFor<WebhookOperations> {
  return {
    createWebhookEndpoint: async ({ principal, body }) => {
      const endpoint = await webhooks.create(accountIdOf(principal), body);
      return { status: 201, body: endpoint, headers: { ...SECRET_HEADERS, Location: `/v1/webhook_endpoints/${endpoint.id}` } };
    },
    listWebhookEndpoints: async ({ principal, query }) => ({ status: 200, body: await webhooks.list(accountIdOf(principal), query) }),
    retrieveWebhookEndpoint: async ({ principal, params }) => ({ status: 200, body: await webhooks.retrieve(accountIdOf(principal), params.id) }),
    updateWebhookEndpoint: async ({ principal, params, body }) => ({ status: 200, body: await webhooks.update(accountIdOf(principal), params.id, body) }),
    deleteWebhookEndpoint: async ({ principal, params }) => ({ status: 200, body: await webhooks.delete(accountIdOf(principal), params.id) }),
    rotateWebhookEndpointSecret: async ({ principal, params, body }) => ({
      status: 200,
      body: await webhooks.rotateSecret(accountIdOf(principal), params.id, body),
      headers: SECRET_HEADERS,
    }),
    listWebhookDeliveries: async ({ principal, params, query }) => ({
      status: 200,
      body: await webhooks.listDeliveries(accountIdOf(principal), params.id, query),
    }),
    retryWebhookDelivery: async ({ envelope, params }) => {
      const { body, replayed } = await webhooks.retryDelivery(envelope, params.id, params.delivery_id);
      return { status: 202, body, headers: replayHeaders(replayed) };
    },
    createWebhookReplay: async ({ envelope, params, body }) => {
      const { body: replay, replayed } = await webhooks.createReplay(envelope, params.id, body);
      return { status: 202, body: replay, headers: replayHeaders(replayed) };
    },
    retrieveWebhookReplay: async ({ principal, params }) => ({
      status: 200,
      body: await webhooks.retrieveReplay(accountIdOf(principal), params.id, params.replay_id),
    }),
  };
}
