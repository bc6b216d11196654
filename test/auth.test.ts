/**
 * Authentication and tenancy, on a real database. A request with no key or a bad one — no
 * credentials, an unknown key, a key of the wrong shape, another scheme, an empty token, a real key
 * id with a tampered secret, a key revoked a request earlier — is a 401 with `WWW-Authenticate`,
 * answered before the request is validated, so a stranger learns nothing of the schema; two
 * `Authorization` headers are a 400. A read-only key writing (or a write-only key reading) is a 403
 * naming the missing scope, and writes nothing. The admin token and API keys do not stand in for
 * each other.
 *
 * Account A cannot retrieve, update or delete account B's customers, nor revoke B's keys: each is a
 * 404 and B's rows are unchanged; B's customers and keys are not in A's lists, even filtered by B's
 * email. A key's secret is shown once and stored only as a 32-byte hash: its random part is nowhere
 * in the database row.
 */
import { expect } from 'chai';
import request from 'supertest';
import { ADMIN_TOKEN, createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';
import { listen } from './helpers/http-server.js';
import { request as httpRequest } from 'node:http';

describe('authentication and tenancy', () => {
  let t: TestApp;
  let a: TestAccount;
  let b: TestAccount;

  before(async () => {
    t = await createTestApp();
    a = await t.createAccount('Account A');
    b = await t.createAccount('Account B');
  });
  after(() => t.close());

  describe('POST /admin/accounts', () => {
    it('creates an account and returns its first key secret once', async () => {
      const res = await request(t.app).post('/admin/accounts').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'Acme' });
      expect(res.status).to.equal(201);
      expect(res.body.account).to.include({ object: 'account', name: 'Acme' });
      expect(res.body.account.id).to.match(/^acct_/);
      expect(res.body.api_key.scopes).to.deep.equal(['read', 'write']);
      expect(res.body.api_key.secret).to.match(/^sk_[A-Za-z0-9]{22}_[A-Za-z0-9_-]{43}$/);
      // The key works at once.
      await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${res.body.api_key.secret}`).expect(200);
    });

    it('rejects a wrong admin token with 401 and creates nothing', async () => {
      const before = await snapshot(t.db);
      const res = await request(t.app).post('/admin/accounts').set('Authorization', 'Bearer not-the-admin-token').send({ name: 'X' });
      expectProblem(res, 401, 'invalid_api_key');
      expect(res.headers['www-authenticate']).to.match(/^Bearer realm="remit", error="invalid_token"/);
      expect(await snapshot(t.db)).to.deep.equal(before);
    });

    it('does not accept an API key in place of the admin token', async () => {
      const res = await request(t.app).post('/admin/accounts').set('Authorization', `Bearer ${a.secret}`).send({ name: 'X' });
      expectProblem(res, 401, 'invalid_api_key');
    });

    it('does not accept the admin token as an API key', async () => {
      const res = await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      expectProblem(res, 401, 'invalid_api_key');
    });
  });

  describe('Authorization sent twice', () => {
    for (const [label, second] of [
      ['a valid key then a bad one', 'Bearer not-a-key'],
      ['a valid key twice', undefined],
    ] as const) {
      it(`answers 400 validation_failed for ${label}, whichever a proxy would have used`, async () => {
        const server = await listen(t.app);
        try {
          const url = new URL(`${server.url}/v1/customers`);
          const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
            const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: ['Host', url.host, 'Authorization', `Bearer ${a.secret}`, 'Authorization', second ?? `Bearer ${a.secret}`] }, (r) => {
              let body = '';
              r.on('data', (d) => (body += d));
              r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
            });
            req.on('error', reject);
            req.end();
          });
          expect(res.status).to.equal(400);
          const problem = JSON.parse(res.body) as { code: string; errors: { path: string }[] };
          expect(problem.code).to.equal('validation_failed');
          expect(problem.errors.map((e) => e.path)).to.deep.equal(['/headers/authorization']);
        } finally {
          await server.close();
        }
      });
    }
  });

  describe('401 with WWW-Authenticate', () => {
    it('answers 401 authentication_required without credentials', async () => {
      const res = await request(t.app).get('/v1/customers');
      expectProblem(res, 401, 'authentication_required');
      expect(res.headers['www-authenticate']).to.equal('Bearer realm="remit"');
    });

    for (const [label, header] of [
      ['an unknown key', 'Bearer sk_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['a key of the wrong shape', 'Bearer sk_live_123'],
      ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
      ['an empty bearer token', 'Bearer '],
    ] as const) {
      it(`answers 401 invalid_api_key for ${label}`, async () => {
        const res = await request(t.app).get('/v1/customers').set('Authorization', header);
        expectProblem(res, 401, 'invalid_api_key');
        expect(res.headers['www-authenticate']).to.match(/error="invalid_token"/);
      });
    }

    it('answers 401 for a tampered secret of a real key (same key id, other random part)', async () => {
      const tampered = a.secret.slice(0, -4) + (a.secret.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      expectProblem(await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${tampered}`), 401, 'invalid_api_key');
    });

    it('answers 401 before validating the request, so a stranger learns nothing of the schema', async () => {
      const res = await request(t.app).post('/v1/customers').send({ bogus: true });
      expectProblem(res, 401, 'authentication_required');
    });

    it('answers 401 for a revoked key, from the very next request', async () => {
      const key = await t.createKey(a, ['read']);
      await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${key.secret}`).expect(200);
      const revoked = await request(t.app).delete(`/v1/api_keys/${key.id}`).set('Authorization', `Bearer ${a.secret}`);
      expect(revoked.status).to.equal(200);
      expect(revoked.body.revoked_at).to.be.a('number');
      expectProblem(await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${key.secret}`), 401, 'invalid_api_key');
    });
  });

  describe('scopes', () => {
    it('answers 403 insufficient_scope when a read-only key writes, and writes nothing', async () => {
      const readOnly = await t.createKey(a, ['read']);
      const before = await snapshot(t.db);
      const res = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${readOnly.secret}`).send({ email: 'x@example.com' });
      expectProblem(res, 403, 'insufficient_scope');
      expect(res.headers['www-authenticate']).to.match(/error="insufficient_scope", scope="write"/);
      expect(await snapshot(t.db)).to.deep.equal(before);
    });

    it('lets a read-only key read', async () => {
      const readOnly = await t.createKey(a, ['read']);
      await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${readOnly.secret}`).expect(200);
    });

    it('answers 403 when a write-only key reads', async () => {
      const writeOnly = await t.createKey(a, ['write']);
      expectProblem(await request(t.app).get('/v1/api_keys').set('Authorization', `Bearer ${writeOnly.secret}`), 403, 'insufficient_scope');
    });
  });

  describe('tenancy: account A never sees account B', () => {
    let bCustomer: { id: string };

    before(async () => {
      const res = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${b.secret}`).send({ email: 'b-only@example.com' });
      bCustomer = res.body;
    });

    it('answers 404 when A retrieves B’s customer', async () => {
      expectProblem(await request(t.app).get(`/v1/customers/${bCustomer.id}`).set('Authorization', `Bearer ${a.secret}`), 404, 'resource_not_found');
    });

    it('answers 404 when A updates B’s customer, and B’s customer is unchanged', async () => {
      const before = await t.db('customers').where({ id: bCustomer.id }).first();
      const res = await request(t.app).patch(`/v1/customers/${bCustomer.id}`).set('Authorization', `Bearer ${a.secret}`).send({ name: 'Hijacked' });
      expectProblem(res, 404, 'resource_not_found');
      expect(await t.db('customers').where({ id: bCustomer.id }).first()).to.deep.equal(before);
    });

    it('answers 404 when A deletes B’s customer, and B still has it', async () => {
      expectProblem(await request(t.app).delete(`/v1/customers/${bCustomer.id}`).set('Authorization', `Bearer ${a.secret}`), 404, 'resource_not_found');
      await request(t.app).get(`/v1/customers/${bCustomer.id}`).set('Authorization', `Bearer ${b.secret}`).expect(200);
    });

    it('leaves B’s customers out of A’s list, even filtered by B’s email', async () => {
      const res = await request(t.app).get('/v1/customers').query({ email: 'b-only@example.com', limit: 100 }).set('Authorization', `Bearer ${a.secret}`);
      expect(res.status).to.equal(200);
      expect(res.body.data).to.deep.equal([]);
    });

    it('answers 404 when A revokes B’s key, and B’s key keeps working', async () => {
      expectProblem(await request(t.app).delete(`/v1/api_keys/${b.keyId}`).set('Authorization', `Bearer ${a.secret}`), 404, 'resource_not_found');
      await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${b.secret}`).expect(200);
    });

    it('lists only A’s keys', async () => {
      const res = await request(t.app).get('/v1/api_keys').query({ limit: 100 }).set('Authorization', `Bearer ${a.secret}`);
      const ids = res.body.data.map((k: { id: string }) => k.id);
      expect(ids).to.include(a.keyId);
      expect(ids).not.to.include(b.keyId);
    });
  });

  describe('/v1/api_keys', () => {
    it('creates a key whose secret is shown once and stored only as a hash', async () => {
      const res = await request(t.app).post('/v1/api_keys').set('Authorization', `Bearer ${a.secret}`).send({ name: 'CI', scopes: ['write', 'read'] });
      expect(res.status).to.equal(201);
      expect(res.body.scopes).to.deep.equal(['read', 'write']);
      expect(res.body.redacted_secret).to.equal(`sk_…${res.body.secret.slice(-4)}`);
      const row = await t.db('api_keys').where({ id: res.body.id }).first();
      const randomPart = /^sk_[A-Za-z0-9]{22}_(.{43})$/.exec(res.body.secret)?.[1];
      expect(randomPart).to.be.a('string');
      expect(JSON.stringify(row)).not.to.include(randomPart);
      expect(Buffer.from(row.secret_hash)).to.have.length(32);
      const listed = await request(t.app).get('/v1/api_keys').set('Authorization', `Bearer ${a.secret}`);
      const entry = listed.body.data.find((k: { id: string }) => k.id === res.body.id);
      expect(entry).to.include({ name: 'CI', revoked_at: null });
      expect(entry).not.to.have.property('secret');
    });

    it('returns an already revoked key unchanged when revoked again', async () => {
      const key = await t.createKey(a, ['read']);
      const first = await request(t.app).delete(`/v1/api_keys/${key.id}`).set('Authorization', `Bearer ${a.secret}`);
      const second = await request(t.app).delete(`/v1/api_keys/${key.id}`).set('Authorization', `Bearer ${a.secret}`);
      expect(second.status).to.equal(200);
      expect(second.body).to.deep.equal(first.body);
    });
  });
});
