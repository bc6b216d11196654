/** Who a verified API key speaks for: its account, its id, and the scopes it holds. */
export interface ApiKeyIdentity {
  readonly accountId: string;
  readonly keyId: string;
  readonly scopes: readonly string[];
}

/** Who a verified OAuth access token speaks for: its account, its client, and the token's scopes. */
export interface ClientIdentity {
  readonly accountId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}
