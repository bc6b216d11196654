/**
 * The orchestrator's own look at the Redis the `limits-redis` row counts in: whether it answers at
 * all (without it the row is skipped, not failed), what it counted, which the row's check compares
 * with the reads sent, and clearing this run's counters afterwards, so a shared Redis keeps nothing.
 */
import { Redis } from 'ioredis';
import { REDIS_URL } from './knobs.js';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { progress, RUN_ID } from './run.js';
import type { RateLimitMode } from './targets.js';

const REDIS_PING_TIMEOUT_MS = 2_000;
// Namespaces this run's counters, so that no run counts on top of another's in a shared Redis.
export const REDIS_KEY_PREFIX = `bench:rl:${RUN_ID}`;

// The production default of REDIS_TIMEOUT_MS, so the rows counting in Redis show what a deployment gets.
export const REDIS_TIMEOUT_MS = 200;

/** How a server counts in this run's Redis: as main.ts builds it, under this run's prefix. */
export const REDIS_LIMITS: RateLimitMode = { mode: 'redis', url: REDIS_URL, keyPrefix: REDIS_KEY_PREFIX, commandTimeoutMs: REDIS_TIMEOUT_MS };

/**
 * The same, under a prefix of the row's own (`<run prefix>:<id>`): for the rows of the other tables
 * that count in Redis (hot path, metrics), so that the one read counter the rate-limit table's
 * check looks for under the run's prefix is `limits-redis`'s alone. Cleared with the rest.
 */
export function redisLimitsOf(id: string): RateLimitMode {
  return { mode: 'redis', url: REDIS_URL, keyPrefix: `${REDIS_KEY_PREFIX}:${id}`, commandTimeoutMs: REDIS_TIMEOUT_MS };
}

/** The orchestrator's own connection to Redis: one attempt, no reconnecting, nothing queued. */
async function withRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: REDIS_PING_TIMEOUT_MS,
    commandTimeout: REDIS_PING_TIMEOUT_MS,
  });
  // A refused connection rejects connect() with only "Connection is closed."; the event says why.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect().catch((err: unknown) => {
      throw cause ?? err;
    });
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Whether Redis answers a PING, and its version; or why it did not answer. */
export async function pingRedis(): Promise<{ readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string }> {
  try {
    return await withRedis(async (redis) => {
      const pong = await redis.ping();
      if (pong !== 'PONG') return { ok: false, reason: `PING answered ${JSON.stringify(pong)}` };
      return { ok: true, version: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown' };
    });
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

async function keysUnderPrefix(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Redis's own count of the reads it was asked to count this run: one counter per API key. */
export async function redisReadCounters(): Promise<number[]> {
  return withRedis(async (redis) => {
    const keys = await keysUnderPrefix(redis, `${REDIS_KEY_PREFIX}:read:*`);
    return Promise.all(keys.map(async (key) => Number(await redis.get(key))));
  });
}

/** This run's counters would expire with their window; a benchmark leaves nothing behind. */
export async function clearRedisCounters(): Promise<void> {
  await withRedis(async (redis) => {
    const keys = await keysUnderPrefix(redis, `${REDIS_KEY_PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
}

/** How a table's rows count requests against their quotas: in Redis as deployed, or in memory when Redis does not answer. */
export interface TableLimits {
  readonly redis: boolean;
  /** The line the table's report says it with. */
  readonly line: string;
}

/**
 * The rows count in Redis, as a deployment does. Without Redis they all count in memory instead,
 * which the table says: the ratio still compares like with like, but without the Redis round trip.
 */
export async function tableLimits(table: string, wanted: readonly string[], quota: string): Promise<TableLimits> {
  if (wanted.length === 0) return { redis: false, line: '' };
  const ping = await pingRedis();
  if (ping.ok) {
    return {
      redis: true,
      line: `rate limits counted in Redis ${ping.version} at ${withoutPassword(REDIS_URL)} (keys under ${REDIS_KEY_PREFIX}:<row id>, command timeout ${REDIS_TIMEOUT_MS} ms), ${quota}`,
    };
  }
  progress(`${table} table: Redis at ${withoutPassword(REDIS_URL)} did not answer PING (${ping.reason}); its rows count their rate limits in memory`);
  return {
    redis: false,
    line: `**rate limits counted in memory**: Redis at ${withoutPassword(REDIS_URL)} did not answer PING (${ping.reason}), so the rows count in memory, ${quota}`,
  };
}
