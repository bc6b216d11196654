/**
 * The Redis connection the shared rate limits use. Redis is never on the path to an answer: a
 * command that cannot run at once fails at once (no offline queue) and one that runs slow fails
 * after `commandTimeoutMs`, and either way the limiter answers from its in-memory insurance. The
 * client reconnects by itself, forever, with capped backoff.
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type { Redis };

const RECONNECT_MAX_MS = 2_000;

export interface RedisOptions {
  readonly url: string;
  readonly commandTimeoutMs: number;
  readonly log: Logger;
}

export function createRedis({ url, commandTimeoutMs, log }: RedisOptions): Redis {
  const redis = new Redis(url, {
    // Queued commands would wait for a reconnect that may never come; the limiter would rather
    // hear "not now" and use its insurance.
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs * 5, 1_000),
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), RECONNECT_MAX_MS),
    lazyConnect: false,
    // Commands issued in the same tick (a request's two quotas, and other requests' counts) go
    // out in one write and come back in one read: one round trip where there would be several.
    enableAutoPipelining: true,
  });

  // ioredis emits an error per failed reconnect; log the transitions, not every attempt.
  let connected = false;
  let lastError: string | undefined;
  redis.on('ready', () => {
    connected = true;
    lastError = undefined;
    log.info({ component: 'redis' }, 'Redis connected');
  });
  redis.on('error', (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ component: 'redis', err: err.message }, 'Redis error');
  });
  redis.on('close', () => {
    if (!connected) return;
    connected = false;
    log.warn({ component: 'redis' }, 'Redis connection lost; reconnecting');
  });
  return redis;
}

/**
 * Waits, at most `timeoutMs`, for the first connection. Start-up waits this long so the first
 * requests are counted in Redis, not by the insurance; if Redis is not there, the API starts
 * anyway and the client keeps trying.
 */
export async function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** Closes the connection, politely if Redis answers, at once if it does not. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to disconnect
    }
  }
  redis.disconnect();
}
