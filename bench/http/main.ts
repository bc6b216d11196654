/**
 * `npm run bench`, the tables of bench/README.md:
 *
 * - Read: requests per second and latency of `GET /v1/customers/{id}` through the full app,
 *   against bare node:http and bare Express answering the same JSON, and with the spec padded by a
 *   hundred resources, once through Remit's per-resource validators and once through a single
 *   validator over the whole document.
 * - Write: `POST /v1/payments` with a new Idempotency-Key per request, against a plain insert
 *   (`POST /v1/customers` without a key) and a replay of one used key; afterwards, the database and
 *   the processor simulator's ledger must show exactly one payment and one charge per key sent.
 * - Rate limits: the full app's `GET /v1/customers/{id}` with the rate limiter off, counting in
 *   memory, and counting in Redis, at quotas no run can use up: what the counting costs a read.
 * - Validation attack: the same read by one account's key, alone and while another account's key
 *   sends `POST /v1/api_keys` bodies of 32,000 integers where two enum strings are allowed, back to
 *   back over several connections, against the spec as is and against a copy without the bound on
 *   that array: what such bodies cost everyone else, with and without bounded request collections.
 *
 * - Hot path: the same read as a deployment serves it (Redis rate limits, logs on, response
 *   validation off; and with it on; and as a conditional request answered 304), against bare
 *   Express 5 in the same rounds.
 * - Metrics: that deployed read with the instance's Prometheus metrics on and off, in the same
 *   rounds; and the time `/metrics` takes to render at the series count of a busy instance, against
 *   a fresh one.
 * - Auth: that deployed read authenticated by the account's API key and by an OAuth access token
 *   (client credentials, fetched from `/oauth/token` when the server seeds), in the same rounds:
 *   what verifying a JWT on every request costs against the verified-key cache.
 *
 * Every server and the load generator run in processes of their own; the targets are measured in
 * rounds, in alternating order, and the report gives each target's median over the rounds. This
 * file decides the order of the tables and what happens when one fails; each table is a file of
 * its own.
 */
import { createRunStorage, type RunStorage } from '../../scripts/harness/storage.js';
import { ATTACK_LEAD_S, attackTable, probeAttack, startAttackTarget } from './attack-table.js';
import { authLimits, authTable, startAuthTarget } from './auth-table.js';
import { startLoad, stopAll } from './children.js';
import { probe } from './customer-read.js';
import { hotPathTable, hotTargetsWithRedis, probeHot, startHotTarget } from './hot-path-table.js';
import { DATABASE_URL, DURATION_S, METRICS_ROUNDS, ROUNDS, SELECTED, WARMUP_S, WRITE_DURATION_S, WRITE_ROUNDS } from './knobs.js';
import { limitTable, redisForTable, startLimitTarget } from './limit-table.js';
import { metricsLimits, metricsRenderTable, metricsTable, probeMetrics, startMetricsTarget } from './metrics-table.js';
import { readTable, startReadTarget } from './read-table.js';
import { clearRedisCounters, REDIS_KEY_PREFIX } from './redis.js';
import { checkText, type Check, type Table } from './report.js';
import { progress } from './run.js';
import { ATTACK_TARGETS, HOT_TARGETS } from './targets.js';
import { probeWrite, startWriteTarget, writeTable } from './write-table.js';

