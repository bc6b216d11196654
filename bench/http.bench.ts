/**
 * `npm run bench`, four tables (see bench/README.md):
 *
 * - Read: requests per second and latency of `GET /v1/customers/{id}` through the full app,
 *   against bare node:http and bare Express answering the same JSON, and with the spec padded by a
 *   hundred resources, once through Remit's per-resource validators and once through a single
 *   validator over the whole document.
 * - Write: `POST /v1/payments` with a new Idempotency-Key per request, against a plain insert
 *   (`POST /v1/customers` without a key) and a replay of one used key; afterwards, the database and
 *   the processor simulator's ledger must show exactly one payment and one charge per key sent.
 * - Rate limits: the full app's `GET /v1/customers/{id}` with the rate limiter off, counting in
 *   memory, and counting in Redis, at quotas no run can use up: what the counting costs a read.
 * - Validation attack: the same read by one account's key, alone and while another account's key
 *   sends `POST /v1/api_keys` bodies of 32,000 integers where two enum strings are allowed, back to
 *   back over several connections, against the spec as is and against a copy without the bound on
 *   that array: what such bodies cost everyone else, with and without bounded request collections.
 *
 * Every server and the load generator run in processes of their own; the targets are measured in
 * rounds, in alternating order, and the report gives each target's median over the rounds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { randomBase62 } from '../src/platform/ids.js';
import { loadSpec } from '../src/platform/spec.js';
import {
  ATTACK_BASELINE,
  ATTACK_ITEMS,
  ATTACK_PATH,
  ATTACK_TARGET_IDS,
  ATTACK_TARGETS,
  attackBody,
  BENCH_QUOTA,
  CUSTOMER_FIELDS,
  LIMIT_BASELINE,
  LIMIT_TARGET_IDS,
  LIMIT_TARGETS,
  padSpec,
  pathCount,
  PAYMENT_REQUEST,
  TARGET_IDS,
  TARGETS,
  WRITE_BASELINE,
  WRITE_TARGET_IDS,
  WRITE_TARGETS,
  type AttackTargetId,
  type Audit,
  type AuditRequest,
  type KeyMode,
  type LimiterRequest,
  type LimiterState,
  type LimitTargetId,
  type LoadMessage,
  type LoadRequest,
  type RateLimitMode,
  type RunResult,
  type ServerConfig,
  type ServerMessage,
  type TargetId,
  type WriteTargetId,
} from './targets.js';

function envNumber(name: string, fallback: number, { integer }: { integer: boolean }): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'whole ' : ''}number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const DURATION_S = envNumber('BENCH_DURATION_S', 5, { integer: false });
const WARMUP_S = envNumber('BENCH_WARMUP_S', 2, { integer: false });
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50, { integer: true });
const ROUNDS = envNumber('BENCH_ROUNDS', 3, { integer: true });
const PAD_RESOURCES = envNumber('BENCH_PAD_RESOURCES', 100, { integer: true });
// The write table runs fewer, shorter rounds than the read table so that the whole benchmark stays
// within about five minutes on two cores; every write also grows the database the next one meets.
const WRITE_CONNECTIONS = envNumber('BENCH_WRITE_CONNECTIONS', 20, { integer: true });
const WRITE_DURATION_S = envNumber('BENCH_WRITE_DURATION_S', 4, { integer: false });
const WRITE_ROUNDS = envNumber('BENCH_WRITE_ROUNDS', 3, { integer: true });
// The attack table's victim is a client at a moderate load, not one that saturates the server alone.
const VICTIM_CONNECTIONS = envNumber('BENCH_ATTACK_VICTIM_CONNECTIONS', 4, { integer: true });
const ATTACKERS = envNumber('BENCH_ATTACKERS', 8, { integer: true });
// The attackers' pace, all connections together: by default the write quota of one key (200 per
// 10 s), the rate a single key may send inside its quota. 0: as fast as answers come back (a flood,
// which is what the quotas, set out of reach here, are for).
const ATTACK_RATE_PER_S = envNumber('BENCH_ATTACK_RATE', 20, { integer: true });
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL?.trim() || 'silent';
const DATABASE_URL = process.env.DATABASE_URL?.trim() || undefined;
// The production default of DATABASE_POOL_MAX, so the PostgreSQL rows show what a deployment gets.
const DB_POOL_MAX = 10;

// Several processes compile TypeScript and migrate a database at once on a small machine.
const READY_TIMEOUT_MS = 120_000;
// A run that has not reported this long after its duration is stuck, not slow.
const RUN_GRACE_MS = 30_000;
const PROBE_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const FORCED_EXIT_AFTER_SIGNAL_MS = 15_000;

const ROOT = path.resolve(import.meta.dirname, '..');
const SERVER_SCRIPT = path.join(import.meta.dirname, 'server.ts');
const LOAD_SCRIPT = path.join(import.meta.dirname, 'load.ts');

function selectedTargets(): { read: TargetId[]; write: WriteTargetId[]; limits: LimitTargetId[]; attack: AttackTargetId[] } {
  const raw = process.env.BENCH_TARGETS?.trim();
  if (!raw) return { read: TARGET_IDS, write: WRITE_TARGET_IDS, limits: LIMIT_TARGET_IDS, attack: ATTACK_TARGET_IDS };
  const wanted = raw.split(',').map((s) => s.trim());
  const known: string[] = [...TARGET_IDS, ...WRITE_TARGET_IDS, ...LIMIT_TARGET_IDS, ...ATTACK_TARGET_IDS];
  const unknown = wanted.filter((id) => !known.includes(id));
  if (unknown.length > 0) throw new Error(`BENCH_TARGETS: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`);
  // Table order stays the catalogue's, whatever order they were named in.
  return {
    read: TARGET_IDS.filter((id) => wanted.includes(id)),
    write: WRITE_TARGET_IDS.filter((id) => wanted.includes(id)),
    limits: LIMIT_TARGET_IDS.filter((id) => wanted.includes(id)),
    attack: ATTACK_TARGET_IDS.filter((id) => wanted.includes(id)),
  };
}

const startedAt = Date.now();
function progress(line: string): void {
  process.stderr.write(`[${String(Math.round((Date.now() - startedAt) / 1000)).padStart(3)} s] ${line}\n`);
}

// ---- child processes ----------------------------------------------------------------------------

const children = new Set<ChildProcess>();

function spawnChild(script: string, args: string[]): ChildProcess {
  const child = fork(script, args, {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    // Logs (BENCH_LOG_LEVEL) are written for real but not shown; errors still reach the terminal.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** The child's next IPC message; rejects if it exits or stays silent too long. */
