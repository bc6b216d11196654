/**
 * OAuth 2.0 client credentials beside API keys, assembled: clients, the signing keys, the access
 * tokens they sign, the revoked clients every process knows of, and the schedule that rotates keys.
 */
import type { Db, Transaction } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { NotificationChannel } from '../platform/notify.js';
import type { CursorCodec } from '../platform/pagination.js';
import { OAuthClientService } from './clients.js';
import { RevokedClients } from './revoked-clients.js';
import { ALG, CLOCK_LEEWAY_S, SigningKeyRing, type Sealer } from './signing-keys.js';
import { TokenEndpoint } from './token-endpoint.js';
import { AccessTokens, type Verification } from './tokens.js';

/** The payload announcing a change of the signing keys (client ids announce revocations). */
export const KEYS_CHANGED = 'oauth_signing_keys';
const SCOPES = ['read', 'write'];

export interface OAuthOptions {
  readonly tokenTtlS: number;
  readonly keyRotationS: number;
  readonly maxClientsPerAccount: number;
  readonly sealer: Sealer;
  /** The channel revoked API keys are announced on; revoked clients and key changes travel on it too. */
  readonly channel?: NotificationChannel;
  readonly now: () => number;
  readonly log: Logger;
}

export class OAuthService {
  readonly clients: OAuthClientService;
  readonly tokens: AccessTokens;
  readonly tokenEndpoint: TokenEndpoint;
  private readonly keys: SigningKeyRing;
  private readonly revoked: RevokedClients;
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    db: Db,
    cursors: CursorCodec,
    private readonly options: OAuthOptions,
  ) {
    const { channel, now, log } = options;
    const tokenTtlMs = options.tokenTtlS * 1000;
    const announce = (work: (trx: Transaction) => Promise<void>) => (channel ? channel.transaction(db, KEYS_CHANGED, work) : db.transaction(work));
    this.keys = new SigningKeyRing(db, { sealer: options.sealer, rotationMs: options.keyRotationS * 1000, tokenTtlMs, now, log, announce });
    this.revoked = new RevokedClients(db, channel, { rememberMs: tokenTtlMs + CLOCK_LEEWAY_S * 1000, now });
    this.tokens = new AccessTokens(this.keys, this.revoked, { ttlS: options.tokenTtlS, now });
    this.clients = new OAuthClientService(db, cursors, { maxPerAccount: options.maxClientsPerAccount, revocations: channel, revoked: this.revoked });
    this.tokenEndpoint = new TokenEndpoint((id, secret) => this.clients.authenticate(id, secret), this.tokens);
    this.unsubscribe = channel
      ? channel.subscribe(
          (payload) => {
            if (payload === KEYS_CHANGED) void this.keys.reload().catch((err: unknown) => log.warn({ err }, 'signing keys reload failed'));
          },
          // Changes announced while nobody listened are read once the channel is back.
          (listening) => {
            if (listening) void this.keys.reload().catch((err: unknown) => log.warn({ err }, 'signing keys reload failed'));
          },
        )
      : () => {};
  }

  verify(issuer: string, token: string): Promise<Verification> {
    return this.tokens.verify(issuer, token);
  }

  /** RFC 8414 metadata for the issuer (the API's public URL). */
  metadata(issuer: string) {
    return {
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: SCOPES,
      response_types_supported: [],
      service_documentation: `${issuer}/docs`,
    };
  }

  /** The published keys, and for how many seconds they may be cached. */
  async jwks(): Promise<{ keys: object[]; maxAgeS: number }> {
    // A process that has signed nothing yet has its set from the database.
    if (this.keys.jwks().keys.length === 0) await this.keys.reload();
    return { ...this.keys.jwks(), maxAgeS: this.keys.maxAgeS() };
  }

  /** The operator's rotation: a new key signs from now; `retirePrevious` withdraws the rest at once. */
  async rotateSigningKey(retirePrevious: boolean): Promise<{ kid: string; object: 'signing_key'; alg: 'ES256'; created: number; retired: number }> {
    const made = (await this.keys.rotate({ onlyIfDue: false, retirePrevious }))!;
    return { kid: made.kid, object: 'signing_key', alg: ALG, created: Math.floor(made.createdAt / 1000), retired: made.retired };
  }

  /** Rotates on schedule: checks every tenth of the rotation period (at most a minute) whether a key is due. */
  start(): void {
    if (this.timer) return;
    const everyMs = Math.min(60_000, (this.options.keyRotationS * 1000) / 10);
    const tick = () => void this.keys.rotateIfDue().catch((err: unknown) => this.options.log.warn({ err }, 'signing key rotation failed'));
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  /** The scheduled check, once (tests drive the schedule by hand). */
  rotateIfDue(): Promise<void> {
    return this.keys.rotateIfDue();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.unsubscribe();
    this.revoked.close();
  }
}
