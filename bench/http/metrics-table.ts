/**
 * The metrics table, in two parts.
 *
 * - What the instance's Prometheus metrics cost a request: the hot-path row's read as a deployment
 *   serves it (response validation off, logs at info, rate limits in Redis when it answers), with
 *   one `Metrics` wired as main.ts wires it and with none, measured in the same alternating rounds;
 *   req/s, latency, the server's CPU per request, and the ratio on ÷ off against its goal.
 * - What `GET /metrics` costs to render at the series count of a busy instance, against a fresh
 *   one, timed in a process of its own (`metrics-render.ts`).
 *
 * A row whose metrics were not where its label says (counting, or a 404 at `/metrics`) would
 * measure something else: the probe refuses it, and a check after the load compares what the
 * instance counted with the requests the load generator sent.
 */
import type { ChildProcess } from 'node:child_process';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { askServer, measureRender, startServer } from './children.js';
import { customerTarget, probe, readAnswer, runGet, type Target } from './customer-read.js';
import { CONNECTIONS, DATABASE_URL, DURATION_S, knobsSet, METRICS_RENDERS, METRICS_ROUNDS, PROBE_TIMEOUT_MS, WARMUP_S } from './knobs.js';
import { redisLimitsOf, tableLimits, type TableLimits } from './redis.js';
import {
  autocannonLine,
  checkLines,
  int,
  loadAverageLine,
  machine,
  median,
  medianRow,
  mediansOf,
  orderLines,
  ratio,
  roundLines,
  roundsLine,
  roundTable,
  statusList,
  statusTotals,
  storageLine,
  sum,
  type Check,
  type Table,
} from './report.js';
import { inRounds, progress, type Rounds } from './run.js';
import {
  BENCH_QUOTA,
  METRICS_BASELINE,
  METRICS_RENDER_ID,
  METRICS_TARGETS,
  type CpuUsage,
  type MetricsTargetId,
  type RateLimitMode,
  type RenderConfig,
  type RenderMessage,
  type RunResult,
} from './targets.js';

// What the issue of record asked of metrics on against off; printed beside the figure, never asserted.
const GOAL_RATIO = 0.95;
// The customer reads each server answers before the load: its own at start-up (for the ETag) and the probe.
const READS_BEFORE_LOAD = 2;
// The render part: untimed renders of each registry first, and the rounds the timed ones are taken in.
const RENDER_WARMUP = 50;
const RENDER_ROUNDS = 10;
// A common scrape interval, to put a render's time in proportion.
const SCRAPE_INTERVAL_S = 15;
// The knobs that shape the load part, for the command that repeats it.
const REPRODUCE_KNOBS = ['BENCH_DURATION_S', 'BENCH_WARMUP_S', 'BENCH_CONNECTIONS', 'BENCH_METRICS_ROUNDS'] as const;

export interface MetricsTarget extends Target<MetricsTargetId> {
  readonly child: ChildProcess;
  readonly origin: string;
  /** Every run, warm-up included, for the checks. */
  readonly runs: RunResult[];
  /** The server's CPU milliseconds per answered request, one per measured run. */
  readonly cpuMsPerRequest: number[];
}

export type MetricsLimits = TableLimits;

/** The rows count in Redis as a deployment does, or all in memory when Redis does not answer. */
export function metricsLimits(wanted: readonly MetricsTargetId[]): Promise<MetricsLimits> {
  return tableLimits('metrics', wanted, `every policy at ${int(BENCH_QUOTA.points)} per ${BENCH_QUOTA.windowS} s (none refused)`);
}

export async function startMetricsTarget(id: MetricsTargetId, databaseUrl: string | undefined, limits: MetricsLimits): Promise<MetricsTarget> {
  // Production defaults, as the hot-path table's `hot-path` row: response validation off, a log line per request.
  const mode: RateLimitMode = limits.redis ? redisLimitsOf(id) : { mode: 'memory' };
  const server = await startServer(id, databaseUrl, mode, { validateResponses: false, logLevel: 'info', metrics: METRICS_TARGETS[id].metrics });
  return { ...customerTarget(id, server), child: server.child, origin: server.origin, runs: [], cpuMsPerRequest: [] };
}

