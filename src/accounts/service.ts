import type { Db } from '../platform/db.js';
import type { components } from '../../generated/schema.js';
import type { ApiKeyService } from '../api-keys/index.js';
import { newId } from '../platform/ids.js';
import { toUnixSeconds } from '../platform/pagination.js';
import * as repo from './repository.js';

type AccountCreated = components['schemas']['AccountCreated'];

const FIRST_KEY_SCOPES = ['read', 'write'] as const;

function toResource(row: repo.AccountRow): AccountCreated['account'] {
  return { id: row.id, object: 'account', name: row.name, created: toUnixSeconds(row.created_at) };
}

export class AccountService {
  constructor(
    private readonly db: Db,
    private readonly keys: ApiKeyService,
  ) {}

  /** The account and its first key commit together: there is never an account nobody can use. */
  async create(name: string): Promise<AccountCreated> {
    return this.db.transaction(async (trx) => {
      const account = await repo.insertAccount(trx, { id: newId('acct'), name });
      const apiKey = await this.keys.issue(account.id, { name: 'Default key', scopes: FIRST_KEY_SCOPES }, trx);
      return { account: toResource(account), api_key: apiKey };
    });
  }

  /**
   * The demo account for `npm start`: reused across restarts of a persistent embedded database,
   * with a fresh key each start (stored secrets are hashes, so an old one cannot be shown again).
   */
  async ensureDemo(name: string): Promise<AccountCreated> {
    const existing = await repo.findAccountByName(this.db, name);
    if (!existing) return this.create(name);
    const apiKey = await this.keys.issue(existing.id, { name: 'Demo key', scopes: FIRST_KEY_SCOPES });
    return { account: toResource(existing), api_key: apiKey };
  }
}
