/**
 * `make storm` (`npm run -s storm`): a retry storm against the idempotency and rate-limit layers,
 * to show that clients retrying as hard as they can, into a small quota and a processor that fails
 * now and then, still move money at most once.
 *
 * What it starts, all on 127.0.0.1, and stops and removes at the end (on failure and Ctrl-C too):
 * - the processor simulator (`src/processor/simulator/main.ts`) in a process of its own, with
 *   seeded faults (errors, dropped connections, hangs) set through its control API;
 * - two API processes (`src/main.ts`) sharing one PostgreSQL schema of their own and one Redis,
 *   with a small write quota. Without PostgreSQL, one API process on embedded PGlite; without
 *   Redis, each process counts its quota in its own memory.
 *
 * Then STORM_CLIENTS clients each make STORM_PAYMENTS_PER_CLIENT payments, one Idempotency-Key per
 * payment reused on every retry, alternating between the API processes, retrying on 429, 409
 * `idempotency_in_flight`, 503 and connection errors. Most wait as Retry-After says; the impatient
 * ones retry at once. After the storm the faults are switched off and the API's background
 * completer is given time to finish what the clients gave up on; the API processes are stopped,
 * and the database and the processor's ledger are counted. Exit status 1 when a check fails.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { LOG_LEVELS, QUOTA_PATTERN } from '../src/platform/config.js';
import { createDb, type Db } from '../src/platform/db.js';
import { randomBase62 } from '../src/platform/ids.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const ADMIN_TOKEN = 'storm-admin-token-0123456789abcdef';

// The API's own settings for the run: a processor call is bounded (500 ms per attempt, one retry),
// so the idempotency lease can be short and the completer can finish abandoned payments within
// seconds of the storm's end rather than the default half minute.
const API_SETTINGS = {
  PROCESSOR_TIMEOUT_MS: '500',
  PROCESSOR_MAX_RETRIES: '1',
  PROCESSOR_BREAKER_HALF_OPEN_MS: '2000',
  // More than twice the longest processor call (500 × 2 + 2,000 ms of backoff), as config requires.
  IDEMPOTENCY_LEASE_MS: '6500',
  IDEMPOTENCY_JOB_INTERVAL_MS: '500',
  SHUTDOWN_TIMEOUT_MS: '5000',
} as const;

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 8_000;
const CONTROL_TIMEOUT_MS = 10_000;
const DRAIN_POLL_MS = 500;
const FORCED_EXIT_AFTER_SIGNAL_MS = 20_000;
/** The most a patient client adds to Retry-After, so that waiting clients do not return in step. */
const RETRY_AFTER_JITTER_MS = 250;

// ---- knobs --------------------------------------------------------------------------------------


interface Knobs {
  readonly clients: number;
  readonly paymentsPerClient: number;
  readonly durationS: number;
  readonly impatientShare: number;
  readonly maxAttempts: number;
  readonly giveUpS: number;
  readonly requestTimeoutMs: number;
  readonly impatientTimeoutMs: number;
  readonly faultRate: number;
  readonly seed: number;
  readonly writeQuota: string;
  readonly drainS: number;
  readonly database: 'auto' | 'embedded';
  readonly redis: 'auto' | 'off';
  readonly logLevel: string;
}