function nextMessage<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: unknown) => settle(() => resolve(message as T));
    const onExit = (code: number | null, signal: string | null) => settle(() => reject(new Error(`${what}: process exited (${signal ?? `code ${code}`})`)));
    const timer = setTimeout(() => settle(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`))), timeoutMs);
    function settle(then: () => void): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      then();
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (!isRunning(child)) onExit(child.exitCode, child.signalCode);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  if ((await Promise.race([exited, grace])) === 'late' && isRunning(child)) {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

// Last resort when the normal path could not run: nothing this process started outlives it.
process.on('exit', () => {
  for (const child of children) if (isRunning(child)) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    process.exitCode = 130;
    // Killing the children makes whatever main() awaits fail, so its cleanup (schema drop) runs.
    void stopAll();
    setTimeout(() => process.exit(130), FORCED_EXIT_AFTER_SIGNAL_MS).unref();
  });
}

// ---- targets ------------------------------------------------------------------------------------

/** A target loaded with `GET /v1/customers/{id}`: the read table's, and the rate-limit table's. */
interface Target<Id extends string = TargetId> {
  readonly id: Id;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly specPaths: number | null;
  bodyBytes: number;
}

async function startServer(
  id: TargetId | WriteTargetId | LimitTargetId | AttackTargetId,
  schema: string | undefined,
  rateLimits: RateLimitMode = { mode: 'off' },
): Promise<{
  child: ChildProcess;
  port: number;
  path: string;
  headers: Record<string, string>;
  specPaths: number | null;
  attackerHeaders: Record<string, string> | undefined;
}> {
  const config: ServerConfig = {
    target: id,
    padResources: PAD_RESOURCES,
    logLevel: LOG_LEVEL,
    databaseUrl: DATABASE_URL,
    schema,
    dbPoolMax: DB_POOL_MAX,
    rateLimits,
  };
  const child = spawnChild(SERVER_SCRIPT, [JSON.stringify(config)]);
  const message = await nextMessage<ServerMessage>(child, READY_TIMEOUT_MS, `server ${id}`);
  if (message.type === 'error') throw new Error(`server ${id} failed to start:\n${message.message}`);
  if (message.type !== 'ready') throw new Error(`server ${id} sent ${message.type} before it was ready`);
  return {
    child,
    port: message.port,
    path: message.path,
    headers: message.headers,
    specPaths: message.specPaths,
    attackerHeaders: message.attackerHeaders,
  };
}

async function startTarget(id: TargetId, schema: string | undefined): Promise<Target> {
  const server = await startServer(id, schema);
  return { id, url: `http://127.0.0.1:${server.port}${server.path}`, headers: server.headers, specPaths: server.specPaths, bodyBytes: 0 };
}

/**
 * One request before any load: a target that answers anything but the customer would be measured
 * for nothing. Returns the answer's headers for the rate-limit table's own check.
 */
async function probe(target: Target<string>): Promise<Headers> {
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  let body: { object?: unknown; email?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // reported below
  }
  if (res.status !== 200 || !type.startsWith('application/json') || body.object !== 'customer' || body.email !== CUSTOMER_FIELDS.email) {
    throw new Error(`${target.id}: GET ${target.url} answered ${res.status} ${type}: ${text.slice(0, 500)}`);
  }
  target.bodyBytes = Buffer.byteLength(text);
  return res.headers;
}

/** One autocannon run of the customer GET, failures included in the result. */
async function runGet(
  load: ChildProcess,
  target: Target<string>,
  durationS: number,
  { connections = CONNECTIONS, timeoutS, waits }: { connections?: number; timeoutS?: number; waits?: boolean } = {},
): Promise<RunResult> {
  const request: LoadRequest = {
    type: 'run',
    url: target.url,
    method: 'GET',
    headers: target.headers,
    keys: { mode: 'none' },
    connections,
    durationS,
    ...(timeoutS !== undefined ? { timeoutS } : {}),
    ...(waits ? { waits } : {}),
  };
  const answer = nextMessage<LoadMessage>(load, durationS * 1000 + RUN_GRACE_MS, `load on ${target.id}`);
  load.send(request);
  const message = await answer;
  if (message.type === 'error') throw new Error(`load on ${target.id} failed: ${message.message}`);
  return message.result;
}

/** A read-table run: one with any failure stops the benchmark. */
async function runLoad(load: ChildProcess, target: Target, durationS: number): Promise<RunResult> {
  const r = await runGet(load, target, durationS);
  // A run with failures would measure error handling, not the route: stop rather than report it.
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
    throw new Error(`${target.id}: ${r.non2xx} non-2xx responses, ${r.errors} errors, ${r.timeouts} timeouts in ${r.requests} requests`);
  }
  return r;
}

// ---- report -------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

const loadAverage = (avg: number[]) => avg.map((n) => n.toFixed(2)).join(' / ');

interface Medians {
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function mediansOf<Id extends string>(targets: readonly { readonly id: Id }[], results: Map<Id, RunResult[]>): Map<Id, Medians> {
  return new Map(
    targets.map((t) => {
      const runs = results.get(t.id)!;
      return [t.id, { reqPerS: median(runs.map((r) => r.reqPerS)), p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)) }];
    }),
  );
}

/** Every round's raw numbers and the order the targets ran in, so the medians can be checked. */
function roundLines<Id extends string>(targets: readonly { readonly id: Id }[], results: Map<Id, RunResult[]>, orders: Id[][], rounds: number): string[] {
  return [
    'Per round (req/s, p50 ms, p99 ms, requests):',
    '',
    `| target | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|${'---|'.repeat(rounds)}`,
    ...targets.map(
      (t) => `| \`${t.id}\` | ${results.get(t.id)!.map((r) => `${int(r.reqPerS)} req/s, ${ms(r.p50Ms)}, ${ms(r.p99Ms)}, ${int(r.requests)}`).join(' | ')} |`,
    ),
    '',
    'Order of the runs:',
    '',
    ...orders.map((order, i) => `- round ${i + 1}: ${order.join(' → ')}`),
  ];
}

function storageLine(): string {
  if (!DATABASE_URL) return 'embedded PGlite in memory, inside each full-app server process';
  const url = new URL(DATABASE_URL);
  url.password = '';
  return `PostgreSQL at ${url.toString()}, one throwaway schema per full-app server (dropped at the end), pool max ${DB_POOL_MAX}`;
}

function report(targets: Target[], results: Map<TargetId, RunResult[]>, orders: TargetId[][], loadBefore: number[]): string {
  const realPaths = pathCount(loadSpec());
  const paddedPaths = pathCount(padSpec(loadSpec(), PAD_RESOURCES));
  const cpus = os.cpus();
  const bodySizes = [...new Set(targets.map((t) => t.bodyBytes))];
  const medians = mediansOf(targets, results);
  const ratio = (id: TargetId, base: TargetId) => {
    const baseline = medians.get(base);
    return baseline ? (medians.get(id)!.reqPerS / baseline.reqPerS).toFixed(2) : 'n/a';
  };

  const lines = [
    '## HTTP benchmark: GET /v1/customers/{id}',
    '',
    `- Load: autocannon 9 in its own process, ${CONNECTIONS} connections, pipelining 1, ${DURATION_S} s per measured run; one ${WARMUP_S} s warm-up per target before its first run`,
    `- Rounds: ${ROUNDS}, targets in alternating order (forward, then backward, …); each figure is the median over the rounds`,
    `- Storage for the full-app rows: ${storageLine()}`,
    `- Spec: spec/openapi.yaml has ${realPaths} paths as is; the padded copy has ${paddedPaths} (${PAD_RESOURCES} synthetic resources \`/v1/bench_pad_NNN\` and \`/v1/bench_pad_NNN/{id}\`, sorted ahead of /v1/customers)`,
    `- Every row with validators validates requests and responses; app log level: ${LOG_LEVEL}; each server in its own process on 127.0.0.1`,
    `- Response body: ${bodySizes.join(' / ')} bytes${bodySizes.length === 1 ? ' from every target' : ''}; latency resolution: 1 ms (autocannon)`,
    `- Machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'})`,
    // Other work on the machine shows up in every figure; the load average says how much there was.
    `- Load average (1/5/15 min) before the first run: ${loadAverage(loadBefore)}; after the last: ${loadAverage(os.loadavg())}`,
    '',
    '| target | req/s (median) | p50 ms | p99 ms | ratio vs bare Express (req/s) | ratio vs node:http |',
    '|---|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      return `| \`${t.id}\` ${TARGETS[t.id].label} | ${int(m.reqPerS)} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ${ratio(t.id, 'express')} | ${ratio(t.id, 'node-http')} |`;
    }),
    '',
    ...roundLines(targets, results, orders, ROUNDS),
  ];
  return lines.join('\n');
}

