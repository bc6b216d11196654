/**
 * The token endpoint's grant: client credentials (RFC 6749 §4.4), with the client authenticated by
 * HTTP Basic or by parameters in the body (§2.3.1), never both. Refusals are OAuth errors (§5.2),
 * returned rather than thrown: they are answers this endpoint's contract documents, in OAuth's own
 * format. Each failed client authentication is reported to the per-address guard that bad API keys
 * are counted by, and an address that has failed too often is refused before any lookup.
 */
import type { components } from '../../generated/schema.js';
import type { AccessTokens } from './tokens.js';
import type { AuthenticatedClient } from './clients.js';

type OAuthErrorBody = components['schemas']['OAuthError'];
type TokenResponse = components['schemas']['TokenResponse'];

export type TokenAnswer =
  | { readonly status: 200; readonly body: TokenResponse }
  | { readonly status: 400 | 401; readonly body: OAuthErrorBody; readonly basicChallenge?: boolean };

export interface TokenRequest {
  readonly form: { grant_type?: string; scope?: string; client_id?: string; client_secret?: string };
  readonly authorization: string | undefined;
  /** The issuer the token names (the API's public URL). */
  readonly issuer: string;
}

/** The per-address guard against guessing secrets (the `auth` policy). */
export interface ClientAuthGuard {
  /** Throws a 429 when the address has failed too often. */
  admit(): Promise<void>;
  failed(): Promise<void>;
}

const refuse = (status: 400 | 401, error: OAuthErrorBody['error'], description: string, basicChallenge = false): TokenAnswer => ({
  status,
  body: { error, error_description: description },
  basicChallenge,
});

/** `Basic base64(urlencoded id ":" urlencoded secret)` → the two, or null when malformed. */
export function parseBasic(header: string): { id: string; secret: string } | null {
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

export class TokenEndpoint {
  constructor(
    private readonly authenticate: (clientId: string, secret: string) => Promise<AuthenticatedClient | undefined>,
    private readonly tokens: AccessTokens,
  ) {}

  async grant(request: TokenRequest, guard: ClientAuthGuard): Promise<TokenAnswer> {
    const { form, authorization } = request;
    if (form.grant_type !== 'client_credentials') {
      return refuse(400, 'unsupported_grant_type', `Only the client_credentials grant is supported; got '${form.grant_type ?? ''}'.`);
    }
    const inBody = form.client_id !== undefined || form.client_secret !== undefined;
    if (authorization !== undefined && inBody) {
      return refuse(400, 'invalid_request', 'Authenticate the client with HTTP Basic or with client_id and client_secret in the body, not both.');
    }
    const basic = authorization !== undefined;
    const credentials = basic ? parseBasic(authorization) : form.client_id !== undefined && form.client_secret !== undefined ? { id: form.client_id, secret: form.client_secret } : null;

    await guard.admit();
    const client = credentials ? await this.authenticate(credentials.id, credentials.secret) : undefined;
    if (!client) {
      await guard.failed();
      const description = credentials ? 'The client is unknown or revoked, or its secret is wrong or has expired.' : 'Send the client credentials with HTTP Basic, or as client_id and client_secret in the body.';
      return refuse(401, 'invalid_client', description, basic);
    }

    // RFC 6749 §3.3: space-delimited, case-sensitive; each must be one the client holds.
    const asked = form.scope === undefined ? [] : form.scope.split(' ').filter(Boolean);
    const unknown = asked.filter((s) => !client.scopes.includes(s));
    if (unknown.length > 0) return refuse(400, 'invalid_scope', `The client does not hold ${unknown.map((s) => `'${s}'`).join(', ')}; it holds ${client.scopes.join(' ')}.`);
    const scopes = asked.length > 0 ? [...new Set(asked)].sort() : [...client.scopes];
    const { token, expiresIn } = await this.tokens.issue(request.issuer, { accountId: client.accountId, clientId: client.id, scopes });
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') } };
  }
}
