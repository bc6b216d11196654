/**
 * `npm run bench:webhooks`: how long after a state change commits does the first attempt of its
 * webhook reach the receiver, at a steady event rate, and what the relay's poll interval
 * (WEBHOOK_RELAY_INTERVAL_MS) costs in that time.
 *
 * One process holds the real app from `createApp` (its relay, started as main.ts starts it, and its
 * sender), a producer writing events through `recordEvent` at a fixed rate, one transaction each,
 * and a receiver on 127.0.0.1 answering 204: producer and receiver read the same clock
 * (`performance.now()`). Each relay interval has an app of its own and is measured in every run, in
 * alternating order, each time with a new account and endpoint; the table gives the median over
 * the runs and the ratio to the first interval (the API's default). Nothing about time is asserted; an event committed but never
 * delivered by the end of the drain fails the run (status 1).
 *
 * PostgreSQL when DATABASE_URL is set (a schema of the run's own, dropped at the end), embedded
 * PGlite in memory otherwise. Results on stdout, progress on stderr. See bench/README.md.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { z } from 'zod';
import { knob, readKnobs } from '../scripts/harness/knobs.js';
import { createRunStorage, type RunStorage } from '../scripts/harness/storage.js';
import { createApp } from '../src/app.js';
import { recordEvent, type EventSource } from '../src/events/index.js';
import type { Payment } from '../src/payments/index.js';
import { configOrExit, loadConfig, LOG_LEVELS } from '../src/platform/config.js';
import { createDb, migrate, type Db } from '../src/platform/db.js';
import { newId, randomBase62 } from '../src/platform/ids.js';
import { createLogger } from '../src/platform/logger.js';
import { Metrics } from '../src/platform/metrics.js';
import { Lifecycle } from '../src/platform/shutdown.js';
import { loadSpec } from '../src/platform/spec.js';
import { createProcessorClient } from '../src/processor/client.js';

// What an instance runs with when nothing is set, read from the config schema itself, so the
// baseline row stays the API's default if the default changes.
const API_DEFAULTS = loadConfig({}, false);
const DEFAULT_INTERVAL_MS = API_DEFAULTS.webhooks.relay.intervalMs;

/** Relay intervals in ms, within the bounds WEBHOOK_RELAY_INTERVAL_MS accepts. */
const intervals = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined),
  z
    .array(z.coerce.number({ message: 'must list whole numbers of milliseconds' }).int('must list whole numbers of milliseconds').min(10, 'must list intervals of at least 10 ms').max(60_000, 'must list intervals of at most 60000 ms'))
    .min(1, 'must list at least one interval')
    .refine((list) => new Set(list).size === list.length, 'must not list an interval twice')
    .default([DEFAULT_INTERVAL_MS, 50, 1_000]),
);

const { DATABASE_URL } = configOrExit(() => readKnobs({ DATABASE_URL: knob.optional() }));
// Embedded PGlite is one connection inside this process, shared by the producer, the relay and the
// receiver: its relay delivered 25–75 events/s at most on two busy cores, so 200/s would measure a
// growing backlog rather than the relay. PostgreSQL keeps up with 200/s there.
const DEFAULT_RATE = DATABASE_URL ? 200 : 20;

const KNOBS = configOrExit(() =>
  readKnobs({
    BENCH_WEBHOOK_RATE: knob.int(1, 5_000, DEFAULT_RATE),
    BENCH_WEBHOOK_SECONDS: knob.number(1, 600, 15),
    BENCH_WEBHOOK_RUNS: knob.int(1, 50, 3),
    BENCH_WEBHOOK_WARMUP_S: knob.number(0, 60, 2),
    BENCH_WEBHOOK_DRAIN_S: knob.number(1, 600, 10),
    BENCH_WEBHOOK_INTERVALS: intervals,
    BENCH_WEBHOOK_CONCURRENCY: knob.int(1, 1_000, API_DEFAULTS.webhooks.relay.concurrency),
    BENCH_LOG_LEVEL: knob.choice(LOG_LEVELS, 'silent'),
  }),
);
const RATE = KNOBS.BENCH_WEBHOOK_RATE;
const SECONDS = KNOBS.BENCH_WEBHOOK_SECONDS;
const RUNS = KNOBS.BENCH_WEBHOOK_RUNS;
const WARMUP_S = KNOBS.BENCH_WEBHOOK_WARMUP_S;
const DRAIN_S = KNOBS.BENCH_WEBHOOK_DRAIN_S;
const INTERVALS = KNOBS.BENCH_WEBHOOK_INTERVALS;
const CONCURRENCY = KNOBS.BENCH_WEBHOOK_CONCURRENCY;
const POOL_MAX = API_DEFAULTS.database.poolMax;