function readKnobs(env: NodeJS.ProcessEnv = process.env): Knobs {
  const problems: string[] = [];
  const raw = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const number = (name: string, fallback: number, min: number, max: number, integer: boolean): number => {
    const v = raw(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      problems.push(`${name} must be a ${integer ? 'whole number' : 'number'} from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  };
  const choice = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const v = raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  };

  const writeQuota = raw('STORM_WRITE_QUOTA') ?? '20/2s';
  if (!QUOTA_PATTERN.test(writeQuota)) problems.push(`STORM_WRITE_QUOTA must be <requests>/<window>, the window in s, m or h (e.g. 20/2s), got ${JSON.stringify(writeQuota)}`);
  const knobs: Knobs = {
    clients: number('STORM_CLIENTS', 50, 1, 1_000, true),
    paymentsPerClient: number('STORM_PAYMENTS_PER_CLIENT', 3, 1, 1_000, true),
    durationS: number('STORM_DURATION_S', 30, 1, 600, false),
    impatientShare: number('STORM_IMPATIENT_SHARE', 0.2, 0, 1, false),
    maxAttempts: number('STORM_MAX_ATTEMPTS', 100, 1, 100_000, true),
    giveUpS: number('STORM_GIVE_UP_S', 15, 0.1, 600, false),
    requestTimeoutMs: number('STORM_REQUEST_TIMEOUT_MS', 10_000, 100, 120_000, true),
    impatientTimeoutMs: number('STORM_IMPATIENT_TIMEOUT_MS', 250, 10, 120_000, true),
    faultRate: number('STORM_FAULT_RATE', 0.1, 0, 1, false),
    seed: number('STORM_SEED', 42, -(2 ** 31), 2 ** 31 - 1, true),
    writeQuota,
    drainS: number('STORM_DRAIN_S', 15, 0, 300, false),
    database: choice('STORM_DATABASE', 'auto', ['auto', 'embedded'] as const),
    redis: choice('STORM_REDIS', 'auto', ['auto', 'off'] as const),
    logLevel: choice('STORM_LOG_LEVEL', 'error', LOG_LEVELS),
  };
  if (problems.length > 0) throw new KnobError(problems);
  return knobs;
}

class KnobError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'KnobError';
  }
}

// ---- progress, cancellation, cleanup ------------------------------------------------------------

const startedAt = Date.now();
function progress(line: string): void {
  process.stderr.write(`[${String(Math.round((Date.now() - startedAt) / 1000)).padStart(3)} s] ${line}\n`);
}

/** Aborted by Ctrl-C (or SIGTERM): every wait and request of the run listens to it. */
const interrupt = new AbortController();
// Every request and wait of every client listens to it at once.
setMaxListeners(0, interrupt.signal);

class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

function checkInterrupted(): void {
  if (interrupt.signal.aborted) throw new Interrupted();
}

async function pause(ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: interrupt.signal });
  } catch {
    throw new Interrupted();
  }
}

/** Undone in reverse order by `cleanUp`, whatever happens. */
const cleanups: { what: string; run: () => Promise<void> }[] = [];
const children = new Set<ChildProcess>();

async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    try {
      await step.run();
    } catch (err) {
      console.error(`cleanup: could not ${step.what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

// Last resort, when the normal path could not run: no process this one started outlives it.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) return;
    progress(`${signal}: stopping and cleaning up`);
    interrupt.abort();
    setTimeout(() => {
      console.error('cleanup took too long; killing what is left');
      process.exit(130);
    }, FORCED_EXIT_AFTER_SIGNAL_MS).unref();
  });
}

// ---- child processes ----------------------------------------------------------------------------

interface Child {
  readonly name: string;
  readonly url: string;
  /** Everything the process wrote to stdout and stderr (the last 1 MB). */
  output(): string;
  /** How the process ended, if it ended before `stop()` was called. */
  diedEarly(): string | undefined;
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 1 << 20;

/**
 * Starts `node --import tsx <script>` with exactly `env` and waits for `banner` in its output.
 * Node itself is the child, so stopping it stops the process that holds the ports and connections.
 */
async function startChild(name: string, script: string, env: Record<string, string>, banner: RegExp): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT);
  };
  proc.stdout.on('data', append);
  proc.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  let stopping = false;
  let died: string | undefined;
  void exited.then(() => {
    children.delete(proc);
    if (!stopping) died = proc.signalCode ?? `exit code ${proc.exitCode}`;
  });

  const stop = async () => {
    stopping = true;
    if (!running()) return;
    proc.kill('SIGTERM');
    const late = await Promise.race([exited.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
    if (late && running()) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  cleanups.push({ what: `stop ${name}`, run: stop });

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!banner.test(out)) {
    if (!running()) throw new Error(`${name} exited before it was ready:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${name} was not ready within ${START_TIMEOUT_MS} ms:\n${out}`);
    await pause(50);
  }
  return { name, url: banner.exec(out)![1]!, output: () => out, diedEarly: () => died, stop };
}

// ---- storage and Redis --------------------------------------------------------------------------

interface Storage {
  readonly kind: 'postgres' | 'pglite';
  /** For the report, without a password. */
  readonly label: string;
  /** What points an API process at it. */
  readonly env: Record<string, string>;
  /** Opens it from this process; on PGlite only once no API process has it open. */
  open(): Db;
}

function withoutPassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function postgresAnswers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

async function withPostgres(url: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, statement_timeout: 15_000 });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

async function redisAnswers(url: string): Promise<string | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  // The 'error' event names the cause (ECONNREFUSED …); the rejection only says the connection closed.
  let cause: string | undefined;
  client.on('error', (err: Error) => (cause ??= err.message));
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? null : 'PING was not answered with PONG';
  } catch (err) {
    return cause ?? (err instanceof Error ? err.message : String(err));
  } finally {
    client.disconnect();
  }
}

/**
 * DATABASE_URL when set (it must answer), else the local test database when it answers, in a
 * schema of the run's own; else embedded PGlite in a temporary directory.
 */
