/**
 * The OAuth component's public entry: clients, the token endpoint, the signing keys and the
 * verification of access tokens, for the app (authentication) and its routes.
 */
export { OAuthService, type OAuthOptions } from './service.js';
export type { Verification } from './tokens.js';
export type { ClientAuthGuard } from './token-endpoint.js';
export type { Sealer } from './signing-keys.js';