// ---- write targets ------------------------------------------------------------------------------

// Resending the keys a run cut off waits out the server's Retry-After when the first attempt is still running.
const RESEND_GRACE_MS = 60_000;
const AUDIT_TIMEOUT_MS = 60_000;
// Every key of this benchmark starts with it, so no key can collide with one an earlier run left behind.
const RUN_ID = randomBase62(10);
let keyBatch = 0;

interface WriteTarget {
  readonly id: WriteTargetId;
  readonly child: ChildProcess;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** `payment-replay`: the one key every request sends. */
  readonly fixedKey: string | undefined;
  /** The probe's requests, sent before any load: keys used, 201s, replays among them. */
  readonly probe: { keys: number; created: number; replayed: number };
  /** Every run, warm-up included, for the checks; the measured ones are in the results map too. */
  readonly runs: RunResult[];
}

async function startWriteTarget(id: WriteTargetId, schema: string | undefined): Promise<WriteTarget> {
  const server = await startServer(id, schema);
  const spec = WRITE_TARGETS[id];
  return {
    id,
    child: server.child,
    url: `http://127.0.0.1:${server.port}${spec.path}`,
    headers: { ...server.headers, 'content-type': 'application/json' },
    body: JSON.stringify(spec.path === '/v1/payments' ? PAYMENT_REQUEST : CUSTOMER_FIELDS),
    fixedKey: spec.keys === 'fixed' ? `bench-${RUN_ID}-replayed` : undefined,
    probe: { keys: 0, created: 0, replayed: 0 },
    runs: [],
  };
}

interface Answer {
  readonly status: number;
  readonly replayed: boolean;
  readonly body: { object?: unknown; status?: unknown; id?: unknown };
  readonly text: string;
}

async function post(target: WriteTarget, key: string | undefined): Promise<Answer> {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: key === undefined ? target.headers : { ...target.headers, 'idempotency-key': key },
    body: target.body,
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // reported by the caller
  }
  return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body, text };
}

/**
 * Before any load, each write target must do what it is measured doing: create a customer, create
 * a succeeded payment, or (the replay target) create one and replay it for the same key.
 */
