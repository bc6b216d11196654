import type { Knex } from 'knex';
import type { JWK } from 'jose';
import { keysetPage } from '../platform/db.js';
import type { Position } from '../platform/pagination.js';

const NOW_MS = "date_trunc('milliseconds', now())";

export interface ClientRow {
  id: string;
  account_id: string;
  name: string | null;
  scopes: string[];
  created_at: Date;
  revoked_at: Date | null;
}

export interface SecretRow {
  client_id: string;
  redacted_secret: string;
  created_at: Date;
  expires_at: Date | null;
}

export interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: JWK;
  sealed_key_id: string;
  sealed_private_jwk: Buffer;
  created_at: Date;
  signs_until: Date | null;
  retire_at: Date | null;
}

const CLIENT_COLUMNS = ['id', 'account_id', 'name', 'scopes', 'created_at', 'revoked_at'] as const;

/** Locks the account row until the transaction ends; false when there is no such account. */
export async function lockAccount(trx: Knex.Transaction, accountId: string): Promise<boolean> {
  return (await trx('accounts').select('id').where({ id: accountId }).forUpdate().first()) !== undefined;
}

export async function countActiveClients(trx: Knex.Transaction, accountId: string): Promise<number> {
  const row = await trx('oauth_clients').where({ account_id: accountId }).whereNull('revoked_at').count<{ count: string | number }[]>({ count: '*' }).first();
  return Number(row?.count ?? 0);
}

export async function insertClient(db: Knex, row: Omit<ClientRow, 'created_at' | 'revoked_at'>): Promise<ClientRow> {
  const [inserted] = await db('oauth_clients').insert(row).returning(CLIENT_COLUMNS);
  return inserted;
}

export async function insertSecret(db: Knex, row: { client_id: string; secret_hash: Buffer; redacted_secret: string }): Promise<void> {
  await db('oauth_client_secrets').insert(row);
}

/** Every unexpired secret the client holds ends `overlapS` seconds from now, unless it ends sooner already. */
export async function expireSecrets(db: Knex, clientId: string, overlapS: number): Promise<void> {
  const end = db.raw(`${NOW_MS} + make_interval(secs => ?)`, [overlapS]);
  await db('oauth_client_secrets')
    .where({ client_id: clientId })
    .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', end))
    .update({ expires_at: end });
}

export async function findClient(db: Knex, accountId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<ClientRow | undefined> {
  const q = db('oauth_clients').select(CLIENT_COLUMNS).where({ account_id: accountId, id });
  return (options.forUpdate ? q.forUpdate() : q).first();
}

/** The secrets usable now, newest first, for each client given. */
export async function liveSecrets(db: Knex, clientIds: readonly string[]): Promise<SecretRow[]> {
  if (clientIds.length === 0) return [];
  return db('oauth_client_secrets')
    .select('client_id', 'redacted_secret', 'created_at', 'expires_at')
    .whereIn('client_id', clientIds)
    .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.raw(NOW_MS)))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'redacted_secret', order: 'desc' },
    ]);
}

/**
 * The client a presented secret's hash belongs to, if the secret is usable now and the client is
 * active. The only read that matches on a hash; the primary key finds it in one lookup.
 */
export async function findClientBySecret(db: Knex, secretHash: Buffer): Promise<(ClientRow & { secret_client_id: string }) | undefined> {
  return db('oauth_client_secrets as s')
    .join('oauth_clients as c', 'c.id', 's.client_id')
    .select('c.id', 'c.account_id', 'c.name', 'c.scopes', 'c.created_at', 'c.revoked_at', 's.client_id as secret_client_id')
    .where('s.secret_hash', secretHash)
    .where((q) => q.whereNull('s.expires_at').orWhere('s.expires_at', '>', db.raw(NOW_MS)))
    .first();
}

export async function listClients(db: Knex, accountId: string, limit: number, after?: Position): Promise<(ClientRow & { created: Date })[]> {
  const rows: ClientRow[] = await keysetPage(db('oauth_clients').select(CLIENT_COLUMNS).where({ account_id: accountId }), { after, limit });
  return rows.map((row) => ({ ...row, created: row.created_at }));
}

/** Revokes the client if it is active; returns it either way, or undefined when it is not the account's. */
export async function revokeClient(db: Knex, accountId: string, id: string): Promise<ClientRow | undefined> {
  await db('oauth_clients').where({ account_id: accountId, id }).whereNull('revoked_at').update({ revoked_at: db.raw(NOW_MS) });
  return db('oauth_clients').select(CLIENT_COLUMNS).where({ account_id: accountId, id }).first();
}

/** Clients revoked since `since`: those whose tokens may still be unexpired. */
export async function clientsRevokedSince(db: Knex, since: Date): Promise<{ id: string; revoked_at: Date }[]> {
  return db('oauth_clients').select('id', 'revoked_at').where('revoked_at', '>=', since);
}

/** Whether the client exists and is revoked (false for an active one; undefined when unknown). */
export async function clientRevoked(db: Knex, id: string): Promise<boolean | undefined> {
  const row: { revoked_at: Date | null } | undefined = await db('oauth_clients').select('revoked_at').where({ id }).first();
  return row ? row.revoked_at !== null : undefined;
}

/** The keys still published (not retired), oldest first. */
export async function publishedKeys(db: Knex, now: Date): Promise<SigningKeyRow[]> {
  return db('oauth_signing_keys')
    .select('*')
    .where((q) => q.whereNull('retire_at').orWhere('retire_at', '>', now))
    .orderBy([
      { column: 'created_at', order: 'asc' },
      { column: 'kid', order: 'asc' },
    ]);
}

/** Serialises key rotations across every process sharing the database, for one transaction. */
export async function lockKeyRotation(trx: Knex.Transaction): Promise<void> {
  await trx.raw("select pg_advisory_xact_lock(hashtext('remit_oauth_signing_keys'))");
}

export async function insertSigningKey(db: Knex, row: Omit<SigningKeyRow, 'signs_until' | 'retire_at'>): Promise<void> {
  await db('oauth_signing_keys').insert(row);
}

/** Ends the signing of every other key that still signs: it stops now and leaves the published set at `retireAt`. */
export async function endSigning(db: Knex, except: string, now: Date, retireAt: Date): Promise<void> {
  await db('oauth_signing_keys').whereNot({ kid: except }).whereNull('signs_until').update({ signs_until: now, retire_at: retireAt });
}

/** Withdraws every other key still published, now; returns how many. */
export async function retireOthers(db: Knex, except: string, now: Date): Promise<number> {
  return db('oauth_signing_keys')
    .whereNot({ kid: except })
    .where((q) => q.whereNull('retire_at').orWhere('retire_at', '>', now))
    .update({ signs_until: db.raw('coalesce(signs_until, ?)', [now]), retire_at: now });
}
