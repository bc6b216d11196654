/**
 * The hot-path table: the customer read as a deployment serves it (the key from the verified-key
 * cache, the request counted in Redis, request validation, the read from the database, a log line
 * per request, response validation off), with response validation on, and as a conditional request
 * answered `304`, against bare Express 5 sending the same JSON, measured in the same rounds.
 * A row with any answer other than its own status would measure something else, hence the checks.
 */
import type { ChildProcess } from 'node:child_process';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { startServer } from './children.js';
import { customerTarget, probe, readAnswer, runGet, type Target } from './customer-read.js';
import { CONNECTIONS, DURATION_S, PROBE_TIMEOUT_MS, REDIS_URL, ROUNDS, WARMUP_S } from './knobs.js';
import { pingRedis, redisLimitsOf } from './redis.js';
import {
  autocannonLine,
  checkLines,
  int,
  loadAverageLine,
  machine,
  medianRow,
  mediansOf,
  ratio,
  roundLines,
  roundsLine,
  statusList,
  statusTotals,
  storageLine,
  sum,
  type Check,
  type Table,
} from './report.js';
import { inRounds, progress, type Rounds } from './run.js';
import { BENCH_QUOTA, HOT_BASELINE, HOT_TARGETS, type HotTargetId, type RunResult } from './targets.js';

// What the issue of record asked of the full-app row; printed beside the figures, never asserted.
const GOALS = { ratio: 0.35, validatedRatio: 0.3, p99Ms: 20 } as const;

export interface HotTarget extends Target<HotTargetId> {
  readonly child: ChildProcess;
  readonly runs: RunResult[];
}

/**
 * The full-app rows count in Redis, as a deployment does; without Redis they would measure
 * something else, so they are skipped (said on stderr) and the baseline alone is not measured.
 */
export async function hotTargetsWithRedis(wanted: readonly HotTargetId[]): Promise<HotTargetId[]> {
  if (!wanted.some((id) => HOT_TARGETS[id].app === 'full')) return [...wanted];
  const ping = await pingRedis();
  if (ping.ok) return [...wanted];
  progress(`hot-path table skipped: Redis at ${withoutPassword(REDIS_URL)} did not answer PING (${ping.reason}); start Redis there or set REDIS_URL`);
  return [];
}

export async function startHotTarget(id: HotTargetId, databaseUrl: string | undefined): Promise<HotTarget> {
  const spec = HOT_TARGETS[id];
  const server = await startServer(
    id,
    databaseUrl,
    spec.app === 'full' ? redisLimitsOf(id) : { mode: 'off' },
    // Production defaults: response validation off unless the row says otherwise, a log line per request.
    { validateResponses: spec.validateResponses, logLevel: 'info' },
  );
  const target = { ...customerTarget(id, server), child: server.child, runs: [] as RunResult[] };
  if (!spec.conditional) return target;
  if (!server.etag) throw new Error(`${id}: the customer's answer carried no ETag`);
  return { ...target, headers: { ...target.headers, 'if-none-match': server.etag } };
}

/** The conditional row's probe: a 304 with the ETag it was asked about and no body. */
async function probeNotModified(target: HotTarget): Promise<void> {
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  const { text } = await readAnswer(res);
  if (res.status !== 304 || res.headers.get('etag') !== target.headers['if-none-match'] || text !== '') {
    throw new Error(`${target.id}: GET ${target.url} with If-None-Match answered ${res.status}, ETag ${res.headers.get('etag')}: ${text.slice(0, 300)}`);
  }
}

export async function probeHot(target: HotTarget): Promise<void> {
  if (HOT_TARGETS[target.id].conditional) await probeNotModified(target);
  else await probe(target);
}

/** Every answer was the row's own status (200, or 304 for the conditional row), with no errors or timeouts. */
function answersCheck(target: HotTarget): Check {
  const expected = HOT_TARGETS[target.id].conditional ? '304' : '200';
  const statuses = statusTotals(target.runs);
  const others = [...statuses].filter(([status]) => status !== expected);
  const errors = sum(target.runs, (r) => r.errors);
  const timeouts = sum(target.runs, (r) => r.timeouts);
  return {
    ok: others.length === 0 && errors === 0 && timeouts === 0 && (statuses.get(expected) ?? 0) > 0,
    line: `${target.id}: every answer ${expected} (${statusList(statuses) || 'none'}), ${errors} errors, ${timeouts} timeouts`,
    detail: `in ${int(sum(target.runs, (r) => r.requests))} responses over ${target.runs.length} runs, warm-up included`,
  };
}

/** Measures the hot-path targets, already probed, and returns the table with its checks. */
export async function hotPathTable(load: ChildProcess, targets: HotTarget[]): Promise<Table> {
  const rounds = await inRounds(targets, ROUNDS, async (target, warmUp) => {
    const result = await runGet(load, target, warmUp ? WARMUP_S : DURATION_S);
    target.runs.push(result);
    return result;
  });
  const checks = targets.map(answersCheck);
  return { text: hotPathReport(targets, rounds, checks), checks };
}

function goal(id: HotTargetId, vs: number | undefined, p99: number): string {
  if (HOT_TARGETS[id].app !== 'full' || vs === undefined) return '';
  const wanted = HOT_TARGETS[id].validateResponses ? GOALS.validatedRatio : GOALS.ratio;
  const met = vs >= wanted && p99 <= GOALS.p99Ms;
  return `≥ ${wanted}, p99 ≤ ${GOALS.p99Ms} ms: ${met ? 'met' : 'not met'}`;
}

function hotPathReport(targets: HotTarget[], rounds: Rounds<HotTargetId>, checks: Check[]): string {
  const medians = mediansOf(targets, rounds.results);
  const baseline = medians.get(HOT_BASELINE);
  const lines = [
    '## Hot-path benchmark: GET /v1/customers/{id} as deployed, against bare Express 5',
    '',
    autocannonLine('Load', CONNECTIONS, DURATION_S),
    roundsLine(ROUNDS),
    `- Storage: ${storageLine()}`,
    `- Full-app rows: one API key (verified once, then from the key cache), every request counted in Redis at ${withoutPassword(REDIS_URL)} ` +
      `(read quotas of ${int(BENCH_QUOTA.points)} per ${BENCH_QUOTA.windowS} s, none refused), request validation, log level info written to /dev/null, ` +
      'response validation off unless the row says otherwise',
    `- Machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'hot-path run'),
    '',
    `| target | req/s (median) | p50 ms | p99 ms | ratio vs \`${HOT_BASELINE}\` (req/s) | goal |`,
    '|---|--:|--:|--:|--:|---|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const vs = baseline ? m.reqPerS / baseline.reqPerS : undefined;
      return medianRow(t.id, HOT_TARGETS[t.id].label, m, ratio(m.reqPerS, baseline?.reqPerS), goal(t.id, vs, m.p99Ms));
    }),
    '',
    ...roundLines(targets, rounds, ROUNDS),
    '',
    ...checkLines('Checks, after the last run:', checks),
  ];
  return lines.join('\n');
}
