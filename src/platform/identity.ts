/** Who a verified API key speaks for: its account, its id, and the scopes it holds. */
export interface ApiKeyIdentity {
  readonly accountId: string;
  readonly keyId: string;
  readonly scopes: readonly string[];
}
