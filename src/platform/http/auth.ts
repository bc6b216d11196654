/**
 * Authentication by the matched operation's `security` requirement (the spec is the access policy):
 * `apiKey` or `oauth2` with the scopes they list, `adminToken`, `metricsToken` (for `/metrics`), or
 * none. Missing or bad credentials are a 401 with `WWW-Authenticate` (RFC 6750 §3); valid ones
 * without the scope are a 403. A bearer credential shaped as a JWT is an OAuth access token,
 * verified in memory (its signature, `kid`, issuer, audience, expiry, and its client not revoked);
 * anything else is an API key.
 *
 * With a throttle, a client address that has failed too often is refused before its credentials
 * are looked up, and every failure (missing or bad credentials, not a missing scope) is counted.
 * A missing scope is found by `authorize`, after the request was counted against the key's quota.
 */
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { ApiKeyIdentity, ClientIdentity } from '../identity.js';
import type { Principal } from './handlers.js';
import type { AuthThrottle } from './rate-limit.js';

export type { ApiKeyIdentity };

export interface Authenticator {
  /** The identity of a key verified recently, from memory alone; undefined when it must be looked up. */
  knownApiKey?(secret: string): ApiKeyIdentity | undefined;
  /** The key's identity, or null when the secret is unknown, malformed or revoked. */
  verifyApiKey(secret: string): Promise<ApiKeyIdentity | null>;
  /**
   * An OAuth access token's identity, or why it is refused; `origin` is where the request was sent
   * (the expected issuer when no public URL is configured).
   */
  verifyAccessToken?(token: string, origin: string): Promise<{ ok: true; identity: ClientIdentity } | { ok: false; reason: string }>;
  /** Constant-time comparison with the configured admin token. */
  verifyAdminToken(token: string): boolean;
  /**
   * For `/metrics` (`metricsToken`): whether `token` is the scraper's token (constant-time), or
   * true whatever is sent when none is configured (outside production, `/metrics` is then open).
   */
  verifyMetricsToken?(token: string | null): boolean;
}

type SecurityRequirement = Record<string, string[]>;

const REALM = 'Bearer realm="remit"';
/** Three base64url segments: a JWS in compact serialisation (RFC 7515 §7.1). API keys are `sk_…`. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A `WWW-Authenticate` quoted-string (RFC 9110 §5.6.4) of plain text. */
const quoted = (text: string) => `"${text.replace(/["\\]/g, '')}"`;

function authorizationCount(req: Request): number {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  return count;
}

function bearerToken(req: Request): string | null {
  const header = req.get('authorization');
  if (!header) return null;
  const match = /^Bearer[ ]+([\x21-\x7E]+)[ ]*$/i.exec(header);
  // A malformed Authorization header is treated as bad credentials, not as no credentials.
  return match ? match[1]! : '';
}

function requirementsOf(req: Request, defaultSecurity: SecurityRequirement[]): SecurityRequirement[] {
  const operation = (req as Request & { openapi?: { schema?: { security?: SecurityRequirement[] } } }).openapi?.schema;
  return operation?.security ?? defaultSecurity;
}

const isAnonymous = (requirements: SecurityRequirement[]) => requirements.length === 0 || requirements.some((r) => Object.keys(r).length === 0);

/**
 * Establishes who is calling: the admin, the holder of a valid API key (whatever its scopes: the
 * scope is checked by `authorize`, after the request has been counted against the key's quota),
 * or nobody for operations without a security requirement. Missing or bad credentials are a 401.
 */
