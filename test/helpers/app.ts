/**
 * A real app on a real database for each test file: PostgreSQL when DATABASE_URL is set (in a
 * schema of its own, dropped afterwards), embedded PGlite in memory otherwise. Responses are
 * validated against the spec, so a handler that answers off-contract fails the test with a 500.
 */
import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createApp, type AppOAuthOptions, type AppReconciliationOptions, type AppWebhookOptions, type Services } from '../../src/app.js';
import type { OpenApiDocument } from '../../src/platform/http/openapi-router.js';
import type { ApiKeyScope } from './contract.js';
import { createDb, migrate, type Db } from '../../src/platform/db.js';
import { randomBase62 } from '../../src/platform/ids.js';
import { createLogger, type Logger } from '../../src/platform/logger.js';
import { createProcessorClient, type ProcessorClient, type ProcessorOptions } from '../../src/processor/client.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { Lifecycle } from '../../src/platform/shutdown.js';
import { PROCESSOR_PROTOCOLS, worstProcessorCallMs, type ProcessorProtocol, type RateLimitPolicies } from '../../src/platform/config.js';
import { RateLimits } from '../../src/platform/rate-limit.js';
import { Metrics } from '../../src/platform/metrics.js';
import { closeRedis, createRedis, redisReady, type Redis } from '../../src/platform/redis.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
/** The scraper's token, for tests that build an app with `metrics: { token: METRICS_TOKEN }`. */
export const METRICS_TOKEN = 'test-metrics-token-0123456789abcdef';

export interface TestAccount {
  readonly id: string;
  /** A read+write key. */
  readonly secret: string;
  readonly keyId: string;
}

export interface TestApp {
  readonly app: Express;
  readonly db: Db;
  readonly services: Services;
  readonly lifecycle: Lifecycle;
  readonly storage: 'postgres' | 'pglite';
  /** The processor this app charges through: a simulator of the test's own unless one was passed. */
  readonly simulator: ProcessorSimulator;
  readonly processor: ProcessorClient;
  readonly rateLimits?: RateLimits;
  /** The app's own Redis connection, when its limits are shared through Redis. */
  readonly redis?: Redis;
  /** The app's metrics registry (what its `/metrics` serves), unless metrics were turned off. */
  readonly metrics?: Metrics;
  /** Creates an account through the admin API and returns its first key. */
  createAccount(name?: string): Promise<TestAccount>;
  /** Creates an extra key for the account through the public API. */
  createKey(account: TestAccount, scopes: ApiKeyScope[]): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export function storageUnderTest(): 'postgres' | 'pglite' {
  return process.env.DATABASE_URL ? 'postgres' : 'pglite';
}

async function dropSchema(url: string, schema: string): Promise<void> {
  // A connection of its own: the test may have destroyed the app's pool on purpose.
  const admin = createDb({ url, poolMax: 1 });
  try {
    await admin.raw(`drop schema if exists "${schema}" cascade`);
  } finally {
    await admin.destroy();
  }
}

/**
 * A migrated embedded database, dumped once per test process: each test database is loaded from
 * it (about a second) rather than created and migrated anew (about three).
 */
let migratedTemplate: Promise<Blob> | undefined;
function migratedEmbeddedTemplate(): Promise<Blob> {
  migratedTemplate ??= (async () => {
    const db = createDb({});
    try {
      await migrate(db);
      const pglite = (db.client as { pglite: PGlite }).pglite;
      return await pglite.dumpDataDir('none');
    } finally {
      await db.destroy();
    }
  })();
  return migratedTemplate;
}

export async function openTestDb(): Promise<{ db: Db; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = createDb({ pglite: new PGlite({ loadDataDir: await migratedEmbeddedTemplate() }) });
    // Already migrated: this only confirms it (and would apply a migration the template lacked).
    await migrate(db);
    // A database of its own has secrets of its own, as the migration would have generated them.
    for (const { name } of await db('server_secrets').select('name')) await db('server_secrets').where({ name }).update({ value: randomBytes(32) });
    return { db, drop: () => db.destroy() };
  }
  const schema = `test_${randomBase62(12).toLowerCase()}`;
  const db = createDb({ url, schema, poolMax: 20 });
  await migrate(db);
  return {
    db,
    drop: async () => {
      await db.destroy();
      await dropSchema(url, schema);
    },
  };
}

/**
 * One database for two API instances. On PostgreSQL each instance gets a pool of its own on the
 * same schema, as two processes would. PGlite is a single embedded connection inside this process:
 * a second PGlite would be a second, empty database, so both instances share the one instance and
 * their queries and transactions are serialised through it.
 */
