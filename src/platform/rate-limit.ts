/**
 * Quotas, counted by rate-limiter-flexible in fixed windows. With Redis every API process counts
 * against the same numbers; without it (REDIS_URL unset) each process counts in memory.
 *
 * When Redis fails, nothing waits on it and nothing fails with it. Each command is bounded by the
 * client's timeout; an error sends that one decision to the in-memory insurance limiter, and three
 * in a row open a circuit (cockatiel) so that the following requests skip Redis altogether until a
 * probe a second later finds it back. While degraded, each process enforces 1/`instances` of every
 * quota, so the fleet as a whole stays near the configured numbers.
 *
 * `ops` is deliberately never shared: health probes address one instance at a time, and the
 * endpoints a load balancer and an operator depend on must not depend on Redis themselves.
 */
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Quota, RateLimitPolicies } from './config.js';
import type { Logger } from './logger.js';
import { secondsSince, type Metrics } from './metrics.js';
import type { Redis } from './redis.js';

export type PolicyName = keyof RateLimitPolicies;

/** Consecutive Redis failures that open the circuit. */
const BREAKER_THRESHOLD = 3;
const BREAKER_HALF_OPEN_MS = 1_000;

/** One counted request: whether it may proceed, and the state of the quota it was counted in. */
export interface Decision {
  readonly policy: PolicyName;
  /** The quota enforced: the configured one, or this process's share of it while degraded. */
  readonly quota: Quota;
  readonly allowed: boolean;
  readonly remaining: number;
  /** Seconds until the window resets. */
  readonly resetS: number;
  /** Counted in Redis (true) or in this process's memory. */
  readonly shared: boolean;
}

interface PolicyLimiters {
  readonly quota: Quota;
  /** Redis-backed, when Redis is configured and the policy is shared. */
  readonly shared?: RateLimiterRedis;
  /** The in-memory limiter: the only one without Redis, the insurance with it. */
  readonly local: RateLimiterMemory;
  readonly localQuota: Quota;
}

export interface RateLimitsOptions {
  readonly policies: RateLimitPolicies;
  /** API processes sharing the quotas; each enforces 1/instances of a quota while Redis is down. */
  readonly instances: number;
  readonly redis?: Redis;
  /** Namespaces the Redis keys (one deployment, or one test, per prefix). */
  readonly keyPrefix?: string;
  readonly log: Logger;
  readonly breakerHalfOpenMs?: number;
  /** Redis round trips, insurance mode and its decisions (`remit_redis_*`, `remit_rate_limit_insurance_*`). */
  readonly metrics?: Metrics;
}

/** rate-limiter-flexible rejects with a RateLimiterRes when over quota and with an Error on failure. */
async function settle(attempt: Promise<RateLimiterRes>): Promise<{ res: RateLimiterRes; allowed: boolean }> {
  try {
    return { res: await attempt, allowed: true };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { res: err, allowed: false };
    throw err;
  }
}

function decide(policy: PolicyName, quota: Quota, shared: boolean, { res, allowed }: { res: RateLimiterRes; allowed: boolean }): Decision {
  return {
    policy,
    quota,
    allowed,
    remaining: allowed ? Math.max(0, res.remainingPoints) : 0,
    resetS: Math.max(0, Math.ceil(res.msBeforeNext / 1000)),
    shared,
  };
}

/** The in-memory block list rate-limiter-flexible keeps for exhausted keys; not in its typings. */
type WithInMemoryBlocks = RateLimiterRedis & { getInMemoryBlockMsBeforeExpire(rlKey: string): number };

export class RateLimits {
  private readonly limiters: Record<PolicyName, PolicyLimiters>;
  private readonly breaker?: CircuitBreakerPolicy;
  private readonly redis?: Redis;
  private readonly log: Logger;
  private readonly metrics?: Metrics;
  /** `remit_redis_command_duration_seconds{command="rate_limit"}`, bound once: it is observed on every request. */
  private readonly redisRateLimit?: { observe(seconds: number): void };
  private insuranceCount = 0;

