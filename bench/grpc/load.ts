/**
 * The gRPC benchmark's load client: Remit's processor adapter (`createProcessorClient`) calling
 * `CreateCharge` on the simulator from a process of its own, pinned to a core of its own by the
 * orchestrator. Closed loop: `concurrency` callers, each sending its next call when the last is
 * answered. Latency goes into an HDR histogram (microseconds, three significant digits), CPU time
 * comes from `process.cpuUsage()` here and from /proc/<pid>/stat for the simulator, both over the
 * same measured window. One run per request from the orchestrator; a fresh adapter for each.
 */
import { readFile } from 'node:fs/promises';
import { build } from 'hdr-histogram-js';
import { createProcessorClient, type ProcessorChargeInput, type ProcessorClient } from '../../src/processor/client.js';
import { chargeInput, chargeKey, type CountedRun, type LoadControl, type LoadMessage, type LoadRequest, type LoadResult, type TimedRun } from './messages.js';

// A benchmark call that fails is reported, not retried: a retry would hide it and add a call the
// counts do not show. The breaker stays out of the way for the same reason.
const CALL_TIMEOUT_MS = 10_000;

function send(message: LoadMessage): void {
  process.send?.(message);
}

/** User plus system CPU time of process `pid` so far, in ms, from /proc/<pid>/stat (fields 14 and 15). */
async function procCpuMs(pid: number, clockTicks: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function client(request: LoadRequest): ProcessorClient {
  return createProcessorClient({
    url: request.url,
    protocol: request.transport.protocol,
    grpcChannels: request.transport.channels,
    timeoutMs: CALL_TIMEOUT_MS,
    maxRetries: 0,
    breakerThreshold: 1_000_000,
    breakerHalfOpenMs: 1_000,
  });
}

/** Calls and failures of one run, whichever its mode. */
class Caller {
  private sent = 0;
  failures = 0;
  firstFailure: string | null = null;
  private readonly input: (key: string) => ProcessorChargeInput;

  constructor(
    private readonly adapter: ProcessorClient,
    private readonly request: LoadRequest,
  ) {
    // One metadata object for the run: the large message costs its encoding, not building it anew.
    const template = chargeInput(request.size, request.largeBytes, '');
    this.input = (key) => ({ ...template, reference: key });
  }

  /** One charge under a new key; resolves with its latency in µs, or null when it failed. */
  async call(): Promise<number | null> {
    const key = chargeKey(this.request.keyPrefix, ++this.sent);
    const started = performance.now();
    try {
      const result = await this.adapter.createCharge(key, this.input(key));
      if (result.ok && result.value.status === 'captured') return Math.max(1, Math.round((performance.now() - started) * 1000));
      this.fail(result.ok ? `charge ${result.value.status}` : `refused: ${result.refusal.code} ${result.refusal.message}`);
    } catch (err) {
      this.fail(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    }
    return null;
  }

  private fail(why: string): void {
    this.failures += 1;
    this.firstFailure ??= why;
  }
}

const histogram = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const msOf = (us: number) => us / 1000;

async function timed(request: TimedRun): Promise<LoadResult> {
  const adapter = client(request);
  const caller = new Caller(adapter, request);
  const latencies = histogram();
  let measuring = false;
  let stopped = false;
  let calls = 0;
  const readServer = () => (request.serverPid === null ? Promise.resolve(null) : procCpuMs(request.serverPid, request.clockTicks));

  const worker = async () => {
    while (!stopped) {
      const us = await caller.call();
      // Answers that arrive in the window count, whenever their call was sent.
      if (measuring && !stopped && us !== null) {
        latencies.recordValue(us);
        calls += 1;
      }
    }
  };
  const workers = Array.from({ length: request.concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, request.warmUpS * 1000));
  const serverBefore = await readServer();
  const window = { at: performance.now(), cpu: process.cpuUsage(), serverMs: serverBefore };
  measuring = true;
  await new Promise((resolve) => setTimeout(resolve, request.durationS * 1000));
  stopped = true;
  const seconds = (performance.now() - window.at) / 1000;
  const clientCpuMs = cpuMs(window.cpu);
  const serverAfter = await readServer();
  await Promise.all(workers);
  adapter.close();
  return {
    calls,
    seconds,
    p50Ms: msOf(latencies.getValueAtPercentile(50)),
    p99Ms: msOf(latencies.getValueAtPercentile(99)),
    clientCpuMs,
    serverCpuMs: serverAfter === null || window.serverMs === null ? null : serverAfter - window.serverMs,
    failures: caller.failures,
    firstFailure: caller.firstFailure,
  };
}

/** `total` calls by `concurrency` callers; every one answered (or failed) before it resolves. */
async function batch(caller: Caller, concurrency: number, total: number, record?: (us: number) => void): Promise<void> {
  let left = total;
  const worker = async () => {
    while (left > 0) {
      left -= 1;
      const us = await caller.call();
      if (us !== null) record?.(us);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

function nextGo(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: LoadControl) => {
      if (message.type !== 'go') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}

async function counted(request: CountedRun): Promise<LoadResult> {
  const adapter = client(request);
  const caller = new Caller(adapter, request);
  const latencies = histogram();
  await batch(caller, request.concurrency, request.warmUpCalls);
  const go = nextGo();
  send({ type: 'mark' });
  await go;
  const started = performance.now();
  const cpu = process.cpuUsage();
  let calls = 0;
  await batch(caller, request.concurrency, request.calls, (us) => {
    latencies.recordValue(us);
    calls += 1;
  });
  const result: LoadResult = {
    calls,
    seconds: (performance.now() - started) / 1000,
    p50Ms: msOf(latencies.getValueAtPercentile(50)),
    p99Ms: msOf(latencies.getValueAtPercentile(99)),
    clientCpuMs: cpuMs(cpu),
    serverCpuMs: null,
    failures: caller.failures,
    firstFailure: caller.firstFailure,
  };
  adapter.close();
  return result;
}

process.on('message', (message: LoadControl) => {
  if (message.type !== 'run') return;
  (message.mode === 'timed' ? timed(message) : counted(message)).then(
    (result) => send({ type: 'result', result }),
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// Without the orchestrator nobody will stop this process: leave with it.
process.on('disconnect', () => process.exit());
send({ type: 'ready' });
