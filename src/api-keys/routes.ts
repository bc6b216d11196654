import { accountIdOf, type HandlersFor } from '../platform/http/handlers.js';
import type { ApiKeyService } from './service.js';

export function apiKeyHandlers(keys: ApiKeyService): HandlersFor<'createApiKey' | 'listApiKeys' | 'revokeApiKey'> {
  return {
    createApiKey: async ({ principal, body }) => ({ status: 201, body: await keys.issue(accountIdOf(principal), body) }),
    listApiKeys: async ({ principal, query }) => ({ status: 200, body: await keys.list(accountIdOf(principal), query) }),
    revokeApiKey: async ({ principal, params }) => ({ status: 200, body: await keys.revoke(accountIdOf(principal), params.id) }),
  };
}
