/**
 * `npm start`: reads the configuration, opens the database (embedded when `DATABASE_URL` is unset),
 * migrates it, serves the API, and shuts down gracefully on SIGTERM or SIGINT.
 */
import { createApp } from './app.js';
import { configOrExit, loadConfig } from './platform/config.js';
import { createDb, migrate } from './platform/db.js';
import { createProcessorClient } from './processor/client.js';
import type { ProcessorSimulator } from './processor/simulator/server.js';
import { createApiServer } from './platform/http/server.js';
import { createLogger } from './platform/logger.js';
import { Metrics } from './platform/metrics.js';
import { RateLimits } from './platform/rate-limit.js';
import { closeRedis, createRedis, redisReady } from './platform/redis.js';
import { exitOnSignal, Lifecycle, shutdown } from './platform/shutdown.js';

const DEMO_ACCOUNT_NAME = 'Demo account';
const REDIS_STARTUP_WAIT_MS = 3_000;

async function main(): Promise<void> {
  const config = configOrExit(() => loadConfig());
  const log = createLogger(config.logLevel, config.logFormat);
  const db = createDb({ ...config.database, log });
  await migrate(db);
  // One registry for this instance, shared by the app, the processor adapter and the rate limits.
  const metrics = config.metrics.enabled ? new Metrics() : undefined;

  // Without PROCESSOR_URL, the simulator runs in this process on a loopback port of its own, so
  // the API still reaches it over HTTP through the same adapter, timeouts and breaker.
  // It is a development tool: loaded only then, and left out of the production image.
  let simulator: ProcessorSimulator | undefined;
  if (!config.processorUrl) {
    const { startProcessorSimulator } = await import('./processor/simulator/server.js');
    simulator = await startProcessorSimulator({ log: log.child({ component: 'processor-simulator' }) });
  }
  const processorUrl = config.processorUrl ?? simulator!.url;
  const processor = createProcessorClient({ url: processorUrl, ...config.processor, log: log.child({ component: 'processor' }), metrics });

  // Without REDIS_URL the quotas are counted in this process's memory; with it, in Redis, shared
  // by every instance, with the in-memory limiter as insurance when Redis fails.
  const redis = config.redisUrl ? createRedis({ url: config.redisUrl, commandTimeoutMs: config.redisTimeoutMs, log }) : undefined;
  if (redis && !(await redisReady(redis, REDIS_STARTUP_WAIT_MS))) {
    log.warn({ component: 'redis' }, 'Redis not reachable at start-up: rate limits counted per process until it is');
  }
  const rateLimits = config.rateLimits.enabled
    ? new RateLimits({ ...config.rateLimits, redis, log, metrics })
    : undefined;

  const lifecycle = new Lifecycle();
  const { app, services } = createApp({
    db,
    log,
    lifecycle,
    adminToken: config.adminToken,
    validateResponses: config.validateResponses,
    bodyLimitBytes: config.bodyLimitBytes,
    processor,
    idempotency: config.idempotency,
    rateLimits,
    trustProxy: config.trustProxy,
    publicUrl: config.publicUrl,
    apiKeysMaxPerAccount: config.apiKeysMaxPerAccount,
    apiKeyCache: config.apiKeyCache,
    metrics,
    metricsToken: config.metrics.token,
    webhooks: config.webhooks,
    reconciliation: config.reconciliation,
    oauth: config.oauth,
  });
  services.idempotencyJobs.start();
  services.oauth.start();
  if (config.webhooks.relay.enabled) services.webhookRelay.start();
  if (config.reconciliation.enabled) services.reconciliationWorker.start();
  const server = createApiServer(app, config.server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${urlHost(config.host)}:${port}`;

  const storage = config.database.url ? 'PostgreSQL' : config.database.dataDir ? `embedded PGlite in ${config.database.dataDir}` : 'embedded PGlite in memory';
  const lines = [
    `Remit API listening on ${url} (${storage})`,
    `  Bound to ${describeBinding(config.host)}`,
    `  API reference: ${url}/docs`,
    `  Console: ${url}/console (live view of this instance, collection runner)`,
    `  Metrics: ${!metrics ? 'off' : config.metrics.token ? `${url}/metrics (bearer METRICS_TOKEN)` : `${url}/metrics (open: set METRICS_TOKEN to require a token)`}`,
    `  Webhooks: ${config.webhooks.relay.enabled ? 'delivered by this instance' : 'not delivered by this instance (WEBHOOK_RELAY_ENABLED=false)'}${config.webhooks.allowPrivateTargets ? '; private and http targets allowed' : ''}`,
    `  Rate limits: ${!rateLimits ? 'off' : redis ? `shared through Redis at ${new URL(config.redisUrl!).host}` : 'in memory (this process only)'}`,
    simulator
      ? `  Processor (${config.processor.protocol}): in-process simulator at ${simulator.url}; its ledger: curl -H 'Authorization: Bearer ${simulator.controlToken}' -H 'Content-Type: application/json' -d '{}' ${simulator.url}/remit.processor.v1.SimulatorControlService/GetLedger`
      : `  Processor (${config.processor.protocol}): ${processorUrl}`,
  ];
  if (config.adminTokenGenerated) lines.push(`  Admin token (generated; set ADMIN_TOKEN to choose one): ${config.adminToken}`);
  if (config.demoAccount) {
    const demo = await services.accounts.ensureDemo(DEMO_ACCOUNT_NAME);
    lines.push(`  Demo account ${demo.account.id}, API key: ${demo.api_key.secret}`);
    lines.push(`  Try: curl -H 'Authorization: Bearer ${demo.api_key.secret}' ${url}/v1/customers`);
  }
  // The banner is for the person at the terminal; logs stay JSON.
  console.log(lines.join('\n'));
  log.info({ url, storage }, 'listening');

  exitOnSignal(log, () =>
    shutdown({
      server,
      lifecycle,
      log,
      timeoutMs: config.shutdownTimeoutMs,
      close: async () => {
        await services.idempotencyJobs.stop();
        await services.webhookRelay.stop();
        await services.reconciliationWorker.stop();
        services.webhookSender.close();
        services.oauth.close();
        await services.apiKeys.close();
        processor.close();
        await simulator?.close();
        if (redis) await closeRedis(redis);
        await db.destroy();
      },
    }),
  );
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::']);

/** Where a person on this machine reaches the server: a wildcard binding is reached on loopback. */
function urlHost(host: string): string {
  if (ANY_ADDRESS.has(host)) return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** What the binding means for who can connect, in the banner's words. */
function describeBinding(host: string): string {
  if (ANY_ADDRESS.has(host)) return `${host}: every network interface (other machines can connect; HOST=127.0.0.1 keeps it to this one)`;
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') return `${host}: this machine only (HOST=0.0.0.0 accepts other machines)`;
  return host;
}

main().catch((err: unknown) => {
  console.error('Remit failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
