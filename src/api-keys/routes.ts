import { accountIdOf, type HandlersFor } from '../platform/http/handlers.js';
import type { ApiKeyService } from './service.js';

export function apiKeyHandlers(keys: ApiKeyService): HandlersFor<'createApiKey' | 'listApiKeys' | 'revokeApiKey'> {
  return {
    createApiKey: async ({ principal, body }) => {
      const key = await keys.issue(accountIdOf(principal), body);
      return { status: 201, body: key, headers: { Location: `/v1/api_keys/${key.id}` } };
    },
    listApiKeys: async ({ principal, query }) => ({ status: 200, body: await keys.list(accountIdOf(principal), query) }),
    revokeApiKey: async ({ principal, params }) => ({ status: 200, body: await keys.revoke(accountIdOf(principal), params.id) }),
  };
}
