/**
 * The metrics table's render part, in a process of its own (started by `children.ts` with a
 * RenderConfig as its argument; answers once over IPC, then is stopped): what `GET /metrics` costs
 * to render on an instance that has seen every kind of request, against a fresh instance.
 *
 * The busy registry holds every label set a long-running, busy instance can accumulate: for every
 * operation in spec/openapi.yaml, every method it is served under (a GET also as HEAD), every
 * status class among its declared responses and, for an error status, every problem code of that
 * status (the spec's `ErrorCode` enum, each code's status from the error catalogue); the duration
 * histogram and the retry counter of every operation; every processor call × outcome, × attempt
 * 1–3 × attempt outcome, and its duration; every idempotent operation × outcome; every quota
 * policy's 429s; both Redis commands' durations; and the probes main.ts registers (breaker, pool,
 * insurance). The fresh registry is `new Metrics()` with nothing observed. Both include prom-client's
 * process and Node.js metrics, as every instance's `/metrics` does.
 */
import { errorCatalogue, type ErrorCode } from '../../src/platform/errors.js';
import {
  statusClass,
  Metrics,
  type IdempotencyOutcome,
  type ProcessorAttemptOutcome,
  type ProcessorCall,
  type ProcessorCallOutcome,
  type StatusClass,
} from '../../src/platform/metrics.js';
import type { PolicyName } from '../../src/platform/rate-limit.js';
import { loadSpec, operationsOf, resolveRef, type OpenApiDocument } from '../../src/platform/spec.js';
import type { RenderConfig, RenderMessage, RenderPopulation, RenderTiming } from './targets.js';

/** True when `Listed` names every member of `All`: a value the compiler refuses once a union grows. */
type Covers<All, Listed extends readonly unknown[]> = [Exclude<All, Listed[number]>] extends [never] ? true : never;

const IDEMPOTENCY_OUTCOMES = ['created', 'replayed', 'in_flight', 'key_reused', 'resumed', 'recovered', 'expired', 'unkeyed'] as const satisfies readonly IdempotencyOutcome[];
const PROCESSOR_CALLS = ['charge', 'capture', 'void', 'refund'] as const satisfies readonly ProcessorCall[];
const CALL_OUTCOMES = ['succeeded', 'refused', 'unavailable', 'circuit_open', 'contract_error'] as const satisfies readonly ProcessorCallOutcome[];
const ATTEMPT_OUTCOMES = ['ok', 'refused', 'timeout', 'connection', 'unavailable', 'internal', 'throttled', 'invalid'] as const satisfies readonly ProcessorAttemptOutcome[];
const POLICIES = ['read', 'write', 'account_read', 'account_write', 'admin', 'ops', 'auth', 'token'] as const satisfies readonly PolicyName[];
const complete: [
  Covers<IdempotencyOutcome, typeof IDEMPOTENCY_OUTCOMES>,
  Covers<ProcessorCall, typeof PROCESSOR_CALLS>,
  Covers<ProcessorCallOutcome, typeof CALL_OUTCOMES>,
  Covers<ProcessorAttemptOutcome, typeof ATTEMPT_OUTCOMES>,
  Covers<PolicyName, typeof POLICIES>,
] = [true, true, true, true, true];
void complete;

/** Attempts per processor call counted: the first and up to two retries. */
const ATTEMPTS = 3;
/** The methods observe.ts counts under their own name; a request that matches no operation may use any. */
const COUNTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/**
 * Durations observed into every histogram series: one in every bucket of the request histogram and
 * one beyond its last, so its bucket lines carry different counts and its sums a fraction. (The
 * Redis histogram gets them divided by 100, to spread them over its own, shorter buckets.)
 */
const DURATIONS_S = [0.0004, 0.0012, 0.003, 0.007, 0.012, 0.03, 0.07, 0.15, 0.3, 0.7, 1.5, 3, 7, 15, 45];

