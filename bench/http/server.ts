/**
 * One benchmark target in a process of its own, listening on 127.0.0.1 on a free port. Started by
 * `children.ts` with a ServerConfig as its argument; reports where to send load over IPC, answers
 * an `audit` request with what its database and processor simulator hold and a `limiter` request
 * with what its rate limiter did (full-app targets), a `cpu` request with its CPU time so far (any
 * target), and exits when the orchestrator goes away. The attack targets also seed a second
 * account, whose key the attackers use; a full app with `metrics` on counts in one `Metrics`, wired
 * as main.ts wires it, and serves it at `/metrics` (open: no scraper token). The auth table's OAuth
 * row makes an OAuth client of the account and hands the load an access token instead of the key.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import { OperationKind } from '../../generated/processor/processor_pb.js';
import { createApp } from '../../src/app.js';
import { createDb, migrate, type Db } from '../../src/platform/db.js';
import type { Handlers } from '../../src/platform/http/handlers.js';
import { jsonBody } from '../../src/platform/http/json-body.js';
import { buildApiRouter, createValidatorChain, operationIdsOf, type OpenApiDocument } from '../../src/platform/http/openapi-router.js';
import { problemHandler } from '../../src/platform/http/problem.js';
import { createLogger, type Logger } from '../../src/platform/logger.js';
import { Metrics } from '../../src/platform/metrics.js';
import { RateLimits } from '../../src/platform/rate-limit.js';
import { createRedis, redisReady, type Redis } from '../../src/platform/redis.js';
import { Lifecycle } from '../../src/platform/shutdown.js';
import { loadSpec } from '../../src/platform/spec.js';
import { createProcessorClient } from '../../src/processor/client.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import {
  ATTACK_TARGETS,
  AUTH_TARGETS,
  BENCH_QUOTA,
  CUSTOMER_FIELDS,
  FIXED_CUSTOMER,
  padSpec,
  pathCount,
  unboundSpec,
  UNUSED_AUTHORIZATION,
  type Audit,
  type AuditRequest,
  type CpuRequest,
  type LimiterRequest,
  type ServerConfig,
  type ServerMessage,
} from './targets.js';

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const BODY_LIMIT_BYTES = 64 * 1024;
// As in main.ts: the load generator's keep-alive connections must not be cut mid-run.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const FIXED_PATH = `/v1/customers/${FIXED_CUSTOMER.id}`;
// The orchestrator has just had a PING answered; a client that cannot connect this long is broken.
const REDIS_READY_TIMEOUT_MS = 10_000;

const config = JSON.parse(process.argv[2] ?? '') as ServerConfig;

function send(message: ServerMessage): void {
  process.send?.(message);
}

// Without the orchestrator nobody will stop this process: leave with it, whatever ended it.
process.on('disconnect', () => process.exit());
// Any server, asked around a run: its CPU time so far, so the orchestrator can divide a run's share by its requests.
process.on('message', (request: CpuRequest) => {
  if (request.type === 'cpu') send({ type: 'cpu', cpu: process.cpuUsage() });
});
/**
 * With BENCH_CPU_PROF, the server profiles itself (V8's sampling profiler, as `node --cpu-prof`)
 * from the moment it is ready, so start-up (module loading, schema compilation, seeding) stays out
 * of the profile, until the orchestrator stops it; the profile is written before it exits.
 */
async function startProfiling(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}
let stopProfiling: (() => Promise<void>) | undefined;

// Stopped by the orchestrator: write the profile, if one is being taken, and exit.
process.on('SIGTERM', () => {
  void (stopProfiling?.() ?? Promise.resolve()).finally(() => process.exit());
});

function spec(): OpenApiDocument {
  const doc = loadSpec();
  if (config.target === 'attack-unbounded') return unboundSpec(doc);
  return config.target.endsWith('-padded') ? padSpec(doc, config.padResources) : doc;
}

/** A bare Express app with the settings createApp uses, so the comparison is only about what is mounted. */
function plainExpress(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  return app;
}

