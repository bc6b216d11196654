/**
 * API keys. A secret is `sk_<key id suffix>_<256 random bits, base64url>`: the key id inside it
 * finds the row in one indexed read, and the SHA-256 of the whole secret is compared in constant
 * time. Only the hash and a redacted hint are stored; the secret is returned once, at creation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../platform/db.js';
import type { components } from '../../generated/schema.js';
import { AppError, notFound, requireHeldScopes } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { DEFAULT_LIMIT, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import type { ApiKeyIdentity } from '../platform/identity.js';
import type { NotificationChannel } from '../platform/notify.js';
import type { VerifiedKeyCache } from './key-cache.js';
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

/** The key making a request about keys: which account, and which scopes it holds. */
export interface KeyHolder {
  readonly accountId: string;
  readonly scopes: readonly string[];
}

/** A key may hand out or take away only what it holds itself. */
function mustHoldScopes(holder: KeyHolder, scopes: readonly string[], action: string): void {
  requireHeldScopes(holder.scopes, scopes, `A key can ${action}`);
}

export interface ApiKeyServiceOptions {
  /** Active keys an account may hold. */
  readonly maxPerAccount: number;
  /** Verified keys remembered between requests; none when absent. */
  readonly cache?: VerifiedKeyCache;
  /** Where revocations are announced to every process sharing the database. */
  readonly revocations?: NotificationChannel;
}

export class ApiKeyService {
  /** Lookups in progress by secret hash: concurrent requests with one key share one read. */
  private readonly lookups = new Map<string, Promise<ApiKeyIdentity | null>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly db: Db,
    private readonly cursors: CursorCodec,
    private readonly options: ApiKeyServiceOptions,
  ) {
    const { cache, revocations } = options;
    // Without a channel that reports revocations, a cache would serve revoked keys: none is used.
    this.unsubscribe = revocations && cache ? revocations.subscribe((keyId) => cache.evict(keyId), (listening) => cache.setTrusted(listening)) : () => {};
  }

  /** The identity of a key verified recently, from memory; undefined when it must be looked up. */
  known(secret: string): ApiKeyIdentity | undefined {
    return this.options.cache?.get(hashSecret(secret).toString('hex'));
  }

  /** `POST /v1/api_keys`: a key creates a key with at most its own scopes, within the account's cap. */
  async create(holder: KeyHolder, input: { name?: string | null; scopes: readonly Scope[] }): Promise<ApiKeyWithSecret> {
    mustHoldScopes(holder, input.scopes, 'create keys');
    return this.issueWithinCap(holder.accountId, input);
  }

  /** `POST /admin/accounts/{id}/api_keys`: the operator issues any key, within the account's cap. */
  async createForAccount(accountId: string, input: { name?: string | null; scopes: readonly Scope[] }): Promise<ApiKeyWithSecret> {
    return this.issueWithinCap(accountId, input);
  }

  /**
   * Issues a key unless the account already has its cap of active keys. The account row is locked
   * for the count and the insert, so concurrent requests cannot together pass the cap.
   */
  private async issueWithinCap(accountId: string, input: { name?: string | null; scopes: readonly Scope[] }): Promise<ApiKeyWithSecret> {
    return this.db.transaction(async (trx) => {
      if (!(await repo.lockAccount(trx, accountId))) throw new AppError('resource_not_found', `No account with id '${accountId}' exists.`);
      const active = await repo.countActiveKeys(trx, accountId);
      if (active >= this.options.maxPerAccount) {
        throw new AppError('api_key_limit_reached', `This account has ${active} active API keys, the most it may hold. Revoke one, then retry.`);
      }
      return this.issue(accountId, input, trx);
    });
  }

  /** Creates a key for the account (inside the caller's transaction when one is given). */
  async issue(accountId: string, input: { name?: string | null; scopes: readonly Scope[] }, db: Db = this.db): Promise<ApiKeyWithSecret> {
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

  /** The key's identity, or null when the secret is unknown, malformed or revoked. */
  async verify(secret: string): Promise<ApiKeyIdentity | null> {
    const presented = hashSecret(secret);
    const hash = presented.toString('hex');
    const cached = this.options.cache?.get(hash);
    if (cached) return cached;
    let lookup = this.lookups.get(hash);
    if (!lookup) {
      lookup = this.lookUp(secret, presented, hash).finally(() => this.lookups.delete(hash));
      this.lookups.set(hash, lookup);
    }
    return lookup;
  }

  private async lookUp(secret: string, presented: Buffer, hash: string): Promise<ApiKeyIdentity | null> {
    const ticket = this.options.cache?.begin();
    const match = SECRET_FORMAT.exec(secret);
    const row = match ? await repo.findApiKeyForAuth(this.db, `key_${match[1]}`) : undefined;
    const equal = timingSafeEqual(presented, row ? Buffer.from(row.secret_hash) : DUMMY_HASH);
    if (!row || !equal || row.revoked_at !== null) return null;
    const identity = { accountId: row.account_id, keyId: row.id, scopes: row.scopes };
    if (ticket !== undefined) this.options.cache?.set(hash, identity, ticket);
    return identity;
  }

  /** Stops listening for revocations. */
  async close(): Promise<void> {
    this.unsubscribe();
    await this.options.revocations?.close();
  }

  async list(accountId: string, query: { limit?: number; cursor?: string }): Promise<ListPage<ApiKey>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const after = query.cursor ? await this.cursors.decode(scope, {}, query.cursor) : undefined;
    const rows = await repo.listApiKeys(this.db, accountId, limit + 1, after);
    return this.cursors.page(scope, {}, rows, limit, toResource);
  }

  /** Revokes a key of the holder's account whose scopes the holder holds too. */
  async revoke(holder: KeyHolder, id: string): Promise<ApiKey> {
    const existing = await repo.findApiKey(this.db, holder.accountId, id);
    if (!existing) throw notFound('API key', id);
    mustHoldScopes(holder, existing.scopes, 'revoke keys');
    // The revocation and its announcement commit together; every process's cache then evicts it.
    const revoke = (trx: Db) => repo.revokeApiKey(trx, holder.accountId, id);
    const record = this.options.revocations ? await this.options.revocations.transaction(this.db, id, revoke) : await revoke(this.db);
    this.options.cache?.evict(id);
    if (!record) throw notFound('API key', id);
    return toResource(record);
  }
}
