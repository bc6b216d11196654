/**
 * `npm run bench:grpc`: what the processor adapter's two protocols cost. Remit's adapter
 * (`createProcessorClient`) calls `CreateCharge` on the processor simulator over the Connect
 * protocol's JSON on kept-alive HTTP/1.1 (`http`), and over gRPC on one HTTP/2 connection and on
 * several (`grpc-1`, `grpc-N`). The simulator serves both on one port from one set of handlers, so
 * the handler work is the same by construction; what differs is the protocol on both sides.
 *
 * Two tables:
 * - The adapter alone: the simulator in its own process on one core, the load client (load.ts, the
 *   real adapter, closed loop, an HDR histogram) in another on the other core; at several
 *   concurrencies, with a small charge and one carrying ~10 KB of metadata. req/s, p50 and p99, CPU
 *   time per 1,000 calls on each side, and the bytes each call puts on the wire, measured in a
 *   separate pass through a counting TCP relay (byte-proxy.ts) so the relay's hop costs no row its
 *   throughput. Ratios against the `http` row of the same concurrency and size.
 * - End to end: `POST /v1/payments` through the real API process (src/main.ts) with
 *   PROCESSOR_PROTOCOL=http and grpc, against the same standalone simulator, loaded by autocannon
 *   (bench/http/load.ts).
 *
 * Transports run in alternating order, round after round, each figure the median over the rounds.
 * Results on stdout, progress on stderr. Nothing about time is asserted; a failed call fails the
 * run (status 1). See bench/README.md.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { knob, readKnobs } from '../scripts/harness/knobs.js';
import { API_BANNER, ROOT, SIMULATOR_BANNER, startProcess, type ProjectProcess } from '../scripts/harness/process.js';
import { createRunStorage, withoutPassword, type RunStorage } from '../scripts/harness/storage.js';
import { configOrExit } from '../src/platform/config.js';
import { randomBase62 } from '../src/platform/ids.js';
import { ByteCountingProxy, type ByteCounts } from './grpc/byte-proxy.js';
import type { LoadControl, LoadMessage, LoadRequest, LoadResult, MessageSize, Transport } from './grpc/messages.js';
import { nextMessage, runOn, startLoad, stopAll as stopHttpBenchChildren } from './http/children.js';
import { checkLines, failuresCheck, int, loadAverageLine, machine, median, ms as wholeMs, ratio, roundLines, type Check } from './http/report.js';
import { inRounds, progress } from './http/run.js';
import { PAYMENT_REQUEST, type RunResult } from './http/targets.js';

/** Concurrencies: whole numbers, each once. */
const concurrencies = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined),
  z
    .array(z.coerce.number({ message: 'must list whole numbers' }).int('must list whole numbers').min(1, 'must list concurrencies of at least 1').max(1_024, 'must list concurrencies of at most 1024'))
    .min(1, 'must list at least one concurrency')
    .refine((list) => new Set(list).size === list.length, 'must not list a concurrency twice')
    .default([1, 16, 64]),
);

const SHAPE = {
  BENCH_GRPC_ROUNDS: knob.int(1, 50, 5),
  BENCH_GRPC_DURATION_S: knob.number(0.5, 600, 2),
  // Each run builds a fresh adapter: its connections open and settle before the measured window.
  BENCH_GRPC_RUN_WARMUP_S: knob.number(0.1, 60, 0.3),
  // Once per transport and size before the first round, so no row pays for compiling the code.
  BENCH_GRPC_WARMUP_S: knob.number(0, 60, 1),
  BENCH_GRPC_CONCURRENCY: concurrencies,
  BENCH_GRPC_CHANNELS: knob.int(2, 64, 4),
  // 50 values of 500 characters is the most metadata the contract allows; 0 leaves the large rows out.
  BENCH_GRPC_LARGE_BYTES: knob.int(0, 25_000, 10_240),
  BENCH_GRPC_BYTES_CALLS: knob.int(0, 1_000_000, 300),
  BENCH_GRPC_E2E_ROUNDS: knob.int(0, 50, 5),
  BENCH_GRPC_E2E_DURATION_S: knob.number(1, 600, 3),
  BENCH_GRPC_E2E_WARMUP_S: knob.number(0, 60, 2),
  BENCH_GRPC_E2E_CONNECTIONS: knob.int(1, 1_000, 16),
  DATABASE_URL: knob.optional(),
};
const KNOBS = configOrExit(() => readKnobs(SHAPE));
const DEFAULTS = readKnobs(SHAPE, {});