export async function openSharedDatabase(poolMax = 10): Promise<{ first: Db; second: Db; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const { db, drop } = await openTestDb();
    return { first: db, second: db, drop };
  }
  const schema = `test_${randomBase62(12).toLowerCase()}`;
  const first = createDb({ url, schema, poolMax });
  await migrate(first);
  const second = createDb({ url, schema, poolMax });
  return {
    first,
    second,
    drop: async () => {
      await Promise.all([first.destroy(), second.destroy()]);
      await dropSchema(url, schema);
    },
  };
}

/**
 * Adapter settings for tests: short backoff and half-open delay, so fault tests stay quick; and a
 * per-attempt timeout long enough that a busy machine is never mistaken for a failing processor
 * (on PGlite every query runs on the event loop that must also read the processor's answer, so a
 * burst of payments on a loaded CI machine can delay it by a second or more, and five such
 * "timeouts" in a row would open the circuit). Tests about timeouts set their own.
 */
export const TEST_PROCESSOR_OPTIONS = {
  // The exactly-once suites run over both protocols in CI: `PROCESSOR_PROTOCOL=grpc npm test …`.
  protocol: testProcessorProtocol(),
  timeoutMs: 5_000,
  maxRetries: 2,
  breakerThreshold: 5,
  breakerHalfOpenMs: 500,
  backoffInitialMs: 5,
  backoffMaxMs: 50,
} as const;

/** The processor protocol the tests' adapters speak: PROCESSOR_PROTOCOL, `http` when unset. */
export function testProcessorProtocol(): ProcessorProtocol {
  const wanted = process.env.PROCESSOR_PROTOCOL ?? 'http';
  if (!(PROCESSOR_PROTOCOLS as readonly string[]).includes(wanted)) throw new Error(`PROCESSOR_PROTOCOL must be http or grpc, not ${wanted}`);
  return wanted as ProcessorProtocol;
}

/** Above twice the longest processor call the settings above allow, as the configuration requires. */
export const TEST_LEASE_MS = 2 * worstProcessorCallMs(TEST_PROCESSOR_OPTIONS.timeoutMs, TEST_PROCESSOR_OPTIONS.maxRetries, TEST_PROCESSOR_OPTIONS.backoffMaxMs) + 1_000;

/** Quotas no ordinary test comes near; the rate-limit tests set their own. */
export const GENEROUS_POLICIES: RateLimitPolicies = {
  read: { points: 1_000_000, windowS: 60 },
  write: { points: 1_000_000, windowS: 60 },
  account_read: { points: 1_000_000, windowS: 60 },
  account_write: { points: 1_000_000, windowS: 60 },
  admin: { points: 1_000_000, windowS: 60 },
  ops: { points: 1_000_000, windowS: 60 },
  auth: { points: 1_000_000, windowS: 60 },
  token: { points: 1_000_000, windowS: 60 },
};

export interface TestRateLimitOptions {
  readonly policies?: Partial<RateLimitPolicies>;
  /** Where the shared quotas live: default REDIS_URL when set, in memory otherwise; null for memory. */
  readonly redisUrl?: string | null;
  readonly instances?: number;
  /** Apps given the same prefix (and Redis) share quotas; by default each app has its own. */
  readonly keyPrefix?: string;
  readonly redisTimeoutMs?: number;
  readonly breakerHalfOpenMs?: number;
}