// Open loop: an event is started when it is due, whether or not earlier ones have committed, so a
// slow commit shows as latency rather than as a lower rate. The cap only keeps a database that
// cannot keep up from queueing without bound (the rate achieved is printed).
const MAX_IN_FLIGHT = 64;
const DRAIN_POLL_MS = 10;

const started = performance.now();
let aborted = false;

function progress(message: string): void {
  console.error(`[webhooks ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isNaN(n) ? 'n/a' : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (value: number, base: number) => (base > 0 ? (value / base).toFixed(2) : 'n/a');
const sleep = (delayMs: number) => new Promise<void>((resolve) => setTimeout(resolve, delayMs));

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest rank: p99 of 3,000 samples is the 2,970th smallest. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((sorted.length * p) / 100) - 1)]!;
}

// ---- the receiver --------------------------------------------------------------------------------

interface Arrival {
  /** performance.now() when the first delivery of this webhook-id arrived. */
  readonly at: number;
  count: number;
}

/** Every run posts to a path of its own, so an arrival is counted for the run that caused it. */
class Receiver {
  readonly byPath = new Map<string, Map<string, Arrival>>();
  stray = 0;
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      // Taken on the request line and headers, before the body: the attempt has reached the receiver.
      const at = performance.now();
      const id = req.headers['webhook-id'];
      const arrivals = this.byPath.get(req.url ?? '');
      if (arrivals && typeof id === 'string') {
        const seen = arrivals.get(id);
        if (seen) seen.count += 1;
        else arrivals.set(id, { at, count: 1 });
      } else {
        this.stray += 1;
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(204);
        res.end();
      });
    });
    // Longer than any idle gap here (an interval, the pause between runs), so no first attempt races
    // the receiver closing a kept-alive connection: the schedule would retry it only 5 s later.
    this.server.keepAliveTimeout = 65_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    if (this.server.listening) await new Promise((resolve) => this.server.close(resolve));
  }
}

// ---- the storage ---------------------------------------------------------------------------------

interface Storage {
  readonly db: Db;
  readonly label: string;
  drop(): Promise<void>;
}

async function openStorage(): Promise<Storage> {
  if (!DATABASE_URL) {
    const db = createDb({});
    return { db, label: 'embedded PGlite in memory (one connection, in this process)', drop: () => db.destroy() };
  }
  const run: RunStorage = await createRunStorage('bench_webhooks', DATABASE_URL);
  const db = run.open(POOL_MAX);
  return {
    db,
    label: `${run.label} (dropped at the end), pool max ${POOL_MAX}`,
    drop: async () => {
      await db.destroy();
      await run.drop();
    },
  };
}

// ---- one measured run ----------------------------------------------------------------------------

interface RunResult {
  readonly intervalMs: number;
  /** Events whose transaction committed. */
  readonly events: number;
  readonly commitFailures: number;
  readonly firstCommitError: string | null;
  /** Committed events with at least one arrival. */
  readonly delivered: number;
  readonly undelivered: Undelivered;
  /** Arrivals beyond the first of a webhook-id. */
  readonly duplicates: number;
  /** Arrivals whose webhook-id is no event of this run. */
  readonly unknown: number;
  readonly latencies: number[];
  readonly commitToFanOut: number[];
  readonly fanOutToArrival: number[];
  /** The sender's own timing of each first attempt (request sent to answer read). */
  readonly attemptMs: number[];
  readonly commitTxMs: number[];
  readonly producedPerS: number;
  readonly deliveredPerS: number;
  /** How late the producer started an event, at worst, against its schedule. */
  readonly maxLagMs: number;
  readonly attempts: number;
  readonly drainMs: number;
}

interface Produced {
  readonly commits: Map<string, number>;
  readonly commitTxMs: number[];
  readonly failures: number;
  readonly firstError: string | null;
  readonly firstStart: number;
  readonly lastCommit: number;
  readonly maxLagMs: number;
}

/** A payment as `/v1` shows one, the snapshot a `payment.succeeded` event stores. */
function paymentSnapshot(): Payment {
  return {
    id: newId('pay'),
    object: 'payment',
    amount: 2_000,
    currency: 'EUR',
    status: 'succeeded',
    capture_method: 'automatic',
    customer: null,
    description: 'Webhook benchmark',
    statement_descriptor: null,
    metadata: { order: randomBase62(8) },
    amount_captured: 2_000,
    amount_refunded: 0,
    failure_code: null,
    failure_message: null,
    created: Math.floor(Date.now() / 1000),
  };
}

/** `seconds` × RATE events, each started at its slot and written in a transaction of its own. */
async function produce(db: Db, accountId: string, seconds: number): Promise<Produced> {
  const total = Math.max(1, Math.round(seconds * RATE));
  const periodMs = 1000 / RATE;
  const commits = new Map<string, number>();
  const commitTxMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let failures = 0;
  let firstError: string | null = null;
  let maxLagMs = 0;
  let lastCommit = 0;
  let sent = 0;
  const t0 = performance.now();
  while (sent < total && !aborted) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - t0) / periodMs) + 1);
    while (sent < due && inFlight.size < MAX_IN_FLIGHT) {
      maxLagMs = Math.max(maxLagMs, performance.now() - (t0 + sent * periodMs));
      const payment = paymentSnapshot();
      const source: EventSource = { accountId, requestId: newId('req'), idempotencyKey: null };
      const begun = performance.now();
      const write: Promise<void> = db
        .transaction((trx) => recordEvent(trx, source, 'payment.succeeded', payment))
        .then(
          () => {
            const committed = performance.now();
            commits.set(payment.id, committed);
            commitTxMs.push(committed - begun);
            lastCommit = Math.max(lastCommit, committed);
          },
          (err: unknown) => {
            failures += 1;
            firstError ??= err instanceof Error ? err.message : String(err);
          },
        )
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
      sent += 1;
    }
    if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    else if (sent < total) await sleep(Math.max(0, t0 + sent * periodMs - performance.now()));
  }
  await Promise.all(inFlight);
  return { commits, commitTxMs, failures, firstError, firstStart: t0, lastCommit, maxLagMs };
}

/** One app per relay interval, built once: the interval is fixed when `createApp` builds the relay. */
interface Instance {
  readonly intervalMs: number;
  readonly services: ReturnType<typeof createApp>['services'];
  /** The app listening on 127.0.0.1, for the endpoint's creation and deletion through the API. */
  readonly apiUrl: string;
  readonly api: Server;
}

async function startInstance(db: Db, spec: ReturnType<typeof loadSpec>, intervalMs: number): Promise<Instance> {
  const { app, services } = createApp({
    db,
    log: createLogger(KNOBS.BENCH_LOG_LEVEL),
    lifecycle: new Lifecycle(),
    adminToken: randomBase62(32),
    validateResponses: false,
    bodyLimitBytes: 64 * 1024,
    // Never called: nothing here charges. Nothing listens on port 1.
    processor: createProcessorClient({ url: 'http://127.0.0.1:1', timeoutMs: 500, maxRetries: 0, breakerThreshold: 5, breakerHalfOpenMs: 5_000 }),
    idempotency: API_DEFAULTS.idempotency,
    // As main.ts builds an instance by default: metrics on, so the relay counts and refreshes its
    // backlog gauges as it would in production. Rate limits off.
    metrics: new Metrics(),
    // The validator annotates the document it is given: each app gets a copy of its own.
    spec: structuredClone(spec),
    webhooks: { ...API_DEFAULTS.webhooks, allowPrivateTargets: true, relay: { intervalMs, concurrency: CONCURRENCY } },
  });
  const api = createServer(app);
  await new Promise<void>((resolve, reject) => {
    api.once('error', reject);
    api.listen(0, '127.0.0.1', resolve);
  });
  return { intervalMs, services, api, apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}` };
}