async function prepareStorage(knobs: Knobs, notes: string[]): Promise<Storage> {
  const explicit = process.env.DATABASE_URL?.trim() || undefined;
  let url: string | undefined;
  if (knobs.database === 'embedded') {
    notes.push('STORM_DATABASE=embedded: one API process on embedded PGlite.');
  } else if (explicit) {
    const problem = await postgresAnswers(explicit);
    if (problem) throw new Error(`DATABASE_URL is set, but PostgreSQL at ${withoutPassword(explicit)} does not answer: ${problem}`);
    url = explicit;
  } else {
    const problem = await postgresAnswers(DEFAULT_DATABASE_URL);
    if (problem) notes.push(`PostgreSQL at ${DEFAULT_DATABASE_URL} does not answer (${problem}): one API process on embedded PGlite instead of two on PostgreSQL.`);
    else url = DEFAULT_DATABASE_URL;
  }

  if (!url) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-storm-'));
    cleanups.push({ what: `remove ${dir}`, run: () => rm(dir, { recursive: true, force: true }) });
    return { kind: 'pglite', label: `embedded PGlite in ${dir} (removed at the end)`, env: { DATA_DIR: dir }, open: () => createDb({ dataDir: dir }) };
  }

  // The API has no schema setting, so the connection string carries one: node-postgres sends
  // `options` in its startup message and the server starts every session with that search_path.
  const schema = `storm_${randomBase62(10).toLowerCase()}`;
  const base = url;
  await withPostgres(base, (c) => c.query(`create schema "${schema}"`));
  cleanups.push({ what: `drop schema ${schema}`, run: () => withPostgres(base, (c) => c.query(`drop schema if exists "${schema}" cascade`)) });
  const scoped = new URL(base);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    kind: 'postgres',
    label: `PostgreSQL at ${withoutPassword(base)}, schema ${schema} of the run's own (dropped at the end)`,
    env: { DATABASE_URL: scoped.toString() },
    open: () => createDb({ url: base, schema, poolMax: 2 }),
  };
}

/** REDIS_URL when set (it must answer), else the local Redis when it answers, else none. */
async function chooseRedis(knobs: Knobs, notes: string[]): Promise<string | undefined> {
  if (knobs.redis === 'off') {
    notes.push('STORM_REDIS=off: each API process counts the quota in its own memory.');
    return undefined;
  }
  const explicit = process.env.REDIS_URL?.trim() || undefined;
  if (explicit) {
    const problem = await redisAnswers(explicit);
    if (problem) throw new Error(`REDIS_URL is set, but Redis at ${withoutPassword(explicit)} does not answer: ${problem}`);
    return explicit;
  }
  const problem = await redisAnswers(DEFAULT_REDIS_URL);
  if (problem) {
    notes.push(`Redis at ${DEFAULT_REDIS_URL} does not answer (${problem}): rate limits in memory, each API process counting the quota on its own.`);
    return undefined;
  }
  return DEFAULT_REDIS_URL;
}

// ---- HTTP ---------------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json<T>(): T | undefined;
}

async function send(url: string, init: RequestInit & { timeoutMs: number }): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.any([interrupt.signal, AbortSignal.timeout(init.timeoutMs)]) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json<T>() {
      try {
        return JSON.parse(text) as T;
      } catch {
        return undefined;
      }
    },
  };
}

