/**
 * The rate-limit table: what the rate limiter adds to the customer read through the full app,
 * counting in memory and counting in Redis, against the same app with limits off. A limited row
 * whose limiter was not in the path, or whose Redis decisions fell to the in-memory insurance,
 * would measure something other than its label, hence the checks under the table.
 */
import type { ChildProcess } from 'node:child_process';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { askServer, startServer } from './children.js';
import { customerTarget, runGet, type Target } from './customer-read.js';
import { CONNECTIONS, DURATION_S, LOG_LEVEL, REDIS_URL, ROUNDS, WARMUP_S } from './knobs.js';
import { pingRedis, REDIS_KEY_PREFIX, REDIS_LIMITS, REDIS_TIMEOUT_MS, redisReadCounters } from './redis.js';
import {
  autocannonLine,
  checkLines,
  failuresCheck,
  failureTotals,
  int,
  loadAverageLine,
  machine,
  medianRow,
  mediansOf,
  ratio,
  roundLines,
  roundsLine,
  storageLine,
  sum,
  type Check,
  type Table,
} from './report.js';
import { inRounds, progress, type Rounds } from './run.js';
import { BENCH_QUOTA, LIMIT_BASELINE, LIMIT_TARGETS, type LimiterState, type LimitTargetId, type RateLimitMode, type RunResult } from './targets.js';

// What every counted answer of a limited target carries (draft-ietf-httpapi-ratelimit-headers): the
// key's read quota, then its account's.
const EXPECTED_POLICY = `"read";q=${BENCH_QUOTA.points};w=${BENCH_QUOTA.windowS}, "account_read";q=${BENCH_QUOTA.points};w=${BENCH_QUOTA.windowS}`;

export interface LimitTarget extends Target<LimitTargetId> {
  readonly child: ChildProcess;
  /** Every run, warm-up included, for the checks; the measured ones are in the results map too. */
  readonly runs: RunResult[];
  /** The probe answer's `RateLimit-Policy`, or null without one. */
  probePolicy: string | null;
}

/**
 * Without Redis the Redis row cannot be measured, but the rest of the benchmark still can: whether
 * `limits-redis` is skipped, and the table's line about Redis either way.
 */
export async function redisForTable(wanted: readonly LimitTargetId[]): Promise<{ readonly skipped: boolean; readonly line: string }> {
  if (!wanted.includes('limits-redis')) return { skipped: false, line: `Redis: not used (\`limits-redis\` not selected)` };
  const ping = await pingRedis();
  if (ping.ok) {
    return {
      skipped: false,
      line: `Redis: ${withoutPassword(REDIS_URL)} (Redis ${ping.version}), keys under ${REDIS_KEY_PREFIX}, command timeout ${REDIS_TIMEOUT_MS} ms, no offline queue (createRedis, as main.ts)`,
    };
  }
  progress(`limits-redis skipped: Redis at ${withoutPassword(REDIS_URL)} did not answer PING (${ping.reason})`);
  return {
    skipped: true,
    line: `**\`limits-redis\` skipped**: Redis at ${withoutPassword(REDIS_URL)} did not answer PING (${ping.reason}); start Redis there or set REDIS_URL to measure it`,
  };
}

function limitMode(id: LimitTargetId): RateLimitMode {
  switch (LIMIT_TARGETS[id].limits) {
    case 'off':
      return { mode: 'off' };
    case 'memory':
      return { mode: 'memory' };
    case 'redis':
      return REDIS_LIMITS;
  }
}

export async function startLimitTarget(id: LimitTargetId, databaseUrl: string | undefined): Promise<LimitTarget> {
  const server = await startServer(id, databaseUrl, limitMode(id));
  return { ...customerTarget(id, server), child: server.child, runs: [], probePolicy: null };
}

/** The limiter is in the path exactly when the row says so: the probe's answer carries its headers. */
function limiterInPathCheck(target: LimitTarget): Check {
  const expected = LIMIT_TARGETS[target.id].limits === 'off' ? null : EXPECTED_POLICY;
  return {
    ok: target.probePolicy === expected,
    line: `${target.id}: ${expected === null ? 'no RateLimit-Policy header (limits off)' : `RateLimit-Policy ${expected}`}`,
    detail: `the probe's answer carried ${target.probePolicy === null ? 'none' : `RateLimit-Policy ${target.probePolicy}`}`,
  };
}