async function stopInstance(instance: Instance): Promise<void> {
  const { api, services } = instance;
  api.closeAllConnections();
  if (api.listening) await new Promise((resolve) => api.close(resolve));
  await services.webhookRelay.stop();
  services.webhookSender.close();
  await services.idempotencyJobs.stop();
  await services.apiKeys.close();
}

async function callApi(instance: Instance, method: string, path: string, secret: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${instance.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as unknown;
}

interface Undelivered {
  /** Still `fanned_out = false` when the relay stopped. */
  notFannedOut: number;
  /** A delivery row still pending: the relay had not reached it. */
  pending: number;
  /** Recorded as delivered (or failed) by the relay, yet never seen by the receiver: lost. */
  settledUnseen: number;
  /** Fanned out without a delivery row for the endpoint: lost. */
  noDelivery: number;
}

/** One measured run: a fresh account and endpoint on the instance, `seconds` of events, the drain. */
async function measureRun(db: Db, receiver: Receiver, receiverUrl: string, instance: Instance, seconds: number, label: string): Promise<RunResult> {
  const { services, intervalMs } = instance;
  const account = await services.accounts.create(`Webhook benchmark ${label}`);
  const secret = account.api_key.secret;
  const path = `/hooks/${randomBase62(12)}`;
  const arrivals = new Map<string, Arrival>();
  receiver.byPath.set(path, arrivals);
  const endpoint = (await callApi(instance, 'POST', '/v1/webhook_endpoints', secret, {
    url: `${receiverUrl}${path}`,
    enabled_events: ['*'],
    description: `benchmark, relay every ${intervalMs} ms`,
  })) as { id: string };

  services.webhookRelay.start();
  let produced: Produced;
  let drainMs: number;
  try {
    produced = await produce(db, account.account.id, seconds);
    // The drain: every committed event's first attempt, or the deadline.
    const drainStart = performance.now();
    while (arrivals.size < produced.commits.size && performance.now() - drainStart < DRAIN_S * 1000 && !aborted) await sleep(DRAIN_POLL_MS);
    drainMs = performance.now() - drainStart;
  } finally {
    await services.webhookRelay.stop();
  }

  // The database says which event carried which payment (recordEvent makes the event id), when the
  // relay fanned it out (the delivery row's created_at: the fan-out transaction's start) and what
  // the sender timed for the first attempt's request and answer.
  const rows: {
    id: string;
    object_id: string;
    fanned_out: boolean;
    fanned_out_at: Date | null;
    status: string | null;
    attempt_count: number | null;
    attempts: { latency_ms: number }[] | string | null;
  }[] = await db('events as e')
    .leftJoin('webhook_deliveries as d', function joinDelivery() {
      this.on('d.event_id', '=', 'e.id').andOnVal('d.endpoint_id', '=', endpoint.id);
    })
    .where('e.account_id', account.account.id)
    .select('e.id', 'e.object_id', 'e.fanned_out', 'd.created_at as fanned_out_at', 'd.status', 'd.attempt_count', 'd.attempts');
  // The next run starts without this one's leftovers: deleting the endpoint deletes its deliveries.
  await callApi(instance, 'DELETE', `/v1/webhook_endpoints/${endpoint.id}`, secret);
  receiver.byPath.delete(path);

  const latencies: number[] = [];
  const commitToFanOut: number[] = [];
  const fanOutToArrival: number[] = [];
  const attemptMs: number[] = [];
  const undelivered: Undelivered = { notFannedOut: 0, pending: 0, settledUnseen: 0, noDelivery: 0 };
  const eventIds = new Set<string>();
  let lastFirstArrival = 0;
  let attempts = 0;
  for (const row of rows) {
    eventIds.add(row.id);
    attempts += row.attempt_count ?? 0;
    const record = (typeof row.attempts === 'string' ? (JSON.parse(row.attempts) as { latency_ms: number }[]) : row.attempts)?.[0];
    if (record) attemptMs.push(record.latency_ms);
    const committed = produced.commits.get(row.object_id);
    const arrival = arrivals.get(row.id);
    if (committed === undefined) continue;
    if (!arrival) {
      if (!row.fanned_out) undelivered.notFannedOut += 1;
      else if (row.status === null) undelivered.noDelivery += 1;
      else if (row.status === 'pending') undelivered.pending += 1;
      else undelivered.settledUnseen += 1;
      continue;
    }
    latencies.push(arrival.at - committed);
    lastFirstArrival = Math.max(lastFirstArrival, arrival.at);
    if (row.fanned_out_at) {
      // The database's clock against this process's: the same machine's, to about a millisecond.
      const fannedOut = row.fanned_out_at.getTime() - performance.timeOrigin;
      commitToFanOut.push(fannedOut - committed);
      fanOutToArrival.push(arrival.at - fannedOut);
    }
  }
  let duplicates = 0;
  let unknown = 0;
  for (const [id, arrival] of arrivals) {
    if (eventIds.has(id)) duplicates += arrival.count - 1;
    else unknown += arrival.count;
  }
  const produceSpanS = (produced.lastCommit - produced.firstStart) / 1000;
  const deliverSpanS = (lastFirstArrival - produced.firstStart) / 1000;
  return {
    intervalMs,
    events: produced.commits.size,
    commitFailures: produced.failures,
    firstCommitError: produced.firstError,
    delivered: latencies.length,
    undelivered,
    duplicates,
    unknown,
    latencies,
    commitToFanOut,
    fanOutToArrival,
    attemptMs,
    commitTxMs: produced.commitTxMs,
    producedPerS: produceSpanS > 0 ? produced.commits.size / produceSpanS : Number.NaN,
    deliveredPerS: deliverSpanS > 0 ? latencies.length / deliverSpanS : Number.NaN,
    maxLagMs: produced.maxLagMs,
    attempts,
    drainMs,
  };
}

const maxOf = (values: readonly number[]) => (values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b), -Infinity));