async function probeWrite(target: WriteTarget): Promise<void> {
  const fail = (what: string, answer: Answer): never => {
    throw new Error(`${target.id}: POST ${target.url} ${what}; it answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  };
  const keys = WRITE_TARGETS[target.id].keys;
  if (keys === 'none') {
    const answer = await post(target, undefined);
    if (answer.status !== 201 || answer.body.object !== 'customer' || answer.replayed) fail('did not create a customer', answer);
    target.probe.created++;
    return;
  }
  const key = target.fixedKey ?? `bench-${RUN_ID}-probe`;
  target.probe.keys++;
  const first = await post(target, key);
  if (first.status !== 201 || first.body.object !== 'payment' || first.body.status !== 'succeeded' || first.replayed) {
    fail('did not create a succeeded payment', first);
  }
  target.probe.created++;
  if (keys === 'fixed') {
    const again = await post(target, key);
    if (again.status !== 201 || !again.replayed || again.body.id !== first.body.id) fail('did not replay the payment it had just created', again);
    target.probe.created++;
    target.probe.replayed++;
  }
}

/** One autocannon run of POSTs. Failures are counted and reported with the table, not thrown. */
async function runWrite(load: ChildProcess, target: WriteTarget, durationS: number): Promise<RunResult> {
  const mode = WRITE_TARGETS[target.id].keys;
  const keys: KeyMode =
    mode === 'unique' ? { mode, prefix: `bench-${RUN_ID}-${++keyBatch}` } : mode === 'fixed' ? { mode, key: target.fixedKey! } : { mode };
  const request: LoadRequest = {
    type: 'run',
    url: target.url,
    method: 'POST',
    headers: target.headers,
    body: target.body,
    keys,
    connections: WRITE_CONNECTIONS,
    durationS,
  };
  const answer = nextMessage<LoadMessage>(load, durationS * 1000 + RUN_GRACE_MS + RESEND_GRACE_MS, `load on ${target.id}`);
  load.send(request);
  const message = await answer;
  if (message.type === 'error') throw new Error(`load on ${target.id} failed: ${message.message}`);
  target.runs.push(message.result);
  return message.result;
}

async function auditOf(target: WriteTarget): Promise<Audit> {
  const answer = nextMessage<ServerMessage>(target.child, AUDIT_TIMEOUT_MS, `audit of ${target.id}`);
  target.child.send({ type: 'audit' } satisfies AuditRequest);
  const message = await answer;
  if (message.type !== 'audit') throw new Error(`audit of ${target.id} failed: ${message.type === 'error' ? message.message : message.type}`);
  return message.audit;
}

interface Check {
  readonly ok: boolean;
  readonly line: string;
  readonly detail: string;
}

const sum = <T>(items: readonly T[], of: (item: T) => number) => items.reduce((total, item) => total + of(item), 0);
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** The failures any run had: the table shows them, and any at all fails the benchmark. */
function failuresCheck(target: { readonly id: string; readonly runs: readonly RunResult[] }): Check {
  const non2xx = sum(target.runs, (r) => r.non2xx);
  const errors = sum(target.runs, (r) => r.errors);
  const timeouts = sum(target.runs, (r) => r.timeouts);
  const statuses = new Map<string, number>();
  for (const run of target.runs) {
    for (const [status, n] of Object.entries(run.statuses)) if (!status.startsWith('2')) statuses.set(status, (statuses.get(status) ?? 0) + n);
  }
  const byStatus = [...statuses].map(([status, n]) => `${status} ×${n}`).join(', ');
  return {
    ok: non2xx === 0 && errors === 0 && timeouts === 0,
    line: `${target.id}: ${non2xx} non-2xx${byStatus ? ` (${byStatus})` : ''}, ${errors} errors, ${timeouts} timeouts`,
    detail: `in ${sum(target.runs, (r) => r.requests)} responses over ${target.runs.length} runs, warm-up included`,
  };
}

/**
 * Counts from three places that must agree: the keys the load process sent (and what each got),
 * the rows in the target's database, and the charges in its simulator's ledger.
 */
function outcomeCheck(target: WriteTarget, audit: Audit): Check {
  const runs = target.runs;
  const requests = sum(runs, (r) => r.requests);
  const created = sum(runs, (r) => r.created);
  const replayed = sum(runs, (r) => r.replayed);
  switch (WRITE_TARGETS[target.id].keys) {
    case 'unique': {
      const keys = runs.flatMap((r) => (r.keys ? [r.keys] : []));
      const sent = target.probe.keys + sum(keys, (k) => k.sent);
      const answeredUnderLoad = sum(keys, (k) => k.answered201);
      const cutOff = sum(keys, (k) => k.cutOff);
      const resentReplayed = sum(keys, (k) => k.retriedReplayed);
      const resentNew = sum(keys, (k) => k.retriedNew);
      const resentFailed = keys.flatMap((k) => k.retriedFailed);
      const answeredOther = sum(keys, (k) => k.answeredOther);
      // Every key sent ends with one 201: under load, or on the resend of a cut-off request.
      const answered = target.probe.created + answeredUnderLoad + resentReplayed + resentNew;
      const perKey = [
        audit.payments,
        audit.paymentKeys,
        audit.paymentKeysFinishedWithPayment,
        audit.distinctPaymentsOfKeys,
        audit.paymentsChargedOnce,
        audit.chargeOperations,
        audit.charges,
      ];
      const ok =
        answered === sent &&
        answeredUnderLoad === created &&
        replayed === 0 &&
        answeredOther === 0 &&
        resentFailed.length === 0 &&
        audit.chargesWithoutPayment === 0 &&
        perKey.every((n) => n === sent);
      return {
        ok,
        line: `exactly once: ${count(sent, 'request')}, ${count(audit.payments, 'payment')}, ${count(audit.chargeOperations, 'charge')}`,
        detail: [
          `${sent} distinct keys sent = ${target.probe.keys} probe + ${answeredUnderLoad} answered 201 under load (autocannon counted ${created} 201s, ${replayed} of them replays)`,
          `+ ${cutOff} cut off when a run ended and resent with the same key (${resentReplayed} replayed the stored payment, ${resentNew} created it on the resend, ${resentFailed.length} failed${resentFailed.length > 0 ? `: ${resentFailed.slice(0, 5).join('; ')}` : ''})` +
            `${answeredOther > 0 ? `; ${answeredOther} answered with something other than 201 under load` : ''};`,
          `database: ${audit.payments} payments, ${audit.paymentKeys} idempotency keys, ${audit.paymentKeysFinishedWithPayment} of them finished with a 201 naming an existing payment (${audit.distinctPaymentsOfKeys} distinct);`,
          `simulator ledger: ${audit.chargeOperations} charge operations on ${audit.charges} charges, ${audit.paymentsChargedOnce} payments charged exactly once, ${audit.chargesWithoutPayment} charges for no payment`,
        ].join('\n  '),
      };
    }
    case 'fixed': {
      const ok =
        created === requests && replayed === requests && audit.payments === 1 && audit.chargeOperations === 1 && audit.paymentKeys === 1 && audit.paymentKeysFinishedWithPayment === 1;
      return {
        ok,
        line: `exactly once under replay: ${count(requests + target.probe.created, 'request')} with one key, ${count(audit.payments, 'payment')}, ${count(audit.chargeOperations, 'charge')}`,
        detail: `under load ${count(requests, 'response')}, ${created} of them 201 and ${replayed} marked Idempotent-Replayed: true; database: ${count(audit.paymentKeys, 'idempotency key')}`,
      };
    }
    case 'none': {
      // One customer was seeded at start-up. A request cut off when a run ended may still have
      // inserted its customer: more rows than 201s, never fewer, never more than were sent.
      const inserted = audit.customers - 1 - target.probe.created;
      const sent = sum(runs, (r) => r.sent);
      return {
        ok: inserted >= created && inserted <= sent && audit.payments === 0,
        line: `plain insert: ${created} requests answered 201, ${inserted} customers inserted`,
        detail:
          `the ${inserted - created} more were requests cut off when a run ended that the server still completed; without a key their client ` +
          `cannot tell, nor retry safely (${sent} requests sent in all)`,
      };
    }
  }
}

function writeReport(
  targets: WriteTarget[],
  results: Map<WriteTargetId, RunResult[]>,
  orders: WriteTargetId[][],
  loadBefore: number[],
  checks: Check[],
): string {
  const cpus = os.cpus();
  const medians = mediansOf(targets, results);
  const baseline = medians.get(WRITE_BASELINE);
  const ratio = (id: WriteTargetId) => (baseline ? (medians.get(id)!.reqPerS / baseline.reqPerS).toFixed(2) : 'n/a');
  const bodies = [...new Set(targets.map((t) => `${WRITE_TARGETS[t.id].path} ${Buffer.byteLength(t.body)} bytes`))];

  const lines = [
    '## Write benchmark: POST through the full app',
    '',
    `- Load: autocannon 9 in its own process, ${WRITE_CONNECTIONS} connections, pipelining 1, ${WRITE_DURATION_S} s per measured run; one ${WARMUP_S} s warm-up per target before its first run`,
    `- Rounds: ${WRITE_ROUNDS}, targets in alternating order; each figure is the median over the rounds`,
    `- Storage: ${storageLine()}; each target has a database of its own, which grows with every run`,
    '- Each target is the full app (createApp, spec as is): authentication with a key lookup, request and response validation, ' +
      'the processor simulator in the same process (no latency, no faults; one HTTP call per new payment)',
    `- Request bodies: ${bodies.join(', ')}; app log level: ${LOG_LEVEL}`,
    `- Machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'})`,
    `- Load average (1/5/15 min) before the first write run: ${loadAverage(loadBefore)}; after the last: ${loadAverage(os.loadavg())}`,
    '',
    `| target | req/s (median) | p50 ms | p99 ms | non-2xx (all runs) | errors / timeouts | ratio vs \`${WRITE_BASELINE}\` (req/s) |`,
    '|---|--:|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const all = t.runs;
      return (
        `| \`${t.id}\` ${WRITE_TARGETS[t.id].label} | ${int(m.reqPerS)} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ` +
        `${int(sum(all, (r) => r.non2xx))} | ${int(sum(all, (r) => r.errors))} / ${int(sum(all, (r) => r.timeouts))} | ${ratio(t.id)} |`
      );
    }),
    '',
    ...roundLines(targets, results, orders, WRITE_ROUNDS),
    '',
    'Checks, counted after the last run from the load process, each target\'s database and its simulator\'s ledger:',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.line}\n  ${c.detail}`),
  ];
  return lines.join('\n');
}

// ---- rate-limit targets -------------------------------------------------------------------------

const REDIS_URL = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
// The production default of REDIS_TIMEOUT_MS, so the Redis row shows what a deployment gets.
const REDIS_TIMEOUT_MS = 200;
const REDIS_PING_TIMEOUT_MS = 2_000;
// Namespaces this run's counters, so that no run counts on top of another's in a shared Redis.
const REDIS_KEY_PREFIX = `bench:rl:${RUN_ID}`;
// What every counted answer of a limited target carries (draft-ietf-httpapi-ratelimit-headers): the
// key's read quota, then its account's.
const EXPECTED_POLICY = `"read";q=${BENCH_QUOTA.points};w=${BENCH_QUOTA.windowS}, "account_read";q=${BENCH_QUOTA.points};w=${BENCH_QUOTA.windowS}`;

interface LimitTarget extends Target<LimitTargetId> {
  readonly child: ChildProcess;
  /** Every run, warm-up included, for the checks; the measured ones are in the results map too. */
  readonly runs: RunResult[];
  /** The probe answer's `RateLimit-Policy`, or null without one. */
  probePolicy: string | null;
}

function redactedUrl(raw: string): string {
  const url = new URL(raw);
  url.password = '';
  return url.toString();
}

function limitMode(id: LimitTargetId): RateLimitMode {
  switch (LIMIT_TARGETS[id].limits) {
    case 'off':
      return { mode: 'off' };
    case 'memory':
      return { mode: 'memory' };
    case 'redis':
      return { mode: 'redis', url: REDIS_URL, keyPrefix: REDIS_KEY_PREFIX, commandTimeoutMs: REDIS_TIMEOUT_MS };
  }
}

async function startLimitTarget(id: LimitTargetId, schema: string | undefined): Promise<LimitTarget> {
  const server = await startServer(id, schema, limitMode(id));
  return {
    id,
    child: server.child,
    url: `http://127.0.0.1:${server.port}${server.path}`,
    headers: server.headers,
    specPaths: server.specPaths,
    bodyBytes: 0,
    runs: [],
    probePolicy: null,
  };
}

