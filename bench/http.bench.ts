/**
 * `npm run bench`: requests per second and latency of `GET /v1/customers/{id}` through the full app,
 * against bare node:http and bare Express answering the same JSON, and with the spec padded by a
 * hundred resources, once through Remit's per-resource validators and once through a single
 * validator over the whole document (see bench/README.md).
 *
 * Every server and the load generator run in processes of their own; the targets are measured in
 * rounds, in alternating order, and the report gives each target's median over the rounds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { randomBase62 } from '../src/platform/ids.js';
import { loadSpec } from '../src/platform/spec.js';
import {
  CUSTOMER_FIELDS,
  padSpec,
  pathCount,
  TARGET_IDS,
  TARGETS,
  type LoadMessage,
  type LoadRequest,
  type RunResult,
  type ServerConfig,
  type ServerMessage,
  type TargetId,
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

function selectedTargets(): TargetId[] {
  const raw = process.env.BENCH_TARGETS?.trim();
  if (!raw) return TARGET_IDS;
  const wanted = raw.split(',').map((s) => s.trim());
  const unknown = wanted.filter((id) => !(TARGET_IDS as string[]).includes(id));
  if (unknown.length > 0) throw new Error(`BENCH_TARGETS: unknown ${unknown.join(', ')}; known: ${TARGET_IDS.join(', ')}`);
  // Table order stays the catalogue's, whatever order they were named in.
  return TARGET_IDS.filter((id) => wanted.includes(id));
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

interface Target {
  readonly id: TargetId;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly specPaths: number | null;
  bodyBytes: number;
}

async function startTarget(id: TargetId, schema: string | undefined): Promise<Target> {
  const config: ServerConfig = {
    target: id,
    padResources: PAD_RESOURCES,
    logLevel: LOG_LEVEL,
    databaseUrl: DATABASE_URL,
    schema,
    dbPoolMax: DB_POOL_MAX,
  };
  const child = spawnChild(SERVER_SCRIPT, [JSON.stringify(config)]);
  const message = await nextMessage<ServerMessage>(child, READY_TIMEOUT_MS, `server ${id}`);
  if (message.type === 'error') throw new Error(`server ${id} failed to start:\n${message.message}`);
  return { id, url: `http://127.0.0.1:${message.port}${message.path}`, headers: message.headers, specPaths: message.specPaths, bodyBytes: 0 };
}

/** One request before any load: a target that answers anything but the customer would be measured for nothing. */
async function probe(target: Target): Promise<void> {
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
}

async function runLoad(load: ChildProcess, target: Target, durationS: number): Promise<RunResult> {
  const request: LoadRequest = { type: 'run', url: target.url, headers: target.headers, connections: CONNECTIONS, durationS };
  const answer = nextMessage<LoadMessage>(load, durationS * 1000 + RUN_GRACE_MS, `load on ${target.id}`);
  load.send(request);
  const message = await answer;
  if (message.type === 'error') throw new Error(`load on ${target.id} failed: ${message.message}`);
  const r = message.result;
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
  const medians = new Map(
    targets.map((t) => {
      const runs = results.get(t.id)!;
      return [t.id, { reqPerS: median(runs.map((r) => r.reqPerS)), p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)) }];
    }),
  );
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
    'Per round (req/s, p50 ms, p99 ms, requests):',
    '',
    `| target | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|${'---|'.repeat(ROUNDS)}`,
    ...targets.map(
      (t) => `| \`${t.id}\` | ${results.get(t.id)!.map((r) => `${int(r.reqPerS)} req/s, ${ms(r.p50Ms)}, ${ms(r.p99Ms)}, ${int(r.requests)}`).join(' | ')} |`,
    ),
    '',
    'Order of the runs:',
    '',
    ...orders.map((order, i) => `- round ${i + 1}: ${order.join(' → ')}`),
  ];
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

async function main(): Promise<void> {
  const ids = selectedTargets();
  const schemas = new Map<TargetId, string>();
  if (DATABASE_URL) {
    for (const id of ids) if (id.startsWith('stack')) schemas.set(id, `bench_${randomBase62(12).toLowerCase()}`);
  }
  const estimateS = ids.length * (WARMUP_S + ROUNDS * DURATION_S);
  progress(`${ids.length} targets, about ${Math.round(estimateS)} s of load after start-up`);

  try {
    const load = spawnChild(LOAD_SCRIPT, []);
    const targets = await Promise.all(ids.map((id) => startTarget(id, schemas.get(id))));
    for (const target of targets) await probe(target);
    progress('all servers up and answering');
    const loadBefore = os.loadavg();

    const results = new Map<TargetId, RunResult[]>(ids.map((id) => [id, []]));
    const orders: TargetId[][] = [];
    const warmed = new Set<TargetId>();
    for (let round = 0; round < ROUNDS; round++) {
      // Alternating direction puts every target early and late in a round alike, so slow drift
      // (heat, other work on the machine) does not favour whichever runs first.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      orders.push(order.map((t) => t.id));
      for (const target of order) {
        if (!warmed.has(target.id)) {
          await runLoad(load, target, WARMUP_S);
          warmed.add(target.id);
        }
        const result = await runLoad(load, target, DURATION_S);
        results.get(target.id)!.push(result);
        progress(`round ${round + 1}/${ROUNDS} ${target.id}: ${int(result.reqPerS)} req/s, p50 ${ms(result.p50Ms)} ms, p99 ${ms(result.p99Ms)} ms`);
      }
    }
    console.log(report(targets, results, orders, loadBefore));
  } finally {
    await stopAll();
    if (schemas.size > 0) await dropSchemas([...schemas.values()]);
    progress('done; every child process stopped');
  }
}

main().catch(async (err: unknown) => {
  console.error('benchmark failed:', err instanceof Error ? err.message : err);
  await stopAll();
  process.exit(process.exitCode === 130 ? 130 : 1);
});
