/**
 * What the live view shows, derived from the feed's cumulative counters the way Prometheus derives
 * it from /metrics: rates are the change between two snapshots over the time between them
 * (`rate()`), and latency quantiles come from the change of the histogram's cumulative buckets over
 * a window, interpolated inside the bucket the rank falls in (`histogram_quantile()`). Pure
 * functions of snapshots, so Node tests can check them without a browser.
 */
import type { ConsoleFeed } from '../../../sdk/src/index.js';

export type Feed = ConsoleFeed;
type StatusCounts = Feed['requests']['by_status_class'];

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** One point of the live charts: per-second rates and shares over the interval ending at `at`. */
export interface Point {
  /** Seconds since the epoch (the snapshot's `at`). */
  at: number;
  /** Requests per second by status class. */
  rate: Record<(typeof STATUS_CLASSES)[number], number>;
  total: number;
  /** Share of requests answered 5xx (0–1); NaN with no requests. */
  errorShare: number;
  /** Share of requests refused with 429 (0–1). */
  rateLimitedShare: number;
  rateLimitedPerS: number;
  /** Retried requests (Remit-Retry-Count ≥ 1) ÷ requests (0–1). */
  retryShare: number;
  retriedPerS: number;
  replayedPerS: number;
  inFlightConflictsPerS: number;
}

export interface OperationLatency {
  operation: string;
  /** Requests per second over the window. */
  rate: number;
  /** Share of the window's requests answered 5xx. */
  errorShare: number;
  /** Seconds; NaN with no request in the window. */
  p50: number;
  p95: number;
  p99: number;
}

const seconds = (feed: Feed): number => Date.parse(feed.at) / 1000;
/** A counter that went down belongs to a restarted instance: count from zero, as rate() does. */
const delta = (now: number, before: number): number => (now >= before ? now - before : now);
const share = (part: number, whole: number): number => (whole > 0 ? part / whole : Number.NaN);

/**
 * Requests that watch the API rather than use it — scrapes, probes, this page's own polling — are
 * left out of the traffic and the latencies, as ops/prometheus/rules/remit.yml leaves them out.
 */
export const MONITORING_OPERATIONS: ReadonlySet<string> = new Set(['getMetrics', 'getHealth', 'getReadiness', 'getConsoleFeed']);

type Operation = Feed['operations'][number];
const clientOperations = (feed: Feed): Operation[] => feed.operations.filter((op) => !MONITORING_OPERATIONS.has(op.operation));

/** Client requests by status class, and the retried ones among them. */
function clientTraffic(feed: Feed): { classes: StatusCounts; retried: number } {
  const classes: StatusCounts = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  let retried = 0;
  for (const op of clientOperations(feed)) {
    for (const c of STATUS_CLASSES) classes[c] += op.by_status_class[c];
    retried += op.retried;
  }
  return { classes, retried };
}

export function pointBetween(before: Feed, now: Feed): Point {
  const dt = Math.max(seconds(now) - seconds(before), 1e-3);
  const [then, current] = [clientTraffic(before), clientTraffic(now)];
  const classDelta = (c: keyof StatusCounts) => delta(current.classes[c], then.classes[c]);
  const rate = Object.fromEntries(STATUS_CLASSES.map((c) => [c, classDelta(c) / dt])) as Point['rate'];
  const total = STATUS_CLASSES.reduce((n, c) => n + classDelta(c), 0);
  // Each 429 is one answer with the problem code `rate_limited` (a quota counter would count a
  // request refused by two quotas twice).
  const limited = delta(now.requests.by_code.rate_limited ?? 0, before.requests.by_code.rate_limited ?? 0);
  const retried = delta(current.retried, then.retried);
  const outcome = (name: string) => delta(now.idempotency[name] ?? 0, before.idempotency[name] ?? 0);
  return {
    at: seconds(now),
    rate,
    total: total / dt,
    errorShare: share(classDelta('5xx'), total),
    rateLimitedShare: share(limited, total),
    rateLimitedPerS: limited / dt,
    retryShare: share(retried, total),
    retriedPerS: retried / dt,
    replayedPerS: outcome('replayed') / dt,
    inFlightConflictsPerS: outcome('in_flight') / dt,
  };
}

/**
 * The q-quantile (0–1) of a histogram given as cumulative counts per upper bound plus the total
 * count (the +Inf bucket). Linear inside the bucket, as Prometheus's histogram_quantile(); a rank
 * in the +Inf bucket answers the highest finite bound.
 */
export function histogramQuantile(q: number, bounds: readonly number[], cumulative: readonly number[], count: number): number {
  if (count <= 0) return Number.NaN;
  const rank = q * count;
  for (let i = 0; i < bounds.length; i++) {
    const upto = cumulative[i] ?? 0;
    if (upto >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
      const inBucket = upto - below;
      return inBucket === 0 ? lower : lower + (bounds[i]! - lower) * ((rank - below) / inBucket);
    }
  }
  return bounds.at(-1) ?? Number.NaN;
}

/** Per operation over the window between two snapshots: rate, error share and p50/p95/p99, busiest first. */
export function operationLatencies(before: Feed, now: Feed): OperationLatency[] {
  const dt = Math.max(seconds(now) - seconds(before), 1e-3);
  const earlier = new Map(before.operations.map((op) => [op.operation, op]));
  const rows: OperationLatency[] = [];
  for (const op of clientOperations(now)) {
    const old = earlier.get(op.operation);
    const restarted = old !== undefined && op.duration.count < old.duration.count;
    const base = old === undefined || restarted ? undefined : old;
    const count = op.duration.count - (base?.duration.count ?? 0);
    if (count <= 0) continue;
    const cumulative = op.duration.counts.map((c, i) => c - (base?.duration.counts[i] ?? 0));
    const errors = op.by_status_class['5xx'] - (base?.by_status_class['5xx'] ?? 0);
    rows.push({
      operation: op.operation,
      rate: count / dt,
      errorShare: share(errors, count),
      p50: histogramQuantile(0.5, now.duration_buckets, cumulative, count),
      p95: histogramQuantile(0.95, now.duration_buckets, cumulative, count),
      p99: histogramQuantile(0.99, now.duration_buckets, cumulative, count),
    });
  }
  return rows.sort((a, b) => b.rate - a.rate || a.operation.localeCompare(b.operation));
}

/** Every operation's histogram added up: the instance's overall p50/p95/p99 over the window. */
export function overallLatency(before: Feed, now: Feed): { p50: number; p95: number; p99: number } {
  const bounds = now.duration_buckets;
  const cumulative = bounds.map(() => 0);
  let count = 0;
  const earlier = new Map(before.operations.map((op) => [op.operation, op]));
  for (const op of clientOperations(now)) {
    const old = earlier.get(op.operation);
    const base = old !== undefined && op.duration.count >= old.duration.count ? old : undefined;
    count += op.duration.count - (base?.duration.count ?? 0);
    op.duration.counts.forEach((c, i) => (cumulative[i]! += c - (base?.duration.counts[i] ?? 0)));
  }
  return {
    p50: histogramQuantile(0.5, bounds, cumulative, count),
    p95: histogramQuantile(0.95, bounds, cumulative, count),
    p99: histogramQuantile(0.99, bounds, cumulative, count),
  };
}