/** The orchestrator's own connection to Redis: one attempt, no reconnecting, nothing queued. */
async function withRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: REDIS_PING_TIMEOUT_MS,
    commandTimeout: REDIS_PING_TIMEOUT_MS,
  });
  // A refused connection rejects connect() with only "Connection is closed."; the event says why.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect().catch((err: unknown) => {
      throw cause ?? err;
    });
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Whether Redis answers a PING, and its version; or why it did not answer. */
async function pingRedis(): Promise<{ readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string }> {
  try {
    return await withRedis(async (redis) => {
      const pong = await redis.ping();
      if (pong !== 'PONG') return { ok: false, reason: `PING answered ${JSON.stringify(pong)}` };
      return { ok: true, version: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown' };
    });
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

async function keysUnderPrefix(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Redis's own count of the reads it was asked to count this run: one counter per API key. */
async function redisReadCounters(): Promise<number[]> {
  return withRedis(async (redis) => {
    const keys = await keysUnderPrefix(redis, `${REDIS_KEY_PREFIX}:read:*`);
    return Promise.all(keys.map(async (key) => Number(await redis.get(key))));
  });
}

/** This run's counters would expire with their window; a benchmark leaves nothing behind. */
async function clearRedisCounters(): Promise<void> {
  await withRedis(async (redis) => {
    const keys = await keysUnderPrefix(redis, `${REDIS_KEY_PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
}

async function limiterOf(target: LimitTarget): Promise<LimiterState> {
  const answer = nextMessage<ServerMessage>(target.child, AUDIT_TIMEOUT_MS, `limiter state of ${target.id}`);
  target.child.send({ type: 'limiter' } satisfies LimiterRequest);
  const message = await answer;
  if (message.type !== 'limiter') throw new Error(`limiter state of ${target.id} failed: ${message.type === 'error' ? message.message : message.type}`);
  return message.limiter;
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
  // The probe is the one read outside the runs; seeding only wrote.
  const answered = 1 + sum(target.runs, (r) => r.requests);
  const sent = 1 + sum(target.runs, (r) => r.sent);
  const counted = counters.length === 1 ? counters[0]! : Number.NaN;
  return {
    ok: limiter.insuranceDecisions === 0 && limiter.redis === 'up' && counted >= answered && counted <= sent,
    line: `${target.id}: every decision made in Redis: ${limiter.insuranceDecisions} by the insurance limiter; Redis counted ${counters.join(' + ') || 'no'} reads`,
    detail:
      `Redis ${limiter.redis ?? 'not configured'} after the load; ${counters.length} read counter(s) under ${REDIS_KEY_PREFIX}, ` +
      `expected one holding between ${answered} (answered: the probe and every run, warm-up included) and ${sent} (sent: ` +
      `a request cut off when a run ended may still have been counted)`,
  };
}

function limitReport(
  targets: LimitTarget[],
  results: Map<LimitTargetId, RunResult[]>,
  orders: LimitTargetId[][],
  loadBefore: number[],
  checks: Check[],
  redisLine: string,
): string {
  const cpus = os.cpus();
  const medians = mediansOf(targets, results);
  const baseline = medians.get(LIMIT_BASELINE);
  const ratio = (id: LimitTargetId) => (baseline ? (medians.get(id)!.reqPerS / baseline.reqPerS).toFixed(2) : 'n/a');

  const lines = [
    '## Rate-limit benchmark: GET /v1/customers/{id} through the full app, limiter off / in memory / in Redis',
    '',
    `- Load: autocannon 9 in its own process, ${CONNECTIONS} connections, pipelining 1, ${DURATION_S} s per measured run; one ${WARMUP_S} s warm-up per target before its first run`,
    `- Rounds: ${ROUNDS}, targets in alternating order; each figure is the median over the rounds`,
    `- Storage: ${storageLine()}`,
    '- Each target is the full app (createApp, spec as is, request and response validation), one account, every request with its one API key; ' +
      'the targets differ only in the `rateLimits` given to createApp',
    `- Quotas: ${int(BENCH_QUOTA.points)} requests per ${BENCH_QUOTA.windowS} s for every policy (read, write, account_read, account_write, admin, ops, auth), one instance: ` +
      'every request is counted, none may be refused',
    `- ${redisLine}`,
    `- App log level: ${LOG_LEVEL}; machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'})`,
    `- Load average (1/5/15 min) before the first rate-limit run: ${loadAverage(loadBefore)}; after the last: ${loadAverage(os.loadavg())}`,
  ];
  if (targets.length === 0) return lines.join('\n');
  lines.push(
    '',
    `| target | req/s (median) | p50 ms | p99 ms | non-2xx / errors / timeouts (all runs) | ratio vs \`${LIMIT_BASELINE}\` (req/s) |`,
    '|---|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const all = t.runs;
      return (
        `| \`${t.id}\` ${LIMIT_TARGETS[t.id].label} | ${int(m.reqPerS)} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ` +
        `${int(sum(all, (r) => r.non2xx))} / ${int(sum(all, (r) => r.errors))} / ${int(sum(all, (r) => r.timeouts))} | ${ratio(t.id)} |`
      );
    }),
    '',
    ...roundLines(targets, results, orders, ROUNDS),
    '',
    'Checks, after the last run:',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.line}\n  ${c.detail}`),
  );
  return lines.join('\n');
}

// ---- validation-attack targets ------------------------------------------------------------------

// The attackers start this long before the victim's run and stop this long after it, so the whole
// of every measured second is under attack.
const ATTACK_LEAD_S = 1;
// Without the bound, an answer (the attackers' or the victim's) can wait seconds behind the
// attackers' other requests; a timeout would end the wait the table is there to show.
const ATTACK_TIMEOUT_S = 60;
// Every answer to an attack must be a small 400: a problem document lists at most 10 errors.
const ATTACK_ANSWER_LIMIT_BYTES = 4096;
// After a run the server may still be validating what the attackers sent before they were cut off.
const SETTLE_TIMEOUT_MS = 120_000;
const ATTACK_BODY = attackBody();
const REPRODUCE_KNOBS = ['BENCH_DURATION_S', 'BENCH_WARMUP_S', 'BENCH_ROUNDS', 'BENCH_ATTACKERS', 'BENCH_ATTACK_RATE', 'BENCH_ATTACK_VICTIM_CONNECTIONS', 'BENCH_LOG_LEVEL'];

interface AttackTarget extends Target<AttackTargetId> {
  readonly child: ChildProcess;
  readonly attackUrl: string;
  readonly attackHeaders: Record<string, string>;
  /** Every victim run, warm-up included, as autocannon reported it, for the checks. */
  readonly runs: RunResult[];
  /** The measured victim runs as autocannon reported them, one per round (the results map has them with the waits' latency). */
  readonly measuredVictims: RunResult[];
  /** Every attack run, warm-up included, for the checks. */
  readonly attackRuns: RunResult[];
  /** The measured attack runs, one per round, for the table. */
  readonly measuredAttacks: RunResult[];
  /** The answer to one attack body sent before any load (targets with attackers). */
  attackProbe: { status: number; bytes: number; code: unknown; errorCount: unknown; detail: unknown } | null;
}

async function startAttackTarget(id: AttackTargetId, schema: string | undefined): Promise<AttackTarget> {
  // Limits on, as deployed, at quotas no run can use up: nobody's request is refused with 429.
  const server = await startServer(id, schema, { mode: 'memory' });
  if (!server.attackerHeaders) throw new Error(`server ${id} did not seed the attackers' account`);
  return {
    id,
    child: server.child,
    url: `http://127.0.0.1:${server.port}${server.path}`,
    headers: server.headers,
    specPaths: server.specPaths,
    bodyBytes: 0,
    attackUrl: `http://127.0.0.1:${server.port}${ATTACK_PATH}`,
    attackHeaders: { ...server.attackerHeaders, 'content-type': 'application/json' },
    runs: [],
    measuredVictims: [],
    attackRuns: [],
    measuredAttacks: [],
    attackProbe: null,
  };
}

/** One attack body before any load: it must be refused with a 400, or the row would measure something else. */
async function probeAttack(target: AttackTarget): Promise<void> {
  const res = await fetch(target.attackUrl, {
    method: 'POST',
    headers: target.attackHeaders,
    body: ATTACK_BODY,
    signal: AbortSignal.timeout(SETTLE_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: { code?: unknown; error_count?: unknown; detail?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // reported below
  }
  if (res.status !== 400 || body.code !== 'validation_failed') {
    throw new Error(`${target.id}: POST ${target.attackUrl} with the attack body answered ${res.status}: ${text.slice(0, 500)}`);
  }
  target.attackProbe = { status: res.status, bytes: Buffer.byteLength(text), code: body.code, errorCount: body.error_count, detail: body.detail };
}

/** Waits until the server answers the victim's read again: what the attackers left queued is done. */
async function settle(target: AttackTarget): Promise<number> {
  const started = Date.now();
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(SETTLE_TIMEOUT_MS) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${target.id}: GET ${target.url} answered ${res.status} after the run`);
  return Date.now() - started;
}

/**
 * One round's run of an attack target: the attackers (if the row has them) from the second load
 * process, the victim from the first, started ATTACK_LEAD_S after the attackers and ending
 * ATTACK_LEAD_S before them. Failures are counted and reported with the table, not thrown.
 */
async function runAttack(load: ChildProcess, attackLoad: ChildProcess | undefined, target: AttackTarget, durationS: number, warmUp: boolean): Promise<RunResult> {
  let attack: Promise<LoadMessage> | undefined;
  if (ATTACK_TARGETS[target.id].attackers) {
    if (!attackLoad) throw new Error(`${target.id}: no load process for the attackers`);
    const attackS = durationS + 2 * ATTACK_LEAD_S;
    const request: LoadRequest = {
      type: 'run',
      url: target.attackUrl,
      method: 'POST',
      headers: target.attackHeaders,
      body: ATTACK_BODY,
      keys: { mode: 'none' },
      connections: ATTACKERS,
      ...(ATTACK_RATE_PER_S > 0 ? { ratePerS: ATTACK_RATE_PER_S } : {}),
      durationS: attackS,
      timeoutS: ATTACK_TIMEOUT_S,
      recordAnswers: true,
    };
    attack = nextMessage<LoadMessage>(attackLoad, (attackS + ATTACK_TIMEOUT_S) * 1000 + RUN_GRACE_MS, `attackers on ${target.id}`);
    attackLoad.send(request);
    await new Promise((resolve) => setTimeout(resolve, ATTACK_LEAD_S * 1000));
  }
  const victim = await runGet(load, target, durationS, { connections: VICTIM_CONNECTIONS, timeoutS: ATTACK_TIMEOUT_S, waits: true });
  target.runs.push(victim);
  if (!warmUp) target.measuredVictims.push(victim);
  if (attack) {
    const message = await attack;
    if (message.type === 'error') throw new Error(`attackers on ${target.id} failed: ${message.message}`);
    const r = message.result;
    target.attackRuns.push(r);
    if (!warmUp) target.measuredAttacks.push(r);
    const settledMs = await settle(target);
    progress(
      `${target.id}${warmUp ? ' warm-up' : ''} attackers: ${int(r.requests)} answered, p50 ${ms(r.p50Ms)} ms, p99 ${ms(r.p99Ms)} ms, ` +
        `${int(answerBytesMedian(r))} bytes (median); server answering the victim again ${settledMs} ms after the run`,
    );
  }
  // The victim's latency counts the requests the run ended on, at their wait so far (load.ts,
  // waitsOf): under the unbounded attack most of its requests are those, and autocannon's own
  // percentiles, which count answers only, would describe the few that got through.
  if (!victim.waits) throw new Error(`load on ${target.id} did not report the victim's waits`);
  return { ...victim, p50Ms: victim.waits.p50Ms, p99Ms: victim.waits.p99Ms };
}

/** The median body size of one run's answers, from its histogram of sizes. */
function answerBytesMedian(run: RunResult): number {
  const sizes = Object.entries(run.answers?.bytes ?? {})
    .map(([size, n]) => [Number(size), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = sum(sizes, ([, n]) => n);
  if (total === 0) return Number.NaN;
  // The lower median: the size of the answer at rank ceil(total / 2).
  let seen = 0;
  for (const [size, n] of sizes) {
    seen += n;
    if (seen * 2 >= total) return size;
  }
  return Number.NaN;
}

/** Every attack answered a 400 with a small body: the bound holds, and no attacker was refused otherwise (429). */
function attackAnswersCheck(target: AttackTarget): Check {
  const runs = target.attackRuns;
  const answered = sum(runs, (r) => r.requests);
  const statuses = new Map<string, number>();
  for (const run of runs) for (const [status, n] of Object.entries(run.statuses)) statuses.set(status, (statuses.get(status) ?? 0) + n);
  const not400 = sum([...statuses].filter(([status]) => status !== '400'), ([, n]) => n);
  const errors = sum(runs, (r) => r.errors);
  const timeouts = sum(runs, (r) => r.timeouts);
  const sizes = runs.flatMap((r) => Object.keys(r.answers?.bytes ?? {}).map(Number));
  const largest = sizes.length > 0 ? Math.max(...sizes) : Number.NaN;
  const tooLarge = sum(runs, (r) => sum(Object.entries(r.answers?.bytes ?? {}), ([size, n]) => (Number(size) >= ATTACK_ANSWER_LIMIT_BYTES ? n : 0)));
  const recorded = sum(runs, (r) => sum(Object.values(r.answers?.bytes ?? {}), (n) => n));
  const byStatus = [...statuses].map(([status, n]) => `${status} ×${n}`).join(', ');
  return {
    ok: answered > 0 && not400 === 0 && errors === 0 && timeouts === 0 && tooLarge === 0 && recorded === answered,
    line: `${target.id}: ${int(answered)} attacks answered, ${not400 === 0 ? 'every one 400' : `${not400} not 400`}; largest answer ${int(largest)} bytes (limit ${int(ATTACK_ANSWER_LIMIT_BYTES)})`,
    detail:
      `statuses ${byStatus || 'none'}; ${errors} errors, ${timeouts} timeouts (${ATTACK_TIMEOUT_S} s); ${tooLarge} answers of ${int(ATTACK_ANSWER_LIMIT_BYTES)} bytes or more; ` +
      `${runs.length} runs, warm-up included (requests cut off when a run ended are not answers)`,
  };
}

/**
 * The probe's answer shows the row measures what it says: with the bound, the walk refused the body
 * at `scopes` (one error); without it, the validator reported on every item.
 */
function attackProbeCheck(target: AttackTarget): Check {
  const probe = target.attackProbe;
  const bounded = ATTACK_TARGETS[target.id].spec === 'as-is';
  const errorCount = typeof probe?.errorCount === 'number' ? probe.errorCount : Number.NaN;
  return {
    ok: probe !== null && probe.bytes < ATTACK_ANSWER_LIMIT_BYTES && (bounded ? errorCount === 1 : errorCount >= ATTACK_ITEMS),
    line: bounded
      ? `${target.id}: the body was refused at its bound, before the validator: error_count ${int(errorCount)} (expected 1)`
      : `${target.id}: the validator walked every item: error_count ${int(errorCount)} (expected at least ${int(ATTACK_ITEMS)})`,
    detail: `the probe's answer: ${probe?.status ?? 'none'} ${String(probe?.code)}, ${int(probe?.bytes ?? Number.NaN)} bytes, detail ${JSON.stringify(probe?.detail)}`,
  };
}

/** The command that measures this table alone with the knobs this run was given. */
function attackCommand(targets: readonly AttackTarget[]): string {
  const knobs = REPRODUCE_KNOBS.flatMap((name) => {
    const value = process.env[name]?.trim();
    return value ? [`${name}=${value}`] : [];
  });
  const database = DATABASE_URL ? [`DATABASE_URL=${redactedUrl(DATABASE_URL)}`] : [];
  return [...database, ...knobs, `BENCH_TARGETS=${targets.map((t) => t.id).join(',')}`, 'make bench'].join(' ');
}

function attackReport(
  targets: AttackTarget[],
  results: Map<AttackTargetId, RunResult[]>,
  orders: AttackTargetId[][],
  loadBefore: number[],
  checks: Check[],
): string {
  const cpus = os.cpus();
  const medians = mediansOf(targets, results);
  const baseline = medians.get(ATTACK_BASELINE);
  const ratio = (value: number, base: number | undefined) => (base ? (value / base).toFixed(2) : 'n/a');
  // Milliseconds to a tenth while they are few, whole (with separators) once they are seconds.
  const lat = (n: number) => (n >= 100 ? int(n) : ms(n));
  const attackMedians = (t: AttackTarget) =>
    t.measuredAttacks.length === 0
      ? undefined
      : {
          answered: median(t.measuredAttacks.map((r) => r.requests)),
          bytes: median(t.measuredAttacks.map(answerBytesMedian)),
          p50Ms: median(t.measuredAttacks.map((r) => r.p50Ms)),
          p99Ms: median(t.measuredAttacks.map((r) => r.p99Ms)),
        };

  const lines = [
    `## Validation-attack benchmark: GET /v1/customers/{id} (account A) while account B sends POST ${ATTACK_PATH} with ${int(ATTACK_ITEMS)} integers in \`scopes\``,
    '',
    `- Reproduce: \`${attackCommand(targets)}\``,
    `- Victim: autocannon 9 in its own process, ${VICTIM_CONNECTIONS} connections, pipelining 1, ${DURATION_S} s per measured run; one ${WARMUP_S} s warm-up per target before its first run`,
    `- Attackers (\`attack-bounded\`, \`attack-unbounded\`): autocannon 9 in a second process of its own, ${ATTACKERS} connections, ` +
      `${ATTACK_RATE_PER_S > 0 ? `${ATTACK_RATE_PER_S} requests per second in all (BENCH_ATTACK_RATE; one key's default write quota is 20/s)` : 'sending back to back (BENCH_ATTACK_RATE=0)'}, pipelining 1, ` +
      `each request \`{"scopes":[0,1,…,9,0,1,…]}\` (${int(ATTACK_ITEMS)} one-digit integers where at most 2 enum strings are allowed; ${int(Buffer.byteLength(ATTACK_BODY))} bytes) ` +
      `with account B's key; they start ${ATTACK_LEAD_S} s before each victim run and stop ${ATTACK_LEAD_S} s after it (warm-up included); request timeout ${ATTACK_TIMEOUT_S} s; ` +
      'after each run the next waits until the server answers the victim again',
    `- Rounds: ${ROUNDS}, targets in alternating order; each figure is the median over the rounds`,
    `- Storage: ${storageLine()}`,
    '- Each target is the full app (createApp, request and response validation) with two accounts seeded through the admin API, ' +
      `rate limits counted in memory at ${int(BENCH_QUOTA.points)} requests per ${BENCH_QUOTA.windowS} s for every policy: nobody is refused`,
    '- `attack-none` and `attack-bounded` run on the spec as is (ApiKeyCreateRequest.scopes has `maxItems: 2`); `attack-unbounded` on a copy without that ' +
      '`maxItems`, the spec before request collections were bounded, so the validator (allErrors) reports on every item',
    `- App log level: ${LOG_LEVEL}; machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'})`,
    `- Load average (1/5/15 min) before the first attack run: ${loadAverage(loadBefore)}; after the last: ${loadAverage(os.loadavg())}`,
  ];
  if (targets.length === 0) return lines.join('\n');
  lines.push(
    '',
    `| target | victim req/s (median) | victim p50 ms | victim p99 ms | victim p99 vs \`${ATTACK_BASELINE}\` | victim req/s vs \`${ATTACK_BASELINE}\` | ` +
      'attacks answered per run (median) | attack answer bytes (median) | attack answer ms, p50 / p99 (median) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const a = attackMedians(t);
      return (
        `| \`${t.id}\` ${ATTACK_TARGETS[t.id].label} | ${int(m.reqPerS)} | ${lat(m.p50Ms)} | ${lat(m.p99Ms)} | ${ratio(m.p99Ms, baseline?.p99Ms)} | ` +
        `${ratio(m.reqPerS, baseline?.reqPerS)} | ` +
        `${a ? int(a.answered) : '–'} | ${a ? int(a.bytes) : '–'} | ${a ? `${lat(a.p50Ms)} / ${lat(a.p99Ms)}` : '–'} |`
      );
    }),
    '',
    `The victim's p50 and p99 count every answered request at the time autocannon measured, and the request each of its ${VICTIM_CONNECTIONS} ` +
      'connections was waiting on when the run ended at how long it had waited by then; autocannon alone counts only the answered ones.',
    '',
    "Per round, the victim (req/s, p50 ms, p99 ms; autocannon's p50 / p99 of the answered requests alone; requests answered; the longest wait the run ended on):",
    '',
    `| target | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|${'---|'.repeat(ROUNDS)}`,
    ...targets.map(
      (t) =>
        `| \`${t.id}\` | ${results
          .get(t.id)!
          .map((r, i) => {
            const answeredOnly = t.measuredVictims[i]!;
            return (
              `${int(r.reqPerS)} req/s, ${lat(r.p50Ms)}, ${lat(r.p99Ms)}; ` +
              `${r.requests > 0 ? `${lat(answeredOnly.p50Ms)} / ${lat(answeredOnly.p99Ms)}` : 'none answered'}; ${int(r.requests)}; ${lat(r.waits?.longestWaitMs ?? Number.NaN)}`
            );
          })
          .join(' | ')} |`,
    ),
    '',
    'Order of the runs:',
    '',
    ...orders.map((order, i) => `- round ${i + 1}: ${order.join(' → ')}`),
    '',
    'Per round, the attackers (answered, p50 ms, p99 ms, median answer bytes):',
    '',
    `| target | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|${'---|'.repeat(ROUNDS)}`,
    ...targets
      .filter((t) => t.measuredAttacks.length > 0)
      .map((t) => `| \`${t.id}\` | ${t.measuredAttacks.map((r) => `${int(r.requests)}, ${lat(r.p50Ms)}, ${lat(r.p99Ms)}, ${int(answerBytesMedian(r))}`).join(' | ')} |`),
    '',
    'Checks, after the last run:',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.line}\n  ${c.detail}`),
  );
  return lines.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------

async function dropSchemas(schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL, statement_timeout: 10_000 });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/**
 * Runs every target `rounds` times, in alternating direction: forward, then backward, and so on,
 * which puts every target early and late in a round alike, so slow drift (heat, other work on the
 * machine) does not favour whichever runs first. Each target gets a warm-up run before its first.
 */
async function inRounds<T extends { readonly id: string }>(
  targets: readonly T[],
  rounds: number,
  run: (target: T, warmUp: boolean) => Promise<RunResult>,
): Promise<{ results: Map<T['id'], RunResult[]>; orders: T['id'][][] }> {
  const results = new Map<T['id'], RunResult[]>(targets.map((t) => [t.id, []]));
  const orders: T['id'][][] = [];
  const warmed = new Set<T['id']>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    orders.push(order.map((t) => t.id));
    for (const target of order) {
      if (!warmed.has(target.id)) {
        await run(target, true);
        warmed.add(target.id);
      }
      const result = await run(target, false);
      results.get(target.id)!.push(result);
      const failures = result.non2xx + result.errors + result.timeouts > 0 ? `; ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts` : '';
      progress(`round ${round + 1}/${rounds} ${target.id}: ${int(result.reqPerS)} req/s, p50 ${ms(result.p50Ms)} ms, p99 ${ms(result.p99Ms)} ms${failures}`);
    }
  }
  return { results, orders };
}

async function main(): Promise<void> {
  const { read, write, limits: limitsWanted, attack } = selectedTargets();

  // Without Redis the Redis row cannot be measured, but the rest of the benchmark still can.
  let redisLine = `Redis: not used (\`limits-redis\` not selected)`;
  let redisSkipped = false;
  if (limitsWanted.includes('limits-redis')) {
    const ping = await pingRedis();
    if (ping.ok) {
      redisLine = `Redis: ${redactedUrl(REDIS_URL)} (Redis ${ping.version}), keys under ${REDIS_KEY_PREFIX}, command timeout ${REDIS_TIMEOUT_MS} ms, no offline queue (createRedis, as main.ts)`;
    } else {
      redisSkipped = true;
      redisLine = `**\`limits-redis\` skipped**: Redis at ${redactedUrl(REDIS_URL)} did not answer PING (${ping.reason}); start Redis there or set REDIS_URL to measure it`;
      progress(`limits-redis skipped: Redis at ${redactedUrl(REDIS_URL)} did not answer PING (${ping.reason})`);
    }
  }
  const limits = limitsWanted.filter((id) => id !== 'limits-redis' || !redisSkipped);

  const schemas = new Map<string, string>();
  if (DATABASE_URL) {
    for (const id of [...read.filter((r) => r.startsWith('stack')), ...write, ...limits, ...attack]) schemas.set(id, `bench_${randomBase62(12).toLowerCase()}`);
  }
  const attacked = attack.filter((id) => ATTACK_TARGETS[id].attackers);
  const estimateS =
    (read.length + limits.length + attack.length) * (WARMUP_S + ROUNDS * DURATION_S) +
    attacked.length * (1 + ROUNDS) * 2 * ATTACK_LEAD_S +
    write.length * (WARMUP_S + WRITE_ROUNDS * WRITE_DURATION_S);
  progress(
    `${read.length} read, ${limits.length} rate-limit, ${attack.length} validation-attack and ${write.length} write targets, ` +
      `about ${Math.round(estimateS)} s of load after start-up`,
  );

  const failed: Check[] = [];
  let printed = false;
  const print = (table: string) => {
    if (printed) console.log('');
    console.log(table);
    printed = true;
  };
  try {
    const load = spawnChild(LOAD_SCRIPT, []);
    // The attackers get a load process of their own: their 64 KB bodies are written, and their
    // answers read, beside the victim's load, not in the event loop that times the victim.
    const attackLoad = attacked.length > 0 ? spawnChild(LOAD_SCRIPT, []) : undefined;
    // Every server starts at once (start-up is the slow part); the idle ones cost next to nothing.
    const [targets, writeTargets, limitTargets, attackTargets] = await Promise.all([
      Promise.all(read.map((id) => startTarget(id, schemas.get(id)))),
      Promise.all(write.map((id) => startWriteTarget(id, schemas.get(id)))),
      Promise.all(limits.map((id) => startLimitTarget(id, schemas.get(id)))),
      Promise.all(attack.map((id) => startAttackTarget(id, schemas.get(id)))),
    ]);
    for (const target of targets) await probe(target);
    for (const target of limitTargets) target.probePolicy = (await probe(target)).get('ratelimit-policy');
    for (const target of attackTargets) {
      await probe(target);
      if (ATTACK_TARGETS[target.id].attackers) await probeAttack(target);
    }
    for (const target of writeTargets) await probeWrite(target);
    progress('all servers up and answering');

    if (targets.length > 0) {
      const loadBefore = os.loadavg();
      const { results, orders } = await inRounds(targets, ROUNDS, (target, warmUp) => runLoad(load, target, warmUp ? WARMUP_S : DURATION_S));
      print(report(targets, results, orders, loadBefore));
    }

    // Right after the read table, which it extends, and before the writes leave work behind them
    // (a busier PostgreSQL, bigger tables) that would fall on this table alone.
    if (limitTargets.length > 0 || redisSkipped) {
      const loadBefore = os.loadavg();
      const { results, orders } = await inRounds(limitTargets, ROUNDS, async (target, warmUp) => {
        const result = await runGet(load, target, warmUp ? WARMUP_S : DURATION_S);
        target.runs.push(result);
        return result;
      });
      const checks: Check[] = [];
      for (const target of limitTargets) {
        checks.push(failuresCheck(target), limiterInPathCheck(target));
        if (LIMIT_TARGETS[target.id].limits === 'redis') checks.push(redisCountedCheck(target, await limiterOf(target), await redisReadCounters()));
      }
      print(limitReport(limitTargets, results, orders, loadBefore, checks, redisLine));
      failed.push(...checks.filter((c) => !c.ok));
    }

    // Before the writes, for the same reason; its servers only read and refuse, so it leaves nothing behind.
    if (attackTargets.length > 0) {
      const loadBefore = os.loadavg();
      const { results, orders } = await inRounds(attackTargets, ROUNDS, (target, warmUp) =>
        runAttack(load, attackLoad, target, warmUp ? WARMUP_S : DURATION_S, warmUp),
      );
      const checks: Check[] = [];
      for (const target of attackTargets) {
        checks.push(failuresCheck(target));
        if (ATTACK_TARGETS[target.id].attackers) checks.push(attackProbeCheck(target), attackAnswersCheck(target));
      }
      print(attackReport(attackTargets, results, orders, loadBefore, checks));
      failed.push(...checks.filter((c) => !c.ok));
    }

    if (writeTargets.length > 0) {
      const loadBefore = os.loadavg();
      const { results, orders } = await inRounds(writeTargets, WRITE_ROUNDS, (target, warmUp) =>
        runWrite(load, target, warmUp ? WARMUP_S : WRITE_DURATION_S),
      );
      const checks: Check[] = [];
      for (const target of writeTargets) checks.push(failuresCheck(target), outcomeCheck(target, await auditOf(target)));
      print(writeReport(writeTargets, results, orders, loadBefore, checks));
      failed.push(...checks.filter((c) => !c.ok));
    }
  } finally {
    await stopAll();
    if (schemas.size > 0) await dropSchemas([...schemas.values()]);
    if (limits.includes('limits-redis')) {
      await clearRedisCounters().catch((err: unknown) => progress(`could not delete ${REDIS_KEY_PREFIX}:* from Redis (they expire within the hour): ${String(err)}`));
    }
    progress('done; every child process stopped');
  }
  if (failed.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nBENCHMARK CHECK FAILED (${failed.length}):\n${failed.map((c) => `- ${c.line}\n  ${c.detail}`).join('\n')}\n${bar}`);
    process.exitCode = 1;
  }
}

main().catch(async (err: unknown) => {
  console.error('benchmark failed:', err instanceof Error ? err.message : err);
  await stopAll();
  process.exit(process.exitCode === 130 ? 130 : 1);
});
