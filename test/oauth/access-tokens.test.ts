/**
 * Access tokens at every operation: accepted where an API key is, with the same scopes, tenancy,
 * quotas and idempotency; verified without a database round trip; and refused — each way a token
 * can be wrong — with `401` and `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { createTestApp, snapshot, type TestAccount, type TestApp } from '../helpers/app.js';
import { loadSpec, operationsOf } from '../../src/platform/spec.js';
import { accessToken, claimsOf, createClient, ISSUER, kidOf, manualClock, type Client } from './helpers.js';

const b64 = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The token with its payload replaced, header and signature kept. */
function withPayload(token: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64(change(claimsOf(token) as Record<string, unknown>))}.${signature}`;
}

describe('OAuth access tokens', () => {
  const clock = manualClock();
  let t: TestApp;
  let account: TestAccount;
  let client: Client;
  let token: string;

  before(async () => {
    t = await createTestApp({ publicUrl: ISSUER, now: clock.now });
    account = await t.createAccount();
    client = await createClient(t.app, account);
    token = await accessToken(t.app, client);
  });
  after(async () => t?.close());

  const get = (path: string, bearer: string) => request(t.app).get(path).set('Authorization', `Bearer ${bearer}`);

  function refusedAsInvalidToken(res: request.Response, description: RegExp): void {
    expect(res.status, JSON.stringify(res.body)).to.equal(401);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.body.code).to.equal('invalid_token');
    const challenge = res.headers['www-authenticate'] as string;
    expect(challenge).to.match(/^Bearer realm="remit", error="invalid_token", error_description="[^"]+"$/);
    expect(challenge).to.match(description);
    expect(res.body.detail).to.match(description);
  }

  describe('accepted', () => {
    it('is offered by every operation that takes an API key, with the same scopes (the spec says so)', () => {
      const spec = loadSpec();
      const keyed = operationsOf<{ security?: Record<string, string[]>[] }>(spec).filter(({ operation }) => (operation.security ?? spec.security ?? []).some((r) => 'apiKey' in r));
      expect(keyed.length).to.be.above(30);
      for (const { operationId, operation } of keyed) {
        const requirements = operation.security ?? (spec.security as Record<string, string[]>[]);
        const scopes = (scheme: string) => requirements.filter((r) => scheme in r).map((r) => [...r[scheme]!].sort().join(' '));
        expect(scopes('oauth2'), operationId).to.deep.equal(scopes('apiKey'));
      }
    });

    it('calls any operation an API key may, with the same scopes', async () => {
      expect((await get('/v1/customers', token)).status).to.equal(200);
      const created = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${token}`).send({ email: 'token@example.com' });
      expect(created.status).to.equal(201);
      expect((await get(`/v1/customers/${created.body.id}`, account.secret)).body.email).to.equal('token@example.com');
    });

    it('refuses what the token’s scopes do not cover with 403 insufficient_scope, naming the scope', async () => {
      const reader = await accessToken(t.app, client, 'read');
      const res = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${reader}`).send({ email: 'nope@example.com' });
      expect(res.status).to.equal(403);
      expect(res.body.code).to.equal('insufficient_scope');
      expect(res.headers['www-authenticate']).to.equal('Bearer realm="remit", error="insufficient_scope", scope="write"');
    });

    it('answers 404 for another account’s resource, as for an API key', async () => {
      const other = await t.createAccount('Other');
      const theirs = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${other.secret}`).send({ email: 'theirs@example.com' }).expect(201);
      const res = await get(`/v1/customers/${theirs.body.id}`, token);
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('resource_not_found');
    });

    it('shares idempotency with the account’s API keys: the same key is the same request whichever credential sends it', async () => {
      const key = randomUUID();
      const first = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${token}`).set('Idempotency-Key', key).send({ email: 'once@example.com' }).expect(201);
      const again = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', key).send({ email: 'once@example.com' });
      expect(again.status).to.equal(201);
      expect(again.headers['idempotent-replayed']).to.equal('true');
      expect(again.body.id).to.equal(first.body.id);
      expect(await t.db('customers').where({ email: 'once@example.com' }).count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 1);
    });

    it('verifies a token without a database round trip', async () => {
      await get('/health', token); // nothing to warm: the keys are in memory since the token was signed
      const queries: string[] = [];
      const record = (q: { sql: string }) => queries.push(q.sql);
      t.db.on('query', record);
      try {
        // An operation whose handler reads nothing: /v1/api_keys' scope check fails before it, so
        // every query seen here would be authentication's.
        const reader = await accessToken(t.app, client, 'read');
        queries.length = 0;
        const res = await request(t.app).post('/v1/api_keys').set('Authorization', `Bearer ${reader}`).send({ scopes: ['read'] });
        expect(res.status).to.equal(403);
      } finally {
        t.db.removeListener('query', record);
      }
      expect(queries).to.deep.equal([]);
    });
  });

  describe('refused', () => {
    it('refuses an expired token, and accepts a fresh one', async () => {
      const c = manualClock();
      const app = await createTestApp({ publicUrl: ISSUER, now: c.now, oauth: { tokenTtlS: 600 } });
      try {
        const owner = await app.createAccount();
        const expiring = await accessToken(app.app, await createClient(app.app, owner));
        c.advance(600_000);
        // Within the minute of leeway allowed for clocks that run fast.
        expect((await request(app.app).get('/v1/customers').set('Authorization', `Bearer ${expiring}`)).status).to.equal(200);
        c.advance(61_000);
        refusedAsInvalidToken(await request(app.app).get('/v1/customers').set('Authorization', `Bearer ${expiring}`), /expired/);
      } finally {
        await app.close();
      }
    });

    it('refuses a token signed by a key it did not publish, whatever kid it names', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const sign = (kid: string) =>
        new SignJWT({ client_id: client.id, scope: 'read write', remit_account: account.id })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
          .setIssuer(ISSUER)
          .setAudience(ISSUER)
          .setSubject(client.id)
          .setIssuedAt(Math.floor(clock.now() / 1000))
          .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
          .setJti(randomUUID())
          .sign(privateKey);
      refusedAsInvalidToken(await get('/v1/customers', await sign('forged-kid')), /not published/);
      // Naming a published kid does not help a signature made with another key.
      refusedAsInvalidToken(await get('/v1/customers', await sign(kidOf(token))), /signature/);
    });

    it('refuses `alg: none`', async () => {
      const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid: kidOf(token) })}.${token.split('.')[1]}.`;
      refusedAsInvalidToken(await get('/v1/customers', unsigned), /ES256/);
    });

    it('refuses an HS256 token "signed" with the published public key (algorithm confusion)', async () => {
      const jwks = await request(t.app).get('/.well-known/jwks.json').expect(200);
      const publicJwk = jwks.body.keys.find((k: JWK) => k.kid === kidOf(token)) as JWK;
      const attempts: string[] = [];
      // The public key as an attacker would hand it to a careless verifier: its JSON and its SPKI PEM.
      const spki = await (await import('node:crypto')).createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      for (const secret of [JSON.stringify(publicJwk), spki.toString()]) {
        const hmacKey = await importJWK({ kty: 'oct', k: Buffer.from(secret).toString('base64url') }, 'HS256');
        attempts.push(
          await new SignJWT(claimsOf(token)).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: kidOf(token) }).sign(hmacKey),
        );
      }
      for (const forged of attempts) refusedAsInvalidToken(await get('/v1/customers', forged), /ES256/);
      expect(await exportJWK((await generateKeyPair('ES256')).publicKey)).to.have.property('kty', 'EC');
    });

    it('refuses a token whose claims were changed after signing', async () => {
      const reader = await accessToken(t.app, client, 'read');
      const widened = withPayload(reader, (c) => ({ ...c, scope: 'read write' }));
      refusedAsInvalidToken(await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${widened}`).send({ email: 'x@example.com' }), /signature/);
      const moved = withPayload(token, (c) => ({ ...c, remit_account: 'acct_someoneelse' }));
      refusedAsInvalidToken(await get('/v1/customers', moved), /signature/);
    });

    it('refuses a token issued for another issuer or audience', async () => {
      const elsewhere = await createTestApp({ publicUrl: 'https://other.example.test', database: { db: t.db, drop: async () => {} }, simulator: t.simulator, now: clock.now });
      try {
        const foreign = await accessToken(elsewhere.app, client);
        // Same database, same signing keys, same client: only the issuer differs.
        expect(kidOf(foreign)).to.be.a('string');
        refusedAsInvalidToken(await get('/v1/customers', foreign), /`iss`/);
      } finally {
        await elsewhere.close();
      }
    });

    it('refuses a JWT that is not an access token (`typ`), and garbage shaped like one', async () => {
      const [, payload, signature] = token.split('.');
      refusedAsInvalidToken(await get('/v1/customers', `${b64({ alg: 'ES256', typ: 'JWT', kid: kidOf(token) })}.${payload}.${signature}`), /./);
      refusedAsInvalidToken(await get('/v1/customers', 'abc.def.ghi'), /malformed/);
    });

    it('changes nothing when a write is refused for its token', async () => {
      const before = await snapshot(t.db);
      const forged = withPayload(token, (c) => ({ ...c, jti: 'replayed' }));
      refusedAsInvalidToken(await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${forged}`).send({ email: 'never@example.com' }), /signature/);
      expect(await snapshot(t.db)).to.deep.equal(before);
    });
  });
});