/** A control or set-up call that must succeed with `expected`. */
async function mustSend(what: string, url: string, init: RequestInit, expected: number): Promise<Answer> {
  let answer: Answer;
  try {
    answer = await send(url, { ...init, timeoutMs: CONTROL_TIMEOUT_MS });
  } catch (err) {
    checkInterrupted();
    throw new Error(`${what}: ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (answer.status !== expected) throw new Error(`${what}: ${url} answered ${answer.status} (expected ${expected}): ${answer.text.slice(0, 500)}`);
  return answer;
}

/** The simulator's control token for this run (its control API refuses requests without it). */
const CONTROL_TOKEN = randomBytes(24).toString('hex');
const controlHeaders = { authorization: `Bearer ${CONTROL_TOKEN}` };
const putJson = (body: unknown): RequestInit => ({ method: 'PUT', headers: { ...controlHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Seconds (or an HTTP date) to milliseconds; undefined when absent or unreadable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

// ---- the storm ----------------------------------------------------------------------------------

type ClientKind = 'patient' | 'impatient';

/** What one group of clients (or all of them) sent and got. */
class Tally {
  requests = 0;
  created = 0;
  createdReplayed = 0;
  inFlight409 = 0;
  rateLimited = 0;
  unavailable = 0;
  otherAnswers = 0;
  unexpected5xx = 0;
  connectionErrors = 0;
  timeouts = 0;
  retryAfterOn429 = 0;
  rateLimitHeadersOn429 = 0;
  retryAfterOn503 = 0;
  latenciesMs: number[] = [];
  createdLatenciesMs: number[] = [];
  logical = 0;
  succeeded = 0;
  unfinished = 0;
  refused = 0;
  notStarted = 0;
}

interface Logical {
  readonly key: string;
  readonly kind: ClientKind;
  attempts: number;
  outcome: 'succeeded' | 'unfinished' | 'refused' | 'not_started';
  /** Every payment id a 201 named for this key: one, or none. */
  readonly paymentIds: Set<string>;
}

interface StormSample {
  readonly status: number;
  readonly instance: string;
  readonly requestId: string | null;
  readonly body: string;
}

interface StormResult {
  readonly tallies: Record<ClientKind | 'all', Tally>;
  readonly logicals: Logical[];
  readonly perInstance: number[];
  /** The first few answers that were neither expected nor retried, for the report. */
  readonly samples: StormSample[];
  readonly elapsedMs: number;
}

type AttemptOutcome = { kind: 'created'; paymentId: string } | { kind: 'retry'; waitMs: number | undefined } | { kind: 'final' };

async function storm(knobs: Knobs, runId: string, apis: Child[], secret: string): Promise<StormResult> {
  const tallies: Record<ClientKind | 'all', Tally> = { patient: new Tally(), impatient: new Tally(), all: new Tally() };
  const logicals: Logical[] = [];
  const perInstance = apis.map(() => 0);
  const samples: StormSample[] = [];
  const began = Date.now();
  const stormDeadline = began + knobs.durationS * 1000;

  const count = (kind: ClientKind, apply: (t: Tally) => void) => {
    apply(tallies[kind]);
    apply(tallies.all);
  };

  async function attempt(kind: ClientKind, instance: number, logical: Logical, body: string): Promise<AttemptOutcome> {
    const api = apis[instance]!;
    perInstance[instance]! += 1;
    count(kind, (t) => t.requests++);
    const t0 = performance.now();
    let answer: Answer;
    try {
      answer = await send(`${api.url}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': logical.key },
        body,
        timeoutMs: kind === 'impatient' ? knobs.impatientTimeoutMs : knobs.requestTimeoutMs,
      });
    } catch (err) {
      checkInterrupted();
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || (err.cause instanceof Error && err.cause.name === 'TimeoutError'));
      count(kind, (t) => (timedOut ? t.timeouts++ : t.connectionErrors++));
      return { kind: 'retry', waitMs: undefined };
    }
    const latency = performance.now() - t0;
    count(kind, (t) => t.latenciesMs.push(latency));
    const { status, headers } = answer;
    const retryAfter = retryAfterMs(headers.get('retry-after'));

    if (status === 201) {
      const payment = answer.json<{ id?: unknown }>();
      const replayed = headers.get('idempotent-replayed') === 'true';
      count(kind, (t) => {
        t.created++;
        if (replayed) t.createdReplayed++;
        t.createdLatenciesMs.push(latency);
      });
      if (typeof payment?.id === 'string') return { kind: 'created', paymentId: payment.id };
      count(kind, (t) => t.otherAnswers++);
      return { kind: 'final' };
    }
    if (status === 429) {
      count(kind, (t) => {
        t.rateLimited++;
        if (retryAfter !== undefined) t.retryAfterOn429++;
        if (headers.get('ratelimit') && headers.get('ratelimit-policy')) t.rateLimitHeadersOn429++;
      });
      return { kind: 'retry', waitMs: retryAfter };
    }
    if (status === 409 && answer.json<{ code?: unknown }>()?.code === 'idempotency_in_flight') {
      count(kind, (t) => t.inFlight409++);
      return { kind: 'retry', waitMs: retryAfter };
    }
    if (status === 503) {
      count(kind, (t) => {
        t.unavailable++;
        if (retryAfter !== undefined) t.retryAfterOn503++;
      });
      return { kind: 'retry', waitMs: retryAfter };
    }
    count(kind, (t) => (status >= 500 ? t.unexpected5xx++ : t.otherAnswers++));
    if (samples.length < 10) samples.push({ status, instance: api.url, requestId: headers.get('request-id'), body: answer.text.slice(0, 600) });
    return { kind: 'final' };
  }

  async function client(index: number, kind: ClientKind): Promise<void> {
    let sent = 0;
    for (let n = 0; n < knobs.paymentsPerClient; n++) {
      const logical: Logical = { key: `storm-${runId}-${index}-${n}`, kind, attempts: 0, outcome: 'unfinished', paymentIds: new Set() };
      logicals.push(logical);
      if (Date.now() >= stormDeadline) {
        logical.outcome = 'not_started';
        continue;
      }
      // Never an amount ending in 402: the simulator declines those.
      let amount = 1_000 + ((index * knobs.paymentsPerClient + n) % 9_000);
      if (amount % 1_000 === 402) amount += 1;
      const body = JSON.stringify({
        amount,
        currency: 'EUR',
        description: 'Retry storm payment',
        metadata: { storm_run: runId, storm_key: logical.key },
      });
      const giveUpAt = Math.min(Date.now() + knobs.giveUpS * 1000, stormDeadline);
      for (;;) {
        if (logical.attempts >= knobs.maxAttempts || Date.now() >= giveUpAt) break;
        logical.attempts++;
        const outcome = await attempt(kind, (index + sent++) % apis.length, logical, body);
        if (outcome.kind === 'created') {
          logical.paymentIds.add(outcome.paymentId);
          logical.outcome = 'succeeded';
          break;
        }
        if (outcome.kind === 'final') {
          logical.outcome = 'refused';
          break;
        }
        const waitMs =
          kind === 'impatient'
            ? 0
            : outcome.waitMs !== undefined
              ? outcome.waitMs + Math.random() * RETRY_AFTER_JITTER_MS
              : // No Retry-After (a connection error): a short backoff with full jitter.
                Math.random() * Math.min(2_000, 100 * 2 ** Math.min(logical.attempts, 5));
        if (Date.now() + waitMs >= giveUpAt) break;
        if (waitMs > 0) await pause(waitMs);
        else checkInterrupted();
      }
    }
  }

  // Impatient clients spread evenly among the patient ones.
  const kindOf = (i: number): ClientKind => (Math.floor((i + 1) * knobs.impatientShare) > Math.floor(i * knobs.impatientShare) ? 'impatient' : 'patient');
  await Promise.all(Array.from({ length: knobs.clients }, (_, i) => client(i, kindOf(i))));

  for (const logical of logicals) {
    count(logical.kind, (t) => {
      t.logical++;
      if (logical.outcome === 'succeeded') t.succeeded++;
      else if (logical.outcome === 'unfinished') t.unfinished++;
      else if (logical.outcome === 'refused') t.refused++;
      else t.notStarted++;
    });
  }
  return { tallies, logicals, perInstance, samples, elapsedMs: Date.now() - began };
}

