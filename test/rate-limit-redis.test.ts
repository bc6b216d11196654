/**
 * What only a shared Redis can show: several API instances counting against one quota, and the
 * instances carrying on when Redis disappears, stops answering, and comes back. Redis is REDIS_URL,
 * else REDIS_TEST_URL, else a redis-server started for the run; a proxy in front of it lets a test
 * take it away.
 * - One quota of N across two API processes (on PostgreSQL; on PGlite, two app instances in this
 *   process sharing the one embedded database): of 80 requests exactly N get through, from both,
 *   not 2N.
 * - Redis taken away (connections dropped, port closed): no 5xx; each instance enforces its share
 *   of the quota in memory and says so in the fields, and `/ready` reports `redis: degraded`. Redis
 *   back on the same port: the instances reconnect, `/ready` reports `redis: up` with no traffic
 *   needed, and the quota is shared again.
 * - A Redis that holds connections open but stops answering: writes still succeed, counted in
 *   memory, and sharing resumes once it answers again.
 * - A retry storm on one keyed payment across two instances: 429s with Retry-After past the shared
 *   quota, exactly one charge at the processor.
 */
import { expect } from 'chai';
import { OperationKind } from '../generated/processor/processor_pb.js';
import { newId, randomBase62 } from '../src/platform/ids.js';
import { createSharedStorage, spawnApi, waitFor, type ApiProcess, type SharedStorage } from './helpers/api-process.js';
import { ADMIN_TOKEN, createTestApp, openSharedDatabase, storageUnderTest, type TestApp } from './helpers/app.js';
import { metricValue } from './helpers/metrics.js';
import { countStatuses, listen, sendJson, type JsonReply, type Listening } from './helpers/http-server.js';
import { RedisProxy, testRedisUrl } from './helpers/redis.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../src/processor/simulator/server.js';

const quotaOf = (reply: JsonReply) => Number(/;q=(\d+);/.exec(reply.headers.get('ratelimit-policy') ?? '')?.[1]);

type SharedDatabase = Awaited<ReturnType<typeof openSharedDatabase>>;

/** Instance n's own pool on the shared database (the database is dropped once, by the test). */
function instanceDb(shared: SharedDatabase, n: 0 | 1) {
  return { db: n === 0 ? shared.first : shared.second, drop: async () => {} };
}

interface Instance {
  readonly name: string;
  readonly url: string;
}

/** `count` customer creations with one key, spread over the instances, all in flight at once. */
async function burst(instances: Instance[], secret: string, count: number): Promise<(JsonReply & { instance: string })[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const target = instances[i % instances.length]!;
      const reply = await sendJson(`${target.url}/v1/customers`, { secret, body: { email: `c${i}@example.com` } });
      return { ...reply, instance: target.name };
    }),
  );
}

