/**
 * Rate limits as a client meets them, on the limiter the environment provides: shared through Redis
 * when REDIS_URL is set, in memory otherwise (rate-limit-redis.test.ts covers what only Redis can
 * show: several instances, and Redis going away). Bursts run over real sockets.
 * - A burst over a key's write quota gets exactly the quota through and a 429 problem with
 *   Retry-After for the rest; nothing is created beyond the quota, and after Retry-After seconds
 *   the key writes again. The RateLimit fields are on every kind of answer. Another key, another
 *   account, the same key's reads, the admin token (on a budget of its own) and `/health`/`/ready`
 *   are unaffected, and an account's keys together are held to the account's quota. Invalid
 *   requests are counted too, and no body is read before the client is authenticated and counted.
 * - Failed authentications, per address: of 50 bad keys, exactly the allowance (10) reach the
 *   database and the rest get a 429 before any lookup (so does a valid key from that address, but
 *   not another address or the ops endpoints); a concurrent flood of 200 reaches it at most twice
 *   the allowance. X-Forwarded-For is ignored unless a proxy is trusted; IPv6 is counted by its
 *   /64.
 * - A retry storm of 200 requests on one keyed payment: 429s past the quota, exactly one charge at
 *   the processor, and the original answer replayed to a client that waits as told.
 * - Turned off, no fields are sent and nothing is refused.
 */