export function authenticate(authenticator: Authenticator, defaultSecurity: SecurityRequirement[] = [], throttle?: AuthThrottle): RequestHandler {
  return async (req, res, next) => {
    const requirements = requirementsOf(req, defaultSecurity);
    if (isAnonymous(requirements)) {
      res.locals.principal = { kind: 'anonymous' } satisfies Principal;
      return next();
    }

    // Answers to authenticated requests are private to their caller; some hold a secret shown once.
    res.setHeader('Cache-Control', 'no-store');
    // Node keeps the first of repeated Authorization fields; which one a proxy in front acted on is
    // unknowable, so credentials sent twice are refused rather than guessed at.
    if (authorizationCount(req) > 1) {
      const message = 'must be sent once';
      throw new AppError('validation_failed', `/headers/authorization ${message}.`, { errors: [{ path: '/headers/authorization', message }] });
    }
    const token = bearerToken(req);
    // Each requirement object is an alternative (OpenAPI: OR of ANDs); Remit's have one scheme each.
    const schemes = new Set(requirements.flatMap((r) => Object.keys(r)));

    // The scraper's token, or no token at all where /metrics is configured open.
    if (schemes.has('metricsToken') && authenticator.verifyMetricsToken?.(token)) {
      res.locals.principal = { kind: 'anonymous' } satisfies Principal;
      return next();
    }
    // Credentials known to be good are checked in memory and admitted before the per-address guard:
    // a valid key or the admin token is never refused for what other clients at its address did.
    if (token && schemes.has('adminToken') && authenticator.verifyAdminToken(token)) {
      res.locals.principal = { kind: 'admin' } satisfies Principal;
      return next();
    }
    // Access tokens are verified in memory: a valid one is admitted before the per-address guard.
    const accessToken = token && schemes.has('oauth2') && authenticator.verifyAccessToken && JWT_SHAPE.test(token);
    const verified = accessToken ? await authenticator.verifyAccessToken!(token, `${req.protocol}://${req.host}`) : undefined;
    if (verified?.ok) {
      res.locals.principal = { kind: 'oauth', ...verified.identity } satisfies Principal;
      return next();
    }
    const known = token && !accessToken && schemes.has('apiKey') ? authenticator.knownApiKey?.(token) : undefined;
    if (known) {
      res.locals.principal = { kind: 'api_key', ...known } satisfies Principal;
      return next();
    }

    const release = await throttle?.admit(req, token ?? '');
    try {
      if (token === null) {
        await throttle?.failed(req, res);
        throw new AppError('authentication_required', 'Send your API key or access token as `Authorization: Bearer <credential>`.', {
          headers: { 'WWW-Authenticate': REALM },
        });
      }
      if (verified && !verified.ok) {
        await throttle?.failed(req, res);
        throw new AppError('invalid_token', verified.reason, {
          headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token", error_description=${quoted(verified.reason)}` },
        });
      }
      const identity = token && schemes.has('apiKey') ? await authenticator.verifyApiKey(token) : null;
      if (identity) {
        res.locals.principal = { kind: 'api_key', ...identity } satisfies Principal;
        return next();
      }
      await throttle?.failed(req, res);
      throw new AppError('invalid_api_key', 'The credentials are unknown, malformed or revoked.', {
        headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
      });
    } finally {
      release?.();
    }
  };
}

/**
 * Checks the authenticated key's or token's scopes against the operation's requirement (the
 * requirement of its own scheme: scopes mean the same in both). Runs after the rate limit, so a
 * caller that keeps calling what it may not call spends its own quota doing so.
 */
export function authorize(defaultSecurity: SecurityRequirement[] = []): RequestHandler {
  return (req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (principal?.kind !== 'api_key' && principal?.kind !== 'oauth') return next();
    const requirements = requirementsOf(req, defaultSecurity);
    if (isAnonymous(requirements)) return next();
    const scheme = principal.kind === 'api_key' ? 'apiKey' : 'oauth2';
    const missingPerRequirement = requirements
      .filter((r) => scheme in r)
      .map((r) => (r[scheme] ?? []).filter((scope) => !principal.scopes.includes(scope)));
    if (missingPerRequirement.some((missing) => missing.length === 0)) return next();
    const missing = missingPerRequirement[0] ?? [];
    const holder = principal.kind === 'api_key' ? 'an API key' : 'an access token';
    throw new AppError('insufficient_scope', `This operation needs ${holder} with the ${missing.map((s) => `'${s}'`).join(', ')} scope.`, {
      headers: { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${missing.join(' ')}"` },
    });
  };
}
