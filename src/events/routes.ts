import { accountIdOf, type HandlersFor } from '../platform/http/handlers.js';
import type { EventService } from './service.js';

export function eventHandlers(events: EventService): HandlersFor<'listEvents' | 'retrieveEvent'> {
  return {
    listEvents: async ({ principal, query }) => ({ status: 200, body: await events.list(accountIdOf(principal), query) }),
    retrieveEvent: async ({ principal, params }) => ({ status: 200, body: await events.retrieve(accountIdOf(principal), params.id) }),
  };
}