import { expect } from 'chai';
import type { Request } from 'express';
import request from 'supertest';
import { OperationKind } from '../generated/processor/processor_pb.js';
import type { Quota } from '../src/platform/config.js';
import { clientAddress } from '../src/platform/http/rate-limit.js';
import { newId, randomBase62 } from '../src/platform/ids.js';
import { ADMIN_TOKEN, createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { sleep } from './helpers/api-process.js';
import { countStatuses, listen, sendJson, type JsonReply, type Listening } from './helpers/http-server.js';
import { expectProblem } from './helpers/problem.js';

const POLICY = /^"(read|write|account_read|account_write|admin|ops|auth)";q=(\d+);w=(\d+)$/;
const STATE = /^"(read|write|account_read|account_write|admin|ops|auth)";r=(\d+);t=(\d+)$/;

type HeaderSource = { headers: Record<string, string> } | { headers: Headers };

function header(res: HeaderSource, name: string): string | undefined {
  const h = res.headers;
  return h instanceof Headers ? (h.get(name) ?? undefined) : h[name.toLowerCase()];
}

/**
 * Parses both fields (a list item per quota the request was counted in), checks they list the
 * same policies in the same order, and returns the state of `policy`, which has the expected quota.
 */
function expectLimitFields(res: HeaderSource, policy: string, quota: Quota): { remaining: number; resetS: number } {
  const policies = (header(res, 'RateLimit-Policy') ?? '').split(', ');
  const states = (header(res, 'RateLimit') ?? '').split(', ');
  expect(states.map((s) => STATE.exec(s)?.[1]), 'the same policies in both fields').to.deep.equal(policies.map((p) => POLICY.exec(p)?.[1]));
  const at = policies.findIndex((p) => p.startsWith(`"${policy}";`));
  const declared = POLICY.exec(policies[at] ?? '');
  const state = STATE.exec(states[at] ?? '');
  expect(declared, `RateLimit-Policy: ${header(res, 'RateLimit-Policy')}`).to.not.equal(null);
  expect(state, `RateLimit: ${header(res, 'RateLimit')}`).to.not.equal(null);
  expect(declared!.slice(1)).to.deep.equal([policy, String(quota.points), String(quota.windowS)]);
  expect(state![1]).to.equal(policy);
  const resetS = Number(state![3]);
  expect(resetS).to.be.at.most(quota.windowS);
  return { remaining: Number(state![2]), resetS };
}

const WRITE: Quota = { points: 5, windowS: 4 };
const READ: Quota = { points: 40, windowS: 60 };
const ADMIN: Quota = { points: 6, windowS: 60 };
const OPS: Quota = { points: 50, windowS: 60 };
const ACCOUNT_WRITE: Quota = { points: 6, windowS: 4 };

describe('rate limits', function () {
  this.timeout(60_000);

  describe('per API key, reads and writes counted apart', () => {
    let t: TestApp;
    let server: Listening;
    let acct: TestAccount;
    // Keys issued by the service directly: creating them through the API would spend write quota.
    const newKey = async () => {
      const issued = await t.services.apiKeys.issue(acct.id, { name: 'burst', scopes: ['read', 'write'] });
      return { id: issued.id, secret: issued.secret };
    };
    before(async () => {
      t = await createTestApp({ rateLimits: { policies: { write: WRITE, read: READ, admin: ADMIN, ops: OPS } } });
      server = await listen(t.app);
      acct = await t.createAccount();
    });
    after(async () => {
      await server.close();
      await t.close();
    });

    it('answers a burst over the write quota with 429s carrying Retry-After, and creates only what was allowed', async () => {
      const key = await newKey();
      const other = await newKey();
      const before = await t.db('customers').where({ account_id: acct.id }).count<{ n: string }[]>({ n: '*' });

      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sendJson(`${server.url}/v1/customers`, { secret: key.secret, body: { email: `burst${i}@example.com` } })),
      );
      const counts = countStatuses(burst);
      expect(counts, JSON.stringify(counts)).to.deep.equal({ 201: WRITE.points, 429: 20 - WRITE.points });

      for (const reply of burst) {
        const { remaining } = expectLimitFields(reply, 'write', WRITE);
        if (reply.status === 429) {
          expect(reply.headers.get('content-type')).to.match(/^application\/problem\+json/);
          expect(reply.body.code).to.equal('rate_limited');
          expect(reply.body.detail).to.match(/This API key has used its 5 write requests per 4 seconds\. Retry after \d seconds?\./);
          const retryAfter = Number(reply.headers.get('retry-after'));
          expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WRITE.windowS, `Retry-After ${retryAfter}`).to.equal(true);
          expect(remaining).to.equal(0);
        }
      }
      const remainingAfterEachSuccess = burst.filter((r) => r.status === 201).map((r) => expectLimitFields(r, 'write', WRITE).remaining);
      expect(remainingAfterEachSuccess.sort()).to.deep.equal([0, 1, 2, 3, 4]);
      const after = await t.db('customers').where({ account_id: acct.id }).count<{ n: string }[]>({ n: '*' });
      expect(Number(after[0]!.n) - Number(before[0]!.n)).to.equal(WRITE.points);

      // Another key of the same account, and the same key's reads, have budgets of their own.
      const otherKeyWrite = await sendJson(`${server.url}/v1/customers`, { secret: other.secret, body: { email: 'other@example.com' } });
      expect(otherKeyWrite.status).to.equal(201);
      expect(expectLimitFields(otherKeyWrite, 'write', WRITE).remaining).to.equal(WRITE.points - 1);
      const sameKeyRead = await sendJson(`${server.url}/v1/customers`, { method: 'GET', secret: key.secret });
      expect(sameKeyRead.status).to.equal(200);
      expectLimitFields(sameKeyRead, 'read', READ);

      // After Retry-After seconds the key writes again.
      const refused = burst.find((r) => r.status === 429)!;
      await sleep(Number(refused.headers.get('retry-after')) * 1000 + 100);
      const again = await sendJson(`${server.url}/v1/customers`, { secret: key.secret, body: { email: 'again@example.com' } });
      expect(again.status).to.equal(201);
    });

    it('does not let one account’s burst touch another account', async () => {
      const busy = await t.createAccount('busy');
      const quiet = await t.createAccount('quiet');
      const burst = await Promise.all(Array.from({ length: 12 }, () => sendJson(`${server.url}/v1/customers`, { secret: busy.secret, body: { email: 'x@example.com' } })));
      expect(countStatuses(burst)[429]).to.equal(12 - WRITE.points);
      const res = await sendJson(`${server.url}/v1/customers`, { secret: quiet.secret, body: { email: 'x@example.com' } });
      expect(res.status).to.equal(201);
      expect(expectLimitFields(res, 'write', WRITE).remaining).to.equal(WRITE.points - 1);
    });

    it('caps an account across all its keys: five fresh keys do not give five times the write quota', async () => {
      const own = await createTestApp({ rateLimits: { policies: { write: WRITE, account_write: ACCOUNT_WRITE } } });
      const ownServer = await listen(own.app);
      try {
        const minter = await own.createAccount('minter');
        const bystander = await own.createAccount('bystander');
        const keys = await Promise.all(Array.from({ length: 5 }, () => own.services.apiKeys.issue(minter.id, { scopes: ['read', 'write'] })));
        const burst = await Promise.all(
          keys.flatMap((key) => Array.from({ length: 3 }, (_, i) => sendJson(`${ownServer.url}/v1/customers`, { secret: key.secret, body: { email: `k${i}@example.com` } }))),
        );
        const counts = countStatuses(burst);
        expect(counts, JSON.stringify(counts)).to.deep.equal({ 201: ACCOUNT_WRITE.points, 429: 15 - ACCOUNT_WRITE.points });
        expect(await own.db('customers').where({ account_id: minter.id })).to.have.length(ACCOUNT_WRITE.points);
        for (const reply of burst) {
          // Every answer reports both quotas it was counted in: the key's and the account's.
          expectLimitFields(reply, 'write', WRITE);
          const account = expectLimitFields(reply, 'account_write', ACCOUNT_WRITE);
          if (reply.status === 429) {
            expect(account.remaining).to.equal(0);
            expect(reply.body.detail).to.match(/This account has used its 6 write requests per 4 seconds, across all its keys/);
            expect(Number(reply.headers.get('retry-after'))).to.be.within(1, ACCOUNT_WRITE.windowS);
          }
        }
        const other = await sendJson(`${ownServer.url}/v1/customers`, { secret: bystander.secret, body: { email: 'b@example.com' } });
        expect(other.status).to.equal(201);
        expect(expectLimitFields(other, 'account_write', ACCOUNT_WRITE).remaining).to.equal(ACCOUNT_WRITE.points - 1);
      } finally {
        await ownServer.close();
        await own.close();
      }
    });

    it('counts invalid requests too, and a refused request changes nothing', async () => {
      const key = await newKey();
      for (let i = 0; i < WRITE.points; i++) {
        const res = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${key.secret}`).send({ email: 'not an email' });
        expectProblem(res, 400, 'validation_failed');
        expectLimitFields(res as unknown as HeaderSource, 'write', WRITE);
      }
      const before = await snapshot(t.db);
      const refused = await request(t.app)
        .post('/v1/payments')
        .set('Authorization', `Bearer ${key.secret}`)
        .set('Idempotency-Key', newId('req'))
        .send({ amount: 1000, currency: 'EUR' });
      expectProblem(refused, 429, 'rate_limited');
      expect(await snapshot(t.db)).to.deep.equal(before);
    });

    it('reads no body before the client is authenticated and counted', async () => {
      const anonymous = await request(t.app).post('/v1/customers').set('Content-Type', 'application/json').send('{"email": ');
      expectProblem(anonymous, 401, 'authentication_required');
      const key = await newKey();
      for (let i = 0; i < WRITE.points; i++) {
        await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${key.secret}`).send({ email: `ok${i}@example.com` });
      }
      const overQuota = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${key.secret}`).set('Content-Type', 'application/json').send('{"email": ');
      expectProblem(overQuota, 429, 'rate_limited');
    });

    it('puts the fields on every kind of answer: success, client error, not found', async () => {
      const key = await newKey();
      const ok = await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${key.secret}`);
      expect(ok.status).to.equal(200);
      expect(expectLimitFields(ok as unknown as HeaderSource, 'read', READ).remaining).to.equal(READ.points - 1);
      const missing = await request(t.app).get('/v1/customers/cus_00000000000000000000000').set('Authorization', `Bearer ${key.secret}`);
      expect(missing.status).to.be.oneOf([400, 404]);
      expect(expectLimitFields(missing as unknown as HeaderSource, 'read', READ).remaining).to.equal(READ.points - 2);
      const bad = await request(t.app).get('/v1/customers').query({ limit: 0 }).set('Authorization', `Bearer ${key.secret}`);
      expectProblem(bad, 400, 'validation_failed');
      expect(expectLimitFields(bad as unknown as HeaderSource, 'read', READ).remaining).to.equal(READ.points - 3);
    });

    it('limits the admin token on a budget of its own, untouched by API keys', async () => {
      const exhausted = await newKey();
      await Promise.all(Array.from({ length: WRITE.points + 1 }, () => request(t.app).post('/v1/customers').set('Authorization', `Bearer ${exhausted.secret}`).send({ email: 'x@example.com' })));
      // Earlier tests created accounts through the admin API; the admin quota is what is left of it.
      const replies = [];
      for (let i = 0; i < ADMIN.points; i++) {
        replies.push(await request(t.app).post('/admin/accounts').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: `admin ${i}` }));
      }
      const statuses = replies.map((r) => r.status);
      expect(statuses).to.include(429);
      const firstRefusal = statuses.indexOf(429);
      expect(statuses.slice(0, firstRefusal).every((s) => s === 201)).to.equal(true);
      expect(statuses.slice(firstRefusal).every((s) => s === 429)).to.equal(true);
      const refusal = replies[firstRefusal]!;
      expectProblem(refusal, 429, 'rate_limited');
      expectLimitFields(refusal as unknown as HeaderSource, 'admin', ADMIN);
      expect(refusal.body.detail).to.match(/^The admin token has used its 6 requests per minute/);
      // API keys are not affected by the admin's exhaustion.
      const fresh = await newKey();
      expect((await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${fresh.secret}`).send({ email: 'x@example.com' })).status).to.equal(201);
    });

    it('keeps /health and /ready reachable while API keys are over quota', async () => {
      const key = await newKey();
      await Promise.all(Array.from({ length: WRITE.points * 3 }, () => sendJson(`${server.url}/v1/customers`, { secret: key.secret, body: { email: 'x@example.com' } })));
      expect((await sendJson(`${server.url}/v1/customers`, { secret: key.secret, body: { email: 'x@example.com' } })).status).to.equal(429);
      for (const path of ['/health', '/ready']) {
        const res = await request(t.app).get(path);
        expect(res.status).to.equal(200);
        expectLimitFields(res as unknown as HeaderSource, 'ops', OPS);
      }
    });
  });

  describe('unauthenticated traffic, per client address, before any key lookup', () => {
    const AUTH: Quota = { points: 10, windowS: 60 };
    let t: TestApp;
    let lookups: number;
    before(async () => {
      // Behind one trusted proxy on loopback: X-Forwarded-For names the client.
      t = await createTestApp({ rateLimits: { policies: { auth: AUTH } }, trustProxy: 'loopback' });
      t.db.on('query', (q: { sql: string }) => {
        if (/\bapi_keys\b/.test(q.sql)) lookups++;
      });
    });
    after(() => t.close());

    const wellFormedBadKey = () => `sk_${'A'.repeat(22)}_${randomBase62(43)}`;

    it('refuses an address after its allowance of failed authentications, without touching the database again', async () => {
      const acct = await t.createAccount();
      lookups = 0;
      const from = '198.51.100.7';
      const replies = [];
      for (let i = 0; i < 50; i++) {
        replies.push(await request(t.app).get('/v1/customers').set('X-Forwarded-For', from).set('Authorization', `Bearer ${wellFormedBadKey()}`));
      }
      const statuses = replies.map((r) => r.status);
      expect(statuses.slice(0, AUTH.points)).to.deep.equal(Array(AUTH.points).fill(401));
      expect(statuses.slice(AUTH.points)).to.deep.equal(Array(50 - AUTH.points).fill(429));
      expect(lookups, 'key lookups that reached the database').to.equal(AUTH.points);
      expect(expectLimitFields(replies[0] as unknown as HeaderSource, 'auth', AUTH).remaining).to.equal(AUTH.points - 1);
      const refused = replies[AUTH.points]!;
      expectProblem(refused, 429, 'rate_limited');
      expect(Number(refused.headers['retry-after'])).to.be.within(1, AUTH.windowS);
      expect(refused.body.detail).to.match(/^This address has failed authentication 10 times in a minute/);

      // The refusal comes before the lookup, so it covers a valid key from that address too…
      const blockedValid = await request(t.app).get('/v1/customers').set('X-Forwarded-For', from).set('Authorization', `Bearer ${acct.secret}`);
      expect(blockedValid.status).to.equal(429);
      expect(lookups).to.equal(AUTH.points);
      // …but not another address, nor the ops endpoints from the refused one.
      expect((await request(t.app).get('/v1/customers').set('X-Forwarded-For', '198.51.100.8').set('Authorization', `Bearer ${acct.secret}`)).status).to.equal(200);
      expect((await request(t.app).get('/health').set('X-Forwarded-For', from)).status).to.equal(200);
      expect((await request(t.app).get('/ready').set('X-Forwarded-For', from)).status).to.equal(200);
    });

    it('counts requests without credentials and admin attempts with a wrong token alike', async () => {
      const from = '198.51.100.9';
      const statuses = [];
      for (let i = 0; i < AUTH.points + 2; i++) {
        const req = i % 2 === 0 ? request(t.app).get('/v1/customers') : request(t.app).post('/admin/accounts').set('Authorization', 'Bearer not-the-admin-token-000000').send({ name: 'x' });
        statuses.push((await req.set('X-Forwarded-For', from)).status);
      }
      expect(statuses.slice(0, AUTH.points).every((s) => s === 401)).to.equal(true);
      expect(statuses.slice(AUTH.points)).to.deep.equal([429, 429]);
    });

    it('holds a concurrent flood of bad keys to the allowance, give or take the requests already in flight', async () => {
      lookups = 0;
      const server = await listen(t.app);
      try {
        const flood = await Promise.all(
          Array.from({ length: 200 }, () =>
            fetch(`${server.url}/v1/payments`, { headers: { Authorization: `Bearer ${wellFormedBadKey()}`, 'X-Forwarded-For': '203.0.113.50' } }).then(async (r) => {
              await r.arrayBuffer();
              return { status: r.status };
            }),
          ),
        );
        const counts = countStatuses(flood);
        expect(Object.keys(counts).sort()).to.deep.equal(['401', '429']);
        // At most the allowance of checks is in flight at once, and once the allowance of failures
        // is counted the address is refused: the database sees at most twice the allowance.
        expect(counts[401]).to.be.within(AUTH.points, 2 * AUTH.points);
        expect(lookups).to.equal(counts[401]);
        expect(counts[429]).to.equal(200 - counts[401]!);
      } finally {
        await server.close();
      }
    });
  });

  describe('the client address', () => {
    const fake = (ip: string) => ({ ip, socket: {} }) as unknown as Request;

    it('counts IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
      expect(clientAddress(fake('::ffff:192.0.2.10'))).to.equal('192.0.2.10');
      expect(clientAddress(fake('192.0.2.10'))).to.equal('192.0.2.10');
      expect(clientAddress(fake('2001:db8:1:2:aaaa::1'))).to.equal(clientAddress(fake('2001:db8:1:2:bbbb:cccc:dddd:eeee')));
      expect(clientAddress(fake('2001:db8:1:2:aaaa::1'))).to.equal('2001:db8:1:2::/64');
      expect(clientAddress(fake('2001:db8:1:3::1'))).to.not.equal(clientAddress(fake('2001:db8:1:2::1')));
    });

    it('ignores X-Forwarded-For unless a proxy is trusted, so a client cannot pick its address', async () => {
      const t = await createTestApp({ rateLimits: { policies: { auth: { points: 3, windowS: 60 } } } });
      try {
        const statuses = [];
        for (let i = 0; i < 5; i++) {
          statuses.push((await request(t.app).get('/v1/customers').set('X-Forwarded-For', `192.0.2.${i}`).set('Authorization', 'Bearer sk_nope')).status);
        }
        expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      } finally {
        await t.close();
      }
    });
  });

  describe('a retry storm against one keyed payment', () => {
    it('answers 429s with Retry-After past the quota and charges exactly once', async () => {
      const WINDOW_S = 3;
      const t = await createTestApp({ rateLimits: { policies: { write: { points: 10, windowS: WINDOW_S } } } });
      const server = await listen(t.app);
      try {
        const acct = await t.createAccount();
        const key = newId('req');
        const body = { amount: 4200, currency: 'EUR' };
        // 40 clients, each firing its first attempt and four immediate retries: 200 requests.
        const started = Date.now();
        const replies: JsonReply[] = (
          await Promise.all(
            Array.from({ length: 40 }, async () => {
              const mine: JsonReply[] = [];
              for (let attempt = 0; attempt < 5; attempt++) mine.push(await sendJson(`${server.url}/v1/payments`, { secret: acct.secret, key, body }));
              return mine;
            }),
          )
        ).flat();
        const windowsTouched = Math.ceil((Date.now() - started) / (WINDOW_S * 1000)) + 1;
        const counts = countStatuses(replies);
        expect(replies.every((r) => [201, 409, 429].includes(r.status)), JSON.stringify(counts)).to.equal(true);
        // At most the quota per window the storm lasted got past the limiter; the rest were refused.
        expect(200 - (counts[429] ?? 0), JSON.stringify(counts)).to.be.at.most(10 * windowsTouched);
        for (const r of replies.filter((x) => x.status === 429)) expect(Number(r.headers.get('retry-after'))).to.be.within(1, WINDOW_S);
        const ids = new Set(replies.filter((r) => r.status === 201).map((r) => r.body.id));
        expect(ids.size).to.equal(1);

        const charges = t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE);
        expect(charges).to.have.length(1);
        const rows = await t.db('payments').where({ account_id: acct.id }).select('id');
        expect(rows.map((r: { id: string }) => r.id)).to.deep.equal([...ids]);

        // A client that waits as told gets the original answer.
        const last = replies.filter((r) => r.status === 429).at(-1)!;
        await sleep(Number(last.headers.get('retry-after')) * 1000 + 100);
        const patient = await sendJson(`${server.url}/v1/payments`, { secret: acct.secret, key, body });
        expect(patient.status).to.equal(201);
        expect(patient.body.id).to.equal([...ids][0]);
        expect(patient.headers.get('idempotent-replayed')).to.equal('true');
        expect(t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE)).to.have.length(1);
      } finally {
        await server.close();
        await t.close();
      }
    });
  });

  describe('turned off', () => {
    it('sends no rate-limit fields and refuses nothing', async () => {
      const t = await createTestApp({ rateLimits: false });
      try {
        const acct = await t.createAccount();
        const res = await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${acct.secret}`);
        expect(res.status).to.equal(200);
        expect(res.headers).to.not.have.property('ratelimit');
        expect(res.headers).to.not.have.property('ratelimit-policy');
      } finally {
        await t.close();
      }
    });
  });
});