const ROUNDS = KNOBS.BENCH_GRPC_ROUNDS;
const CHANNELS = KNOBS.BENCH_GRPC_CHANNELS;
const LARGE_BYTES = KNOBS.BENCH_GRPC_LARGE_BYTES;
const BYTES_CALLS = KNOBS.BENCH_GRPC_BYTES_CALLS;
// Enough calls before the bytes are counted for HPACK's table and the flow-control windows to settle.
const BYTES_WARMUP_CALLS = 100;
const E2E_ROUNDS = KNOBS.BENCH_GRPC_E2E_ROUNDS;

const LOAD_SCRIPT = path.join(import.meta.dirname, 'grpc', 'load.ts');
const LOAD_READY_TIMEOUT_MS = 60_000;
// A run that has not answered this long after its duration is stuck, not slow.
const RUN_GRACE_MS = 30_000;
const API_START_TIMEOUT_MS = 300_000;
const CONTROL_TIMEOUT_MS = 30_000;
const RUN_ID = randomBase62(8);

interface Row {
  readonly id: string;
  readonly label: string;
  readonly transport: Transport;
}

const ROWS: readonly Row[] = [
  { id: 'http', label: 'HTTP/1.1 + JSON (Connect), kept alive', transport: { protocol: 'http', channels: 1 } },
  { id: 'grpc-1', label: 'gRPC, 1 HTTP/2 connection', transport: { protocol: 'grpc', channels: 1 } },
  { id: `grpc-${CHANNELS}`, label: `gRPC, ${CHANNELS} HTTP/2 connections`, transport: { protocol: 'grpc', channels: CHANNELS } },
];
const BASELINE = ROWS[0]!;

interface Cell {
  readonly concurrency: number;
  readonly size: MessageSize;
}

const SIZES: readonly MessageSize[] = LARGE_BYTES > 0 ? ['small', 'large'] : ['small'];
const CELLS: readonly Cell[] = SIZES.flatMap((size) => KNOBS.BENCH_GRPC_CONCURRENCY.map((concurrency) => ({ concurrency, size })));
const cellId = (c: Cell) => `c${c.concurrency}-${c.size}`;
const sizeLabel = (size: MessageSize) => (size === 'small' ? 'small' : `~${(LARGE_BYTES / 1024).toFixed(0)} KB`);

// ---- placement on the cores -----------------------------------------------------------------------