async function scrape(target: MetricsTarget): Promise<{ readonly status: number; readonly text: string }> {
  const res = await fetch(`${target.origin}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return { status: res.status, text: (await readAnswer(res)).text };
}

/** The customer, and `/metrics` as the row says: served with the instance's own series (on), or a 404 (off). */
export async function probeMetrics(target: MetricsTarget): Promise<void> {
  await probe(target);
  const { status, text } = await scrape(target);
  const on = METRICS_TARGETS[target.id].metrics;
  if (on ? status !== 200 || !text.includes('remit_http_requests_total') : status !== 404) {
    throw new Error(`${target.id}: GET /metrics answered ${status} (expected ${on ? '200 with remit_http_requests_total' : '404'}): ${text.slice(0, 300)}`);
  }
}

/** The value of one sample line of an exposition, or undefined without it. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every answer 200, no errors or timeouts. */
function answersCheck(target: MetricsTarget): Check {
  const statuses = statusTotals(target.runs);
  const others = [...statuses].filter(([status]) => status !== '200');
  const errors = sum(target.runs, (r) => r.errors);
  const timeouts = sum(target.runs, (r) => r.timeouts);
  return {
    ok: others.length === 0 && errors === 0 && timeouts === 0 && (statuses.get('200') ?? 0) > 0,
    line: `${target.id}: every answer 200 (${statusList(statuses) || 'none'}), ${errors} errors, ${timeouts} timeouts`,
    detail: `in ${int(sum(target.runs, (r) => r.requests))} responses over ${target.runs.length} runs, warm-up included`,
  };
}

/**
 * `metrics-on` counted the reads it served: `remit_http_requests_total` for retrieveCustomer, GET,
 * 2xx holds at least every 200 the load generator received and at most every read it sent (a read
 * cut off when a run ended is still counted when its connection closes), plus the reads before the
 * load. `metrics-off` still answers `/metrics` with a 404.
 */
async function countedCheck(target: MetricsTarget): Promise<Check> {
  const { status, text } = await scrape(target);
  const answered = statusTotals(target.runs).get('200') ?? 0;
  const sent = sum(target.runs, (r) => r.sent);
  if (!METRICS_TARGETS[target.id].metrics) {
    return { ok: status === 404, line: `${target.id}: GET /metrics answered ${status} after the load (expected 404)`, detail: 'no Metrics handed to createApp' };
  }
  const counted = sample(text, 'remit_http_requests_total{operation="retrieveCustomer",method="GET",status_class="2xx",code=""}');
  const durations = sample(text, 'remit_http_request_duration_seconds_count{operation="retrieveCustomer"}');
  const redis = sample(text, 'remit_redis_command_duration_seconds_count{command="rate_limit"}');
  const low = answered + READS_BEFORE_LOAD;
  const high = sent + READS_BEFORE_LOAD;
  return {
    ok: status === 200 && counted !== undefined && counted >= low && counted <= high && durations === counted,
    line: `${target.id}: /metrics counted ${counted === undefined ? 'no' : int(counted)} retrieveCustomer GET 2xx requests (expected ${int(low)} to ${int(high)}), and as many durations`,
    detail:
      `${int(answered)} answered 200 and ${int(sent)} sent over ${target.runs.length} runs (warm-up included), plus ${READS_BEFORE_LOAD} reads before the load; ` +
      `duration histogram count ${durations === undefined ? 'missing' : int(durations)}; Redis rate_limit round trips timed: ${redis === undefined ? 'none (no Redis)' : int(redis)}; /metrics answered ${status}`,
  };
}

async function cpuOf(target: MetricsTarget): Promise<CpuUsage> {
  return (await askServer(target.child, 'cpu', `CPU time of ${target.id}`)).cpu;
}

/** Measures the metrics targets, already probed, and returns the table with its checks. */
export async function metricsTable(load: ChildProcess, targets: MetricsTarget[], limits: MetricsLimits): Promise<Table> {
  const rounds = await inRounds(targets, METRICS_ROUNDS, async (target, warmUp) => {
    const before = await cpuOf(target);
    const result = await runGet(load, target, warmUp ? WARMUP_S : DURATION_S);
    const after = await cpuOf(target);
    target.runs.push(result);
    if (!warmUp) target.cpuMsPerRequest.push((after.user + after.system - before.user - before.system) / 1000 / Math.max(1, result.requests));
    return result;
  });
  const checks = targets.map(answersCheck);
  for (const target of targets) checks.push(await countedCheck(target));
  return { text: metricsReport(targets, rounds, checks, limits), checks };
}

/** The command that measures this table alone with the knobs this run was given. */
function metricsCommand(ids: readonly string[], knobs: readonly Parameters<typeof knobsSet>[0][number][]): string {
  const database = DATABASE_URL && ids.some((id) => id in METRICS_TARGETS) ? [`DATABASE_URL=${withoutPassword(DATABASE_URL)}`] : [];
  return [...database, ...knobsSet(knobs), `BENCH_TARGETS=${ids.join(',')}`, 'make bench'].join(' ');
}

const cpuMs = (n: number) => n.toFixed(3);

function metricsReport(targets: MetricsTarget[], rounds: Rounds<MetricsTargetId>, checks: Check[], limits: MetricsLimits): string {
  const medians = mediansOf(targets, rounds.results);
  const baseline = medians.get(METRICS_BASELINE);
  const baselineCpu = targets.find((t) => t.id === METRICS_BASELINE)?.cpuMsPerRequest;
  const on = targets.find((t) => METRICS_TARGETS[t.id].metrics);
  const off = targets.find((t) => !METRICS_TARGETS[t.id].metrics);
  // The two runs of a round are adjacent, so their ratio is the least disturbed by drift on the machine.
  const pairRatios = on && off ? rounds.results.get(on.id)!.map((r, i) => r.reqPerS / rounds.results.get(off.id)![i]!.reqPerS) : [];
  const goal = (t: MetricsTarget) => {
    if (!METRICS_TARGETS[t.id].metrics || !baseline) return '';
    const vs = medians.get(t.id)!.reqPerS / baseline.reqPerS;
    return `≥ ${GOAL_RATIO}: ${vs >= GOAL_RATIO ? 'met' : 'not met'}`;
  };
  const lines = [
    '## Metrics benchmark: GET /v1/customers/{id} as deployed, Prometheus metrics on and off',
    '',
    `- Reproduce: \`${metricsCommand(
      targets.map((t) => t.id),
      REPRODUCE_KNOBS,
    )}\``,
    autocannonLine('Load', CONNECTIONS, DURATION_S),
    roundsLine(METRICS_ROUNDS),
    `- Storage: ${storageLine()}`,
    `- Both rows: the full app (createApp) with production's defaults as the hot-path table's \`hot-path\` row: one API key (verified once, then from the key cache), ${limits.line}, ` +
      'request validation, response validation off, log level info written to /dev/null; ' +
      '`metrics-on` adds one `Metrics` (prom-client registry, with its process and Node.js metrics) handed to createApp, the processor client and RateLimits, as main.ts wires it; nothing scrapes it during the load',
    '- Server CPU per request: the server process\'s user + system CPU time over a measured run (`process.cpuUsage()`, asked over IPC before and after) divided by the responses of that run; median over the rounds',
    `- Machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'metrics run'),
    '',
    `| target | req/s (median) | p50 ms | p99 ms | server CPU ms per request | ratio on ÷ off (req/s) | CPU per request vs \`${METRICS_BASELINE}\` | goal |`,
    '|---|--:|--:|--:|--:|--:|--:|---|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const cpu = median(t.cpuMsPerRequest);
      return medianRow(t.id, METRICS_TARGETS[t.id].label, m, cpuMs(cpu), ratio(m.reqPerS, baseline?.reqPerS), ratio(cpu, baselineCpu ? median(baselineCpu) : undefined), goal(t));
    }),
    '',
  ];
  if (pairRatios.length > 0) {
    lines.push(`Ratio on ÷ off (req/s) of each round's two runs: ${pairRatios.map((r) => r.toFixed(3)).join(', ')}; median ${median(pairRatios).toFixed(3)}`, '');
  }
  lines.push(
    ...roundLines(targets, rounds, METRICS_ROUNDS),
    '',
    'Server CPU ms per request, per round:',
    '',
    ...roundTable(
      METRICS_ROUNDS,
      targets.map((t) => [t.id, t.cpuMsPerRequest.map(cpuMs)]),
    ),
    '',
    ...checkLines('Checks, after the last run:', checks),
  );
  return lines.join('\n');
}

