/**
 * A Node process of the project's own (the API, the processor simulator, a benchmark server),
 * started as `node --import tsx <script>` with exactly the environment given, and ready once its
 * start-up banner matches. Node itself is the child, not a launcher that forwards signals, so a
 * signal reaches the process that holds the ports, the connections and the leases: SIGKILL really
 * kills it, as a crash would. Shared by the tests, the benchmarks and the storm.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** The most of a child's output kept for reports and failure messages. */
const OUTPUT_LIMIT = 1 << 20;

export interface StartOptions {
  /** Names the process in messages. */
  readonly name: string;
  /** Relative to the repository root, e.g. `src/main.ts`; or a program of the machine's, with its arguments. */
  readonly script: string | { readonly program: string; readonly args: readonly string[] };
  /** The child's whole environment (nothing is inherited but what is listed here). */
  readonly env: Record<string, string>;
  /** Matched against the output; its first group is the process's URL, unless `url` says it. */
  readonly banner: RegExp;
  /** The process's URL, when the banner does not name it. */
  readonly url?: string;
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after its signal before it sends SIGKILL. */
  readonly stopGraceMs?: number;
  /** Aborts the wait for the banner (e.g. Ctrl-C of the script that started it). */
  readonly signal?: AbortSignal;
}

export interface ProjectProcess {
  readonly name: string;
  /** What the banner's first group captured, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr (the last 1 MiB). */
  output(): string;
  exited(): boolean;
  /** How it ended, when it ended before `stop()` was called. */
  diedEarly(): string | undefined;
  /** Sends `signal` (SIGTERM unless told) and waits, bounded, for the exit; SIGKILL after the grace. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Every process started here and still running: killed if this process exits first. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startProcess(options: StartOptions): Promise<ProjectProcess> {
  const { name, script, env, banner, startTimeoutMs = 60_000, stopGraceMs = 8_000 } = options;
  const [program, args] = typeof script === 'string' ? [process.execPath, ['--import', 'tsx', script]] : [script.program, [...script.args]];
  const child = spawn(program, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  let stopping = false;
  let died: string | undefined;
  void exitPromise.then(() => {
    running.delete(child);
    if (!stopping) died = child.signalCode ?? `exit code ${child.exitCode}`;
  });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    stopping = true;
    if (hasExited()) return;
    child.kill(signal);
    const late = await Promise.race([exitPromise.then(() => false), sleep(stopGraceMs).then(() => true)]);
    if (late && !hasExited()) {
      child.kill('SIGKILL');
      await exitPromise;
    }
  };

  const deadline = Date.now() + startTimeoutMs;
  while (!banner.test(out)) {
    if (hasExited()) throw new Error(`${name} exited before it was ready:\n${out}`);
    if (options.signal?.aborted || Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(options.signal?.aborted ? `${name}: interrupted while starting` : `${name} was not ready within ${startTimeoutMs} ms:\n${out}`);
    }
    await sleep(50);
  }
  return { name, url: options.url ?? banner.exec(out)![1]!, pid: child.pid!, output: () => out, exited: hasExited, diedEarly: () => died, stop };
}

/** The API (`src/main.ts`): its banner names the URL it listens on. */
export const API_BANNER = /Remit API listening on (http:\/\/[\d.]+:\d+)/;
/** The processor simulator (`src/processor/simulator/main.ts`). */
export const SIMULATOR_BANNER = /Processor simulator listening on (http:\/\/[\d.]+:\d+)/;
