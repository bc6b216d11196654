/**
 * Nobody is locked out by someone else. A valid key is never refused for what other requests from
 * its address did:
 * - a key verified recently is admitted from memory (the verified-key cache) even when its address
 *   has spent its failed-authentication allowance, and so is the admin token; unknown keys from
 *   that address are still refused before any lookup;
 * - many concurrent requests with one key — 100 reads at once, 50 keep-alive connections — share one
 *   lookup and take one place among the credentials an address may have checked at once.
 * And a revocation reaches every instance's cache within a second (PostgreSQL LISTEN/NOTIFY; one
 * process on PGlite); while the notification connection is down the cache is not used at all.
 */
import { expect } from 'chai';
import { Agent, request as httpRequest } from 'node:http';
import request from 'supertest';
import { VerifiedKeyCache } from '../src/api-keys/key-cache.js';
import { randomBase62 } from '../src/platform/ids.js';
import { ADMIN_TOKEN, createTestApp, openSharedDatabase, storageUnderTest, type TestAccount, type TestApp } from './helpers/app.js';
import { createSharedStorage, spawnApi, waitFor, type ApiProcess, type SharedStorage } from './helpers/api-process.js';
import { listen, type Listening } from './helpers/http-server.js';
import { expectProblem } from './helpers/problem.js';

const AUTH = { points: 5, windowS: 60 };
const wellFormedBadKey = () => `sk_${'A'.repeat(22)}_${randomBase62(43)}`;

/** Counts the key lookups that reach the database. */
function countLookups(t: TestApp): { readonly count: number; reset(): void } {
  let count = 0;
  t.db.on('query', (q: { sql: string }) => {
    if (/from "api_keys"/.test(q.sql) && /"secret_hash"/.test(q.sql)) count++;
  });
  return {
    get count() {
      return count;
    },
    reset: () => void (count = 0),
  };
}

