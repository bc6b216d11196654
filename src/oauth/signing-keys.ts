/**
 * The keys access tokens are signed with: one signs at a time, every key that signed a token not
 * yet expired stays published, and each process holds them all in memory so that verifying a token
 * costs no database round trip.
 *
 * Rotation. A key signs for `rotationMs`; then any process (the first whose check finds it due,
 * under an advisory lock so that two do not rotate at once) makes the next one, which signs from
 * then on. The previous key stops signing at that moment and leaves the published set once the
 * last token it signed has expired (`retire_at` = end of signing + token lifetime + clock leeway).
 * An operator can rotate early, and withdraw the earlier keys at once (a key thought compromised).
 *
 * Every change is announced on the notification channel; each process then reloads the set. A
 * token with a `kid` this process does not know (signed by a key another process has just made)
 * also makes it reload, at most once per second, so a flood of invented `kid`s costs the database
 * one read a second at most.
 *
 * Private keys are sealed (AES-256-GCM, the `kid` as associated data) under the server's secrets
 * key before they are stored; only the public halves are ever sent.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Db, Transaction } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import * as repo from './repository.js';

export const ALG = 'ES256';
/** Added to a token's lifetime before its key is retired: verifiers' clocks may run a little slow. */
export const CLOCK_LEEWAY_S = 60;
const RELOAD_MIN_INTERVAL_MS = 1_000;

/** Seals and opens private keys; the server's secrets box (webhooks/secrets.ts) is one. */
export interface Sealer {
  seal(context: string, secret: string): Promise<{ keyId: string; sealed: Buffer }>;
  open(context: string, sealed: { keyId: string; sealed: Uint8Array }): Promise<string>;
}

interface PublishedKey {
  readonly kid: string;
  readonly jwk: JWK;
  readonly key: CryptoKey;
  readonly createdAt: number;
  readonly signsUntil: number | null;
  readonly retireAt: number | null;
}

export interface SigningKeyRingOptions {
  readonly sealer: Sealer;
  /** How long a key signs before the next takes over. */
  readonly rotationMs: number;
  /** Access tokens' lifetime: how long a key stays published after it stops signing (plus leeway). */
  readonly tokenTtlMs: number;
  readonly now: () => number;
  readonly log: Logger;
  /** Announces a change of the key set to every process (and to this one). */
  readonly announce: (work: (trx: Transaction) => Promise<void>) => Promise<void>;
}