/**
 * The Redis row measures Redis only if Redis made every decision: none fell to the in-memory
 * insurance (a failed or slow command, or the circuit open), and Redis's counter holds every read
 * the server answered and no more than were sent.
 */
function redisCountedCheck(target: LimitTarget, limiter: LimiterState, counters: number[]): Check {
  // Two reads outside the runs: the server's own at start-up (for the customer's ETag) and the probe.
  const answered = 2 + sum(target.runs, (r) => r.requests);
  const sent = 2 + sum(target.runs, (r) => r.sent);
  const counted = counters.length === 1 ? counters[0]! : Number.NaN;
  return {
    ok: limiter.insuranceDecisions === 0 && limiter.redis === 'up' && counted >= answered && counted <= sent,
    line: `${target.id}: every decision made in Redis: ${limiter.insuranceDecisions} by the insurance limiter; Redis counted ${counters.join(' + ') || 'no'} reads`,
    detail:
      `Redis ${limiter.redis ?? 'not configured'} after the load; ${counters.length} read counter(s) under ${REDIS_KEY_PREFIX}, ` +
      `expected one holding between ${answered} (answered: the two reads before the load and every run, warm-up included) and ${sent} (sent: ` +
      `a request cut off when a run ended may still have been counted)`,
  };
}

/** Measures the rate-limit targets, already probed, and returns the table with its checks. */
export async function limitTable(load: ChildProcess, targets: LimitTarget[], redisLine: string): Promise<Table> {
  const rounds = await inRounds(targets, ROUNDS, async (target, warmUp) => {
    const result = await runGet(load, target, warmUp ? WARMUP_S : DURATION_S);
    target.runs.push(result);
    return result;
  });
  const checks: Check[] = [];
  for (const target of targets) {
    checks.push(failuresCheck(target), limiterInPathCheck(target));
    if (LIMIT_TARGETS[target.id].limits === 'redis') {
      const { limiter } = await askServer(target.child, 'limiter', `limiter state of ${target.id}`);
      checks.push(redisCountedCheck(target, limiter, await redisReadCounters()));
    }
  }
  return { text: limitReport(targets, rounds, checks, redisLine), checks };
}

function limitReport(targets: LimitTarget[], rounds: Rounds<LimitTargetId>, checks: Check[], redisLine: string): string {
  const medians = mediansOf(targets, rounds.results);
  const baseline = medians.get(LIMIT_BASELINE);

  const lines = [
    '## Rate-limit benchmark: GET /v1/customers/{id} through the full app, limiter off / in memory / in Redis',
    '',
    autocannonLine('Load', CONNECTIONS, DURATION_S),
    roundsLine(ROUNDS),
    `- Storage: ${storageLine()}`,
    '- Each target is the full app (createApp, spec as is, request and response validation), one account, every request with its one API key; ' +
      'the targets differ only in the `rateLimits` given to createApp',
    `- Quotas: ${int(BENCH_QUOTA.points)} requests per ${BENCH_QUOTA.windowS} s for every policy (read, write, account_read, account_write, admin, ops, auth), one instance: ` +
      'every request is counted, none may be refused',
    `- ${redisLine}`,
    `- App log level: ${LOG_LEVEL}; machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'rate-limit run'),
  ];
  if (targets.length === 0) return lines.join('\n');
  lines.push(
    '',
    `| target | req/s (median) | p50 ms | p99 ms | non-2xx / errors / timeouts (all runs) | ratio vs \`${LIMIT_BASELINE}\` (req/s) |`,
    '|---|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const failures = failureTotals(t.runs);
      return medianRow(t.id, LIMIT_TARGETS[t.id].label, m, `${int(failures.non2xx)} / ${int(failures.errors)} / ${int(failures.timeouts)}`, ratio(m.reqPerS, baseline?.reqPerS));
    }),
    '',
    ...roundLines(targets, rounds, ROUNDS),
    '',
    ...checkLines('Checks, after the last run:', checks),
  );
  return lines.join('\n');
}
