/**
 * A key cannot mint or remove more power than it holds, an account cannot collect keys without
 * end, and an account that revoked all its keys can be let back in by the operator:
 * - a key creates keys only with scopes it holds, and revokes only keys whose scopes it holds;
 * - an account holds at most API_KEYS_MAX_PER_ACCOUNT active keys, also under concurrent creation;
 * - `POST /admin/accounts/{id}/api_keys` (admin token) issues a key for any account.
 */
import { expect } from 'chai';
import request from 'supertest';
import { ADMIN_TOKEN, createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { listen, type Listening } from './helpers/http-server.js';
import { expectProblem } from './helpers/problem.js';

const MAX_KEYS = 5;

describe('API key privileges', () => {
  let t: TestApp;
  let account: TestAccount;
  const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
  const activeKeys = async (accountId: string) => (await t.db('api_keys').where({ account_id: accountId }).whereNull('revoked_at')).length;

  beforeEach(async () => {
    t = await createTestApp({ apiKeysMaxPerAccount: MAX_KEYS });
    account = await t.createAccount();
  });
  afterEach(() => t.close());

  describe('POST /v1/api_keys', () => {
    it('refuses a write-only key creating a read+write key with 403 insufficient_scope, creating nothing', async () => {
      const writeOnly = await t.createKey(account, ['write']);
      const before = await activeKeys(account.id);
      const res = await request(t.app).post('/v1/api_keys').set(bearer(writeOnly.secret)).send({ scopes: ['read', 'write'] });
      expectProblem(res, 403, 'insufficient_scope');
      expect(res.body.detail).to.include("lacks 'read'");
      expect(res.headers['www-authenticate']).to.include('scope="read"');
      expect(await activeKeys(account.id)).to.equal(before);
    });

    it('lets a write-only key create a write-only key', async () => {
      const writeOnly = await t.createKey(account, ['write']);
      const res = await request(t.app).post('/v1/api_keys').set(bearer(writeOnly.secret)).send({ scopes: ['write'] });
      expect(res.status).to.equal(201);
      expect(res.body.scopes).to.deep.equal(['write']);
      expect(res.headers['cache-control']).to.equal('no-store');
    });

    it(`stops at ${MAX_KEYS} active keys with 409 api_key_limit_reached, and allows one more after a revocation`, async () => {
      const made: string[] = [];
      while ((await activeKeys(account.id)) < MAX_KEYS) made.push((await t.createKey(account, ['read'])).id);
      const refused = await request(t.app).post('/v1/api_keys').set(bearer(account.secret)).send({ scopes: ['read'] });
      expectProblem(refused, 409, 'api_key_limit_reached');
      expect(await activeKeys(account.id)).to.equal(MAX_KEYS);
      await request(t.app).delete(`/v1/api_keys/${made[0]}`).set(bearer(account.secret)).expect(200);
      await request(t.app).post('/v1/api_keys').set(bearer(account.secret)).send({ scopes: ['read'] }).expect(201);
      expect(await activeKeys(account.id)).to.equal(MAX_KEYS);
    });

    it('holds the cap when 20 creations race at once over real sockets', async () => {
      const server: Listening = await listen(t.app);
      try {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`${server.url}/v1/api_keys`, { method: 'POST', headers: { ...bearer(account.secret), 'content-type': 'application/json' }, body: JSON.stringify({ scopes: ['read'] }) }),
          ),
        );
        const statuses = answers.map((a) => a.status);
        expect(statuses.filter((s) => s === 201)).to.have.length(MAX_KEYS - 1);
        expect(statuses.filter((s) => s === 409)).to.have.length(20 - (MAX_KEYS - 1));
        expect(await activeKeys(account.id)).to.equal(MAX_KEYS);
      } finally {
        await server.close();
      }
    });
  });

  describe('DELETE /v1/api_keys/{id}', () => {
    it('refuses a write-only key revoking a read+write key with 403, leaving it active', async () => {
      const writeOnly = await t.createKey(account, ['write']);
      const res = await request(t.app).delete(`/v1/api_keys/${account.keyId}`).set(bearer(writeOnly.secret));
      expectProblem(res, 403, 'insufficient_scope');
      await request(t.app).get('/v1/customers').set(bearer(account.secret)).expect(200);
    });

    it('lets a write-only key revoke another write-only key', async () => {
      const writeOnly = await t.createKey(account, ['write']);
      const other = await t.createKey(account, ['write']);
      const res = await request(t.app).delete(`/v1/api_keys/${other.id}`).set(bearer(writeOnly.secret));
      expect(res.status).to.equal(200);
      expect(res.body.revoked_at).to.be.a('number');
    });
  });

  describe('POST /admin/accounts/{id}/api_keys', () => {
    it('lets the operator back into an account whose keys were all revoked', async () => {
      await request(t.app).delete(`/v1/api_keys/${account.keyId}`).set(bearer(account.secret)).expect(200);
      await request(t.app).get('/v1/customers').set(bearer(account.secret)).expect(401);
      const res = await request(t.app).post(`/admin/accounts/${account.id}/api_keys`).set(bearer(ADMIN_TOKEN)).send({ name: 'recovery', scopes: ['read', 'write'] });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.headers.location).to.equal(`/v1/api_keys/${res.body.id}`);
      expect(res.headers['cache-control']).to.equal('no-store');
      await request(t.app).get('/v1/customers').set(bearer(res.body.secret)).expect(200);
    });

    it('answers 404 for an unknown account and 401 without the admin token', async () => {
      expectProblem(await request(t.app).post('/admin/accounts/acct_nothere/api_keys').set(bearer(ADMIN_TOKEN)).send({ scopes: ['read'] }), 404, 'resource_not_found');
      expectProblem(await request(t.app).post(`/admin/accounts/${account.id}/api_keys`).set(bearer(account.secret)).send({ scopes: ['read'] }), 401, 'invalid_api_key');
    });

    it('counts against the account’s cap', async () => {
      while ((await activeKeys(account.id)) < MAX_KEYS) await t.createKey(account, ['read']);
      const res = await request(t.app).post(`/admin/accounts/${account.id}/api_keys`).set(bearer(ADMIN_TOKEN)).send({ scopes: ['read'] });
      expectProblem(res, 409, 'api_key_limit_reached');
    });
  });

  it('marks the answer that shows an account’s first secret no-store', async () => {
    const res = await request(t.app).post('/admin/accounts').set(bearer(ADMIN_TOKEN)).send({ name: 'fresh' });
    expect(res.status).to.equal(201);
    expect(res.headers['cache-control']).to.equal('no-store');
  });
});