describe('rate limits shared through Redis', function () {
  this.timeout(90_000);
  let redisUrl: string;
  before(async () => {
    redisUrl = await testRedisUrl();
  });

  describe('two API instances, one quota', () => {
    const QUOTA = 30;

    it(
      storageUnderTest() === 'postgres'
        ? 'lets N requests through in total across two API processes, not 2N'
        : 'lets N requests through in total across two app instances with connections of their own, not 2N',
      async () => {
        const prefix = `test:${randomBase62(10)}`;
        const env = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, REDIS_TIMEOUT_MS: '1000', RATE_LIMIT_WRITE: `${QUOTA}/1m`, RATE_LIMIT_INSTANCES: '2' };
        let instances: Instance[];
        let countRows: (accountId: string) => Promise<number>;
        let cleanup: () => Promise<void>;

        if (storageUnderTest() === 'postgres') {
          // Two operating-system processes (`src/main.ts`) on one database and one Redis.
          const storage: SharedStorage = await createSharedStorage();
          const processes: ApiProcess[] = [];
          try {
            processes.push(await spawnApi({ ...storage.env, ...env }), await spawnApi({ ...storage.env, ...env }));
          } catch (err) {
            await Promise.all(processes.map((p) => p.stop()));
            await storage.drop();
            throw err;
          }
          instances = processes.map((p, i) => ({ name: `process ${i + 1}`, url: p.url }));
          const db = storage.open();
          countRows = async (accountId) => Number((await db('customers').where({ account_id: accountId }).count<{ n: string }[]>({ n: '*' }))[0]!.n);
          cleanup = async () => {
            await db.destroy();
            await Promise.all(processes.map((p) => p.stop('SIGTERM')));
            await storage.drop();
          };
        } else {
          // PGlite cannot be opened by two processes: two app instances in this process, each with
          // its own Redis connection and limiter, sharing the one embedded database.
          const database = await openSharedDatabase();
          const limits = { redisUrl, keyPrefix: prefix, instances: 2, redisTimeoutMs: 1_000, policies: { write: { points: QUOTA, windowS: 60 } } };
          const apps: TestApp[] = [await createTestApp({ database: instanceDb(database, 0), rateLimits: limits }), await createTestApp({ database: instanceDb(database, 1), rateLimits: limits })];
          const servers: Listening[] = await Promise.all(apps.map((a) => listen(a.app)));
          instances = servers.map((s, i) => ({ name: `instance ${i + 1}`, url: s.url }));
          countRows = async (accountId) => Number((await apps[0]!.db('customers').where({ account_id: accountId }).count<{ n: string }[]>({ n: '*' }))[0]!.n);
          cleanup = async () => {
            await Promise.all(servers.map((s) => s.close()));
            await Promise.all(apps.map((a) => a.close()));
            await database.drop();
          };
        }

        try {
          const created = await sendJson(`${instances[0]!.url}/admin/accounts`, { secret: ADMIN_TOKEN, body: { name: 'shared quota' } });
          expect(created.status).to.equal(201);
          // One read through each instance first (reads do not count against the write quota): each
          // has verified the key and warmed its connections, so neither starts the burst a lookup
          // behind the other and sees the whole quota spent before its first write is counted.
          for (const instance of instances) {
            const read = await sendJson(`${instance.url}/v1/customers`, { method: 'GET', secret: created.body.api_key.secret });
            expect(read.status, instance.name).to.equal(200);
          }
          const replies = await burst(instances, created.body.api_key.secret, 80);
          const counts = countStatuses(replies);
          expect(counts, JSON.stringify(counts)).to.deep.equal({ 201: QUOTA, 429: 80 - QUOTA });
          // Both instances let requests through, from the one quota.
          const byInstance = new Set(replies.filter((r) => r.status === 201).map((r) => r.instance));
          expect(byInstance.size).to.equal(2);
          expect(replies.every((r) => quotaOf(r) === QUOTA)).to.equal(true);
          expect(await countRows(created.body.account.id)).to.equal(QUOTA);
        } finally {
          await cleanup();
        }
      },
    );
  });

  describe('when Redis goes away and comes back', () => {
    const QUOTA = 20;
    let proxy: RedisProxy;
    let apps: TestApp[];
    let servers: Listening[];
    let instances: Instance[];
    let database: SharedDatabase;

    before(async () => {
      proxy = await RedisProxy.start(redisUrl);
      database = await openSharedDatabase();
      const limits = {
        redisUrl: proxy.url,
        keyPrefix: `test:${randomBase62(10)}`,
        instances: 2,
        // Generous for a loopback Redis, so a busy test machine's event-loop lag is not mistaken for
        // an outage; a stalled Redis still costs at most this per request until the circuit opens.
        redisTimeoutMs: 1_000,
        breakerHalfOpenMs: 200,
        policies: { write: { points: QUOTA, windowS: 60 } },
      };
      apps = [await createTestApp({ database: instanceDb(database, 0), rateLimits: limits }), await createTestApp({ database: instanceDb(database, 1), rateLimits: limits })];
      servers = await Promise.all(apps.map((a) => listen(a.app)));
      instances = servers.map((s, i) => ({ name: `instance ${i + 1}`, url: s.url }));
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(apps.map((a) => a.close()));
      await database.drop();
      await proxy.stop();
    });

    const newSecret = async () => (await apps[0]!.createAccount()).secret;
    const readiness = async (url: string) => {
      const res = await fetch(`${url}/ready`);
      return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
    };

    it('shares the quota, keeps serving on the insurance limiter without a single 5xx while Redis is down, and shares again once it is back', async () => {
      // Redis up: one quota across both instances.
      const shared = await burst(instances, await newSecret(), 40);
      expect(countStatuses(shared)).to.deep.equal({ 201: QUOTA, 429: 40 - QUOTA });
      const insuranceMode = () => Promise.all(apps.map((a) => a.metrics!.render().then((text) => /^remit_rate_limit_insurance_mode (\d)$/m.exec(text)?.[1])));
      expect(await insuranceMode()).to.deep.equal(['0', '0']);
      // Round trips to Redis were timed: at least the two quotas (the key's and the account's) of each request an instance counted there.
      const timed = await Promise.all(apps.map((a) => a.metrics!.render().then((text) => Number(/^remit_redis_command_duration_seconds_count\{command="rate_limit"\} (\d+)$/m.exec(text)?.[1] ?? 0))));
      expect(timed[0]! + timed[1]!).to.be.at.least(2 * 40);

      // Redis gone: connections dropped, port closed.
      const secret = await newSecret();
      await proxy.stop();
      const insuranceBefore = apps.map((a) => a.rateLimits!.insuranceDecisions);
      const down = await burst(instances, secret, 40);
      const counts = countStatuses(down);
      expect(counts, JSON.stringify(counts)).to.deep.equal({ 201: QUOTA, 429: 40 - QUOTA });
      // Each instance enforces its share of the quota, in memory, and says so in the fields.
      for (const name of ['instance 1', 'instance 2']) {
        expect(down.filter((r) => r.instance === name && r.status === 201)).to.have.length(QUOTA / 2);
      }
      expect(down.every((r) => quotaOf(r) === QUOTA / 2)).to.equal(true);
      expect(down.filter((r) => r.status === 429).every((r) => Number(r.headers.get('retry-after')) >= 1)).to.equal(true);
      apps.forEach((a, i) => expect(a.rateLimits!.insuranceDecisions).to.be.greaterThan(insuranceBefore[i]!));
      // The metrics say the same: insurance mode on, and the decisions it made counted.
      expect(await insuranceMode()).to.deep.equal(['1', '1']);
      for (const [i, a] of apps.entries()) {
        expect(await metricValue(a.metrics, 'remit_rate_limit_insurance_decisions_total')).to.equal(a.rateLimits!.insuranceDecisions, `instance ${i + 1}`);
      }
      for (const { url } of instances) {
        const ready = await readiness(url);
        expect(ready.status).to.equal(200);
        expect(ready.body.checks.redis).to.equal('degraded');
      }

      // Redis back on the same address: the clients reconnect and the shared quota resumes.
      await proxy.start();
      await waitFor('both instances to reconnect', () => (apps.every((a) => a.redis!.status === 'ready') ? true : undefined), 15_000);
      // Without any traffic, each instance probes Redis through its circuit and closes it by itself.
      for (const { url } of instances) {
        await waitFor('/ready to report redis: up with no API traffic', async () => ((await readiness(url)).body.checks.redis === 'up' ? true : undefined), 15_000, 100);
      }
      const back = await newSecret();
      const probe = await waitFor(
        'the shared limiter to resume',
        async () => {
          const reply = await sendJson(`${instances[0]!.url}/v1/customers`, { secret: back, body: { email: 'probe@example.com' } });
          return quotaOf(reply) === QUOTA ? reply : undefined;
        },
        15_000,
        100,
      );
      expect(probe.status).to.equal(201);
      // Every probe that went to the insurance spent from instance 1's share of `back`: count what
      // Redis holds from here on with a fresh key.
      const again = await burst(instances, await newSecret(), 40);
      expect(countStatuses(again)).to.deep.equal({ 201: QUOTA, 429: 40 - QUOTA });
      expect(again.every((r) => quotaOf(r) === QUOTA)).to.equal(true);
      for (const { url } of instances) expect((await readiness(url)).body.checks.redis).to.equal('up');
      expect(await insuranceMode()).to.deep.equal(['0', '0']);
    });

    it('bounds a Redis that stops answering by the command timeout, and resumes when it answers again', async () => {
      const secret = await newSecret();
      proxy.stall();
      try {
        const replies = [];
        for (let i = 0; i < 6; i++) {
          replies.push(await sendJson(`${instances[i % 2]!.url}/v1/customers`, { secret, body: { email: `s${i}@example.com` } }));
        }
        expect(replies.map((r) => r.status)).to.deep.equal([201, 201, 201, 201, 201, 201]);
        expect(replies.every((r) => quotaOf(r) === QUOTA / 2)).to.equal(true);
        expect((await readiness(instances[0]!.url)).body.checks.redis).to.equal('degraded');
      } finally {
        proxy.resume();
      }
      const resumed = await waitFor(
        'the shared limiter to resume',
        async () => {
          const reply = await sendJson(`${instances[0]!.url}/v1/customers`, { secret, body: { email: 'after@example.com' } });
          return quotaOf(reply) === QUOTA ? reply : undefined;
        },
        15_000,
        100,
      );
      expect(resumed.status).to.equal(201);
    });
  });

  describe('a retry storm across two instances', () => {
    let simulator: ProcessorSimulator;
    let apps: TestApp[];
    let servers: Listening[];
    let database: SharedDatabase;
    before(async () => {
      simulator = await startProcessorSimulator();
      database = await openSharedDatabase();
      const limits = { redisUrl, keyPrefix: `test:${randomBase62(10)}`, instances: 2, redisTimeoutMs: 1_000, policies: { write: { points: 8, windowS: 60 } } };
      apps = [await createTestApp({ database: instanceDb(database, 0), simulator, rateLimits: limits }), await createTestApp({ database: instanceDb(database, 1), simulator, rateLimits: limits })];
      servers = await Promise.all(apps.map((a) => listen(a.app)));
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(apps.map((a) => a.close()));
      await database.drop();
      await simulator.close();
    });

    it('answers 429s with Retry-After past the shared quota and charges the card exactly once', async () => {
      const acct = await apps[0]!.createAccount();
      const key = newId('req');
      const body = { amount: 1999, currency: 'GBP' };
      // 30 clients, five immediate attempts each, alternating between the instances.
      const replies = (
        await Promise.all(
          Array.from({ length: 30 }, async (_, c) => {
            const mine: JsonReply[] = [];
            for (let attempt = 0; attempt < 5; attempt++) {
              mine.push(await sendJson(`${servers[(c + attempt) % 2]!.url}/v1/payments`, { secret: acct.secret, key, body }));
            }
            return mine;
          }),
        )
      ).flat();
      const counts = countStatuses(replies);
      expect(replies.every((r) => [201, 409, 429].includes(r.status)), JSON.stringify(counts)).to.equal(true);
      expect(counts[429], JSON.stringify(counts)).to.equal(150 - 8);
      expect(replies.filter((r) => r.status === 429).every((r) => Number(r.headers.get('retry-after')) >= 1)).to.equal(true);
      const ids = new Set(replies.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).to.equal(1);
      expect(simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE)).to.have.length(1);
      const rows = await apps[0]!.db('payments').where({ account_id: acct.id }).select('id');
      expect(rows.map((r: { id: string }) => r.id)).to.deep.equal([...ids]);
    });
  });
});
