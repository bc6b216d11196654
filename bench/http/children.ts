/**
 * The benchmark's other processes: a server per target (`server.ts`), one or two load generators
 * (`load.ts`) and, for the metrics table, a process that times `/metrics` renders
 * (`metrics-render.ts`). They are forked with an IPC channel, not started as the harness's project
 * processes (a banner on stdout, no channel), because the conversation goes on after start-up: the
 * server says where to send load and later answers audits, the load process takes one run request
 * after another.
 * Nothing started here outlives the benchmark: stopped at the end, on failure and on Ctrl-C, and
 * killed if this process exits first.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../scripts/harness/process.js';
import { CPU_PROF_DIR, DB_POOL_MAX, LOG_LEVEL, PAD_RESOURCES } from './knobs.js';
import { progress } from './run.js';
import type {
  AnyTargetId,
  AuditRequest,
  CpuRequest,
  LimiterRequest,
  LoadMessage,
  LoadRequest,
  RateLimitMode,
  RenderConfig,
  RenderMessage,
  RunResult,
  ServerConfig,
  ServerMessage,
} from './targets.js';

const SERVER_SCRIPT = path.join(import.meta.dirname, 'server.ts');
const LOAD_SCRIPT = path.join(import.meta.dirname, 'load.ts');
const RENDER_SCRIPT = path.join(import.meta.dirname, 'metrics-render.ts');

// Every server of a run starts at once, each compiling TypeScript and migrating a database: the
// whole benchmark's 23 on two cores take about two minutes before the last is ready.
const READY_TIMEOUT_MS = 300_000;
// A run that has not reported this long after its duration is stuck, not slow.
const RUN_GRACE_MS = 30_000;
// An audit counts a whole database; a limiter state is a few counters.
const ASK_TIMEOUT_MS = 60_000;
// Compiling, filling a registry and a few hundred renders of a few thousand series each.
const RENDER_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 3_000;
const FORCED_EXIT_AFTER_SIGNAL_MS = 15_000;

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
/** The child's next IPC message; rejects if it exits first or says nothing for `timeoutMs`. */
export function nextMessage<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
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

/** Sends `request` and waits for the answer, listening before sending so that no answer is missed. */
function ask<T>(child: ChildProcess, request: LoadRequest | AuditRequest | LimiterRequest | CpuRequest, timeoutMs: number, what: string): Promise<T> {
  const answer = nextMessage<T>(child, timeoutMs, what);
  child.send(request);
  return answer;
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

export async function stopAll(): Promise<void> {
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

/** A load generator, up for the whole benchmark: it takes one run request after another. */
export function startLoad(): ChildProcess {
  return spawnChild(LOAD_SCRIPT, []);
}

/** One autocannon run on `load`; `lateMs` is how much longer than its duration the answer may take beyond the usual grace. */
export async function runOn(load: ChildProcess, request: LoadRequest, what: string, lateMs = 0): Promise<RunResult> {
  const message = await ask<LoadMessage>(load, request, request.durationS * 1000 + RUN_GRACE_MS + lateMs, what);
  if (message.type === 'error') throw new Error(`${what} failed: ${message.message}`);
  return message.result;
}

export interface StartedServer {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The customer the read targets are loaded with. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly specPaths: number | null;
  /** Full-app targets: the customer's ETag. */
  readonly etag: string | undefined;
  /** Attack targets: the attackers' account's key. */
  readonly attackerHeaders: Record<string, string> | undefined;
  /** Targets loaded with an OAuth access token: when it expires (ms since the epoch). */
  readonly credentialExpiresAt: number | undefined;
}

/** A target's server, once it says it listens; `databaseUrl` for full-app targets on PostgreSQL. */
export async function startServer(
  id: AnyTargetId,
  databaseUrl: string | undefined,
  rateLimits: RateLimitMode = { mode: 'off' },
  { validateResponses = true, logLevel = LOG_LEVEL, metrics = false }: { validateResponses?: boolean; logLevel?: string; metrics?: boolean } = {},
): Promise<StartedServer> {
  const config: ServerConfig = {
    target: id,
    padResources: PAD_RESOURCES,
    logLevel,
    databaseUrl,
    dbPoolMax: DB_POOL_MAX,
    rateLimits,
    validateResponses,
    metrics,
    // BENCH_CPU_PROF: each server profiles itself from ready to stopped (see bench/README.md).
    ...(CPU_PROF_DIR ? { cpuProfile: path.resolve(CPU_PROF_DIR, `${id}.cpuprofile`) } : {}),
  };
  const child = spawnChild(SERVER_SCRIPT, [JSON.stringify(config)]);
  const message = await nextMessage<ServerMessage>(child, READY_TIMEOUT_MS, `server ${id}`);
  if (message.type === 'error') throw new Error(`server ${id} failed to start:\n${message.message}`);
  if (message.type !== 'ready') throw new Error(`server ${id} sent ${message.type} before it was ready`);
  return {
    child,
    origin: `http://127.0.0.1:${message.port}`,
    path: message.path,
    headers: message.headers,
    etag: message.etag,
    specPaths: message.specPaths,
    attackerHeaders: message.attackerHeaders,
    credentialExpiresAt: message.credentialExpiresAt,
  };
}

/** What a server says about itself: its audit or its limiter's state after its load (full-app servers), or its CPU time so far (any). */
export async function askServer<T extends 'audit' | 'limiter' | 'cpu'>(server: ChildProcess, type: T, what: string): Promise<Extract<ServerMessage, { type: T }>> {
  const message = await ask<ServerMessage>(server, { type }, ASK_TIMEOUT_MS, what);
  if (message.type !== type) throw new Error(`${what} failed: ${message.type === 'error' ? message.message : message.type}`);
  return message as Extract<ServerMessage, { type: T }>;
}

/**
 * The metrics table's render part, in a process of its own like every server, so that the renders
 * are timed in an event loop that does nothing else; the process exits once it has answered.
 */
export async function measureRender(config: RenderConfig): Promise<Extract<RenderMessage, { type: 'result' }>> {
  const child = spawnChild(RENDER_SCRIPT, [JSON.stringify(config)]);
  try {
    const message = await nextMessage<RenderMessage>(child, RENDER_TIMEOUT_MS, 'metrics render');
    if (message.type === 'error') throw new Error(`metrics render failed:\n${message.message}`);
    return message;
  } finally {
    await stopChild(child);
  }
}
