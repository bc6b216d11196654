/**
 * The API as a separate operating-system process (`src/main.ts`, the code `npm start` runs), on
 * storage that outlives it, so a test can kill it with SIGKILL at a chosen moment and start another
 * one on the same data — the way a crashed instance is replaced in production.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../../src/platform/db.js';
import { randomBase62 } from '../../src/platform/ids.js';
import { ADMIN_TOKEN } from './app.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

const BANNER = /Remit API listening on (http:\/\/[\d.]+:\d+)/;

export interface ApiProcess {
  /** Where the API listens, read from its start-up banner. */
  readonly url: string;
  readonly pid: number;
  /** Everything the process wrote to stdout and stderr so far, for failure messages. */
  output(): string;
  /** Whether the process has exited (for any reason). */
  exited(): boolean;
  /** Sends `signal` (unless it has already exited) and waits, bounded, for the process to exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/**
 * Starts `node --import tsx src/main.ts` with a minimal environment plus `env`, and waits for its
 * banner. Node itself is the child (not a launcher that forwards signals), so SIGKILL really kills
 * the process that holds the database connections and the lease.
 */
export async function spawnApi(env: Record<string, string>, startTimeoutMs = 45_000): Promise<ApiProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      // REMIT_CHILD_LOG_LEVEL=debug makes the process log, for debugging a failing test.
      LOG_LEVEL: process.env.REMIT_CHILD_LOG_LEVEL ?? 'silent',
      ADMIN_TOKEN,
      DEMO_ACCOUNT: 'false',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const stop = async (signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 15_000) => {
    if (hasExited()) return;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([exitPromise.then(() => 'exited' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'late' && !hasExited()) {
      child.kill('SIGKILL');
      await exitPromise;
    }
  };

  const deadline = Date.now() + startTimeoutMs;
  while (!BANNER.test(out) && !hasExited() && Date.now() < deadline) await sleep(50);
  const url = BANNER.exec(out)?.[1];
  if (!url) {
    await stop('SIGKILL');
    throw new Error(`the API process did not start within ${startTimeoutMs} ms:\n${out}`);
  }
  return { url, pid: child.pid!, output: () => out, exited: hasExited, stop };
}

/** Storage two API processes can use one after the other, and the test can open in between. */
export interface SharedStorage {
  readonly kind: 'postgres' | 'pglite';
  /** Variables that point an API process at this storage. */
  readonly env: Record<string, string>;
  /**
   * Opens the storage from the test process. On PGlite only one process may have the data
   * directory open at a time: open it only while no API process runs, and destroy it before
   * starting one.
   */
  open(): Db;
  drop(): Promise<void>;
}

export async function createSharedStorage(): Promise<SharedStorage> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-crash-'));
    return {
      kind: 'pglite',
      env: { DATA_DIR: dir },
      open: () => createDb({ dataDir: dir }),
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  // A schema of the test's own. The API process has no schema setting, so its connection string
  // carries one: node-postgres sends `options` in the startup message, and the server then starts
  // every session with that search_path, so the migrations and every query land in this schema.
  const schema = `test_crash_${randomBase62(10).toLowerCase()}`;
  const admin = createDb({ url, poolMax: 1 });
  try {
    await admin.raw(`create schema "${schema}"`);
  } finally {
    await admin.destroy();
  }
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    kind: 'postgres',
    env: { DATABASE_URL: scoped.toString() },
    open: () => createDb({ url, schema, poolMax: 2 }),
    drop: async () => {
      const dropper = createDb({ url, poolMax: 1 });
      try {
        await dropper.raw(`drop schema if exists "${schema}" cascade`);
      } finally {
        await dropper.destroy();
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
