import { accountIdOf, scopesOf, type HandlersFor, type Principal } from '../platform/http/handlers.js';
import type { ApiKeyService, KeyHolder } from './service.js';

function holderOf(principal: Principal): KeyHolder {
  const accountId = accountIdOf(principal);
  return { accountId, scopes: scopesOf(principal) };
}

const SECRET_HEADERS = { 'Cache-Control': 'no-store' } as const;

export function apiKeyHandlers(keys: ApiKeyService): HandlersFor<'createApiKey' | 'listApiKeys' | 'revokeApiKey'> {
  return {
    createApiKey: async ({ principal, body }) => {
      const key = await keys.create(holderOf(principal), body);
      return { status: 201, body: key, headers: { ...SECRET_HEADERS, Location: `/v1/api_keys/${key.id}` } };
    },
    listApiKeys: async ({ principal, query }) => ({ status: 200, body: await keys.list(accountIdOf(principal), query) }),
    revokeApiKey: async ({ principal, params }) => ({ status: 200, body: await keys.revoke(holderOf(principal), params.id) }),
  };
}