describe('authentication: nobody is locked out by someone else', function () {
  this.timeout(120_000);

  describe('an address over its failed-authentication allowance', () => {
    let t: TestApp;
    let account: TestAccount;
    let lookups: ReturnType<typeof countLookups>;
    const from = '198.51.100.77';

    before(async () => {
      t = await createTestApp({ rateLimits: { policies: { auth: AUTH } }, trustProxy: 'loopback' });
      account = await t.createAccount();
      lookups = countLookups(t);
      // The key is used once, then the address fails authentication past its allowance.
      await request(t.app).get('/v1/customers').set('X-Forwarded-For', from).set('Authorization', `Bearer ${account.secret}`).expect(200);
      for (let i = 0; i < AUTH.points + 3; i++) await request(t.app).get('/v1/customers').set('X-Forwarded-For', from).set('Authorization', `Bearer ${wellFormedBadKey()}`);
    });
    after(() => t.close());

    it('still admits the valid key verified recently, with no lookup', async () => {
      lookups.reset();
      const res = await request(t.app).get('/v1/customers').set('X-Forwarded-For', from).set('Authorization', `Bearer ${account.secret}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(lookups.count).to.equal(0);
    });

    it('still admits the admin token', async () => {
      const res = await request(t.app).post('/admin/accounts').set('X-Forwarded-For', from).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'from a noisy address' });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
    });

    it('still refuses an unknown key before it reaches the database', async () => {
      lookups.reset();
      const res = await request(t.app).get('/v1/customers').set('X-Forwarded-For', from).set('Authorization', `Bearer ${wellFormedBadKey()}`);
      expectProblem(res, 429, 'rate_limited');
      expect(lookups.count).to.equal(0);
    });

    it('still refuses a wrong admin token', async () => {
      const res = await request(t.app).post('/admin/accounts').set('X-Forwarded-For', from).set('Authorization', 'Bearer not-the-admin-token-000000').send({ name: 'x' });
      expectProblem(res, 429, 'rate_limited');
    });
  });

  describe('many requests at once with one key', () => {
    let t: TestApp;
    let server: Listening;
    let lookups: ReturnType<typeof countLookups>;
    before(async () => {
      t = await createTestApp({ rateLimits: { policies: { auth: AUTH } } });
      server = await listen(t.app);
      lookups = countLookups(t);
    });
    after(async () => {
      await server.close();
      await t.close();
    });

    it('answers 100 concurrent reads of a key never seen before, with one lookup between them', async () => {
      const account = await t.createAccount();
      lookups.reset();
      const replies = await Promise.all(
        Array.from({ length: 100 }, () => fetch(`${server.url}/v1/customers`, { headers: { Authorization: `Bearer ${account.secret}` } }).then(async (r) => (await r.arrayBuffer(), r.status))),
      );
      expect(replies.filter((s) => s !== 200), 'answers other than 200').to.deep.equal([]);
      expect(lookups.count).to.equal(1);
    });

    it('answers a fresh key over 50 keep-alive connections opened at once', async () => {
      const account = await t.createAccount();
      const agent = new Agent({ keepAlive: true, maxSockets: 50 });
      const url = new URL(`${server.url}/v1/customers`);
      const get = () =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, agent, headers: { Authorization: `Bearer ${account.secret}` } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
      try {
        const statuses = await Promise.all(Array.from({ length: 200 }, get));
        expect(statuses.filter((s) => s !== 200), 'answers other than 200').to.deep.equal([]);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('revocation reaches every instance', () => {
    it('turns a key another instance has cached into a 401 there within a second', async () => {
      const shared = await openSharedDatabase();
      const a = await createTestApp({ database: { db: shared.first, drop: async () => {} } });
      const b = await createTestApp({ database: { db: shared.second, drop: async () => {} } });
      try {
        const account = await a.createAccount();
        const extra = await a.createKey(account, ['read']);
        await request(b.app).get('/v1/customers').set('Authorization', `Bearer ${extra.secret}`).expect(200);
        const bLookups = countLookups(b);
        await request(b.app).get('/v1/customers').set('Authorization', `Bearer ${extra.secret}`).expect(200);
        expect(bLookups.count, 'the second request on B came from its cache').to.equal(0);

        await request(a.app).delete(`/v1/api_keys/${extra.id}`).set('Authorization', `Bearer ${account.secret}`).expect(200);
        const started = Date.now();
        await waitFor('a 401 on the other instance', async () => ((await request(b.app).get('/v1/customers').set('Authorization', `Bearer ${extra.secret}`)).status === 401 ? true : undefined), 1_000);
        expect(Date.now() - started).to.be.below(1_000);
      } finally {
        await a.close();
        await b.close();
        await shared.drop();
      }
    });

    if (storageUnderTest() === 'postgres') {
      it('stops trusting its cache while the notification connection is down, so a missed revocation is not served', async () => {
        const t = await createTestApp();
        try {
          const account = await t.createAccount();
          const key = await t.createKey(account, ['read']);
          await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${key.secret}`).expect(200);
          // The listening connection is cut, and the key revoked behind the API's back: no
          // notification can reach the cache.
          await t.db.raw("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'remit-listen' and pid <> pg_backend_pid()");
          await t.db('api_keys').where({ id: key.id }).update({ revoked_at: t.db.fn.now() });
          const res = await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${key.secret}`);
          expect(res.status).to.equal(401);
        } finally {
          await t.close();
        }
      });

      describe('across two API processes on PostgreSQL', () => {
        let storage: SharedStorage;
        let first: ApiProcess;
        let second: ApiProcess;
        before(async () => {
          storage = await createSharedStorage();
          first = await spawnApi(storage.env);
          second = await spawnApi(storage.env);
        });
        after(async () => {
          await first?.stop();
          await second?.stop();
          await storage?.drop();
        });

        it('revokes through one process and the other answers 401 within a second', async () => {
          const created = await fetch(`${first.url}/admin/accounts`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'two processes' }) });
          const { api_key: owner } = (await created.json()) as { api_key: { secret: string } };
          const made = await fetch(`${first.url}/v1/api_keys`, { method: 'POST', headers: { Authorization: `Bearer ${owner.secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ scopes: ['read'] }) });
          const key = (await made.json()) as { id: string; secret: string };
          const readOnSecond = () => fetch(`${second.url}/v1/customers`, { headers: { Authorization: `Bearer ${key.secret}` } }).then(async (r) => (await r.arrayBuffer(), r.status));
          expect(await readOnSecond()).to.equal(200);
          expect(await readOnSecond()).to.equal(200);

          const revoked = await fetch(`${first.url}/v1/api_keys/${key.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${owner.secret}` } });
          expect(revoked.status).to.equal(200);
          const started = Date.now();
          await waitFor('a 401 from the second process', async () => ((await readOnSecond()) === 401 ? true : undefined), 1_000);
          const elapsed = Date.now() - started;
          console.log(`      revoked on one process, refused by the other after ${elapsed} ms`);
          expect(elapsed).to.be.below(1_000);
        });
      });
    }
  });

  describe('VerifiedKeyCache', () => {
    const identity = (keyId: string) => ({ accountId: 'acct_1', keyId, scopes: ['read'] });
    let now = 0;
    const cache = () => {
      const c = new VerifiedKeyCache({ maxEntries: 3, ttlMs: 1_000, now: () => now });
      c.setTrusted(true);
      return c;
    };

    it('forgets an entry after its time to live', () => {
      now = 0;
      const c = cache();
      c.set('h1', identity('key_1'), c.begin());
      now = 999;
      expect(c.get('h1')).to.deep.equal(identity('key_1'));
      now = 1_000;
      expect(c.get('h1')).to.equal(undefined);
    });

    it('keeps at most maxEntries, dropping the least recently used', () => {
      now = 0;
      const c = cache();
      for (const n of [1, 2, 3]) c.set(`h${n}`, identity(`key_${n}`), c.begin());
      c.get('h1');
      c.set('h4', identity('key_4'), c.begin());
      expect(c.size).to.equal(3);
      expect(c.get('h2')).to.equal(undefined);
      expect(c.get('h1')).to.not.equal(undefined);
    });

    it('does not put back a key evicted while its lookup was in progress', () => {
      now = 0;
      const c = cache();
      const ticket = c.begin();
      c.evict('key_1');
      c.set('h1', identity('key_1'), ticket);
      expect(c.get('h1')).to.equal(undefined);
    });

    it('answers nothing and keeps nothing while it is not trusted, and comes back empty', () => {
      now = 0;
      const c = cache();
      c.set('h1', identity('key_1'), c.begin());
      c.setTrusted(false);
      expect(c.get('h1')).to.equal(undefined);
      c.set('h2', identity('key_2'), c.begin());
      c.setTrusted(true);
      expect(c.size).to.equal(0);
    });
  });
});

