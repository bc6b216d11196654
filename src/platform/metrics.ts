/**
 * The instance's Prometheus metrics (prom-client), in a registry of its own: every app built in one
 * process (the tests build many) counts apart, and `/metrics` shows what this instance saw. Nothing
 * assumes one process: each instance exposes its own counters, Prometheus adds them up, and a
 * restart that zeroes them is a counter reset Prometheus's `rate()` already handles.
 *
 * Names follow Prometheus's conventions (base units, `_total` for counters, `_seconds` for time)
 * and every label is bounded: operationIds, status classes, problem codes, quota policies, call
 * kinds — never an id, a key or a path with an id in it. docs/observability.md lists them all.
 */
import type { components } from '../../generated/schema.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Request durations. Reads answer in about a millisecond and writes in a few (1–25 ms); a write
 * that calls the processor takes what the processor takes, up to its per-attempt timeout times its
 * attempts (seconds), bounded by the idempotency lease (30 s). The latency objective, p99 under
 * 500 ms, is a bucket boundary, so "the share of requests slower than the objective" is exact.
 */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Processor calls: a healthy one takes a few milliseconds to a few hundred; retries and timeouts take seconds. */
export const PROCESSOR_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Redis round trips: well under a millisecond on a healthy network; the client's timeout is 50 ms by default. */
export const REDIS_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

export function statusClass(status: number): StatusClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}

/** What an idempotent operation's key did for a request, or for the jobs. */
export type IdempotencyOutcome =
  /** A key never seen: the request ran (and its answer, success or 4xx, is now the key's). */
  | 'created'
  /** The stored answer was replayed. */
  | 'replayed'
  /** `409 idempotency_in_flight`: another attempt holds the key. */
  | 'in_flight'
  /** `422 idempotency_key_reused`: the key was first used for another request. */
  | 'key_reused'
  /** A client's retry took over an attempt left unfinished and ran it on. */
  | 'resumed'
  /** The background completer finished an abandoned attempt. */
  | 'recovered'
  /** The retention job deleted a finished key. */
  | 'expired'
  /** An operation whose key is optional ran without one. */
  | 'unkeyed';

/** Every outcome, for readers that show the ones not yet seen as zero (the console's feed). */
export const IDEMPOTENCY_OUTCOMES = ['created', 'replayed', 'in_flight', 'key_reused', 'resumed', 'recovered', 'expired', 'unkeyed'] as const satisfies readonly IdempotencyOutcome[];

export type ProcessorCall = 'charge' | 'capture' | 'void' | 'refund';
export type ProcessorCallOutcome = 'succeeded' | 'refused' | 'unavailable' | 'circuit_open' | 'contract_error';
export const PROCESSOR_CALL_OUTCOMES = ['succeeded', 'refused', 'unavailable', 'circuit_open', 'contract_error'] as const satisfies readonly ProcessorCallOutcome[];
export type ProcessorAttemptOutcome = 'ok' | 'refused' | 'timeout' | 'connection' | 'unavailable' | 'internal' | 'throttled' | 'invalid';
export type CircuitStateName = 'closed' | 'half_open' | 'open';

const CIRCUIT_STATES: readonly CircuitStateName[] = ['closed', 'half_open', 'open'];

export interface MetricsOptions {
  /** prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC). On unless told. */
  readonly processMetrics?: boolean;
}

/**
 * prom-client's default metrics describe the process, not an app: one registry per process, made
 * when first asked for, shared by every app the process builds (each would otherwise start its own
 * event-loop monitor and GC observer).
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Gauges named like counters, which Prometheus's own lint (`promtool check metrics`) rejects;
    // `nodejs_active_handles` and `nodejs_active_requests`, by type, say the same.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

/** What a reconciliation run ends with: `succeeded`, or its failure code. */
const RECONCILIATION_OUTCOMES = ['succeeded', 'processor_schema_drift', 'processor_unavailable', 'processor_refused', 'internal_error'] as const satisfies readonly (
  | 'succeeded'
  | components['schemas']['ReconciliationFailureCode']
)[];
const DISCREPANCY_KINDS = ['missing_locally', 'missing_at_processor', 'amount_mismatch', 'status_mismatch'] as const satisfies readonly components['schemas']['ReconciliationDiscrepancy']['kind'][];

export class Metrics {
  readonly registry = new Registry();
  /** When this registry started counting: every counter in it is cumulative since then. */
  readonly startedAt = new Date();