/** Nearest rank: the smallest value with at least `p` per cent of the values at or below it. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const renderMs = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The render part: times `/metrics` renders in a process of its own and returns its section. */
export async function metricsRenderTable(): Promise<string> {
  const config: RenderConfig = { renders: METRICS_RENDERS, warmUp: RENDER_WARMUP, rounds: Math.min(RENDER_ROUNDS, METRICS_RENDERS) };
  progress(`metrics render: ${config.renders} timed renders of a busy and a fresh registry`);
  const result = await measureRender(config);
  progress('metrics render: done');
  return renderReport(config, result);
}

function renderReport(config: RenderConfig, { busy, fresh, population, orders }: Extract<RenderMessage, { type: 'result' }>): string {
  const busyMedian = median([...busy.ms]);
  const freshMedian = median([...fresh.ms]);
  const row = (name: string, label: string, t: typeof busy) =>
    `| ${name} | ${label} | ${int(t.series)} | ${int(t.ownSeries)} | ${int(t.bytes)} | ${renderMs(median([...t.ms]))} | ${renderMs(percentile(t.ms, 99))} | ${ratio(median([...t.ms]), freshMedian)} |`;
  const perRound = (t: typeof busy) => {
    const size = Math.ceil(t.ms.length / orders.length);
    return orders.map((_, i) => renderMs(median(t.ms.slice(i * size, (i + 1) * size))));
  };
  return [
    '### `/metrics` render time at the series count of a busy instance',
    '',
    `- Reproduce: \`${metricsCommand([METRICS_RENDER_ID], ['BENCH_METRICS_RENDERS'])}\``,
    `- Busy registry: every one of the spec's ${population.operations} operations × every method it is served under (a GET also as HEAD) × every status class of its declared responses × every problem code of each error status: ` +
      `${int(population.requestLabelSets)} label sets of remit_http_requests_total. Codes from ${population.codesFrom}. Beyond the spec: ${population.beyondSpec}`,
    `- And: the duration histogram and the retry counter of every operation (\`unmatched\` and \`static\` included); 4 processor calls × 5 outcomes, × attempts 1–3 × 8 attempt outcomes, and their durations; ` +
      `idempotency outcomes (8) of ${population.idempotentOperations.length} operations taking an Idempotency-Key (${population.idempotentOperations.join(', ')}); 429s of ${population.policies.length} policies (${population.policies.join(', ')}); ` +
      'Redis durations of both commands; the breaker, pool and insurance probes main.ts registers. Every histogram series holds 15 observations spread over its buckets',
    '- Fresh registry: `new Metrics()` with nothing observed. Both render prom-client\'s process and Node.js metrics too, as every instance\'s `/metrics` does',
    `- Timing: \`await metrics.render()\` timed with performance.now(), ${int(config.renders)} times for each registry after ${config.warmUp} untimed renders of each, ` +
      `in ${orders.length} rounds of ${Math.ceil(config.renders / orders.length)}, the registries in alternating order, in a process of its own that does nothing else`,
    `- Machine: ${machine()}`,
    '',
    '| registry | what it holds | series (sample lines) | of which remit_* | bytes | render ms, median | render ms, p99 | ratio vs fresh (median) |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
    row('busy', 'every label set a busy instance can have', busy),
    row('fresh', '`new Metrics()`, nothing observed', fresh),
    '',
    `At one scrape every ${SCRAPE_INTERVAL_S} s, the busy render is ${renderMs(busyMedian)} ms of the event loop per ${SCRAPE_INTERVAL_S} s ` +
      `(${((busyMedian / (SCRAPE_INTERVAL_S * 1000)) * 100).toFixed(3)} % of one core); requests arriving during a render wait for it.`,
    '',
    'Median render ms per round:',
    '',
    ...roundTable(orders.length, [
      ['busy', perRound(busy)],
      ['fresh', perRound(fresh)],
    ]),
    '',
    ...orderLines(orders),
  ].join('\n');
}
