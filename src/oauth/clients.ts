/**
 * OAuth clients: registered by an account, authenticated at the token endpoint by their secret.
 *
 * A secret is `cs_<client id suffix>_<256 random bits, base64url>`. Only its SHA-256 is stored (a
 * secret of 256 random bits needs no slow hash), with a redacted hint; it is shown once. A client
 * may hold several secrets at once: rotating one issues a new secret and gives the earlier ones an
 * end (`overlap_seconds`), so a deployment can move to the new secret before the old one stops.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { components } from '../../generated/schema.js';
import type { Db } from '../platform/db.js';
import { AppError, notFound, requireHeldScopes } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { NotificationChannel } from '../platform/notify.js';
import { DEFAULT_LIMIT, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import * as repo from './repository.js';
import type { RevokedClients } from './revoked-clients.js';

type OAuthClient = components['schemas']['OAuthClient'];
type OAuthClientWithSecret = components['schemas']['OAuthClientWithSecret'];
type Scope = components['schemas']['ApiKeyScope'];

const LIST = 'oauth_clients';
const DEFAULT_OVERLAP_S = 86_400;

/** The caller managing clients: its account and the scopes it holds. */
export interface ClientHolder {
  readonly accountId: string;
  readonly scopes: readonly string[];
}

/** A client authenticated by its secret: what a token for it may carry. */
export interface AuthenticatedClient {
  readonly id: string;
  readonly accountId: string;
  readonly scopes: readonly string[];
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function toResource(row: repo.ClientRow, secrets: readonly repo.SecretRow[]): OAuthClient {
  return {
    id: row.id,
    object: 'oauth_client',
    name: row.name,
    scopes: row.scopes as Scope[],
    // A revoked client has no usable secret.
    secrets: row.revoked_at
      ? []
      : secrets.map((s) => ({ redacted_secret: s.redacted_secret, created: toUnixSeconds(s.created_at), expires_at: s.expires_at ? toUnixSeconds(s.expires_at) : null })),
    created: toUnixSeconds(row.created_at),
    revoked_at: row.revoked_at ? toUnixSeconds(row.revoked_at) : null,
  };
}

/** A caller may hand out or take away only scopes it holds itself. */
function mustHoldScopes(holder: ClientHolder, scopes: readonly string[], action: string): void {
  requireHeldScopes(holder.scopes, scopes, `A caller can ${action}`);
}

export interface OAuthClientServiceOptions {
  readonly maxPerAccount: number;
  /** Where revocations are announced to every process sharing the database. */
  readonly revocations?: NotificationChannel;
  readonly revoked: RevokedClients;
}

export class OAuthClientService {
  constructor(
    private readonly db: Db,
    private readonly cursors: CursorCodec,
    private readonly options: OAuthClientServiceOptions,
  ) {}

  async create(holder: ClientHolder, input: { name?: string | null; scopes: readonly Scope[] }): Promise<OAuthClientWithSecret> {
    mustHoldScopes(holder, input.scopes, 'create OAuth clients');
    return this.db.transaction(async (trx) => {
      if (!(await repo.lockAccount(trx, holder.accountId))) throw new AppError('resource_not_found', `No account with id '${holder.accountId}' exists.`);
      const active = await repo.countActiveClients(trx, holder.accountId);
      if (active >= this.options.maxPerAccount) {
        throw new AppError('oauth_client_limit_reached', `This account has ${active} active OAuth clients, the most it may hold. Revoke one, then retry.`);
      }
      const id = newId('cli');
      const row = await repo.insertClient(trx, { id, account_id: holder.accountId, name: input.name ?? null, scopes: [...new Set(input.scopes)].sort() });
      const secret = await this.addSecret(trx, id);
      return { ...toResource(row, await repo.liveSecrets(trx, [id])), client_secret: secret };
    });
  }

  private async addSecret(db: Db, clientId: string): Promise<string> {
    const secret = `cs_${clientId.slice('cli_'.length)}_${randomBytes(32).toString('base64url')}`;
    await repo.insertSecret(db, { client_id: clientId, secret_hash: hashSecret(secret), redacted_secret: `cs_…${secret.slice(-4)}` });
    return secret;
  }

  async list(accountId: string, query: { limit?: number; cursor?: string }): Promise<ListPage<OAuthClient>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const after = query.cursor ? await this.cursors.decode(scope, {}, query.cursor) : undefined;
    const rows = await repo.listClients(this.db, accountId, limit + 1, after);
    const secrets = await repo.liveSecrets(this.db, rows.map((r) => r.id));
    return this.cursors.page(scope, {}, rows, limit, (row) =>
      toResource(
        row,
        secrets.filter((s) => s.client_id === row.id),
      ),
    );
  }

  /** Revokes a client of the holder's account whose scopes the holder holds too. */
  async revoke(holder: ClientHolder, id: string): Promise<OAuthClient> {
    const existing = await repo.findClient(this.db, holder.accountId, id);
    if (!existing) throw notFound('OAuth client', id);
    mustHoldScopes(holder, existing.scopes, 'revoke OAuth clients');
    // The revocation and its announcement commit together; every process then refuses its tokens.
    const revoke = (trx: Db) => repo.revokeClient(trx, holder.accountId, id);
    const row = this.options.revocations ? await this.options.revocations.transaction(this.db, id, revoke) : await revoke(this.db);
    this.options.revoked.revokedNow(id);
    if (!row) throw notFound('OAuth client', id);
    return toResource(row, []);
  }

  /** A new secret; the earlier ones end `overlapS` seconds from now. */
  async rotateSecret(holder: ClientHolder, id: string, overlapS = DEFAULT_OVERLAP_S): Promise<OAuthClientWithSecret> {
    return this.db.transaction(async (trx) => {
      const existing = await repo.findClient(trx, holder.accountId, id, { forUpdate: true });
      if (!existing || existing.revoked_at) throw notFound('OAuth client', id);
      mustHoldScopes(holder, existing.scopes, 'rotate the secrets of OAuth clients');
      await repo.expireSecrets(trx, id, overlapS);
      const secret = await this.addSecret(trx, id);
      return { ...toResource(existing, await repo.liveSecrets(trx, [id])), client_secret: secret };
    });
  }

  /**
   * The active client whose live secret this is, if `clientId` names it; undefined otherwise. The
   * secret's hash finds the row; the client id must then match it.
   */
  async authenticate(clientId: string, secret: string): Promise<AuthenticatedClient | undefined> {
    if (!/^cs_[A-Za-z0-9]{1,64}_[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
    const row = await repo.findClientBySecret(this.db, hashSecret(secret));
    if (!row || row.id !== clientId || row.revoked_at !== null) return undefined;
    return { id: row.id, accountId: row.account_id, scopes: row.scopes };
  }
}
