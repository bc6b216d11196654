import { accountIdOf, scopesOf, type HandlersFor, type Principal } from '../platform/http/handlers.js';
import type { ClientHolder } from './clients.js';
import type { OAuthService } from './service.js';
import type { ClientAuthGuard } from './token-endpoint.js';

const SECRET_HEADERS = { 'Cache-Control': 'no-store' } as const;
const TOKEN_HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

function holderOf(principal: Principal): ClientHolder {
  return { accountId: accountIdOf(principal), scopes: scopesOf(principal) };
}

export interface OAuthRouteOptions {
  /** The issuer tokens name: the API's public URL, else the origin the request was sent to. */
  readonly issuerFor: (origin: string) => string;
  /** The per-address guard against guessing client secrets. */
  readonly guardFor: (clientAddress: string) => ClientAuthGuard;
}

export function oauthHandlers(
  oauth: OAuthService,
  options: OAuthRouteOptions,
): HandlersFor<'createOAuthClient' | 'listOAuthClients' | 'revokeOAuthClient' | 'rotateOAuthClientSecret' | 'createAccessToken' | 'getAuthorizationServerMetadata' | 'getJwks' | 'rotateSigningKey'> {
  return {
    createOAuthClient: async ({ principal, body }) => {
      const client = await oauth.clients.create(holderOf(principal), body);
      return { status: 201, body: client, headers: { ...SECRET_HEADERS, Location: `/v1/oauth_clients/${client.id}` } };
    },
    listOAuthClients: async ({ principal, query }) => ({ status: 200, body: await oauth.clients.list(accountIdOf(principal), query) }),
    revokeOAuthClient: async ({ principal, params }) => ({ status: 200, body: await oauth.clients.revoke(holderOf(principal), params.id) }),
    rotateOAuthClientSecret: async ({ principal, params, body }) => ({
      status: 200,
      body: await oauth.clients.rotateSecret(holderOf(principal), params.id, body?.overlap_seconds),
      headers: SECRET_HEADERS,
    }),
    createAccessToken: async ({ body, headers, origin, clientAddress }) => {
      const answer = await oauth.tokenEndpoint.grant({ form: body, authorization: headers.authorization, issuer: options.issuerFor(origin) }, options.guardFor(clientAddress));
      if (answer.status === 200) return { status: 200, body: answer.body, headers: TOKEN_HEADERS };
      if (answer.status === 400) return { status: 400, body: answer.body, headers: TOKEN_HEADERS };
      // RFC 6749 §5.2: a client that authenticated with HTTP Basic is challenged to do so again.
      return { status: 401, body: answer.body, headers: { ...TOKEN_HEADERS, ...(answer.basicChallenge ? { 'WWW-Authenticate': 'Basic realm="remit"' } : {}) } };
    },
    getAuthorizationServerMetadata: async ({ origin }) => ({ status: 200, body: oauth.metadata(options.issuerFor(origin)) }),
    getJwks: async () => {
      const { keys, maxAgeS } = await oauth.jwks();
      return { status: 200, body: { keys } as never, headers: { 'Cache-Control': `public, max-age=${maxAgeS}` } };
    },
    rotateSigningKey: async ({ body }) => ({ status: 201, body: await oauth.rotateSigningKey(body?.retire_previous ?? false) }),
  };
}
