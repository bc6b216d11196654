/**
 * Verified API keys, remembered for a short time so that a key already known to be good is admitted
 * without a database round trip — and without the per-address guard that stands between unknown
 * credentials and the database, so a valid key is not refused for what other clients behind its
 * address did.
 *
 * Safe only while it cannot be stale: a revocation evicts the key in every process through the
 * notification channel (see platform/notify.ts), and while that channel is down the cache is
 * emptied and neither answers nor fills. Entries are keyed by the SHA-256 of the secret, never the
 * secret itself; they expire after `ttlMs` and the least recently used go first past `maxEntries`.
 *
 * A lookup that began before a revocation must not put the key back: `begin()` takes the eviction
 * count before the database read, and `set` refuses when an eviction happened since.
 */
import type { ApiKeyIdentity } from '../platform/identity.js';

interface Entry {
  readonly identity: ApiKeyIdentity;
  readonly expiresAt: number;
}

export interface KeyCacheOptions {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly now?: () => number;
}

export class VerifiedKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly hashesByKey = new Map<string, Set<string>>();
  private readonly now: () => number;
  private evictions = 0;
  private trusted = false;

  constructor(private readonly options: KeyCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether the cache may be used: only while revocations reach it. Distrust empties it. */
  setTrusted(trusted: boolean): void {
    if (!trusted) this.clear();
    this.trusted = trusted;
  }

  get size(): number {
    return this.entries.size;
  }

  get(secretHash: string): ApiKeyIdentity | undefined {
    if (!this.trusted) return undefined;
    const entry = this.entries.get(secretHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(secretHash, entry.identity.keyId);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order, so the first entry is the next to go.
    this.entries.delete(secretHash);
    this.entries.set(secretHash, entry);
    return entry.identity;
  }

  /** A ticket for a lookup about to read the database; pass it to `set`. */
  begin(): number {
    return this.evictions;
  }

  set(secretHash: string, identity: ApiKeyIdentity, ticket: number): void {
    if (!this.trusted || this.options.maxEntries === 0 || ticket !== this.evictions) return;
    this.entries.delete(secretHash);
    this.entries.set(secretHash, { identity, expiresAt: this.now() + this.options.ttlMs });
    let hashes = this.hashesByKey.get(identity.keyId);
    if (!hashes) this.hashesByKey.set(identity.keyId, (hashes = new Set()));
    hashes.add(secretHash);
    while (this.entries.size > this.options.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldest, entry.identity.keyId);
    }
  }

  /** Forgets a key (it was revoked): here at once, and any lookup in progress may not cache it. */
  evict(keyId: string): void {
    this.evictions++;
    for (const hash of this.hashesByKey.get(keyId) ?? []) this.entries.delete(hash);
    this.hashesByKey.delete(keyId);
  }

  clear(): void {
    this.evictions++;
    this.entries.clear();
    this.hashesByKey.clear();
  }

  private remove(secretHash: string, keyId: string): void {
    this.entries.delete(secretHash);
    const hashes = this.hashesByKey.get(keyId);
    hashes?.delete(secretHash);
    if (hashes?.size === 0) this.hashesByKey.delete(keyId);
  }
}