/** No authentication: the validator rows measure validation alone. Spliced where createApp's auth goes. */
const noAuth: RequestHandler = (_req, _res, next) => next();

/** Every operation in the document answers the fixed customer for retrieveCustomer, and fails loudly otherwise. */
function fixedHandlers(doc: OpenApiDocument): Handlers {
  const handlers: Record<string, unknown> = {};
  for (const operationId of operationIdsOf(doc)) {
    handlers[operationId] =
      operationId === 'retrieveCustomer'
        ? async () => ({ status: 200, body: FIXED_CUSTOMER })
        : async () => {
            throw new Error(`${operationId} is not part of the benchmark`);
          };
  }
  return handlers as unknown as Handlers;
}

/**
 * One validator over the whole document, built by the same createValidatorChain that
 * buildApiRouter uses per resource (same options, same place for authentication), with a handler
 * that sends what buildApiRouter's binding would.
 */
function singleValidatorApp(doc: OpenApiDocument, log: Logger): Express {
  const sendFixed: RequestHandler = (_req, res) => {
    res.status(200).json(FIXED_CUSTOMER);
  };
  const notBenchmarked: RequestHandler = () => {
    throw new Error('not part of the benchmark');
  };
  const chain = createValidatorChain(doc, {
    validateResponses: true,
    authenticate: noAuth,
    resolve: (operationId) => (operationId === 'retrieveCustomer' ? sendFixed : notBenchmarked),
  });

  const app = plainExpress();
  app.use(jsonBody(BODY_LIMIT_BYTES));
  app.use(...chain);
  app.use(problemHandler(log));
  return app;
}

function splitValidatorApp(doc: OpenApiDocument, log: Logger): Express {
  const app = plainExpress();
  app.use(jsonBody(BODY_LIMIT_BYTES));
  app.use(buildApiRouter({ spec: doc, handlers: fixedHandlers(doc), authenticate: noAuth, validateResponses: true, log }));
  app.use(problemHandler(log));
  return app;
}