async function main(): Promise<void> {
  const { read, write, attack, auth } = SELECTED;
  const redis = await redisForTable(SELECTED.limits);
  const hot = await hotTargetsWithRedis(SELECTED.hot);
  const limits = SELECTED.limits.filter((id) => id !== 'limits-redis' || !redis.skipped);
  const metrics = SELECTED.metrics;
  const metricsLimit = await metricsLimits(metrics);
  const authLimit = await authLimits(auth);

  // On PostgreSQL every full-app server gets a schema of its own; on PGlite each holds its database in memory.
  const fullApp = [...read.filter((r) => r.startsWith('stack')), ...hot.filter((h) => HOT_TARGETS[h].app === 'full'), ...metrics, ...write, ...limits, ...attack, ...auth];
  const attacked = attack.filter((id) => ATTACK_TARGETS[id].attackers);
  const estimateS =
    (read.length + hot.length + limits.length + attack.length + auth.length) * (WARMUP_S + ROUNDS * DURATION_S) +
    attacked.length * (1 + ROUNDS) * 2 * ATTACK_LEAD_S +
    metrics.length * (WARMUP_S + METRICS_ROUNDS * DURATION_S) +
    write.length * (WARMUP_S + WRITE_ROUNDS * WRITE_DURATION_S);
  progress(
    `${read.length} read, ${hot.length} hot-path, ${metrics.length} metrics${SELECTED.metricsRender ? ' (and the render timing)' : ''}, ${limits.length} rate-limit, ${attack.length} validation-attack, ${auth.length} auth and ${write.length} write targets, ` +
      `about ${Math.round(estimateS)} s of load after start-up`,
  );

  const failed: Check[] = [];
  let printed = false;
  const print = (table: string) => {
    if (printed) console.log('');
    console.log(table);
    printed = true;
  };
  const printTable = (table: Table) => {
    print(table.text);
    failed.push(...table.checks.filter((c) => !c.ok));
  };
  const storages = new Map<string, RunStorage>();
  try {
    if (DATABASE_URL) for (const id of fullApp) storages.set(id, await createRunStorage('bench', DATABASE_URL));
    const databaseUrl = (id: string) => storages.get(id)?.env.DATABASE_URL;
    const load = startLoad();
    // The attackers get a load process of their own: their 64 KB bodies are written, and their
    // answers read, beside the victim's load, not in the event loop that times the victim.
    const attackLoad = attacked.length > 0 ? startLoad() : undefined;
    // Every server starts at once (start-up is the slow part); the idle ones cost next to nothing.
    const [targets, hotTargets, metricsTargets, writeTargets, limitTargets, attackTargets, authTargets] = await Promise.all([
      Promise.all(read.map((id) => startReadTarget(id, databaseUrl(id)))),
      Promise.all(hot.map((id) => startHotTarget(id, databaseUrl(id)))),
      Promise.all(metrics.map((id) => startMetricsTarget(id, databaseUrl(id), metricsLimit))),
      Promise.all(write.map((id) => startWriteTarget(id, databaseUrl(id)))),
      Promise.all(limits.map((id) => startLimitTarget(id, databaseUrl(id)))),
      Promise.all(attack.map((id) => startAttackTarget(id, databaseUrl(id)))),
      Promise.all(auth.map((id) => startAuthTarget(id, databaseUrl(id), authLimit))),
    ]);
    for (const target of targets) await probe(target);
    for (const target of hotTargets) await probeHot(target);
    for (const target of metricsTargets) await probeMetrics(target);
    for (const target of limitTargets) target.probePolicy = (await probe(target)).get('ratelimit-policy');
    for (const target of attackTargets) {
      await probe(target);
      if (ATTACK_TARGETS[target.id].attackers) await probeAttack(target);
    }
    for (const target of writeTargets) await probeWrite(target);
    for (const target of authTargets) await probe(target);
    progress('all servers up and answering');

    // First: its OAuth row's token was fetched when its server seeded, and lasts createApp's
    // default of 600 s, ample for this table's runs only if they come before the other tables'.
    if (authTargets.length > 0) printTable(await authTable(load, authTargets, authLimit));
    if (targets.length > 0) print(await readTable(load, targets));
    if (hotTargets.length > 0) printTable(await hotPathTable(load, hotTargets));
    // Right after the hot-path table, whose deployed row it measures with metrics on and off.
    if (metricsTargets.length > 0) printTable(await metricsTable(load, metricsTargets, metricsLimit));
    // No server of its own: it times renders in a process that does nothing else, while the servers idle.
    if (SELECTED.metricsRender) print(await metricsRenderTable());
    // Right after the read table, which it extends, and before the writes leave work behind them
    // (a busier PostgreSQL, bigger tables) that would fall on this table alone.
    if (limitTargets.length > 0 || redis.skipped) printTable(await limitTable(load, limitTargets, redis.line));
    // Before the writes, for the same reason; its servers only read and refuse, so it leaves nothing behind.
    if (attackTargets.length > 0) printTable(await attackTable(load, attackLoad, attackTargets));
    if (writeTargets.length > 0) printTable(await writeTable(load, writeTargets));
  } finally {
    await stopAll();
    for (const storage of storages.values()) await storage.drop();
    if (limits.includes('limits-redis') || hot.length > 0 || metricsLimit.redis || authLimit.redis) {
      await clearRedisCounters().catch((err: unknown) => progress(`could not delete ${REDIS_KEY_PREFIX}:* from Redis (they expire within the hour): ${String(err)}`));
    }
    progress('done; every child process stopped');
  }
  if (failed.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nBENCHMARK CHECK FAILED (${failed.length}):\n${failed.map((c) => `- ${checkText(c)}`).join('\n')}\n${bar}`);
    process.exitCode = 1;
  }
}

main().catch(async (err: unknown) => {
  console.error('benchmark failed:', err instanceof Error ? err.message : err);
  await stopAll();
  process.exit(process.exitCode === 130 ? 130 : 1);
});
