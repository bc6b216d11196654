/** OAuth clients and their tokens, through the API as an integrator gets them. */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import type { Express } from 'express';
import type { TestAccount } from '../helpers/app.js';

/** The public URL test apps are given: the issuer and audience of their tokens. */
export const ISSUER = 'https://api.example.test';

export interface Client {
  readonly id: string;
  readonly secret: string;
}

export async function createClient(app: Express, account: TestAccount, scopes: string[] = ['read', 'write']): Promise<Client> {
  const res = await request(app).post('/v1/oauth_clients').set('Authorization', `Bearer ${account.secret}`).send({ name: 'integration', scopes });
  if (res.status !== 201) throw new Error(`client creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, secret: res.body.client_secret };
}

/** The token endpoint's answer, client authenticated with HTTP Basic. */
export function tokenRequest(app: Express, client: Client, form: Record<string, string> = {}) {
  return request(app).post('/oauth/token').auth(client.id, client.secret).type('form').send({ grant_type: 'client_credentials', ...form });
}

export async function accessToken(app: Express, client: Client, scope?: string): Promise<string> {
  const res = await tokenRequest(app, client, scope ? { scope } : {});
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

export const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
export const claimsOf = (token: string) => decodeJwt(token);

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}
