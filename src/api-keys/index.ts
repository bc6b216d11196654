/**
 * The API keys component's public entry: issuing, verifying and revoking keys, for the accounts
 * component (an account's first key) and the app (authentication).
 */
export { ApiKeyService, type ApiKeyServiceOptions, type KeyHolder } from './service.js';
export { VerifiedKeyCache } from './key-cache.js';