const config = JSON.parse(process.argv[2] ?? '') as RenderConfig;

function send(message: RenderMessage): void {
  process.send?.(message);
}

// Without the orchestrator nobody will stop this process: leave with it.
process.on('disconnect', () => process.exit());

interface RequestLabels {
  readonly operation: string;
  readonly method: string;
  readonly status_class: StatusClass;
  readonly code: string;
}

/** The spec's problem codes by HTTP status: the `ErrorCode` enum, each code's status from the error catalogue. */
function codesByStatus(doc: OpenApiDocument): Map<number, string[]> {
  const schema = resolveRef<{ enum?: unknown[] }>(doc, doc.components?.schemas?.ErrorCode);
  const codes = (schema.enum ?? []).map(String);
  if (codes.length === 0) throw new Error('spec/openapi.yaml: components.schemas.ErrorCode has no enum to read the problem codes from');
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const entry = errorCatalogue[code as ErrorCode] as { status: number } | undefined;
    if (!entry) throw new Error(`the ErrorCode ${code} has no entry in the error catalogue`);
    byStatus.set(entry.status, [...(byStatus.get(entry.status) ?? []), code]);
  }
  return byStatus;
}

/** Every label set of `remit_http_requests_total` a busy instance can have, and the operations and idempotent operations. */
function requestLabelSets(doc: OpenApiDocument): { readonly sets: RequestLabels[]; readonly operations: string[]; readonly idempotent: string[] } {
  const byStatus = codesByStatus(doc);
  const sets = new Map<string, RequestLabels>();
  const add = (labels: RequestLabels) => sets.set(JSON.stringify(labels), labels);
  const operations: string[] = [];
  const idempotent: string[] = [];
  for (const entry of operationsOf<{ responses?: Record<string, unknown>; parameters?: unknown[] }>(doc)) {
    const operation = entry.operationId;
    if (!operation) continue;
    operations.push(operation);
    const parameters = [...entry.pathParameters, ...(entry.operation.parameters ?? [])].map((p) => resolveRef<{ name?: string; in?: string }>(doc, p));
    if (parameters.some((p) => p.in === 'header' && p.name?.toLowerCase() === 'idempotency-key')) idempotent.push(operation);
    const methods = entry.method === 'get' ? ['GET', 'HEAD'] : [entry.method.toUpperCase()];
    for (const key of Object.keys(entry.operation.responses ?? {})) {
      // `4XX`-style ranges stand for every status of their class; `default` for any error.
      const statuses = /^[1-5]XX$/i.test(key)
        ? [...byStatus.keys()].filter((s) => String(s)[0] === key[0])
        : key === 'default'
          ? [...byStatus.keys()]
          : [Number(key)];
      for (const status of statuses) {
        const codes = status >= 400 ? (byStatus.get(status) ?? ['']) : [''];
        for (const method of methods) for (const code of codes) add({ operation, method, status_class: statusClass(status), code });
      }
    }
  }
  // Beyond the spec's operations: a request that matches none (any method, 404 or 405), and the reference page's files.
  for (const method of COUNTED_METHODS) {
    for (const code of ['route_not_found', 'method_not_allowed'] as const) {
      add({ operation: 'unmatched', method, status_class: statusClass(errorCatalogue[code].status), code });
    }
  }
  for (const method of ['GET', 'HEAD']) {
    for (const [status, code] of [[200, ''], [304, ''], [404, 'route_not_found']] as const) add({ operation: 'static', method, status_class: statusClass(status), code });
  }
  return { sets: [...sets.values()], operations, idempotent };
}

/** A count that differs from series to series, so the numbers rendered have as many digits as a long-running instance's. */
function countFor(i: number): number {
  return 1 + ((i * 7919) % 250_000);
}

function observeAll(observe: (seconds: number) => void): void {
  for (const seconds of DURATIONS_S) observe(seconds);
}