describe('OAuth access tokens and quotas', () => {
  it('counts a token’s requests per client and per account, like a key’s', async () => {
    const t = await createTestApp({ publicUrl: ISSUER, rateLimits: { policies: { write: { points: 2, windowS: 60 }, account_write: { points: 4, windowS: 60 } }, redisUrl: null } });
    try {
      const account = await t.createAccount();
      // The account's key writes once here (the client's creation): its own budget 1 of 2, the account's 1 of 4.
      const token = await accessToken(t.app, await createClient(t.app, account));
      const write = (bearer: string) => request(t.app).post('/v1/customers').set('Authorization', `Bearer ${bearer}`).send({ email: 'q@example.com' });
      const first = await write(token);
      expect(first.status).to.equal(201);
      expect(first.headers['ratelimit-policy']).to.equal('"write";q=2;w=60, "account_write";q=4;w=60');
      expect((await write(token)).status).to.equal(201);
      // The client's own budget is spent while the account's still has room.
      const third = await write(token);
      expect(third.status).to.equal(429);
      expect(third.body.detail).to.contain('This OAuth client has used its 2 write requests');
      // The key still has a write of its own, but the account's budget is shared with the client, and spent.
      const keyWrite = await write(account.secret);
      expect(keyWrite.status).to.equal(429);
      expect(keyWrite.body.detail).to.contain('across all its keys and clients');
    } finally {
      await t.close();
    }
  });
});
