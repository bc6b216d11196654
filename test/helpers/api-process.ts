/**
 * The API as a separate operating-system process (`src/main.ts`, the code `npm start` runs), on
 * storage that outlives it, so a test can kill it with SIGKILL at a chosen moment and start another
 * one on the same data — the way a crashed instance is replaced in production.
 */
import { createRunStorage, type RunStorage } from '../../scripts/harness/storage.js';
import { API_BANNER, ROOT, startProcess, type ProjectProcess } from '../../scripts/harness/process.js';
import { ADMIN_TOKEN, testProcessorProtocol } from './app.js';

export { ROOT };

export type ApiProcess = ProjectProcess;

/**
 * Starts `node --import tsx src/main.ts` (scripts/harness/process.ts) with a minimal environment
 * plus `env`, and waits for its banner. `stop()` defaults to SIGKILL here: the tests kill API
 * processes as a crash would, and ask for SIGTERM when they mean a graceful stop.
 */
export async function spawnApi(env: Record<string, string>, startTimeoutMs = 45_000): Promise<ApiProcess> {
  const api = await startProcess({
    name: 'API process',
    script: 'src/main.ts',
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      // REMIT_CHILD_LOG_LEVEL=debug makes the process log, for debugging a failing test.
      LOG_LEVEL: process.env.REMIT_CHILD_LOG_LEVEL ?? 'silent',
      ADMIN_TOKEN,
      DEMO_ACCOUNT: 'false',
      // The protocol the in-process suites speak: a PROCESSOR_PROTOCOL=grpc run covers these processes too.
      PROCESSOR_PROTOCOL: testProcessorProtocol(),
      ...env,
    },
    banner: API_BANNER,
    startTimeoutMs,
    stopGraceMs: 15_000,
  });
  return { ...api, stop: (signal: NodeJS.Signals = 'SIGKILL') => api.stop(signal) };
}

/** Storage two API processes can use one after the other, and the test can open in between. */
export type SharedStorage = RunStorage;

/** A PostgreSQL schema of the test's own when DATABASE_URL is set, else a PGlite directory. */
export function createSharedStorage(): Promise<SharedStorage> {
  return createRunStorage(process.env.DATABASE_URL ? 'test_crash' : 'remit-crash', process.env.DATABASE_URL);
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

/** An answer of an API process, its body parsed. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** One request to an API process over a real socket, with fetch; the body sent as JSON. */
export async function call(base: string, method: string, path: string, options: { secret?: string; key?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.secret) headers.Authorization = `Bearer ${options.secret}`;
  if (options.key) headers['Idempotency-Key'] = options.key;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}