export class SigningKeyRing {
  private keys = new Map<string, PublishedKey>();
  /** Keys this process held that have left the set: a token naming one is refused without reading the set again. */
  private readonly withdrawn = new Set<string>();
  private signer: { kid: string; key: CryptoKey; createdAt: number } | undefined;
  private loading: Promise<void> | undefined;
  /** The reload an unknown `kid` asked for, and when the last one ran (the process's monotonic clock). */
  private kidReload: Promise<void> | undefined;
  private lastKidReloadAt = -Infinity;
  private rotating: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: SigningKeyRingOptions,
  ) {}

  /** Reads the published keys and the signer from the database (one read in flight at a time). */
  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    const rows = await repo.publishedKeys(this.db, new Date(this.options.now()));
    const keys = new Map<string, PublishedKey>();
    for (const row of rows) {
      const existing = this.keys.get(row.kid);
      const key = existing?.key ?? ((await importJWK(row.public_jwk, ALG)) as CryptoKey);
      keys.set(row.kid, {
        kid: row.kid,
        jwk: row.public_jwk,
        key,
        createdAt: row.created_at.getTime(),
        signsUntil: row.signs_until?.getTime() ?? null,
        retireAt: row.retire_at?.getTime() ?? null,
      });
    }
    // The newest key that has not stopped signing signs.
    const current = rows.filter((r) => r.signs_until === null).at(-1);
    if (current && this.signer?.kid !== current.kid) {
      const jwk = JSON.parse(await this.options.sealer.open(current.kid, { keyId: current.sealed_key_id, sealed: current.sealed_private_jwk })) as JWK;
      this.signer = { kid: current.kid, key: (await importJWK(jwk, ALG)) as CryptoKey, createdAt: current.created_at.getTime() };
    } else if (!current) {
      this.signer = undefined;
    }
    for (const kid of this.keys.keys()) if (!keys.has(kid)) this.withdrawn.add(kid);
    this.keys = keys;
  }

  /**
   * The public key that verifies tokens with this `kid`, or undefined when it is unknown or retired.
   * A `kid` never seen may be another process's new key whose announcement has not arrived yet: the
   * set is read again — at most once a second, however many invented `kid`s arrive; a token that
   * comes within the second waits for that read rather than being refused.
   */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    const found = this.published(kid);
    if (found || this.keys.has(kid) || this.withdrawn.has(kid)) return found?.key;
    await this.reloadForUnknownKid();
    return this.published(kid)?.key;
  }

  private reloadForUnknownKid(): Promise<void> {
    this.kidReload ??= (async () => {
      const waitMs = this.lastKidReloadAt + RELOAD_MIN_INTERVAL_MS - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      this.lastKidReloadAt = performance.now();
      await this.reload();
    })().finally(() => (this.kidReload = undefined));
    return this.kidReload;
  }

  private published(kid: string): PublishedKey | undefined {
    const key = this.keys.get(kid);
    return key && (key.retireAt === null || key.retireAt > this.options.now()) ? key : undefined;
  }

  /** The JWK set (RFC 7517): every key still published. */
  jwks(): { keys: JWK[] } {
    const now = this.options.now();
    return { keys: [...this.keys.values()].filter((k) => k.retireAt === null || k.retireAt > now).map((k) => ({ ...k.jwk })) };
  }

  /** How long the published set may be cached: until the next retirement or rotation, at most 5 minutes. */
  maxAgeS(): number {
    const now = this.options.now();
    const events = [...this.keys.values()].flatMap((k) => [k.retireAt, k.signsUntil === null ? k.createdAt + this.options.rotationMs : null]).filter((t): t is number => t !== null && t > now);
    return Math.max(0, Math.min(300, ...events.map((t) => Math.floor((t - now) / 1000))));
  }

  /** The key to sign with now, making the first one or the next one when due. */
  async currentSigner(): Promise<{ kid: string; key: CryptoKey }> {
    if (!this.signer || this.due()) await this.rotateIfDue();
    if (!this.signer) throw new Error('no signing key after rotation');
    return this.signer;
  }

  private due(): boolean {
    return this.signer === undefined || this.options.now() >= this.signer.createdAt + this.options.rotationMs;
  }

  /**
   * The scheduled check: reads the set again (so a change announced while this process was not
   * listening is seen within one check), and makes the next key if the current one's time is up
   * or there is none — decided again under the lock, where another process may have made it.
   */
  rotateIfDue(): Promise<void> {
    this.rotating ??= (async () => {
      await this.reload();
      if (this.due()) await this.rotate({ onlyIfDue: true, retirePrevious: false });
    })().finally(() => (this.rotating = undefined));
    return this.rotating;
  }

  /** Whether a key with this `kid` is published now (in memory). */
  isPublished(kid: string): boolean {
    return this.published(kid) !== undefined;
  }

  /**
   * Makes a new signing key now. The earlier keys stop signing and stay published until the tokens
   * they signed have expired, or — `retirePrevious` — leave at once. With `onlyIfDue`, nothing
   * happens unless the current key (read under the lock) is due.
   */
  async rotate(options: { onlyIfDue: boolean; retirePrevious: boolean }): Promise<{ kid: string; createdAt: number; retired: number } | undefined> {
    // The key is made and sealed before the transaction: sealing may read the database's own
    // secrets key, which must not wait on a connection the transaction holds.
    const nowMs = this.options.now();
    const kid = `${new Date(nowMs).toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(6).toString('base64url')}`;
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: ALG };
    const sealed = await this.options.sealer.seal(kid, JSON.stringify(await exportJWK(privateKey)));
    let made: { kid: string; createdAt: number; retired: number } | undefined;
    await this.options.announce(async (trx) => {
      await repo.lockKeyRotation(trx);
      const now = new Date(nowMs);
      if (options.onlyIfDue) {
        const current = (await repo.publishedKeys(trx, now)).filter((r) => r.signs_until === null).at(-1);
        if (current && nowMs < current.created_at.getTime() + this.options.rotationMs) return;
      }
      await repo.insertSigningKey(trx, { kid, alg: ALG, public_jwk: publicJwk, sealed_key_id: sealed.keyId, sealed_private_jwk: sealed.sealed, created_at: now });
      const retireAt = new Date(nowMs + this.options.tokenTtlMs + CLOCK_LEEWAY_S * 1000);
      await repo.endSigning(trx, kid, now, retireAt);
      const retired = options.retirePrevious ? await repo.retireOthers(trx, kid, now) : 0;
      made = { kid, createdAt: nowMs, retired };
    });
    await this.reload();
    if (made) this.options.log.info({ kid: made.kid, retired: made.retired }, 'signing key rotated');
    return made;
  }
}
