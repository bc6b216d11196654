/**
 * Authentication by the matched operation's `security` requirement (the spec is the access policy):
 * `apiKey` with the scopes it lists, `adminToken`, or none. Missing or bad credentials are a 401
 * with `WWW-Authenticate` (RFC 6750 §3); a valid key without the scope is a 403.
 *
 * With a throttle, a client address that has failed too often is refused before its credentials
 * are looked up, and every failure (missing or bad credentials, not a missing scope) is counted.
 */
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { Principal } from './handlers.js';
import type { AuthThrottle } from './rate-limit.js';

export interface ApiKeyIdentity {
  readonly accountId: string;
  readonly keyId: string;
  readonly scopes: readonly string[];
}

export interface Authenticator {
  /** The key's identity, or null when the secret is unknown, malformed or revoked. */
  verifyApiKey(secret: string): Promise<ApiKeyIdentity | null>;
  /** Constant-time comparison with the configured admin token. */
  verifyAdminToken(token: string): boolean;
}

type SecurityRequirement = Record<string, string[]>;

const REALM = 'Bearer realm="remit"';

function bearerToken(req: Request): string | null {
  const header = req.get('authorization');
  if (!header) return null;
  const match = /^Bearer[ ]+([\x21-\x7E]+)[ ]*$/i.exec(header);
  // A malformed Authorization header is treated as bad credentials, not as no credentials.
  return match ? match[1]! : '';
}

export function authenticate(authenticator: Authenticator, defaultSecurity: SecurityRequirement[] = [], throttle?: AuthThrottle): RequestHandler {
  return async (req, res, next) => {
    const operation = (req as Request & { openapi?: { schema?: { security?: SecurityRequirement[] } } }).openapi?.schema;
    const requirements = operation?.security ?? defaultSecurity;
    if (requirements.length === 0 || requirements.some((r) => Object.keys(r).length === 0)) {
      res.locals.principal = { kind: 'anonymous' } satisfies Principal;
      return next();
    }

    const release = await throttle?.admit(req);
    try {
      const token = bearerToken(req);
      if (token === null) {
        await throttle?.failed(req, res);
        throw new AppError('authentication_required', 'Send your API key as `Authorization: Bearer <secret>`.', {
          headers: { 'WWW-Authenticate': REALM },
        });
      }
      const invalid = () =>
        new AppError('invalid_api_key', 'The credentials are unknown, malformed or revoked.', {
          headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
        });

      // Each requirement object is an alternative (OpenAPI: OR of ANDs); Remit's have one scheme each.
      let missingScopes: string[] | null = null;
      for (const requirement of requirements) {
        const [[scheme, scopes = []]] = Object.entries(requirement) as [[string, string[]]];
        if (scheme === 'adminToken' && token && authenticator.verifyAdminToken(token)) {
          res.locals.principal = { kind: 'admin' } satisfies Principal;
          return next();
        }
        if (scheme === 'apiKey' && token) {
          const identity = await authenticator.verifyApiKey(token);
          if (!identity) continue;
          const missing = scopes.filter((s) => !identity.scopes.includes(s));
          if (missing.length === 0) {
            res.locals.principal = { kind: 'api_key', ...identity } satisfies Principal;
            return next();
          }
          missingScopes = missing;
        }
      }
      if (missingScopes) {
        throw new AppError('insufficient_scope', `This operation needs an API key with the ${missingScopes.map((s) => `'${s}'`).join(', ')} scope.`, {
          headers: { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${missingScopes.join(' ')}"` },
        });
      }
      await throttle?.failed(req, res);
      throw invalid();
    } finally {
      release?.();
    }
  };
}