// ---- after the storm ----------------------------------------------------------------------------

/** Payments still `processing` for the account, read through the API (up to 100). */
async function processingCount(api: Child, secret: string): Promise<number> {
  const answer = await mustSend('list processing payments', `${api.url}/v1/payments?status=processing&limit=100`, { headers: { authorization: `Bearer ${secret}` } }, 200);
  const page = answer.json<{ data?: unknown[]; has_more?: boolean }>();
  return (page?.data?.length ?? 0) + (page?.has_more ? 1 : 0);
}

interface Drain {
  readonly processingAtEnd: number;
  readonly processingAfter: number;
  readonly elapsedMs: number;
}

/** Waits, bounded, for the completer to finish the payments the clients left `processing`. */
async function drain(knobs: Knobs, api: Child, secret: string): Promise<Drain> {
  const began = Date.now();
  const processingAtEnd = await processingCount(api, secret);
  let processing = processingAtEnd;
  while (processing > 0 && Date.now() - began < knobs.drainS * 1000) {
    await pause(DRAIN_POLL_MS);
    processing = await processingCount(api, secret);
  }
  return { processingAtEnd, processingAfter: processing, elapsedMs: Date.now() - began };
}

interface PaymentRow {
  id: string;
  status: string;
  storm_key: string | null;
}

interface Books {
  readonly payments: PaymentRow[];
  readonly unfinishedKeys: number;
  readonly keys: number;
}

async function readBooks(storage: Storage, accountId: string): Promise<Books> {
  const db = storage.open();
  try {
    const payments: PaymentRow[] = await db('payments')
      .where('account_id', accountId)
      .select('id', 'status', db.raw("metadata->>'storm_key' as storm_key"));
    const keys: { recovery_point: string; n: number | string }[] = await db('idempotency_keys')
      .where('account_id', accountId)
      .select('recovery_point')
      .count({ n: '*' })
      .groupBy('recovery_point');
    const total = keys.reduce((s, k) => s + Number(k.n), 0);
    const unfinished = keys.filter((k) => k.recovery_point !== 'finished').reduce((s, k) => s + Number(k.n), 0);
    return { payments, keys: total, unfinishedKeys: unfinished };
  } finally {
    await db.destroy();
  }
}

interface LedgerCharge {
  id: string;
  idempotency_key: string;
  status: string;
}

interface Ledger {
  charges: LedgerCharge[];
  stats: { requests: number; replays: number; faults: { error: number; timeout: number; drop: number } };
}

// ---- report -------------------------------------------------------------------------------------

const int = (n: number) => Math.round(n).toLocaleString('en-US');

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v < 10 ? v.toFixed(1) : int(v));

interface Check {
  readonly ok: boolean;
  readonly line: string;
}

interface Setup {
  readonly knobs: Knobs;
  readonly storage: Storage;
  readonly apis: Child[];
  readonly rateLimitBanner: string;
  readonly notes: string[];
}