/** A Metrics with every series a busy instance can have, and what was put in it. */
function busyMetrics(): { readonly metrics: Metrics; readonly population: RenderPopulation } {
  const doc = loadSpec();
  const { sets, operations, idempotent } = requestLabelSets(doc);
  const metrics = new Metrics();
  sets.forEach((labels, i) => metrics.httpRequests.inc(labels, countFor(i)));
  const everyOperation = [...operations, 'unmatched', 'static'];
  everyOperation.forEach((operation, i) => {
    observeAll((s) => metrics.httpDuration.observe({ operation }, s));
    metrics.httpRetried.inc({ operation }, countFor(i));
  });
  metrics.httpInFlight.set(12);
  POLICIES.forEach((policy, i) => metrics.rateLimited.inc({ policy }, countFor(i)));
  let n = 0;
  for (const operation of idempotent) for (const outcome of IDEMPOTENCY_OUTCOMES) metrics.idempotency.inc({ operation, outcome }, countFor(n++));
  metrics.unfinishedKeys.set(3);
  for (const call of PROCESSOR_CALLS) {
    for (const outcome of CALL_OUTCOMES) metrics.processorCalls.inc({ call, outcome }, countFor(n++));
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      for (const outcome of ATTEMPT_OUTCOMES) metrics.processorAttempts.inc({ call, attempt: String(attempt), outcome }, countFor(n++));
    }
    observeAll((s) => metrics.processorDuration.observe({ call }, s));
  }
  metrics.insuranceDecisions.inc(17);
  for (const command of ['rate_limit', 'ping']) observeAll((s) => metrics.redisDuration.observe({ command }, s / 100));
  // The probes main.ts's wiring registers: the breaker (processor client), the pool (createApp), the insurance (RateLimits with Redis).
  metrics.watchCircuit(() => 'closed');
  metrics.watchPool(() => ({ used: 3, free: 7, pending: 0 }));
  metrics.watchInsurance(() => false);
  return {
    metrics,
    population: {
      operations: operations.length,
      requestLabelSets: sets.length,
      idempotentOperations: idempotent,
      policies: [...POLICIES],
      codesFrom:
        "each operation's declared response statuses in spec/openapi.yaml; for an error status, every code of the spec's ErrorCode enum with that status in the error catalogue (src/platform/errors.ts)",
      beyondSpec: '`unmatched` × 7 methods × (404 route_not_found, 405 method_not_allowed); `static` × GET, HEAD × (2xx, 3xx, 404 route_not_found)',
    },
  };
}

/** Sample lines in an exposition: neither a comment (`# HELP`, `# TYPE`) nor empty. */
function seriesOf(text: string): { readonly series: number; readonly ownSeries: number } {
  const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return { series: samples.length, ownSeries: samples.filter((line) => line.startsWith('remit_')).length };
}

async function timedRender(metrics: Metrics): Promise<number> {
  const started = performance.now();
  await metrics.render();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const { metrics: busy, population } = busyMetrics();
  const fresh = new Metrics();
  const registries = { busy, fresh } as const;
  const names = ['busy', 'fresh'] as const;
  for (let i = 0; i < config.warmUp; i++) for (const name of names) await registries[name].render();
  const ms: Record<(typeof names)[number], number[]> = { busy: [], fresh: [] };
  const orders: string[][] = [];
  const perRound = Math.ceil(config.renders / config.rounds);
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? names : ([...names].reverse() as typeof names[number][]);
    orders.push([...order]);
    for (const name of order) {
      for (let i = 0; i < perRound && ms[name].length < config.renders; i++) ms[name].push(await timedRender(registries[name]));
    }
  }
  const timing = async (name: (typeof names)[number]): Promise<RenderTiming> => {
    const text = await registries[name].render();
    return { ms: ms[name], ...seriesOf(text), bytes: Buffer.byteLength(text) };
  };
  send({ type: 'result', busy: await timing('busy'), fresh: await timing('fresh'), population, orders });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
});