async function listen(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

async function postJson(port: number, path: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`seeding ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * An access token, got as a client credentials client gets one: an OAuth client of the account
 * made through the API with the account's key (the same scopes as the key), then a token from
 * `/oauth/token` with HTTP Basic. The issuer is this listener's origin (no public URL), the one the
 * load sends its requests to. The token lasts createApp's default, 600 s (OAUTH_TOKEN_TTL_S), far
 * longer than any run: the auth table runs first after start-up and checks that the token outlived
 * its last run, since an expired one would turn the row into a measurement of 401s.
 */
async function accessToken(port: number, secret: string): Promise<{ token: string; expiresAt: number }> {
  const client = await postJson(port, '/v1/oauth_clients', secret, { name: 'Benchmark client', scopes: ['read', 'write'] });
  const basic = Buffer.from(`${encodeURIComponent(client.id as string)}:${encodeURIComponent(client.client_secret as string)}`).toString('base64');
  const askedAt = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`seeding /oauth/token answered ${res.status}: ${text}`);
  const body = JSON.parse(text) as { access_token: string; expires_in: number };
  return { token: body.access_token, expiresAt: askedAt + body.expires_in * 1000 };
}

/**
 * What the account holds after the load, counted from the database and the simulator's ledger
 * rather than from anything the app reports about itself.
 */
async function audit(db: Db, simulator: ProcessorSimulator, accountId: string): Promise<Audit> {
  const paymentIds = new Set((await db('payments').where({ account_id: accountId }).select('id')).map((r: { id: string }) => r.id));
  const keys: { recovery_point: string; response_status: number | null; resource_id: string | null }[] = await db('idempotency_keys')
    .where({ account_id: accountId, operation: 'createPayment' })
    .select('recovery_point', 'response_status', 'resource_id');
  const [customers] = await db('customers').where({ account_id: accountId }).count<{ count: string | number }[]>({ count: '*' });
  // The processor's key for a payment's charge is the payment id (src/payments/service.ts).
  const ledger = simulator.ledger();
  const chargeOps = ledger.operations.filter((op) => op.kind === OperationKind.CHARGE);
  const chargesPerPayment = new Map<string, number>();
  for (const op of chargeOps) chargesPerPayment.set(op.idempotencyKey, (chargesPerPayment.get(op.idempotencyKey) ?? 0) + 1);
  const finished = keys.filter((k) => k.recovery_point === 'finished' && k.response_status === 201 && k.resource_id !== null && paymentIds.has(k.resource_id));
  return {
    payments: paymentIds.size,
    paymentsChargedOnce: [...paymentIds].filter((id) => chargesPerPayment.get(id) === 1).length,
    chargeOperations: chargeOps.length,
    charges: ledger.charges.length,
    chargesWithoutPayment: chargeOps.filter((op) => !paymentIds.has(op.idempotencyKey)).length,
    paymentKeys: keys.length,
    paymentKeysFinishedWithPayment: finished.length,
    distinctPaymentsOfKeys: new Set(finished.map((k) => k.resource_id)).size,
    customers: Number(customers?.count ?? 0),
  };
}

/**
 * A client from createRedis, as main.ts makes it, once it is connected: main.ts starts without
 * Redis when it must, but here a request counted before the connection is up would be counted by
 * the insurance limiter, in memory, and the row would not be measuring Redis.
 */
async function connectedRedis(url: string, commandTimeoutMs: number, log: Logger): Promise<Redis> {
  const redis = createRedis({ url, commandTimeoutMs, log });
  if (await redisReady(redis, REDIS_READY_TIMEOUT_MS)) return redis;
  const status = redis.status;
  redis.disconnect();
  throw new Error(`Redis at ${url} not ready within ${REDIS_READY_TIMEOUT_MS} ms (status ${status})`);
}

/** The limiter createApp gets: none, or every policy at BENCH_QUOTA, counted in memory or in Redis. */
async function rateLimits(log: Logger, metrics: Metrics | undefined): Promise<RateLimits | undefined> {
  const limits = config.rateLimits;
  if (limits.mode === 'off') return undefined;
  const policies = { read: BENCH_QUOTA, write: BENCH_QUOTA, account_read: BENCH_QUOTA, account_write: BENCH_QUOTA, admin: BENCH_QUOTA, ops: BENCH_QUOTA, auth: BENCH_QUOTA, token: BENCH_QUOTA };
  const redis = limits.mode === 'redis' ? await connectedRedis(limits.url, limits.commandTimeoutMs, log) : undefined;
  return new RateLimits({ policies, instances: 1, redis, keyPrefix: limits.mode === 'redis' ? limits.keyPrefix : undefined, log, metrics });
}

/** The real app on a fresh database, seeded through its own API as a client would. */
async function fullApp(log: Logger): Promise<ServerMessage> {
  const db = createDb(config.databaseUrl ? { url: config.databaseUrl, poolMax: config.dbPoolMax } : {});
  await migrate(db);
  // As main.ts wires them: one registry for the instance, shared by the app, the processor client and the rate limits.
  const metrics = config.metrics ? new Metrics() : undefined;
  const limits = await rateLimits(log, metrics);
  const doc = spec();
  const simulator = await startProcessorSimulator();
  const processor = createProcessorClient({ url: simulator.url, timeoutMs: 2_000, maxRetries: 2, breakerThreshold: 5, breakerHalfOpenMs: 5_000, metrics });
  const { app } = createApp({
    db,
    log,
    lifecycle: new Lifecycle(),
    adminToken: ADMIN_TOKEN,
    validateResponses: config.validateResponses,
    bodyLimitBytes: BODY_LIMIT_BYTES,
    spec: doc,
    processor,
    idempotency: { leaseMs: 30_000, retentionMs: 86_400_000, jobIntervalMs: 60_000 },
    rateLimits: limits,
    metrics,
  });
  const port = await listen(app);
  const created = await postJson(port, '/admin/accounts', ADMIN_TOKEN, { name: 'Benchmark account' });
  const secret = (created.api_key as { secret: string }).secret;
  const accountId = (created.account as { id: string }).id;
  const customer = await postJson(port, '/v1/customers', secret, CUSTOMER_FIELDS);
  const customerPath = `/v1/customers/${customer.id as string}`;
  const etag = (await fetch(`http://127.0.0.1:${port}${customerPath}`, { headers: { authorization: `Bearer ${secret}` } })).headers.get('etag') ?? undefined;
  // The attackers' account: another account's key, so the victim's key and account share nothing with them.
  let attackerHeaders: Record<string, string> | undefined;
  if (config.target in ATTACK_TARGETS) {
    const attacker = await postJson(port, '/admin/accounts', ADMIN_TOKEN, { name: 'Benchmark attacker' });
    attackerHeaders = { authorization: `Bearer ${(attacker.api_key as { secret: string }).secret}` };
  }
  const oauth = config.target in AUTH_TARGETS && AUTH_TARGETS[config.target as keyof typeof AUTH_TARGETS].credential === 'oauth' ? await accessToken(port, secret) : undefined;
  process.on('message', (request: AuditRequest | LimiterRequest) => {
    if (request.type === 'limiter') {
      send({ type: 'limiter', limiter: { insuranceDecisions: limits?.insuranceDecisions ?? 0, redis: limits?.redisState() ?? null } });
      return;
    }
    if (request.type !== 'audit') return;
    audit(db, simulator, accountId).then(
      (result) => send({ type: 'audit', audit: result }),
      (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  return {
    type: 'ready',
    port,
    path: customerPath,
    headers: { authorization: `Bearer ${oauth?.token ?? secret}` },
    specPaths: pathCount(doc),
    ...(etag ? { etag } : {}),
    ...(attackerHeaders ? { attackerHeaders } : {}),
    ...(oauth ? { credentialExpiresAt: oauth.expiresAt } : {}),
  };
}

async function start(): Promise<ServerMessage> {
  const log = createLogger(config.logLevel);
  const headers = { authorization: UNUSED_AUTHORIZATION };
  switch (config.target) {
    case 'node-http': {
      const port = await listen((_req, res) => {
        // Serialised per request, as res.json does in every other target.
        const body = JSON.stringify(FIXED_CUSTOMER);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return { type: 'ready', port, path: FIXED_PATH, headers, specPaths: null };
    }
    case 'express':
    case 'hot-express': {
      const app = plainExpress();
      app.get('/v1/customers/:id', (_req, res) => {
        res.json(FIXED_CUSTOMER);
      });
      return { type: 'ready', port: await listen(app), path: FIXED_PATH, headers, specPaths: null };
    }
    case 'split':
    case 'split-padded': {
      const doc = spec();
      return { type: 'ready', port: await listen(splitValidatorApp(doc, log)), path: FIXED_PATH, headers, specPaths: pathCount(doc) };
    }
    case 'single':
    case 'single-padded': {
      const doc = spec();
      return { type: 'ready', port: await listen(singleValidatorApp(doc, log)), path: FIXED_PATH, headers, specPaths: pathCount(doc) };
    }
    case 'stack':
    case 'stack-padded':
    case 'payment-unique-key':
    case 'customer-plain':
    case 'payment-replay':
    case 'limits-off':
    case 'limits-memory':
    case 'limits-redis':
    case 'attack-none':
    case 'attack-bounded':
    case 'attack-unbounded':
    case 'hot-path':
    case 'hot-path-validated':
    case 'hot-path-304':
    case 'metrics-off':
    case 'metrics-on':
    case 'auth-api-key':
    case 'auth-oauth':
      // The write targets send their own requests (WRITE_TARGETS); the path is the read table's.
      return fullApp(log);
  }
}

start().then(async (message) => {
  if (config.cpuProfile && message.type === 'ready') stopProfiling = await startProfiling(config.cpuProfile);
  send(message);
}, (err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
});
