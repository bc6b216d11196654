import type { ApiKeyService } from '../api-keys/index.js';
import type { HandlersFor } from '../platform/http/handlers.js';
import type { AccountService } from './service.js';

const SECRET_HEADERS = { 'Cache-Control': 'no-store' } as const;

export function accountHandlers(accounts: AccountService, keys: ApiKeyService): HandlersFor<'createAccount' | 'createAccountApiKey'> {
  return {
    createAccount: async ({ body }) => ({ status: 201, body: await accounts.create(body.name), headers: SECRET_HEADERS }),
    createAccountApiKey: async ({ params, body }) => {
      const key = await keys.createForAccount(params.id, body);
      return { status: 201, body: key, headers: { ...SECRET_HEADERS, Location: `/v1/api_keys/${key.id}` } };
    },
  };
}
