/**
 * The console (`/console`): its page, built by Vite from `console/` into `generated/console/`, and
 * the JSON feed its live view polls every second (answered by `consoleHandlers` in routes.ts).
 *
 * The feed is read from the metric objects of the registry `/metrics` renders, never from counters
 * of its own, so the page and Prometheus cannot disagree. It keeps every counter cumulative, as
 * `/metrics` does: the page derives rates and quantiles from two snapshots the way `rate()` and
 * `histogram_quantile()` derive them from two scrapes, and survives a restart the same way.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MetricValue } from 'prom-client';
import type { components } from '../../generated/schema.js';
import { HTTP_DURATION_BUCKETS, IDEMPOTENCY_OUTCOMES, PROCESSOR_CALL_OUTCOMES, type CircuitStateName, type Metrics } from '../platform/metrics.js';

type ConsoleFeed = components['schemas']['ConsoleFeed'];
type StatusCounts = components['schemas']['ConsoleStatusCounts'];
type OperationFeed = ConsoleFeed['operations'][number];

export const CONSOLE_PAGE_PATH = '/console';
/** JSON beside the page: it keeps the policy that allows nothing (see app.ts). */
export const CONSOLE_FEED_PATH = '/console/feed';
/** The page's script and styles, named by content hash, so they may be cached for good. */
export const CONSOLE_ASSETS_PATH = '/console/assets';
const consoleBuildDir = path.resolve(import.meta.dirname, '../../generated/console');
export const consoleAssetsDir = path.join(consoleBuildDir, 'assets');

/** The page, as built; read once, when the handlers are built: its asset names change only with a release. */
export function consolePage(): string {
  const file = path.join(consoleBuildDir, 'index.html');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error("The console's page, generated/console/index.html, could not be read: `make generate` builds it from console/.", { cause: err });
  }
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const noRequests = (): StatusCounts => ({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 });
const isStatusClass = (value: unknown): value is keyof StatusCounts => STATUS_CLASSES.includes(value as keyof StatusCounts);

/** The series' values added up by one label (series without it are left out). */
function sumBy<L extends string>(values: readonly MetricValue<L>[], label: L): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { labels, value } of values) {
    const key = labels[label];
    if (key !== undefined) out[String(key)] = (out[String(key)] ?? 0) + value;
  }
  return out;
}

/** Answers by problem code; answers without one (`code=""`) are not errors and are left out. */
function byCode(values: readonly MetricValue<string>[]): Record<string, number> {
  const { '': _none, ...codes } = sumBy(values, 'code');
  return codes;
}

const total = (values: readonly MetricValue<string>[]): number => values.reduce((n, v) => n + v.value, 0);
const zeros = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

/** The snapshot, read from the metric objects themselves (the gauges' probes first). */
export async function readConsoleFeed(metrics: Metrics): Promise<ConsoleFeed> {
  metrics.readProbes();
  const at = new Date();
  const [requests, durations, inFlight, retried, rateLimited, idempotency, calls, circuit, insurance, insuranceDecisions, backlog, oldest, endpoints] = await Promise.all([
    metrics.httpRequests.get(),
    metrics.httpDuration.get(),
    metrics.httpInFlight.get(),
    metrics.httpRetried.get(),
    metrics.rateLimited.get(),
    metrics.idempotency.get(),
    metrics.processorCalls.get(),
    metrics.processorCircuit.get(),
    metrics.insuranceMode.get(),
    metrics.insuranceDecisions.get(),
    metrics.webhookBacklog.get(),
    metrics.webhookOldestPending.get(),
    metrics.webhookEndpoints.get(),
  ]);

  const operations = new Map<string, OperationFeed>();
  const operation = (name: string): OperationFeed => {
    let op = operations.get(name);
    if (!op) {
      op = { operation: name, by_status_class: noRequests(), retried: 0, duration: { counts: HTTP_DURATION_BUCKETS.map(() => 0), count: 0, sum: 0 } };
      operations.set(name, op);
    }
    return op;
  };
  const byStatusClass = noRequests();
  for (const { labels, value } of requests.values) {
    const cls = labels.status_class;
    if (!isStatusClass(cls) || labels.operation === undefined) continue;
    byStatusClass[cls] += value;
    operation(String(labels.operation)).by_status_class[cls] += value;
  }
  // Only operations that answered something: every retry counter starts at zero for every operation.
  for (const { labels, value } of retried.values) {
    const op = labels.operation === undefined ? undefined : operations.get(String(labels.operation));
    if (op) op.retried += value;
  }
  for (const { labels, value, metricName } of durations.values) {
    const op = labels.operation === undefined ? undefined : operations.get(String(labels.operation));
    if (!op) continue;
    if (metricName?.endsWith('_sum')) op.duration.sum = value;
    else if (metricName?.endsWith('_count')) op.duration.count = value;
    else {
      // `le` is the bucket's bound as a number; `+Inf` is the count, sent apart.
      const bucket = HTTP_DURATION_BUCKETS.indexOf(Number((labels as Record<string, unknown>).le));
      if (bucket >= 0) op.duration.counts[bucket] = value;
    }
  }

  const gauge = (values: readonly MetricValue<string>[], label: string, key: string) => values.find((v) => (v.labels as Record<string, unknown>)[label] === key)?.value ?? 0;
  const circuitState = (circuit.values.find((v) => v.value === 1)?.labels.state as CircuitStateName | undefined) ?? 'closed';
  return {
    instance: { id: `${os.hostname()}:${process.pid}`, started_at: metrics.startedAt.toISOString(), scope: 'instance' },
    at: at.toISOString(),
    requests: { by_status_class: byStatusClass, by_code: byCode(requests.values), in_flight: total(inFlight.values), retried: total(retried.values), rate_limited: sumBy(rateLimited.values, 'policy') },
    duration_buckets: [...HTTP_DURATION_BUCKETS],
    operations: [...operations.values()].sort((a, b) => a.operation.localeCompare(b.operation)),
    idempotency: { ...zeros(IDEMPOTENCY_OUTCOMES), ...sumBy(idempotency.values, 'outcome') },
    processor: { circuit: circuitState, calls: { ...zeros(PROCESSOR_CALL_OUTCOMES), ...sumBy(calls.values, 'outcome') } },
    rate_limit: { insurance_mode: total(insurance.values) > 0, insurance_decisions: total(insuranceDecisions.values) },
    webhooks: {
      backlog: { fan_out: gauge(backlog.values, 'stage', 'fan_out'), pending: gauge(backlog.values, 'stage', 'pending'), due: gauge(backlog.values, 'stage', 'due') },
      oldest_pending_age_seconds: total(oldest.values),
      endpoints: { enabled: gauge(endpoints.values, 'state', 'enabled'), degraded: gauge(endpoints.values, 'state', 'degraded'), disabled: gauge(endpoints.values, 'state', 'disabled') },
    },
  };
}