function report(setup: Setup, result: StormResult, drained: Drain, books: Books, ledger: Ledger, checks: Check[]): string {
  const { knobs, storage, apis } = setup;
  const { tallies: t, perInstance } = result;
  const cpus = os.cpus();
  const kinds = ['all', 'patient', 'impatient'] as const;
  const clientsOf = (k: (typeof kinds)[number]) => (k === 'all' ? knobs.clients : result.logicals.filter((l) => l.kind === k).length / knobs.paymentsPerClient);
  const row = (label: string, value: (x: Tally) => string) => `| ${label} | ${kinds.map((k) => value(t[k])).join(' | ')} |`;
  const of = (part: number, whole: number) => `${int(part)} of ${int(whole)}`;

  const paymentIds = new Map(books.payments.map((p) => [p.id, p]));
  const stormCharges = ledger.charges.filter((c) => paymentIds.has(c.idempotency_key));
  const chargedKeys = new Set(stormCharges.map((c) => paymentIds.get(c.idempotency_key)!.storm_key));
  const byStatus = new Map<string, number>();
  for (const p of books.payments) byStatus.set(p.status, (byStatus.get(p.status) ?? 0) + 1);
  const clientSucceeded = new Set(result.logicals.filter((l) => l.outcome === 'succeeded').map((l) => l.key));
  const finishedForOthers = new Set(books.payments.filter((p) => p.status !== 'processing' && p.storm_key && !clientSucceeded.has(p.storm_key)).map((p) => p.storm_key));
  const faultPct = (knobs.faultRate * 100) / 3;

  const lines = [
    `## Retry storm: POST /v1/payments, ${knobs.clients} clients × ${knobs.paymentsPerClient} payments, ${apis.length} API process${apis.length === 1 ? '' : 'es'}`,
    '',
    ...setup.notes.map((n) => `- NOTE: ${n}`),
    `- Storage: ${storage.label}`,
    `- Rate limits: RATE_LIMIT_WRITE=${knobs.writeQuota} per API key, RATE_LIMIT_INSTANCES=${apis.length}; ${setup.rateLimitBanner}`,
    `- Processor: the simulator in its own process, faults on ${(knobs.faultRate * 100).toFixed(0)} % of its requests ` +
      `(errors, drops and hangs, ${faultPct.toFixed(1)} % each, before or after the charge is applied; seed ${knobs.seed}); ` +
      `API adapter: PROCESSOR_TIMEOUT_MS=${API_SETTINGS.PROCESSOR_TIMEOUT_MS}, PROCESSOR_MAX_RETRIES=${API_SETTINGS.PROCESSOR_MAX_RETRIES}`,
    `- Clients: ${int(clientsOf('impatient'))} of ${knobs.clients} impatient (stop waiting for an answer after ${knobs.impatientTimeoutMs} ms and ` +
      `retry at once, ignoring Retry-After); the others wait up to ${knobs.requestTimeoutMs} ms for an answer, then as Retry-After says ` +
      `plus up to ${RETRY_AFTER_JITTER_MS} ms, or a jittered backoff after a connection error. One Idempotency-Key per logical payment, ` +
      `reused on every retry; ${apis.length > 1 ? 'attempts alternate between the API processes' : 'every attempt to the one API process'}; retried on 429, 409 idempotency_in_flight, 503 and ` +
      `connection errors; a logical payment is given up after ${knobs.maxAttempts} attempts or ${knobs.giveUpS} s`,
    `- Storm: ${(result.elapsedMs / 1000).toFixed(1)} s (at most ${knobs.durationS} s). Then the faults were switched off and the completer ` +
      `(IDEMPOTENCY_LEASE_MS=${API_SETTINGS.IDEMPOTENCY_LEASE_MS}) had up to ${knobs.drainS} s to finish what was left processing: ` +
      `${drained.processingAtEnd} → ${drained.processingAfter} in ${(drained.elapsedMs / 1000).toFixed(1)} s`,
    `- Machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs; load average ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ')}`,
    '',
    '| requests | all clients | patient | impatient |',
    '|---|--:|--:|--:|',
    row('requests sent', (x) => int(x.requests)),
    row('201 created (replayed)', (x) => `${int(x.created)} (${int(x.createdReplayed)})`),
    row('409 idempotency_in_flight', (x) => int(x.inFlight409)),
    row('429 rate_limited', (x) => int(x.rateLimited)),
    row('503', (x) => int(x.unavailable)),
    row('other answers', (x) => int(x.otherAnswers)),
    row('connection errors / client timeouts', (x) => `${int(x.connectionErrors)} / ${int(x.timeouts)}`),
    row('**5xx other than 503** (must be 0)', (x) => int(x.unexpected5xx)),
    row('429s with Retry-After (must be all)', (x) => of(x.retryAfterOn429, x.rateLimited)),
    row('429s with RateLimit and RateLimit-Policy (must be all)', (x) => of(x.rateLimitHeadersOn429, x.rateLimited)),
    row('503s with Retry-After', (x) => of(x.retryAfterOn503, x.unavailable)),
    row('latency p50 / p99 ms, every answer', (x) => `${ms(percentile(x.latenciesMs, 50))} / ${ms(percentile(x.latenciesMs, 99))}`),
    row('latency p50 / p99 ms, 201s', (x) => `${ms(percentile(x.createdLatenciesMs, 50))} / ${ms(percentile(x.createdLatenciesMs, 99))}`),
    `| requests per API process | ${perInstance.map(int).join(' / ')} | | |`,
    '',
    '| logical payments | all clients | patient | impatient |',
    '|---|--:|--:|--:|',
    row('attempted', (x) => int(x.logical - x.notStarted)),
    row('succeeded (a 201 reached the client)', (x) => int(x.succeeded)),
    row('unfinished (the client gave up)', (x) => int(x.unfinished)),
    row('ended by another answer', (x) => int(x.refused)),
    row('not started (storm over)', (x) => int(x.notStarted)),
    row('requests per logical payment', (x) => (x.logical - x.notStarted > 0 ? (x.requests / (x.logical - x.notStarted)).toFixed(1) : 'n/a')),
    '',
    '| the books, after the storm | count |',
    '|---|--:|',
    `| payment rows in the database for the storm's account | ${int(books.payments.length)} (${[...byStatus].map(([s, n]) => `${s} ${int(n)}`).join(', ') || 'none'}) |`,
    `| distinct logical payments among them | ${int(new Set(books.payments.map((p) => p.storm_key)).size)} |`,
    `| of which finished although the client gave up | ${int(finishedForOthers.size)} |`,
    `| idempotency keys (unfinished) | ${int(books.keys)} (${int(books.unfinishedKeys)}) |`,
    `| charges in the processor ledger for the storm's payments | ${int(stormCharges.length)} |`,
    `| distinct logical payments charged | ${int(chargedKeys.size)} |`,
    `| **duplicate charges** (must be 0) | ${int(stormCharges.length - chargedKeys.size)} |`,
    `| charges for no payment of the storm | ${int(ledger.charges.length - stormCharges.length)} |`,
    `| processor: requests / replays / faults (error, drop, hang) | ${int(ledger.stats.requests)} / ${int(ledger.stats.replays)} / ` +
      `${int(ledger.stats.faults.error)}, ${int(ledger.stats.faults.drop)}, ${int(ledger.stats.faults.timeout)} |`,
    '',
    'Checks:',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.line}`),
  ];
  return lines.join('\n');
}

function runChecks(result: StormResult, books: Books, ledger: Ledger, died: string[]): Check[] {
  const t = result.tallies.all;
  const rows = new Map(books.payments.map((p) => [p.id, p]));
  const stormCharges = ledger.charges.filter((c) => rows.has(c.idempotency_key));
  const chargedKeys = new Set(stormCharges.map((c) => rows.get(c.idempotency_key)!.storm_key));
  const conflicting = result.logicals.filter((l) => l.paymentIds.size > 1).length;
  const unknownAnswers = result.logicals.filter((l) => [...l.paymentIds].some((id) => rows.get(id)?.storm_key !== l.key)).length;
  const stillProcessing = books.payments.filter((p) => p.status === 'processing').length;
  return [
    { ok: died.length === 0, line: `every process stayed up until it was stopped${died.length > 0 ? `: ${died.join('; ')}` : ''}` },
    { ok: t.unexpected5xx === 0, line: `no 5xx other than 503: ${int(t.unexpected5xx)} in ${int(t.requests)} requests` },
    { ok: t.retryAfterOn429 === t.rateLimited, line: `every 429 carries Retry-After: ${int(t.retryAfterOn429)} of ${int(t.rateLimited)}` },
    { ok: t.rateLimitHeadersOn429 === t.rateLimited, line: `every 429 carries RateLimit and RateLimit-Policy: ${int(t.rateLimitHeadersOn429)} of ${int(t.rateLimited)}` },
    { ok: stormCharges.length === chargedKeys.size, line: `no duplicate charges: ${int(stormCharges.length)} charges for ${int(chargedKeys.size)} distinct logical payments` },
    {
      ok: books.payments.length === chargedKeys.size,
      line:
        `payment rows = distinct logical payments charged: ${int(books.payments.length)} rows, ${int(chargedKeys.size)} charged` +
        (stillProcessing > 0 ? ` (${int(stillProcessing)} still processing: the completer did not finish them within STORM_DRAIN_S)` : ''),
    },
    { ok: conflicting === 0 && unknownAnswers === 0, line: `every 201 for a key named the same payment, which the database holds under that key: ${int(conflicting)} conflicting, ${int(unknownAnswers)} unknown` },
  ];
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let knobs: Knobs;
  try {
    knobs = readKnobs();
  } catch (err) {
    if (err instanceof KnobError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }

  const notes: string[] = [];
  const runId = randomBase62(8);
  const storage = await prepareStorage(knobs, notes);
  const redisUrl = await chooseRedis(knobs, notes);
  for (const note of notes) progress(`NOTE: ${note}`);
  checkInterrupted();

  const instances = storage.kind === 'postgres' ? 2 : 1;
  const base = { PATH: process.env.PATH ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), LOG_LEVEL: knobs.logLevel };
  progress(`starting the processor simulator and ${instances} API process${instances === 1 ? '' : 'es'} (${storage.kind}, ${redisUrl ? 'Redis' : 'no Redis'})`);
  // One at a time: an API needs the simulator's port, and the first API migrates the database
  // alone (two processes migrating one fresh schema at once would race for the migration lock).
  const simulatorEnv = { ...base, PROCESSOR_HOST: '127.0.0.1', PROCESSOR_PORT: '0', PROCESSOR_CONTROL_TOKEN: CONTROL_TOKEN };
  const simulator = await startChild('processor simulator', 'src/processor/simulator/main.ts', simulatorEnv, /Processor simulator listening on (http:\/\/[\d.]+:\d+)/);
  const apiEnv = {
    ...base,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_TOKEN,
    DEMO_ACCOUNT: 'false',
    PROCESSOR_URL: simulator.url,
    RATE_LIMIT_WRITE: knobs.writeQuota,
    RATE_LIMIT_INSTANCES: String(instances),
    ...API_SETTINGS,
    ...storage.env,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const banner = /Remit API listening on (http:\/\/[\d.]+:\d+)[^\n]*\n(?:.*\n)*?\s*Processor: /;
  const apis: Child[] = [];
  for (let i = 0; i < instances; i++) apis.push(await startChild(`API process ${i + 1}`, 'src/main.ts', apiEnv, banner));
  const rateLimitBanner = /Rate limits: ([^\n]*)/.exec(apis[0]!.output())?.[1]?.trim() ?? 'unknown';
  progress(`up: simulator ${simulator.url}, API ${apis.map((a) => a.url).join(' and ')}; rate limits ${rateLimitBanner}`);

  const r = knobs.faultRate / 3;
  const faults = { error_rate: r, drop_rate: r, timeout_rate: r, fault_point: 'random', seed: knobs.seed, latency_ms: 20, latency_jitter_ms: 80, hang_ms: 5_000 };
  await mustSend('set processor faults', `${simulator.url}/control/faults`, putJson(faults), 200);

  const created = await mustSend(
    'create the storm account',
    `${apis[0]!.url}/admin/accounts`,
    { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `Retry storm ${runId}` }) },
    201,
  );
  const account = created.json<{ account: { id: string }; api_key: { secret: string } }>();
  if (!account?.account?.id || !account.api_key?.secret) throw new Error(`create the storm account: unexpected body ${created.text.slice(0, 500)}`);
  const secret = account.api_key.secret;

  progress(`storm: ${knobs.clients} clients × ${knobs.paymentsPerClient} payments, write quota ${knobs.writeQuota}, at most ${knobs.durationS} s`);
  const result = await storm(knobs, runId, apis, secret);
  const a = result.tallies.all;
  progress(`storm over in ${(result.elapsedMs / 1000).toFixed(1)} s: ${int(a.requests)} requests, ${int(a.succeeded)} of ${int(a.logical)} payments succeeded, ${int(a.unfinished)} unfinished`);

  await mustSend('switch the faults off', `${simulator.url}/control/faults`, putJson({ error_rate: 0, drop_rate: 0, timeout_rate: 0 }), 200);
  const drained = await drain(knobs, apis[0]!, secret);
  progress(`drain: ${drained.processingAtEnd} payments processing at the storm's end, ${drained.processingAfter} after ${(drained.elapsedMs / 1000).toFixed(1)} s`);

  // Stopped before counting: in-flight work finishes (graceful shutdown), and PGlite's data
  // directory can only be opened once its process has let go of it.
  const died = [simulator, ...apis].flatMap((c) => {
    const how = c.diedEarly();
    return how ? [`${c.name} ended (${how})`] : [];
  });
  await Promise.all(apis.map((api) => api.stop()));
  // Error-level log lines, less the ones that go with an expected 503 (the processor unavailable).
  const apiErrors = apis.flatMap((api) =>
    api
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l) && !/"statusCode":503|"type":"ProcessorUnavailableError"/.test(l)),
  );
  const ledger = (await mustSend('read the ledger', `${simulator.url}/control/ledger`, { headers: controlHeaders }, 200)).json<Ledger>();
  if (!ledger) throw new Error('read the ledger: the body is not JSON');
  const books = await readBooks(storage, account.account.id);

  const checks = runChecks(result, books, ledger, died);
  console.log(report({ knobs, storage, apis, rateLimitBanner, notes }, result, drained, books, ledger, checks));

  const failed = checks.filter((c) => !c.ok);
  if (result.samples.length > 0) {
    console.error(`\nAnswers neither expected nor retried (first ${result.samples.length}):`);
    for (const s of result.samples) console.error(`- ${s.status} from ${s.instance}, Request-Id ${s.requestId ?? 'none'}: ${s.body}`);
  }
  if (apiErrors.length > 0) {
    console.error(`\nError lines the API processes logged (first ${Math.min(apiErrors.length, 20)} of ${apiErrors.length}):\n${apiErrors.slice(0, 20).join('\n')}`);
  }
  if (failed.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nRETRY STORM CHECK FAILED (${failed.length}):\n${failed.map((c) => `- ${c.line}`).join('\n')}\n${bar}`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (err instanceof Interrupted || interrupt.signal.aborted) code = 130;
  else console.error('retry storm failed:', err instanceof Error ? err.message : err);
} finally {
  const started = cleanups.length > 0;
  await cleanUp();
  if (started) progress(`${code === 130 ? 'interrupted' : 'done'}; everything it started is stopped and removed`);
}
process.exit(code);