export interface TestAppOptions {
  readonly bodyLimitBytes?: number;
  /** Share a simulator (e.g. between two app instances); otherwise the app starts its own. */
  readonly simulator?: ProcessorSimulator;
  readonly processor?: Partial<Omit<ProcessorOptions, 'url'>>;
  readonly leaseMs?: number;
  /** Share a database (e.g. between two app instances); otherwise the app opens its own. */
  readonly database?: { db: Db; drop: () => Promise<void> };
  /** Rate limits (generous unless given), or false for none. */
  readonly rateLimits?: TestRateLimitOptions | false;
  readonly trustProxy?: false | number | string;
  /** The contract the app validates against; `spec/openapi.yaml` when absent. */
  readonly spec?: OpenApiDocument;
  readonly publicUrl?: string;
  readonly apiKeysMaxPerAccount?: number;
  readonly apiKeyCache?: { readonly maxEntries: number; readonly ttlMs: number };
  /** Where the app logs; silent (or LOG_LEVEL) when absent. */
  readonly log?: Logger;
  /** Response validation, on unless turned off (as production does by default). */
  readonly validateResponses?: boolean;
  /** Prometheus metrics: on unless false; `token` guards `/metrics` as METRICS_TOKEN does. */
  readonly metrics?: false | { readonly token?: string };
  /** The app's clock for sunset dates and webhook schedules (ms since the epoch); the system's when absent. */
  readonly now?: () => number;
  /** Webhook settings; tests deliver to receivers on 127.0.0.1, so private targets are allowed and names resolve to it unless set. */
  readonly webhooks?: Partial<AppWebhookOptions>;
  /** Reconciliation worker settings; tests run runs by hand with `services.reconciliationWorker.runOnce()`. */
  readonly reconciliation?: Partial<AppReconciliationOptions>;
  /** OAuth settings (token lifetime, key rotation period, clients per account). */
  readonly oauth?: Partial<AppOAuthOptions>;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { db, drop } = options.database ?? (await openTestDb());
  const simulator = options.simulator ?? (await startProcessorSimulator());
  const log = options.log ?? createLogger(process.env.LOG_LEVEL ?? 'silent');
  const metrics = options.metrics === false ? undefined : new Metrics();
  const processor = createProcessorClient({ url: simulator.url, ...TEST_PROCESSOR_OPTIONS, ...options.processor, log, metrics });
  const limitOptions = options.rateLimits === false ? undefined : (options.rateLimits ?? {});
  const redisUrl = limitOptions?.redisUrl === undefined ? process.env.REDIS_URL : (limitOptions.redisUrl ?? undefined);
  const redis = limitOptions && redisUrl ? createRedis({ url: redisUrl, commandTimeoutMs: limitOptions.redisTimeoutMs ?? 200, log }) : undefined;
  if (redis && !(await redisReady(redis, 5_000))) throw new Error(`Redis at ${redisUrl} did not answer within 5 s`);
  const rateLimits =
    limitOptions &&
    new RateLimits({
      policies: { ...GENEROUS_POLICIES, ...limitOptions.policies },
      instances: limitOptions.instances ?? 1,
      redis,
      keyPrefix: limitOptions.keyPrefix ?? `test:${randomBase62(10)}`,
      breakerHalfOpenMs: limitOptions.breakerHalfOpenMs,
      log,
      metrics,
    });
  const lifecycle = new Lifecycle();
  const { app, services } = createApp({
    db,
    log,
    lifecycle,
    adminToken: ADMIN_TOKEN,
    validateResponses: options.validateResponses ?? true,
    bodyLimitBytes: options.bodyLimitBytes ?? 64 * 1024,
    processor,
    idempotency: { leaseMs: options.leaseMs ?? TEST_LEASE_MS, retentionMs: 24 * 3_600_000, jobIntervalMs: 60_000 },
    rateLimits,
    trustProxy: options.trustProxy,
    spec: options.spec,
    publicUrl: options.publicUrl,
    apiKeysMaxPerAccount: options.apiKeysMaxPerAccount,
    apiKeyCache: options.apiKeyCache,
    metrics,
    metricsToken: options.metrics ? options.metrics.token : undefined,
    now: options.now,
    // Receivers listen on 127.0.0.1, and a name in a URL is taken to be this machine unless a test
    // resolves names itself: no test depends on the network's DNS or waits for it.
    webhooks: { allowPrivateTargets: true, timeoutMs: 2_000, lookup: async () => ['127.0.0.1'], ...options.webhooks },
    reconciliation: options.reconciliation,
    oauth: options.oauth,
  });
  return {
    metrics,
    app,
    db,
    services,
    lifecycle,
    simulator,
    processor,
    rateLimits,
    redis,
    storage: storageUnderTest(),
    async createAccount(name = 'Test account') {
      const res = await request(app).post('/admin/accounts').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name });
      if (res.status !== 201) throw new Error(`account creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.account.id, secret: res.body.api_key.secret, keyId: res.body.api_key.id };
    },
    async createKey(account, scopes) {
      const res = await request(app).post('/v1/api_keys').set('Authorization', `Bearer ${account.secret}`).send({ scopes });
      if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, secret: res.body.secret };
    },
    async close() {
      await services.idempotencyJobs.stop();
      await services.webhookRelay.stop();
      await services.reconciliationWorker.stop();
      services.webhookSender.close();
      services.oauth.close();
      await services.apiKeys.close();
      if (redis) await closeRedis(redis);
      processor.close();
      if (!options.simulator) await simulator.close();
      if (!options.database) await drop();
    },
  };
}

/** Every row of the tables a test may touch, for "nothing changed" assertions. */
export async function snapshot(db: Db): Promise<Record<string, unknown[]>> {
  const tables = ['accounts', 'api_keys', 'customers', 'payments', 'refunds', 'events', 'idempotency_keys', 'webhook_endpoints', 'webhook_deliveries', 'webhook_replays', 'reconciliations', 'reconciliation_discrepancies', 'oauth_clients', 'oauth_client_secrets', 'oauth_signing_keys'];
  const keys: Record<string, string> = { oauth_client_secrets: 'secret_hash', oauth_signing_keys: 'kid' };
  const entries = await Promise.all(tables.map(async (t) => [t, await db(t).select('*').orderBy(keys[t] ?? 'id')] as const));
  return Object.fromEntries(entries);
}
