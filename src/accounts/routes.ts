import type { HandlersFor } from '../platform/http/handlers.js';
import type { AccountService } from './service.js';

export function accountHandlers(accounts: AccountService): HandlersFor<'createAccount'> {
  return {
    createAccount: async ({ body }) => ({ status: 201, body: await accounts.create(body.name) }),
  };
}