function describeRow(r: RunResult): string {
  return (
    `${int(r.delivered)}/${int(r.events)} delivered, p50 ${ms(percentile(r.latencies, 50))} / p99 ${ms(percentile(r.latencies, 99))} / max ${ms(maxOf(r.latencies))} ms, ` +
    `${r.deliveredPerS.toFixed(0)} deliveries/s, ${r.producedPerS.toFixed(0)} events/s produced`
  );
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.once('SIGINT', () => {
    aborted = true;
    progress('interrupted: finishing the current run, then cleaning up');
  });
  const baseline = INTERVALS[0]!;
  const loadS = INTERVALS.length * RUNS * SECONDS + WARMUP_S;
  progress(`${INTERVALS.length} relay intervals (${INTERVALS.join(', ')} ms) × ${RUNS} runs × ${SECONDS} s at ${RATE} events/s: about ${Math.round(loadS)} s of load, and the drains`);

  const storage = await openStorage();
  const receiver = new Receiver();
  const instances: Instance[] = [];
  const results = new Map<number, RunResult[]>(INTERVALS.map((i) => [i, []]));
  const warmups: RunResult[] = [];
  let version = '';
  const loadBefore = os.loadavg()[0]!;
  try {
    progress(`storage: ${storage.label}`);
    await migrate(storage.db);
    version = ((await storage.db.raw('select version() as v')).rows[0] as { v: string }).v.split(',')[0]!;
    const receiverUrl = await receiver.listen();
    const spec = loadSpec();
    for (const intervalMs of INTERVALS) instances.push(await startInstance(storage.db, spec, intervalMs));
    const instanceOf = (intervalMs: number) => instances.find((i) => i.intervalMs === intervalMs)!;
    progress(`${instances.length} apps built`);

    if (WARMUP_S > 0) {
      // Every app once, so no measured run pays for a validator compiled on first use or a pool filling up.
      for (const instance of instances) {
        const r = await measureRun(storage.db, receiver, receiverUrl, instance, WARMUP_S, `warm-up, ${instance.intervalMs} ms`);
        progress(`warm-up, relay every ${instance.intervalMs} ms: ${describeRow(r)}`);
        warmups.push(r);
      }
    }
    for (let run = 0; run < RUNS && !aborted; run++) {
      // Alternating order, so drift (other work on the machine, the tables growing) falls on every interval alike.
      const order = run % 2 === 0 ? INTERVALS : [...INTERVALS].reverse();
      for (const intervalMs of order) {
        if (aborted) break;
        const r = await measureRun(storage.db, receiver, receiverUrl, instanceOf(intervalMs), SECONDS, `run ${run + 1}, ${intervalMs} ms`);
        results.get(intervalMs)!.push(r);
        progress(`run ${run + 1}/${RUNS}, relay every ${intervalMs} ms: ${describeRow(r)}`);
      }
    }
  } finally {
    for (const instance of instances) await stopInstance(instance);
    await receiver.close();
    await storage.drop();
    progress(DATABASE_URL ? 'schema dropped' : 'database closed');
  }
  if (aborted) {
    process.exitCode = 130;
    return;
  }
  report({ storage, version, loadBefore, baseline, results, warmups, receiver });
}

