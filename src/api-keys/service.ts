/**
 * API keys. A secret is `sk_<key id suffix>_<256 random bits, base64url>`: the key id inside it
 * finds the row in one indexed read, and the SHA-256 of the whole secret is compared in constant
 * time. Only the hash and a redacted hint are stored; the secret is returned once, at creation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { components } from '../../generated/schema.js';
import { notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { DEFAULT_LIMIT, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import type { ApiKeyIdentity } from '../platform/http/auth.js';
import * as repo from './repository.js';

type ApiKey = components['schemas']['ApiKey'];
type ApiKeyWithSecret = components['schemas']['ApiKeyWithSecret'];
type Scope = components['schemas']['ApiKeyScope'];

const SECRET_FORMAT = /^sk_([A-Za-z0-9]{22})_([A-Za-z0-9_-]{43})$/;
const LIST = 'api_keys';
// Compared against when the key id is unknown, so that a miss costs the same as a wrong secret.
const DUMMY_HASH = createHash('sha256').update('remit:no-such-key').digest();

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function toResource(record: repo.ApiKeyRecord): ApiKey {
  return {
    id: record.id,
    object: 'api_key',
    name: record.name,
    scopes: record.scopes as Scope[],
    redacted_secret: record.redacted_secret,
    created: toUnixSeconds(record.created_at),
    revoked_at: record.revoked_at ? toUnixSeconds(record.revoked_at) : null,
  };
}

export class ApiKeyService {
  constructor(
    private readonly db: Knex,
    private readonly cursors: CursorCodec,
  ) {}

  /** Creates a key for the account (inside the caller's transaction when one is given). */
  async issue(accountId: string, input: { name?: string | null; scopes: readonly Scope[] }, db: Knex = this.db): Promise<ApiKeyWithSecret> {
    const id = newId('key');
    const secret = `sk_${id.slice('key_'.length)}_${randomBytes(32).toString('base64url')}`;
    const record = await repo.insertApiKey(db, {
      id,
      account_id: accountId,
      name: input.name ?? null,
      // Stored in a fixed order so that equal scope sets compare equal.
      scopes: [...new Set(input.scopes)].sort(),
      secret_hash: hashSecret(secret),
      redacted_secret: `sk_…${secret.slice(-4)}`,
    });
    return { ...toResource(record), secret };
  }

  async verify(secret: string): Promise<ApiKeyIdentity | null> {
    const match = SECRET_FORMAT.exec(secret);
    const row = match ? await repo.findApiKeyForAuth(this.db, `key_${match[1]}`) : undefined;
    const presented = hashSecret(secret);
    const equal = timingSafeEqual(presented, row ? Buffer.from(row.secret_hash) : DUMMY_HASH);
    if (!row || !equal || row.revoked_at !== null) return null;
    return { accountId: row.account_id, keyId: row.id, scopes: row.scopes };
  }

  async list(accountId: string, query: { limit?: number; cursor?: string }): Promise<ListPage<ApiKey>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const after = query.cursor ? await this.cursors.decode(scope, {}, query.cursor) : undefined;
    const rows = await repo.listApiKeys(this.db, accountId, limit + 1, after);
    return this.cursors.page(scope, {}, rows, limit, toResource);
  }

  async revoke(accountId: string, id: string): Promise<ApiKey> {
    const record = await repo.revokeApiKey(this.db, accountId, id);
    if (!record) throw notFound('API key', id);
    return toResource(record);
  }
}