  readonly httpRequests = new Counter({
    name: 'remit_http_requests_total',
    help: 'Requests answered, by operation (operationId; `unmatched` when no operation matched, `static` for the pages\' files), method, status class and problem code ("" for none).',
    labelNames: ['operation', 'method', 'status_class', 'code'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'remit_http_request_duration_seconds',
    help: 'Time from the request\'s arrival to its answer\'s last byte, by operation.',
    labelNames: ['operation'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly httpInFlight = new Gauge({
    name: 'remit_http_requests_in_flight',
    help: 'Requests received and not yet answered.',
    registers: [this.registry],
  });

  readonly httpRetried = new Counter({
    name: 'remit_http_retried_requests_total',
    help: 'Requests that were a client\'s retry (Remit-Retry-Count of 1 or more), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'remit_rate_limited_requests_total',
    help: '429 answers, by the quota that refused them (a request refused by two quotas counts under both).',
    labelNames: ['policy'] as const,
    registers: [this.registry],
  });

  readonly idempotency = new Counter({
    name: 'remit_idempotency_outcomes_total',
    help: 'What idempotency keys did, by operation and outcome (created, replayed, in_flight, key_reused, resumed, recovered, expired, unkeyed).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookAttempts = new Counter({
    name: 'remit_webhook_attempts_total',
    help: 'Webhook delivery attempts, by result: delivered (2xx), gone (410), http_error (any other status, redirects included), timeout, connection_failed, address_not_allowed.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'remit_webhook_deliveries_total',
    help: 'Webhook deliveries settled, by outcome: delivered, or failed (the schedule ran out, or the endpoint answered 410).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookAttemptDuration = new Histogram({
    name: 'remit_webhook_attempt_duration_seconds',
    help: 'Time a webhook delivery attempt took, from connecting to the end of the (capped) answer.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly webhookBacklog = new Gauge({
    name: 'remit_webhook_backlog',
    help: 'Webhook work waiting, by stage: fan_out (events not yet turned into deliveries), pending (deliveries not yet settled), due (pending deliveries whose attempt is due now). Shared by every instance; as the relay last read it.',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });

  readonly webhookOldestPending = new Gauge({
    name: 'remit_webhook_oldest_pending_delivery_age_seconds',
    help: 'Age of the oldest webhook delivery not yet delivered or failed (0 with none), as the relay last read it.',
    registers: [this.registry],
  });

  readonly reconciliationRuns = new Counter({
    name: 'remit_reconciliation_runs_total',
    help: 'Reconciliation runs finished, by outcome: succeeded, or the failure code (processor_schema_drift, processor_unavailable, processor_refused, internal_error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly reconciliationDiscrepancies = new Counter({
    name: 'remit_reconciliation_discrepancies_total',
    help: 'Discrepancies reconciliation runs recorded, by kind: missing_locally, missing_at_processor, amount_mismatch, status_mismatch.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly reconciliationSettled = new Counter({
    name: 'remit_reconciliation_settled_total',
    help: 'Payments and refunds left processing or pending that a reconciliation settled from the processor\'s report, by object.',
    labelNames: ['object'] as const,
    registers: [this.registry],
  });

  readonly reconciliationPages = new Counter({
    name: 'remit_reconciliation_report_pages_total',
    help: 'Pages of the processor\'s report fetched and stored by reconciliation runs.',
    registers: [this.registry],
  });

  readonly reconciliationThrottled = new Counter({
    name: 'remit_reconciliation_report_throttled_total',
    help: 'Requests for the processor\'s report it answered 429, each waited out as its Retry-After said.',
    registers: [this.registry],
  });

  readonly webhookEndpoints = new Gauge({
    name: 'remit_webhook_endpoints',
    help: 'Webhook endpoints by state: enabled, degraded (enabled, every attempt failing past the warning window), disabled.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly unfinishedKeys = new Gauge({
    name: 'remit_idempotency_unfinished_keys',
    help: 'Idempotency keys left unfinished past their lease: the completer\'s backlog, as its last round found it.',
    registers: [this.registry],
  });

  readonly processorCalls = new Counter({
    name: 'remit_processor_calls_total',
    help: 'Calls to the card processor, by call and outcome (after retries).',
    labelNames: ['call', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly processorAttempts = new Counter({
    name: 'remit_processor_attempts_total',
    help: 'Attempts of calls to the card processor, by call, attempt number (1 is the first) and outcome.',
    labelNames: ['call', 'attempt', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly processorDuration = new Histogram({
    name: 'remit_processor_call_duration_seconds',
    help: 'Duration of calls to the card processor, retries and backoff included, by call.',
    labelNames: ['call'] as const,
    buckets: PROCESSOR_DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly processorCircuit = new Gauge({
    name: 'remit_processor_circuit_state',
    help: 'The processor circuit breaker\'s state: 1 for the current state (closed, half_open, open), 0 for the others.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly insuranceMode = new Gauge({
    name: 'remit_rate_limit_insurance_mode',
    help: '1 while quotas configured to be shared through Redis are counted in this process\'s memory (Redis unreachable), else 0.',
    registers: [this.registry],
  });

  readonly insuranceDecisions = new Counter({
    name: 'remit_rate_limit_insurance_decisions_total',
    help: 'Rate-limit decisions made in memory because Redis could not make them.',
    registers: [this.registry],
  });

  readonly redisDuration = new Histogram({
    name: 'remit_redis_command_duration_seconds',
    help: 'Redis round trips, by command (`rate_limit`: counting one request against one quota; `ping`: a probe).',
    labelNames: ['command'] as const,
    buckets: REDIS_DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly dbPoolConnections = new Gauge({
    name: 'remit_db_pool_connections',
    help: 'Database connections in the pool, by state (used, free).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly dbPoolPending = new Gauge({
    name: 'remit_db_pool_pending_acquires',
    help: 'Queries waiting for a database connection from the pool.',
    registers: [this.registry],
  });

  /** Read at scrape time: the state of things that are not events (the breaker, the pool, Redis). */
  private readonly probes: (() => void)[] = [];

  private readonly process?: Registry;

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics !== false) this.process = processMetrics();
    // Reconciliation's counters start at zero, so an instance's first failed run or first
    // discrepancy is an increase `increase()` sees, not the birth of a series at 1.
    for (const outcome of RECONCILIATION_OUTCOMES) this.reconciliationRuns.inc({ outcome }, 0);
    for (const kind of DISCREPANCY_KINDS) this.reconciliationDiscrepancies.inc({ kind }, 0);
    for (const object of ['payment', 'refund']) this.reconciliationSettled.inc({ object }, 0);
  }

  /**
   * Starts the retry counter of every operation at zero, so the first retry of a storm is an
   * increase Prometheus's `rate()` sees, rather than the birth of a series whose first value it
   * cannot tell from a reset.
   */
  knowOperations(operationIds: readonly string[]): void {
    for (const operation of operationIds) this.httpRetried.inc({ operation }, 0);
  }

  /** Registers a probe run before every render (see `watchCircuit`, `watchPool`, `watchInsurance`). */
  private watch(probe: () => void): void {
    this.probes.push(probe);
  }

  /** The processor breaker's state, read at each scrape. */
  watchCircuit(state: () => CircuitStateName): void {
    this.watch(() => {
      const current = state();
      for (const s of CIRCUIT_STATES) this.processorCircuit.set({ state: s }, s === current ? 1 : 0);
    });
  }

  /** The rate limiter's insurance mode, read at each scrape. */
  watchInsurance(degraded: () => boolean): void {
    this.watch(() => this.insuranceMode.set(degraded() ? 1 : 0));
  }

  /** The database pool, read at each scrape. */
  watchPool(pool: () => { used: number; free: number; pending: number } | undefined): void {
    this.watch(() => {
      const state = pool();
      if (!state) return;
      this.dbPoolConnections.set({ state: 'used' }, state.used);
      this.dbPoolConnections.set({ state: 'free' }, state.free);
      this.dbPoolPending.set(state.pending);
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Runs every probe, so the gauges they set say what holds now. `render` does it before each
   * scrape; a reader of the metric objects themselves (the console's feed) calls it first.
   */
  readProbes(): void {
    for (const probe of this.probes) probe();
  }

  /** The text exposition format, every probe read first. */
  async render(): Promise<string> {
    this.readProbes();
    const own = await this.registry.metrics();
    return this.process ? `${await this.process.metrics()}\n${own}` : own;
  }
}

/** Seconds since `startedMs` (a `performance.now()` reading). */
export function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
