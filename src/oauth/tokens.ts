/**
 * Access tokens: JWTs in the profile of RFC 9068, signed with ES256 by the key ring's current key,
 * and verified against the published keys in memory.
 *
 * A token carries `iss`, `aud` (both the API's public URL), `sub` and `client_id` (the client),
 * `remit_account` (the account it acts for), `scope`, `iat`, `exp` and `jti`, with `typ: at+jwt`
 * and the signing key's `kid` in its header. Verification accepts only ES256 (so neither `alg:
 * none` nor an HMAC "signed" with the public key passes), only `typ: at+jwt`, only a published
 * `kid`, and only the expected issuer and audience; then the client must not have been revoked.
 *
 * A client sends one token for ten minutes, so the outcome of the signature and claim checks is
 * remembered per token (and issuer) until the token expires: a token seen before costs a map
 * lookup, not an ECDSA verification. What can change meanwhile is checked on every request all
 * the same — its expiry against the clock, its key still published, its client not revoked. A
 * token altered in any way is another string, and is verified in full.
 */
import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { ClientIdentity } from '../platform/identity.js';
import { ALG, CLOCK_LEEWAY_S, type SigningKeyRing } from './signing-keys.js';
import type { RevokedClients } from './revoked-clients.js';

export const TOKEN_TYPE = 'at+jwt';
const REVOKED = 'The access token\'s client has been revoked.';
const SCOPE = /^[a-z]+( [a-z]+)*$/;
/** Verified tokens remembered per process; the oldest are forgotten first past this. */
const VERIFIED_MAX = 10_000;

interface VerifiedToken {
  readonly identity: ClientIdentity;
  readonly kid: string;
  /** Until when it is accepted: its expiry plus the leeway (ms since the epoch). */
  readonly acceptUntilMs: number;
}

export interface AccessTokenClaims {
  readonly accountId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

/** A token refused, with the reason `WWW-Authenticate`'s `error_description` gives. */
export type Verification = { readonly ok: true; readonly identity: ClientIdentity } | { readonly ok: false; readonly reason: string };

/** Why a verification failed, in words a client developer acts on. */
function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The access token has expired.';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return `The access token is not signed with ${ALG}.`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The access token\'s signature does not verify.';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The access token was signed by a key that is not published: rotated out, withdrawn or unknown.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `The access token's \`${err.claim}\` claim is not valid here.`;
  return 'The access token is malformed.';
}

export class AccessTokens {
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly keys: SigningKeyRing,
    private readonly revoked: RevokedClients,
    private readonly options: { readonly ttlS: number; readonly now: () => number },
  ) {}

  get ttlS(): number {
    return this.options.ttlS;
  }

  /** Signs a token for the client, valid for the configured lifetime from now. */
  async issue(issuer: string, claims: AccessTokenClaims): Promise<{ token: string; expiresIn: number }> {
    const signer = await this.keys.currentSigner();
    const nowS = Math.floor(this.options.now() / 1000);
    const token = await new SignJWT({ client_id: claims.clientId, scope: claims.scopes.join(' '), remit_account: claims.accountId })
      .setProtectedHeader({ alg: ALG, typ: TOKEN_TYPE, kid: signer.kid })
      .setIssuer(issuer)
      .setAudience(issuer)
      .setSubject(claims.clientId)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + this.options.ttlS)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(signer.key);
    return { token, expiresIn: this.options.ttlS };
  }

  /** The identity a token speaks for, or why it is refused. No database round trip while revocations are pushed. */
  async verify(issuer: string, token: string): Promise<Verification> {
    const cacheKey = `${issuer} ${token}`;
    const known = this.verified.get(cacheKey);
    if (known) {
      if (known.acceptUntilMs > this.options.now() && this.keys.isPublished(known.kid)) {
        if (await this.revoked.isRevoked(known.identity.clientId)) return { ok: false, reason: REVOKED };
        return { ok: true, identity: known.identity };
      }
      // Expired or its key withdrawn: verified again below, for the reason to give.
      this.verified.delete(cacheKey);
    }
    let payload: JWTPayload;
    let kid = '';
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = typeof header.kid === 'string' ? await this.keys.verificationKey(header.kid) : undefined;
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          kid = header.kid!;
          return key;
        },
        {
          algorithms: [ALG],
          typ: TOKEN_TYPE,
          issuer,
          audience: issuer,
          requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
          currentDate: new Date(this.options.now()),
          // Tokens are short-lived; a little leeway spares clients whose clocks run slightly fast.
          clockTolerance: CLOCK_LEEWAY_S,
          maxTokenAge: this.options.ttlS + CLOCK_LEEWAY_S,
        },
      ));
    } catch (err) {
      return { ok: false, reason: reasonOf(err) };
    }
    const { client_id: clientId, remit_account: accountId, scope } = payload as Record<string, unknown>;
    if (typeof clientId !== 'string' || clientId !== payload.sub || typeof accountId !== 'string' || typeof scope !== 'string' || !SCOPE.test(scope)) {
      return { ok: false, reason: 'The access token is malformed.' };
    }
    const identity = { accountId, clientId, scopes: scope.split(' ') };
    this.remember(cacheKey, { identity, kid, acceptUntilMs: (payload.exp! + CLOCK_LEEWAY_S) * 1000 });
    if (await this.revoked.isRevoked(clientId)) return { ok: false, reason: REVOKED };
    return { ok: true, identity };
  }

  private remember(cacheKey: string, token: VerifiedToken): void {
    this.verified.set(cacheKey, token);
    if (this.verified.size > VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
  }
}
