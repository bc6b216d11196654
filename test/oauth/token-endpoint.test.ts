/**
 * `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4), its client authentication
 * (§2.3.1), its errors in OAuth's own format (§5.2), the token it issues (RFC 9068), the metadata
 * (RFC 8414) and the key set (RFC 7517), and the endpoint's own rate-limit policy.
 */
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { createTestApp, snapshot, type TestAccount, type TestApp } from '../helpers/app.js';
import { accessToken, claimsOf, createClient, ISSUER, kidOf, tokenRequest, type Client } from './helpers.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('OAuth token endpoint', () => {
  let t: TestApp;
  let account: TestAccount;
  let client: Client;

  before(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
    account = await t.createAccount();
    client = await createClient(t.app, account);
  });
  after(async () => t?.close());

  describe('granting', () => {
    it('issues an RFC 9068 access token to a client authenticated with HTTP Basic, uncacheable', async () => {
      const res = await tokenRequest(t.app, client);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^application\/json/);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.headers.pragma).to.equal('no-cache');
      expect(res.body).to.include({ token_type: 'Bearer', expires_in: 600, scope: 'read write' });

      const token = res.body.access_token as string;
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
      expect(header).to.include({ alg: 'ES256', typ: 'at+jwt' });
      const claims = claimsOf(token);
      expect(claims).to.include({ iss: ISSUER, aud: ISSUER, sub: client.id, client_id: client.id, remit_account: account.id, scope: 'read write' });
      expect(claims.exp! - claims.iat!).to.equal(600);
      expect(claims.jti).to.be.a('string').with.length.above(15);

      // The token verifies against the published key set, by its kid.
      const jwks = await request(t.app).get('/.well-known/jwks.json').expect(200);
      expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).to.include(kidOf(token));
      const verified = await jwtVerify(token, createLocalJWKSet(jwks.body), { issuer: ISSUER, audience: ISSUER, typ: 'at+jwt', algorithms: ['ES256'] });
      expect(verified.payload.sub).to.equal(client.id);
    });

    it('authenticates a client by client_id and client_secret in the body', async () => {
      const res = await request(t.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
      expect(res.status).to.equal(200);
      expect(claimsOf(res.body.access_token).client_id).to.equal(client.id);
    });

    it('reads Basic credentials form-encoded, as RFC 6749 §2.3.1 has clients send them', async () => {
      const res = await request(t.app).post('/oauth/token').set('Authorization', basic(client.id, client.secret)).type('form').send({ grant_type: 'client_credentials' });
      expect(res.status).to.equal(200);
    });

    it('narrows the token to the scopes asked for', async () => {
      const res = await tokenRequest(t.app, client, { scope: 'read' });
      expect(res.status).to.equal(200);
      expect(res.body.scope).to.equal('read');
      expect(claimsOf(res.body.access_token).scope).to.equal('read');
    });

    it('gives every token its own id', async () => {
      const tokens = await Promise.all([1, 2, 3].map(() => accessToken(t.app, client)));
      expect(new Set(tokens.map((tok) => claimsOf(tok).jti)).size).to.equal(3);
    });
  });

  describe('refusing, in OAuth’s error format', () => {
    const oauthError = (res: request.Response, status: number, error: string) => {
      expect(res.status, JSON.stringify(res.body)).to.equal(status);
      expect(res.headers['content-type']).to.match(/^application\/json/);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(Object.keys(res.body).sort()).to.deep.equal(['error', 'error_description']);
      expect(res.body.error).to.equal(error);
      expect(res.body.error_description).to.be.a('string').and.not.equal('');
    };

    it('refuses a wrong secret sent with Basic as invalid_client, 401, and challenges for Basic', async () => {
      const res = await request(t.app).post('/oauth/token').auth(client.id, `${client.secret.slice(0, -1)}x`).type('form').send({ grant_type: 'client_credentials' });
      oauthError(res, 401, 'invalid_client');
      expect(res.headers['www-authenticate']).to.equal('Basic realm="remit"');
    });

    it('refuses a wrong secret sent in the body as invalid_client, without a Basic challenge', async () => {
      const res = await request(t.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: client.id, client_secret: 'cs_nope' });
      oauthError(res, 401, 'invalid_client');
      expect(res.headers['www-authenticate']).to.equal(undefined);
    });

    it('refuses one client’s secret presented under another client’s id', async () => {
      const other = await createClient(t.app, account, ['read']);
      const res = await request(t.app).post('/oauth/token').auth(other.id, client.secret).type('form').send({ grant_type: 'client_credentials' });
      oauthError(res, 401, 'invalid_client');
    });

    it('refuses a request without client credentials as invalid_client', async () => {
      oauthError(await request(t.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials' }), 401, 'invalid_client');
    });

    it('refuses credentials sent both ways as invalid_request', async () => {
      const res = await request(t.app).post('/oauth/token').auth(client.id, client.secret).type('form').send({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
      oauthError(res, 400, 'invalid_request');
    });

    it('refuses another grant as unsupported_grant_type', async () => {
      oauthError(await tokenRequest(t.app, client, { grant_type: 'password' }), 400, 'unsupported_grant_type');
    });

    it('refuses a request without grant_type as invalid_request, not a problem document', async () => {
      const res = await request(t.app).post('/oauth/token').auth(client.id, client.secret).type('form').send({ scope: 'read' });
      oauthError(res, 400, 'invalid_request');
      expect(res.body.error_description).to.contain('grant_type');
    });

    it('refuses a parameter sent twice as invalid_request (RFC 6749 §3.2)', async () => {
      const res = await request(t.app).post('/oauth/token').auth(client.id, client.secret).type('form').send('grant_type=client_credentials&scope=read&scope=write');
      oauthError(res, 400, 'invalid_request');
    });

    it('refuses a scope the client does not hold as invalid_scope', async () => {
      const reader = await createClient(t.app, account, ['read']);
      oauthError(await tokenRequest(t.app, reader, { scope: 'write' }), 400, 'invalid_scope');
      oauthError(await tokenRequest(t.app, reader, { scope: 'admin' }), 400, 'invalid_scope');
      oauthError(await tokenRequest(t.app, reader, { scope: 'READ' }), 400, 'invalid_scope');
    });

    it('answers a JSON body with 415 and says the form it takes', async () => {
      const res = await request(t.app).post('/oauth/token').auth(client.id, client.secret).send({ grant_type: 'client_credentials' });
      expect(res.status).to.equal(415);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body.detail).to.contain('application/x-www-form-urlencoded');
    });

    it('refuses a revoked client, and issues nothing while refusing', async () => {
      const doomed = await createClient(t.app, account, ['read']);
      await request(t.app).delete(`/v1/oauth_clients/${doomed.id}`).set('Authorization', `Bearer ${account.secret}`).expect(200);
      const before = await snapshot(t.db);
      oauthError(await tokenRequest(t.app, doomed), 401, 'invalid_client');
      expect(await snapshot(t.db)).to.deep.equal(before);
    });
  });

  describe('metadata and keys', () => {
    it('publishes RFC 8414 metadata naming the token endpoint and the key set', async () => {
      const res = await request(t.app).get('/.well-known/oauth-authorization-server').expect(200);
      expect(res.body).to.include({ issuer: ISSUER, token_endpoint: `${ISSUER}/oauth/token`, jwks_uri: `${ISSUER}/.well-known/jwks.json` });
      expect(res.body.grant_types_supported).to.deep.equal(['client_credentials']);
      expect(res.body.token_endpoint_auth_methods_supported).to.have.members(['client_secret_basic', 'client_secret_post']);
      expect(res.body.scopes_supported).to.have.members(['read', 'write']);
    });

    it('publishes public EC keys only, each with its kid, and says how long to cache them', async () => {
      await accessToken(t.app, client);
      const res = await request(t.app).get('/.well-known/jwks.json').expect(200);
      expect(res.body.keys).to.have.length.above(0);
      for (const key of res.body.keys) {
        expect(key).to.include({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256' });
        expect(key).to.have.all.keys('kty', 'crv', 'x', 'y', 'kid', 'use', 'alg');
      }
      expect(new Set(res.body.keys.map((k: { kid: string }) => k.kid)).size).to.equal(res.body.keys.length);
      const maxAge = /^public, max-age=(\d+)$/.exec(res.headers['cache-control'] ?? '')?.[1];
      expect(Number(maxAge)).to.be.within(1, 300);
    });

    it('stores signing keys’ private halves sealed, and client secrets only as hashes', async () => {
      const created = await createClient(t.app, account, ['read']);
      const rows = JSON.stringify(await snapshot(t.db));
      expect(rows).not.to.contain(created.secret);
      expect(rows).not.to.contain(created.secret.slice(-20));
      const keys = await t.db('oauth_signing_keys').select('public_jwk', 'sealed_private_jwk');
      for (const key of keys) {
        expect(key.public_jwk).not.to.have.property('d');
        expect(Buffer.from(key.sealed_private_jwk).toString('latin1')).not.to.contain('"d"');
      }
    });
  });
});

describe('OAuth token endpoint rate limits', () => {
  it('counts token requests in their own `token` policy per address, apart from `ops`', async () => {
    const t = await createTestApp({ publicUrl: ISSUER, rateLimits: { policies: { token: { points: 2, windowS: 60 } }, redisUrl: null } });
    try {
      const client = await createClient(t.app, await t.createAccount());
      const first = await tokenRequest(t.app, client);
      expect(first.status).to.equal(200);
      expect(first.headers['ratelimit-policy']).to.equal('"token";q=2;w=60');
      expect((await tokenRequest(t.app, client)).status).to.equal(200);
      const third = await tokenRequest(t.app, client);
      expect(third.status).to.equal(429);
      expect(third.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(third.body.code).to.equal('rate_limited');
      expect(Number(third.headers['retry-after'])).to.be.above(0);
      // The address's other anonymous budget is untouched.
      const health = await request(t.app).get('/health').expect(200);
      expect(health.headers['ratelimit-policy']).to.match(/^"ops";/);
    } finally {
      await t.close();
    }
  });

  it('counts failed client authentications against `auth`, and refuses the address past it before any lookup', async () => {
    const t = await createTestApp({ publicUrl: ISSUER, rateLimits: { policies: { auth: { points: 2, windowS: 60 } }, redisUrl: null } });
    try {
      const client = await createClient(t.app, await t.createAccount());
      for (let i = 0; i < 2; i++) expect((await request(t.app).post('/oauth/token').auth(client.id, 'cs_wrong').type('form').send({ grant_type: 'client_credentials' })).status).to.equal(401);
      const refused = await tokenRequest(t.app, client);
      expect(refused.status).to.equal(429);
      expect(refused.body.detail).to.contain('failed authentication');
    } finally {
      await t.close();
    }
  });
});