/** Pinning needs taskset and two cores; without either the processes share whatever cores there are. */
function pinning(): { readonly ok: boolean; readonly note: string } {
  const cores = os.availableParallelism();
  if (cores < 2) return { ok: false, note: `not pinned: ${cores} core available, two are needed` };
  const probe = spawnSync('taskset', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { ok: false, note: 'not pinned: taskset (util-linux) is not installed; the processes share the cores as the scheduler places them' };
  return { ok: true, note: 'pinned with `taskset -a -c -p`' };
}
const PINNING = pinning();

function pin(pid: number, core: number, what: string): void {
  if (!PINNING.ok) return;
  // -a: every thread of the process (libuv's pool, V8's compiler and GC threads), not only the main one.
  const res = spawnSync('taskset', ['-a', '-c', '-p', String(core), String(pid)], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`could not pin ${what} (pid ${pid}) to core ${core}: ${res.stderr || res.error?.message}`);
}

const CLOCK_TICKS = (() => {
  const res = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(res.stdout?.trim());
  return res.status === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

async function procCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

// ---- the processes --------------------------------------------------------------------------------

const CONTROL_TOKEN = randomBase62(32);
const ADMIN_TOKEN = randomBase62(32);
const started = new Set<ProjectProcess>();
let loadChild: ChildProcess | undefined;

function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent' };
}

async function startSimulator(): Promise<ProjectProcess> {
  const simulator = await startProcess({
    name: 'processor simulator',
    script: 'src/processor/simulator/main.ts',
    env: { ...baseEnv(), PROCESSOR_HOST: '127.0.0.1', PROCESSOR_PORT: '0', PROCESSOR_CONTROL_TOKEN: CONTROL_TOKEN },
    banner: SIMULATOR_BANNER,
  });
  started.add(simulator);
  return simulator;
}

/** A call to the simulator's control API, in the Connect protocol's JSON. */
async function control<T>(simulator: ProjectProcess, method: 'Reset' | 'GetLedger'): Promise<T> {
  const res = await fetch(`${simulator.url}/remit.processor.v1.SimulatorControlService/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CONTROL_TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`simulator ${method} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function startLoadClient(): Promise<ChildProcess> {
  const child = fork(LOAD_SCRIPT, [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  loadChild = child;
  const first = await nextMessage<LoadMessage>(child, LOAD_READY_TIMEOUT_MS, 'load client start');
  if (first.type !== 'ready') throw new Error(`load client sent ${first.type} before it was ready`);
  return child;
}

/** One run on the load client; `onMark` (bytes runs) is called with no call in flight, before the measured calls. */
async function runLoad(child: ChildProcess, request: LoadRequest, what: string, onMark?: () => void): Promise<LoadResult> {
  const budgetMs = (request.mode === 'timed' ? (request.warmUpS + request.durationS) * 1000 : 120_000) + RUN_GRACE_MS;
  let message = nextMessage<LoadMessage>(child, budgetMs, what);
  child.send(request satisfies LoadControl);
  let answer = await message;
  if (answer.type === 'mark') {
    onMark?.();
    message = nextMessage<LoadMessage>(child, budgetMs, what);
    child.send({ type: 'go' } satisfies LoadControl);
    answer = await message;
  }
  if (answer.type === 'error') throw new Error(`${what} failed: ${answer.message}`);
  if (answer.type !== 'result') throw new Error(`${what}: unexpected ${answer.type}`);
  return answer.result;
}

async function stopEverything(): Promise<void> {
  if (loadChild && loadChild.exitCode === null && loadChild.signalCode === null) loadChild.kill('SIGTERM');
  await Promise.all([...started].map((p) => p.stop('SIGTERM')));
  await stopHttpBenchChildren();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    void stopEverything().finally(() => process.exit(130));
  });
}

// ---- the adapter table ----------------------------------------------------------------------------

interface Measured {
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly clientCpuPer1k: number;
  readonly serverCpuPer1k: number | null;
}

const measuredOf = (r: LoadResult): Measured => ({
  reqPerS: r.calls / r.seconds,
  p50Ms: r.p50Ms,
  p99Ms: r.p99Ms,
  clientCpuPer1k: (r.clientCpuMs * 1000) / r.calls,
  serverCpuPer1k: r.serverCpuMs === null ? null : (r.serverCpuMs * 1000) / r.calls,
});

const key = (row: Row, cell: Cell) => `${row.id} ${cellId(cell)}`;
let keyBatch = 0;
const nextPrefix = () => `${RUN_ID}${String(++keyBatch).padStart(4, '0')}`;

interface AdapterFailures {
  calls: number;
  failures: number;
  first: string | null;
}

async function adapterRounds(child: ChildProcess, simulator: ProjectProcess, failures: AdapterFailures): Promise<{ results: Map<string, LoadResult[]>; orders: string[][]; loadBefore: number[] }> {
  const timedRun = (row: Row, cell: Cell, warmUpS: number, durationS: number): LoadRequest => ({
    type: 'run',
    mode: 'timed',
    url: simulator.url,
    transport: row.transport,
    concurrency: cell.concurrency,
    size: cell.size,
    largeBytes: LARGE_BYTES,
    keyPrefix: nextPrefix(),
    warmUpS,
    durationS,
    serverPid: os.platform() === 'linux' ? simulator.pid : null,
    clockTicks: CLOCK_TICKS,
  });
  const run = async (row: Row, cell: Cell, warmUpS: number, durationS: number, what: string) => {
    const result = await runLoad(child, timedRun(row, cell, warmUpS, durationS), what);
    failures.calls += result.calls;
    failures.failures += result.failures;
    failures.first ??= result.firstFailure;
    // The simulator keeps every charge (and, for the large rows, its metadata): cleared after each
    // run so that no run pays for the memory of the ones before it.
    await control(simulator, 'Reset');
    return result;
  };

  if (KNOBS.BENCH_GRPC_WARMUP_S > 0) {
    progress(`warm-up: ${KNOBS.BENCH_GRPC_WARMUP_S} s per transport and size at concurrency 16`);
    for (const row of ROWS) for (const size of SIZES) await run(row, { concurrency: 16, size }, 0.1, KNOBS.BENCH_GRPC_WARMUP_S, `warm-up ${row.id} ${size}`);
  }
  const loadBefore = os.loadavg();
  const results = new Map<string, LoadResult[]>();
  const orders: string[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Forward in odd rounds, backward in even ones: each transport runs early and late alike.
    const order = round % 2 === 0 ? ROWS : [...ROWS].reverse();
    orders.push(order.map((r) => r.id));
    for (const cell of CELLS) {
      for (const row of order) {
        const what = `round ${round + 1}/${ROUNDS} ${row.id} concurrency ${cell.concurrency} ${cell.size}`;
        const result = await run(row, cell, KNOBS.BENCH_GRPC_RUN_WARMUP_S, KNOBS.BENCH_GRPC_DURATION_S, what);
        const list = results.get(key(row, cell)) ?? [];
        list.push(result);
        results.set(key(row, cell), list);
        const m = measuredOf(result);
        progress(`${what}: ${int(m.reqPerS)} calls/s, p50 ${fmtMs(m.p50Ms)} ms, p99 ${fmtMs(m.p99Ms)} ms${result.failures ? `, ${result.failures} FAILED` : ''}`);
      }
    }
  }
  return { results, orders, loadBefore };
}

interface Bytes extends ByteCounts {
  readonly calls: number;
}

/** Bytes per call, through the relay: every row and cell once, `BYTES_CALLS` calls after a warm-up. */
async function bytesPass(child: ChildProcess, simulator: ProjectProcess, failures: AdapterFailures): Promise<Map<string, Bytes>> {
  const target = new URL(simulator.url);
  const bytes = new Map<string, Bytes>();
  for (const cell of CELLS) {
    for (const row of ROWS) {
      // A relay per run: its counters start at zero and no connection outlives the run.
      const proxy = new ByteCountingProxy(target.hostname, Number(target.port));
      const url = await proxy.listen();
      let before: ByteCounts = { up: 0, down: 0 };
      const result = await runLoad(
        child,
        { type: 'run', mode: 'counted', url, transport: row.transport, concurrency: cell.concurrency, size: cell.size, largeBytes: LARGE_BYTES, keyPrefix: nextPrefix(), warmUpCalls: BYTES_WARMUP_CALLS, calls: BYTES_CALLS },
        `bytes ${row.id} ${cellId(cell)}`,
        () => (before = proxy.counts()),
      );
      const after = proxy.counts();
      await proxy.close();
      await control(simulator, 'Reset');
      failures.calls += result.calls;
      failures.failures += result.failures;
      failures.first ??= result.firstFailure;
      bytes.set(key(row, cell), { up: after.up - before.up, down: after.down - before.down, calls: result.calls });
      progress(`bytes ${row.id} concurrency ${cell.concurrency} ${cell.size}: ${int((after.up - before.up + after.down - before.down) / result.calls)} per call`);
    }
  }
  return bytes;
}

const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtCpu = (n: number | null) => (n === null ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
/** A figure and, off the baseline row, its ratio to the baseline's. */
const withRatio = (text: string, value: number | null, base: number | null | undefined, isBase: boolean) =>
  isBase || value === null || !base ? text : `${text} (${ratio(value, base)})`;

function mediansOf(runs: readonly LoadResult[]): Measured {
  const m = runs.map(measuredOf);
  const server = m.map((x) => x.serverCpuPer1k).filter((x): x is number => x !== null);
  return {
    reqPerS: median(m.map((x) => x.reqPerS)),
    p50Ms: median(m.map((x) => x.p50Ms)),
    p99Ms: median(m.map((x) => x.p99Ms)),
    clientCpuPer1k: median(m.map((x) => x.clientCpuPer1k)),
    serverCpuPer1k: server.length === m.length ? median(server) : null,
  };
}

function adapterTable(results: Map<string, LoadResult[]>, bytes: Map<string, Bytes>): string[] {
  const lines = [
    `| concurrency | message | transport | calls/s | p50 ms | p99 ms | client CPU ms / 1k calls | server CPU ms / 1k calls | bytes / call |`,
    '|--:|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const cell of CELLS) {
    const base = mediansOf(results.get(key(BASELINE, cell))!);
    const baseBytes = bytes.get(key(BASELINE, cell));
    const perCall = (b: Bytes | undefined) => (b ? (b.up + b.down) / b.calls : null);
    for (const row of ROWS) {
      const m = mediansOf(results.get(key(row, cell))!);
      const isBase = row === BASELINE;
      const b = perCall(bytes.get(key(row, cell)));
      lines.push(
        `| ${cell.concurrency} | ${sizeLabel(cell.size)} | \`${row.id}\` | ${withRatio(int(m.reqPerS), m.reqPerS, base.reqPerS, isBase)} | ${withRatio(fmtMs(m.p50Ms), m.p50Ms, base.p50Ms, isBase)} | ${withRatio(fmtMs(m.p99Ms), m.p99Ms, base.p99Ms, isBase)} | ${withRatio(fmtCpu(m.clientCpuPer1k), m.clientCpuPer1k, base.clientCpuPer1k, isBase)} | ${withRatio(fmtCpu(m.serverCpuPer1k), m.serverCpuPer1k, base.serverCpuPer1k, isBase)} | ${b === null ? 'n/a' : withRatio(int(b), b, perCall(baseBytes), isBase)} |`,
      );
    }
  }
  return lines;
}

function adapterRoundLines(results: Map<string, LoadResult[]>, bytes: Map<string, Bytes>, orders: string[][]): string[] {
  const lines = [
    'Per round (calls/s, p50 ms, p99 ms, client / server CPU ms per 1k calls):',
    '',
    `| cell | transport | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|---|${'---|'.repeat(ROUNDS)}`,
  ];
  for (const cell of CELLS) {
    for (const row of ROWS) {
      const cells = results.get(key(row, cell))!.map((r) => {
        const m = measuredOf(r);
        return `${int(m.reqPerS)}, ${fmtMs(m.p50Ms)}, ${fmtMs(m.p99Ms)}, ${fmtCpu(m.clientCpuPer1k)} / ${fmtCpu(m.serverCpuPer1k)}`;
      });
      lines.push(`| ${cellId(cell)} | \`${row.id}\` | ${cells.join(' | ')} |`);
    }
  }
  lines.push('', `Order of the transports within each cell: ${orders.map((o, i) => `round ${i + 1} ${o.join(' → ')}`).join('; ')}.`);
  if (bytes.size > 0) {
    lines.push('', 'Bytes on the wire (TCP payload through the relay), per call, client → server / server → client:', '');
    for (const cell of CELLS) {
      lines.push(`- ${cellId(cell)}: ${ROWS.map((row) => {
        const b = bytes.get(key(row, cell))!;
        return `\`${row.id}\` ${int(b.up / b.calls)} / ${int(b.down / b.calls)}`;
      }).join(', ')}`);
    }
  }
  return lines;
}

// ---- the end-to-end table -------------------------------------------------------------------------

interface ApiTarget {
  readonly id: string;
  readonly label: string;
  readonly api: ProjectProcess;
  readonly storage: RunStorage | undefined;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly runs: RunResult[];
  readonly cpuPer1k: number[];
}

async function startApi(row: Row, simulator: ProjectProcess): Promise<ApiTarget> {
  const storage = KNOBS.DATABASE_URL ? await createRunStorage('bench_grpc', KNOBS.DATABASE_URL) : undefined;
  const api = await startProcess({
    name: `API (${row.id})`,
    script: 'src/main.ts',
    env: {
      ...baseEnv(),
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_TOKEN,
      DEMO_ACCOUNT: 'false',
      // As a deployment serves requests (production's default), with no quota in the way of the load.
      VALIDATE_RESPONSES: 'false',
      RATE_LIMITS_ENABLED: 'false',
      PROCESSOR_URL: simulator.url,
      PROCESSOR_PROTOCOL: row.transport.protocol,
      PROCESSOR_GRPC_CHANNELS: String(row.transport.channels),
      ...(storage?.env ?? {}),
    },
    banner: API_BANNER,
    startTimeoutMs: API_START_TIMEOUT_MS,
  });
  started.add(api);
  const res = await fetch(`${api.url}/admin/accounts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `gRPC benchmark (${row.id})` }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`API (${row.id}): POST /admin/accounts answered ${res.status}: ${text.slice(0, 300)}`);
  const secret = (JSON.parse(text) as { api_key: { secret: string } }).api_key.secret;
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  // The one request measured must do what it is measured doing: create a succeeded payment.
  const probe = await fetch(`${api.url}/v1/payments`, { method: 'POST', headers: { ...headers, 'idempotency-key': `bench-${RUN_ID}-${row.id}-probe` }, body: JSON.stringify(PAYMENT_REQUEST) });
  const probeText = await probe.text();
  if (probe.status !== 201 || (JSON.parse(probeText) as { status?: string }).status !== 'succeeded') {
    throw new Error(`API (${row.id}): POST /v1/payments did not create a succeeded payment; it answered ${probe.status}: ${probeText.slice(0, 300)}`);
  }
  return { id: row.id, label: row.label, api, storage, url: `${api.url}/v1/payments`, headers, runs: [], cpuPer1k: [] };
}

interface LedgerJson {
  operations?: { kind?: string; idempotencyKey?: string }[];
}

async function endToEnd(simulator: ProjectProcess): Promise<{ lines: string[]; checks: Check[]; targets: ApiTarget[] }> {
  progress(`end to end: starting ${ROWS.length} API processes`);
  await control(simulator, 'Reset');
  const targets = await Promise.all(ROWS.map((row) => startApi(row, simulator)));
  const load = startLoad();
  // The API is what is measured: a core of its own; the simulator and autocannon share the other.
  for (const t of targets) pin(t.api.pid, 0, t.api.name);
  pin(simulator.pid, 1, 'the simulator');
  pin(load.pid!, 1, 'the autocannon load process');
  const rounds = await inRounds(targets, E2E_ROUNDS, async (target, warmUp) => {
    const durationS = warmUp ? KNOBS.BENCH_GRPC_E2E_WARMUP_S : KNOBS.BENCH_GRPC_E2E_DURATION_S;
    const before = await procCpuMs(target.api.pid);
    const result = await runOn(
      load,
      { type: 'run', url: target.url, method: 'POST', headers: target.headers, body: JSON.stringify(PAYMENT_REQUEST), keys: { mode: 'unique', prefix: `bench-${RUN_ID}-${target.id}-${++keyBatch}` }, connections: KNOBS.BENCH_GRPC_E2E_CONNECTIONS, durationS },
      `${target.id} POST /v1/payments`,
    );
    const after = await procCpuMs(target.api.pid);
    target.runs.push(result);
    if (!warmUp && before !== null && after !== null) target.cpuPer1k.push(((after - before) * 1000) / Math.max(1, result.requests));
    return result;
  });

  // Exactly one charge per payment created: the processor's key for a charge is the payment id.
  const ledger = await control<LedgerJson>(simulator, 'GetLedger');
  const charges = (ledger.operations ?? []).filter((op) => op.kind === 'OPERATION_KIND_CHARGE');
  const distinct = new Set(charges.map((op) => op.idempotencyKey)).size;
  const created = targets.reduce((n, t) => n + 1 + t.runs.reduce((m, r) => m + (r.keys ? r.keys.answered201 + r.keys.retriedNew + r.keys.retriedReplayed : r.created), 0), 0);
  const checks: Check[] = [
    ...targets.map((t) => failuresCheck(t)),
    {
      ok: charges.length === created && distinct === charges.length,
      line: `the simulator's ledger holds ${int(charges.length)} charges for ${int(distinct)} payment ids; the API answered 201 for ${int(created)} keys`,
      detail: 'probes and warm-ups included; every payment charged exactly once',
    },
  ];

  const medians = new Map(
    targets.map((t) => {
      const runs = rounds.results.get(t.id)!;
      const of = (pick: (r: RunResult) => number) => median(runs.map(pick));
      return [t.id, { reqPerS: of((r) => r.reqPerS), p50Ms: of((r) => r.p50Ms), p99Ms: of((r) => r.p99Ms), cpu: t.cpuPer1k.length ? median(t.cpuPer1k) : null }];
    }),
  );
  const base = medians.get(BASELINE.id)!;
  const lines = [
    `| PROCESSOR_PROTOCOL | req/s | p50 ms | p99 ms | API CPU ms / 1k payments | req/s vs \`http\` | p99 vs \`http\` | CPU vs \`http\` |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      return `| \`${t.id}\` ${t.label} | ${int(m.reqPerS)} | ${wholeMs(m.p50Ms)} | ${wholeMs(m.p99Ms)} | ${fmtCpu(m.cpu)} | ${ratio(m.reqPerS, base.reqPerS)} | ${ratio(m.p99Ms, base.p99Ms)} | ${m.cpu === null || base.cpu === null ? 'n/a' : ratio(m.cpu, base.cpu)} |`;
    }),
    '',
    ...roundLines(targets, rounds, E2E_ROUNDS),
    '',
    `API CPU ms per 1k payments by round: ${targets.map((t) => `\`${t.id}\` ${t.cpuPer1k.map((c) => fmtCpu(c)).join(', ')}`).join('; ')}`,
    '',
    loadAverageLine(rounds.loadBefore, 'end-to-end run'),
    '',
    ...checkLines('Checks, after the last run:', checks),
  ];
  return { lines, checks, targets };
}

// ---- main -----------------------------------------------------------------------------------------

function commandLine(): string {
  const set = (Object.keys(SHAPE) as (keyof typeof SHAPE)[])
    .filter((name) => name !== 'DATABASE_URL' && JSON.stringify(KNOBS[name]) !== JSON.stringify(DEFAULTS[name]))
    .map((name) => `${name}=${Array.isArray(KNOBS[name]) ? (KNOBS[name] as number[]).join(',') : String(KNOBS[name])}`);
  if (KNOBS.DATABASE_URL) set.push(`DATABASE_URL=${withoutPassword(KNOBS.DATABASE_URL)}`);
  return [...set, 'make bench-grpc'].join(' ');
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const failures: AdapterFailures = { calls: 0, failures: 0, first: null };
  progress(`placement: ${PINNING.note}`);
  if (!PINNING.ok) console.error(`NOTE: ${PINNING.note}`);
  const simulator = await startSimulator();
  const child = await startLoadClient();
  pin(simulator.pid, 0, 'the simulator');
  pin(child.pid!, 1, 'the load client');
  progress(`simulator ${simulator.url} (pid ${simulator.pid}), load client pid ${child.pid}`);

  const { results, orders, loadBefore } = await adapterRounds(child, simulator, failures);
  const bytes = BYTES_CALLS > 0 ? await bytesPass(child, simulator, failures) : new Map<string, Bytes>();
  const adapterDoneAt = performance.now();
  const e2e = E2E_ROUNDS > 0 ? await endToEnd(simulator) : undefined;

  const out = [
    '## Processor adapter: HTTP/JSON vs gRPC',
    '',
    `- Command: \`${commandLine()}\``,
    `- Machine: ${machine()}; load average (1/5/15 min) before the first measured round: ${loadBefore.map((n) => n.toFixed(2)).join(' / ')}`,
    `- Placement: simulator on core 0, load client on core 1 (${PINNING.note}); CPU from /proc/<pid>/stat (simulator, ${CLOCK_TICKS} ticks/s) and process.cpuUsage() (client), all threads`,
    `- Load: the adapter (createProcessorClient, no retries) in its own process, closed loop, a fresh adapter per run with ${KNOBS.BENCH_GRPC_RUN_WARMUP_S} s of calls before ${KNOBS.BENCH_GRPC_DURATION_S} s measured; ${ROUNDS} rounds, the transports of each cell in alternating order; medians over the rounds`,
    `- Messages: small = what createPayment sends (key, amount, currency, capture, reference); large = the same with ${int(LARGE_BYTES)} random letters and digits of metadata, which the processor answers with too (gzipped, as both protocols do by default for answers of 1 KiB and more)`,
    `- Bytes: TCP payload both ways through a counting relay, ${int(BYTES_CALLS)} calls after ${BYTES_WARMUP_CALLS}, in a separate pass; ratios (in parentheses) against \`http\` in the same cell`,
    '',
    ...adapterTable(results, bytes),
    '',
    ...adapterRoundLines(results, bytes, orders),
    '',
    `Adapter calls: ${int(failures.calls)} measured, ${int(failures.failures)} failed${failures.first ? ` (first: ${failures.first})` : ''}; ${Math.round((adapterDoneAt - startedAt) / 1000)} s`,
  ];
  if (e2e) {
    out.push(
      '',
      '## End to end: POST /v1/payments through the API process',
      '',
      `- API: src/main.ts, one process per protocol, on core 0 (${PINNING.ok ? 'pinned' : 'not pinned'}); ${KNOBS.DATABASE_URL ? `PostgreSQL at ${withoutPassword(KNOBS.DATABASE_URL)}, a schema each` : 'embedded PGlite in memory in each'}; VALIDATE_RESPONSES=false, RATE_LIMITS_ENABLED=false, logs off; PROCESSOR_URL the same standalone simulator, on core 1`,
      `- Load: autocannon (bench/http/load.ts) on core 1, ${KNOBS.BENCH_GRPC_E2E_CONNECTIONS} connections, a unique Idempotency-Key per request, ${KNOBS.BENCH_GRPC_E2E_DURATION_S} s per run after one ${KNOBS.BENCH_GRPC_E2E_WARMUP_S} s warm-up per target; ${E2E_ROUNDS} rounds in alternating order; medians (autocannon's latency is in whole ms)`,
      '',
      ...e2e.lines,
    );
  }
  out.push('', `Total: ${Math.round((performance.now() - startedAt) / 1000)} s`);
  console.log(out.join('\n'));

  const failed = failures.failures > 0 || (e2e?.checks.some((c) => !c.ok) ?? false);
  await stopEverything();
  for (const t of e2e?.targets ?? []) await t.storage?.drop();
  if (failed) {
    console.error(`\n*** GRPC BENCHMARK CHECK FAILED ***\n${failures.failures > 0 ? `${failures.failures} adapter calls failed; first: ${failures.first}\n` : ''}${(e2e?.checks ?? []).filter((c) => !c.ok).map((c) => `${c.line}\n  ${c.detail}`).join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  await stopEverything();
  process.exit(1);
});