interface ReportInput {
  readonly storage: Storage;
  readonly version: string;
  readonly loadBefore: number;
  readonly baseline: number;
  readonly results: Map<number, RunResult[]>;
  readonly warmups: readonly RunResult[];
  readonly receiver: Receiver;
}

function report({ storage, version, loadBefore, baseline, results, warmups, receiver }: ReportInput): void {
  const out: string[] = [];
  const print = (line = '') => out.push(line);
  const med = (rows: RunResult[], of: (r: RunResult) => number) => median(rows.map(of));
  const p50 = (r: RunResult) => percentile(r.latencies, 50);
  const p99 = (r: RunResult) => percentile(r.latencies, 99);
  const max = (r: RunResult) => maxOf(r.latencies);
  const base = results.get(baseline)!;
  const cpus = os.cpus();
  print(`# Webhook delivery latency — ${new Date().toISOString()}`);
  print();
  print(`- storage: ${storage.label}; ${version}`);
  print(`- machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? '?'}, Node ${process.version}, ${os.platform()} ${os.arch()}; load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`);
  print(
    `- load: ${RATE} events/s for ${SECONDS} s per run, each \`recordEvent\` (\`payment.succeeded\`, a payment snapshot) in a transaction of its own, started on schedule whether or not earlier ones had committed (at most ${MAX_IN_FLIGHT} at once); ${RUNS} runs, the intervals in alternating order${WARMUP_S > 0 ? `, after a ${WARMUP_S} s warm-up run of each` : ''}`,
  );
  print(
    `- app: one \`createApp\` per interval (rate limits off, metrics on), relay concurrency ${CONCURRENCY}, attempt timeout ${API_DEFAULTS.webhooks.timeoutMs} ms; per run a new account and one endpoint (\`enabled_events: ['*']\`, v2 payloads) created through \`POST /v1/webhook_endpoints\` and deleted after; the receiver answers 204 on 127.0.0.1 in the same process`,
  );
  print(`- latency: first arrival of the event's \`webhook-id\` at the receiver − the moment its transaction's promise resolved, one clock (\`performance.now()\`); drain up to ${DRAIN_S} s after the last event`);
  print();
  print(`| relay interval | events | delivered | p50 ms | p99 ms | max ms | p50 vs ${baseline} ms | p99 vs ${baseline} ms | deliveries/s |`);
  print('|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const [intervalMs, rows] of results) {
    const m50 = med(rows, p50);
    const m99 = med(rows, p99);
    print(
      `| ${intervalMs} ms${intervalMs === DEFAULT_INTERVAL_MS ? ' (default)' : ''} | ${int(med(rows, (r) => r.events))} | ${int(med(rows, (r) => r.delivered))} | ${ms(m50)} | ${ms(m99)} | ${ms(med(rows, max))} | ${ratio(m50, med(base, p50))} | ${ratio(m99, med(base, p99))} | ${med(rows, (r) => r.deliveredPerS).toFixed(0)} |`,
    );
  }
  print();
  print(
    `Each figure is the median over the ${RUNS} runs of that run's figure (events and delivered: per run). Ratios divide by the ${baseline} ms row's medians. deliveries/s: events delivered ÷ the time from the first event's start to the last first arrival.`,
  );
  print();
  print(
    "Where the time goes (medians over the runs; fan-out is the delivery row's `created_at`, the database's clock, so ±1 ms; the attempt is the sender's own timing of the first attempt; the drain is the time from the last commit until every event had arrived: about one interval when the relay keeps up, seconds when it has fallen behind and latency measures its backlog):",
  );
  print();
  print('| relay interval | commit transaction p50 ms | commit → fan-out p50 / p99 ms | fan-out → arrival p50 / p99 ms | attempt p50 / p99 ms | drain ms | events/s produced | producer late by, max ms | attempts per delivery |');
  print('|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const [intervalMs, rows] of results) {
    const pair = (of: (r: RunResult) => number[]) => `${ms(med(rows, (r) => percentile(of(r), 50)))} / ${ms(med(rows, (r) => percentile(of(r), 99)))}`;
    print(
      `| ${intervalMs} ms | ${ms(med(rows, (r) => percentile(r.commitTxMs, 50)))} | ${pair((r) => r.commitToFanOut)} | ${pair((r) => r.fanOutToArrival)} | ${pair((r) => r.attemptMs)} | ${ms(med(rows, (r) => r.drainMs))} | ${med(rows, (r) => r.producedPerS).toFixed(0)} | ${ms(med(rows, (r) => r.maxLagMs))} | ${med(rows, (r) => r.attempts / Math.max(1, r.delivered)).toFixed(2)} |`,
    );
  }
  print();
  print('Per run (delivered/events, p50 / p99 / max ms, deliveries/s):');
  print();
  const brief = (r: RunResult) => `${int(r.delivered)}/${int(r.events)} ${ms(p50(r))} / ${ms(p99(r))} / ${ms(max(r))} ${r.deliveredPerS.toFixed(0)}/s`;
  for (const [intervalMs, rows] of results) print(`- ${intervalMs} ms: ${rows.map(brief).join('; ')}`);
  if (warmups.length > 0) print(`- warm-up (${WARMUP_S} s each, not in the tables): ${warmups.map((r) => `${r.intervalMs} ms ${brief(r)}`).join('; ')}`);

  // ---- checks: at-least-once, counted at the receiver
  const all = [...warmups, ...[...results.values()].flat()];
  const sumOf = (of: (r: RunResult) => number) => all.reduce((total, r) => total + of(r), 0);
  const events = sumOf((r) => r.events);
  const delivered = sumOf((r) => r.delivered);
  const duplicates = sumOf((r) => r.duplicates);
  const unknown = sumOf((r) => r.unknown) + receiver.stray;
  const commitFailures = sumOf((r) => r.commitFailures);
  const missing = {
    pending: sumOf((r) => r.undelivered.pending),
    notFannedOut: sumOf((r) => r.undelivered.notFannedOut),
    settledUnseen: sumOf((r) => r.undelivered.settledUnseen),
    noDelivery: sumOf((r) => r.undelivered.noDelivery),
  };
  const failures: string[] = [];
  if (delivered < events) {
    failures.push(
      `${int(events - delivered)} of ${int(events)} committed events never reached the receiver within ${DRAIN_S} s of the last one: ` +
        `${int(missing.notFannedOut)} not yet fanned out and ${int(missing.pending)} still pending when the relay stopped (it fell behind: lower BENCH_WEBHOOK_RATE or raise BENCH_WEBHOOK_DRAIN_S), ` +
        `${int(missing.settledUnseen)} recorded as attempted but never received and ${int(missing.noDelivery)} fanned out without a delivery (lost)`,
    );
  }
  if (commitFailures > 0) failures.push(`${int(commitFailures)} event transactions failed (first: ${all.find((r) => r.firstCommitError)?.firstCommitError})`);
  if (unknown > 0) failures.push(`${int(unknown)} arrivals carried no webhook-id of an event of their run`);
  print();
  print(
    `Checks (warm-up included): ${int(delivered)} of ${int(events)} committed events delivered at least once; ${int(duplicates)} duplicate arrivals (a webhook-id seen again); ${int(unknown)} arrivals of no known event; ${int(commitFailures)} failed event transactions.`,
  );
  print();
  print(`Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  console.log(out.join('\n'));
  if (failures.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nWEBHOOK BENCHMARK CHECK FAILED:\n${failures.map((f) => `- ${f}`).join('\n')}\n${bar}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error('webhook benchmark failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(aborted ? 130 : 1);
});
