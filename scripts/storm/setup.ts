/**
 * What the storm runs against: a database and a Redis of the run's own when the machine has them
 * (falling back, with a note, when it does not), the processor simulator, and the API processes
 * configured so that a storm of a few seconds exercises the completer. Everything created here is
 * registered for removal before it is used.
 */
import { Redis } from 'ioredis';
import { API_BANNER, SIMULATOR_BANNER, startProcess, type ProjectProcess } from '../harness/process.js';
import { createRunStorage, postgresAnswers, withoutPassword, type RunStorage } from '../harness/storage.js';
import { CONTROL_TOKEN } from './http.js';
import type { Knobs } from './knobs.js';
import { interruption, onCleanup, progress } from './run.js';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'storm-admin-token-0123456789abcdef';
export const METRICS_TOKEN = 'storm-metrics-token-0123456789abcdef';

// The API's own settings for the run: a processor call is bounded (500 ms per attempt, one retry),
// so the idempotency lease can be short and the completer can finish abandoned payments within
// seconds of the storm's end rather than the default half minute.
export const API_SETTINGS = {
  PROCESSOR_TIMEOUT_MS: '500',
  PROCESSOR_MAX_RETRIES: '1',
  PROCESSOR_BREAKER_HALF_OPEN_MS: '2000',
  // More than twice the longest processor call (500 × 2 + 2,000 ms of backoff), as config requires.
  IDEMPOTENCY_LEASE_MS: '6500',
  IDEMPOTENCY_JOB_INTERVAL_MS: '500',
  SHUTDOWN_TIMEOUT_MS: '5000',
} as const;

// The banner's first line gives the URL; waiting for its `Processor (<protocol>):` line as well
// means the `Rate limits:` line the report quotes has been printed too.
const API_READY = new RegExp(`${API_BANNER.source}[^\\n]*\\n(?:.*\\n)*?\\s*Processor \\(\\w+\\): `);

/**
 * DATABASE_URL when set (it must answer), else the local test database when it answers, in a
 * schema of the run's own; else embedded PGlite in a temporary directory.
 */
export async function prepareStorage(knobs: Knobs, notes: string[]): Promise<RunStorage> {
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

  const storage = await createRunStorage(url ? 'storm' : 'remit-storm', url);
  onCleanup(`${storage.kind === 'postgres' ? 'drop' : 'remove'} ${storage.label}`, () => storage.drop());
  return { ...storage, label: `${storage.label}${storage.kind === 'postgres' ? " of the run's own (dropped at the end)" : ' (removed at the end)'}` };
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

/** REDIS_URL when set (it must answer), else the local Redis when it answers, else none. */
export async function chooseRedis(knobs: Knobs, notes: string[]): Promise<string | undefined> {
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

async function start(name: string, script: string, env: Record<string, string>, banner: RegExp): Promise<ProjectProcess> {
  const child = await startProcess({ name, script, env, banner, signal: interruption });
  onCleanup(`stop ${name}`, () => child.stop());
  return child;
}

export interface Services {
  readonly simulator: ProjectProcess;
  readonly apis: ProjectProcess[];
  /** What the first API process says of its rate limits, for the report. */
  readonly rateLimitBanner: string;
}

/**
 * The simulator, then two API processes on PostgreSQL or one on PGlite (which one process holds),
 * with the write quota, or with every rate limit off.
 */
export async function startServices(knobs: Knobs, storage: RunStorage, redisUrl: string | undefined, limits: boolean): Promise<Services> {
  const instances = storage.kind === 'postgres' ? 2 : 1;
  const base = { PATH: process.env.PATH ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), LOG_LEVEL: knobs.logLevel };
  progress(`starting the processor simulator and ${instances} API process${instances === 1 ? '' : 'es'} (${storage.kind}, ${redisUrl ? 'Redis' : 'no Redis'})`);
  // One at a time: an API needs the simulator's port, and the first API migrates the database
  // alone (two processes migrating one fresh schema at once would race for the migration lock).
  const simulatorEnv = { ...base, PROCESSOR_HOST: '127.0.0.1', PROCESSOR_PORT: '0', PROCESSOR_CONTROL_TOKEN: CONTROL_TOKEN };
  const simulator = await start('processor simulator', 'src/processor/simulator/main.ts', simulatorEnv, SIMULATOR_BANNER);
  const apiEnv = {
    ...base,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_TOKEN,
    DEMO_ACCOUNT: 'false',
    PROCESSOR_URL: simulator.url,
    METRICS_TOKEN,
    ...(limits ? { RATE_LIMIT_WRITE: knobs.writeQuota } : { RATE_LIMITS_ENABLED: 'false' }),
    RATE_LIMIT_INSTANCES: String(instances),
    ...API_SETTINGS,
    ...storage.env,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const apis: ProjectProcess[] = [];
  for (let i = 0; i < instances; i++) apis.push(await start(`API process ${i + 1}`, 'src/main.ts', apiEnv, API_READY));
  const rateLimitBanner = /Rate limits: ([^\n]*)/.exec(apis[0]!.output())?.[1]?.trim() ?? 'unknown';
  progress(`up: simulator ${simulator.url}, API ${apis.map((a) => a.url).join(' and ')}; rate limits ${rateLimitBanner}`);
  return { simulator, apis, rateLimitBanner };
}
