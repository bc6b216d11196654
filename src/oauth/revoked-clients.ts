/**
 * The revoked clients whose tokens may still be unexpired, known to every process without a
 * database round trip per request.
 *
 * A revocation is announced on the channel that announces revoked API keys (platform/notify.ts):
 * every process adds the client here within moments of the commit, and keeps it for a token's
 * lifetime (plus leeway) — after that every token issued before the revocation has expired anyway,
 * and none is issued after it. A process that starts, or whose channel comes back after a gap,
 * first reads the clients revoked within that span. While the channel is down the set cannot be
 * trusted, and each verification asks the database instead (one read in flight per client).
 */
import type { Db } from '../platform/db.js';
import type { NotificationChannel } from '../platform/notify.js';
import * as repo from './repository.js';

export const CLIENT_ID_PREFIX = 'cli_';

export class RevokedClients {
  /** Client id → until when it must be remembered (ms since the epoch). */
  private readonly revoked = new Map<string, number>();
  private trusted = false;
  private loading: Promise<void> | undefined;
  private readonly lookups = new Map<string, Promise<boolean>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly db: Db,
    channel: NotificationChannel | undefined,
    private readonly options: { readonly rememberMs: number; readonly now: () => number },
  ) {
    this.unsubscribe = channel
      ? channel.subscribe(
          (payload) => {
            if (payload.startsWith(CLIENT_ID_PREFIX)) this.add(payload);
          },
          (listening) => this.setListening(listening),
        )
      : () => {};
  }

  private add(clientId: string): void {
    this.revoked.set(clientId, this.options.now() + this.options.rememberMs);
  }

  private setListening(listening: boolean): void {
    if (!listening) {
      this.trusted = false;
      return;
    }
    // Trusted once the revocations announced while nobody listened have been read.
    this.loading ??= repo
      .clientsRevokedSince(this.db, new Date(this.options.now() - this.options.rememberMs))
      .then((rows) => {
        for (const row of rows) this.add(row.id);
        this.trusted = true;
      })
      .catch(() => {})
      .finally(() => (this.loading = undefined));
  }

  /** Marks a client revoked here at once (the revoking process does not wait for its own notification). */
  revokedNow(clientId: string): void {
    this.add(clientId);
  }

  async isRevoked(clientId: string): Promise<boolean> {
    const until = this.revoked.get(clientId);
    if (until !== undefined) {
      if (until > this.options.now()) return true;
      this.revoked.delete(clientId);
    }
    if (this.trusted) return false;
    let lookup = this.lookups.get(clientId);
    if (!lookup) {
      lookup = repo
        .clientRevoked(this.db, clientId)
        .then((revoked) => revoked !== false)
        .finally(() => this.lookups.delete(clientId));
      this.lookups.set(clientId, lookup);
    }
    return lookup;
  }

  close(): void {
    this.unsubscribe();
  }
}