  constructor(options: RateLimitsOptions) {
    const { policies, instances, redis, log } = options;
    const prefix = options.keyPrefix ?? 'remit:rl';
    this.redis = redis;
    this.log = log;
    this.metrics = options.metrics;
    this.redisRateLimit = options.metrics?.redisDuration.labels({ command: 'rate_limit' });
    if (redis) this.metrics?.watchInsurance(() => this.redisState() === 'degraded');
    const build = (policy: PolicyName): PolicyLimiters => {
      const quota = policies[policy];
      const shared = redis !== undefined && policy !== 'ops';
      const localQuota = shared ? { points: Math.max(1, Math.ceil(quota.points / instances)), windowS: quota.windowS } : quota;
      return {
        quota,
        localQuota,
        local: new RateLimiterMemory({ keyPrefix: policy, points: localQuota.points, duration: localQuota.windowS }),
        shared: shared
          ? new RateLimiterRedis({
              storeClient: redis,
              keyPrefix: `${prefix}:${policy}`,
              points: quota.points,
              duration: quota.windowS,
              // Once a window is used up, this process refuses the key from memory until the window
              // ends: a storm against an exhausted quota costs Redis nothing.
              inMemoryBlockOnConsumed: quota.points,
            })
          : undefined,
      };
    };
    this.limiters = {
      read: build('read'),
      write: build('write'),
      account_read: build('account_read'),
      account_write: build('account_write'),
      admin: build('admin'),
      ops: build('ops'),
      auth: build('auth'),
      token: build('token'),
    };

    if (redis) {
      this.breaker = circuitBreaker(handleAll, { halfOpenAfter: options.breakerHalfOpenMs ?? BREAKER_HALF_OPEN_MS, breaker: new ConsecutiveBreaker(BREAKER_THRESHOLD) });
      this.breaker.onBreak(() =>
        log.warn({ component: 'rate-limit', event: 'rate_limit_insurance_on' }, 'Redis unavailable: rate limits now counted per process by the in-memory insurance limiter'),
      );
      this.breaker.onReset(() => log.info({ component: 'rate-limit', event: 'rate_limit_insurance_off' }, 'Redis back: shared rate limits resumed'));
      // Requests close the circuit once Redis is back, but an idle instance has none: when the
      // connection comes back, probe through the circuit so `/ready` stops saying `degraded`.
      const halfOpenMs = options.breakerHalfOpenMs ?? BREAKER_HALF_OPEN_MS;
      redis.on('ready', () => this.probeUntilClosed(halfOpenMs));
    }
  }

  /** The configured quota of `policy`. */
  quota(policy: PolicyName): Quota {
    return this.limiters[policy].quota;
  }

  /** Counts one request of `subject` (an API key id, the admin, a client address) under `policy`. */
  async consume(policy: PolicyName, subject: string): Promise<Decision> {
    const limiters = this.limiters[policy];
    const { shared } = limiters;
    if (shared && this.breaker) {
      const started = performance.now();
      try {
        const settled = await this.breaker.execute(() => settle(shared.consume(subject)));
        this.redisRateLimit?.observe(secondsSince(started));
        return decide(policy, limiters.quota, true, settled);
      } catch (err) {
        // Redis failed, timed out, or the circuit is open: this decision is made in memory. A
        // failed round trip is timed too (a timeout shows as one); an open circuit sent none.
        if (!(err instanceof BrokenCircuitError)) {
          this.redisRateLimit?.observe(secondsSince(started));
          this.log.debug({ component: 'rate-limit', err }, 'Redis limiter failed; using insurance');
        }
        this.insuranceCount++;
        this.metrics?.insuranceDecisions.inc();
      }
    }
    return decide(policy, limiters.localQuota, false, await settle(limiters.local.consume(subject)));
  }

  /**
   * Whether `subject` is already known to be over `policy`'s quota, from this process's memory
   * alone (no Redis round trip): the check that runs before a request may cost anything.
   */
  async refusedLocally(policy: PolicyName, subject: string): Promise<Decision | null> {
    const limiters = this.limiters[policy];
    if (limiters.shared) {
      const blocked = limiters.shared as WithInMemoryBlocks;
      const ms = blocked.getInMemoryBlockMsBeforeExpire(blocked.getKey(subject));
      if (ms > 0) return decide(policy, limiters.quota, true, { res: new RateLimiterRes(0, ms), allowed: false });
    }
    const res = await limiters.local.get(subject);
    if (res && res.consumedPoints >= limiters.localQuota.points) {
      return decide(policy, limiters.localQuota, false, { res, allowed: false });
    }
    return null;
  }

  /** While the connection is up and the circuit is not closed, a PING through the circuit every `everyMs`. */
  private probeUntilClosed(everyMs: number): void {
    const { redis, breaker } = this;
    if (!redis || !breaker || redis.status !== 'ready' || breaker.state === CircuitState.Closed) return;
    const timer = setTimeout(() => {
      breaker
        .execute(() => this.timedPing(redis))
        .catch(() => {})
        .finally(() => this.probeUntilClosed(everyMs));
    }, everyMs);
    timer.unref();
  }

  /** A probe's PING, timed (`remit_redis_command_duration_seconds{command="ping"}`) whether it answers or not. */
  private async timedPing(redis: Redis): Promise<string> {
    const started = performance.now();
    try {
      return await redis.ping();
    } finally {
      this.metrics?.redisDuration.observe({ command: 'ping' }, secondsSince(started));
    }
  }

  /** For `/ready`: undefined without Redis; `degraded` while decisions are made in memory. */
  redisState(): 'up' | 'degraded' | undefined {
    if (!this.redis || !this.breaker) return undefined;
    return this.redis.status === 'ready' && this.breaker.state === CircuitState.Closed ? 'up' : 'degraded';
  }

  /** Decisions made by the insurance limiter because Redis could not make them. */
  get insuranceDecisions(): number {
    return this.insuranceCount;
  }
}
