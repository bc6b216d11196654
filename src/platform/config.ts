/**
 * The one place that reads `process.env`. Every variable is optional for `npm start`; a value that
 * is present but wrong stops start-up with a message that names the variable and says how to fix it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The request body size the spec promises to read (`x-request-body-max-bytes`); a test keeps them equal. */
export const CONTRACT_BODY_LIMIT_BYTES = 64 * 1024;

const optionalUrl = (protocols: string[], example: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || (URL.canParse(v) && protocols.includes(new URL(v).protocol)), {
      message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, e.g. ${example}`,
    });

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1'));

/** `<requests>/<window>`, the window in seconds, minutes or hours: `100/10s`, `600/1m`, `5000/1h`. */
export const QUOTA_PATTERN = /^([1-9]\d{0,8})\/([1-9]\d{0,5})(s|m|h)$/;
const WINDOW_UNIT_S = { s: 1, m: 60, h: 3600 } as const;

const quota = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((v) => QUOTA_PATTERN.test(v), { message: 'must be <requests>/<window>, the window in s, m or h (e.g. 100/10s)' })
    .transform((v): Quota => {
      const [, points, count, unit] = QUOTA_PATTERN.exec(v)!;
      return { points: Number(points), windowS: Number(count) * WINDOW_UNIT_S[unit as keyof typeof WINDOW_UNIT_S] };
    })
    .refine((q) => q.windowS <= 86_400, { message: 'window must be at most 24h' });

/**
 * Express's `trust proxy`: a hop count, or addresses/subnets (and the names loopback, linklocal,
 * uniquelocal). Never a blanket `true`: trusting every X-Forwarded-For would let any client choose
 * the address its per-address limits are counted under.
 */
const trustProxy = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === undefined || v === '' || v === 'false' ? false : v))
  .refine((v) => v === false || /^\d{1,2}$/.test(v) || v.split(',').every((t) => /^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/.test(t.trim())), {
    message: 'must be a number of proxy hops, or comma-separated proxy addresses/subnets (e.g. 10.0.0.0/8,loopback)',
  })
  .transform((v) => (v !== false && /^\d+$/.test(v) ? Number(v) : v));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { message: 'must be development, test or production' }).default('development'),
  HOST: z.string().trim().min(1).optional(),
  PORT: z.coerce.number({ message: 'must be a port number' }).int().min(0).max(65535, 'must be at most 65535').default(8080),
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:'], 'postgres://postgres@127.0.0.1:5432/remit'),
  DATABASE_POOL_MAX: z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(200).default(10),
  DATA_DIR: z.string().trim().min(1).optional(),
  REDIS_URL: optionalUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 24`)').optional(),
  PROCESSOR_URL: optionalUrl(['http:', 'https:'], 'http://127.0.0.1:4010'),
  PUBLIC_URL: optionalUrl(['http:', 'https:'], 'https://api.example.com').refine((v) => v === undefined || (!new URL(v).search && !new URL(v).hash), {
    message: 'must be a base URL without a query or fragment, e.g. https://api.example.com',
  }),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  LOG_FORMAT: z.enum(['json', 'pretty'], { message: 'must be json or pretty' }).optional(),
  VALIDATE_RESPONSES: booleanFlag,
  BODY_LIMIT_BYTES: z.coerce
    .number({ message: 'must be a number of bytes' })
    .int()
    .min(CONTRACT_BODY_LIMIT_BYTES, `must be at least ${CONTRACT_BODY_LIMIT_BYTES}: the spec promises every body up to that size is read (x-request-body-max-bytes)`)
    .max(10 * 1024 * 1024)
    .default(CONTRACT_BODY_LIMIT_BYTES),
  SERVER_HEADERS_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(120_000).default(10_000),
  SERVER_REQUEST_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(600_000).default(30_000),
  SERVER_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(600_000).default(65_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(0).max(120_000).default(10_000),
  DEMO_ACCOUNT: booleanFlag,
  PROCESSOR_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(50).max(60_000).default(2_000),
  PROCESSOR_MAX_RETRIES: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(10).default(2),
  PROCESSOR_BREAKER_THRESHOLD: z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(1_000).default(5),
  PROCESSOR_BREAKER_HALF_OPEN_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(600_000).default(5_000),
  API_KEY_CACHE_SIZE: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(1_000_000).default(10_000),
  API_KEY_CACHE_TTL_S: z.coerce.number({ message: 'must be a number of seconds' }).int().min(1).max(3_600).default(60),
  API_KEYS_MAX_PER_ACCOUNT: z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(100_000).default(100),
  IDEMPOTENCY_LEASE_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(3_600_000).default(30_000),
  IDEMPOTENCY_RETENTION_HOURS: z.coerce.number({ message: 'must be a number of hours' }).int().min(24, 'must be at least 24 (keys are kept at least a day)').max(24 * 90).default(24),
  IDEMPOTENCY_JOB_INTERVAL_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(3_600_000).default(10_000),
  RATE_LIMITS_ENABLED: booleanFlag,
  RATE_LIMIT_READ: quota('1000/10s'),
  RATE_LIMIT_WRITE: quota('200/10s'),
  RATE_LIMIT_ACCOUNT_READ: quota('3000/10s'),
  RATE_LIMIT_ACCOUNT_WRITE: quota('400/10s'),
  RATE_LIMIT_ADMIN: quota('120/1m'),
  RATE_LIMIT_OPS: quota('600/1m'),
  RATE_LIMIT_AUTH_FAILURES: quota('30/1m'),
  RATE_LIMIT_INSTANCES: z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(1_000).default(1),
  REDIS_KEY_PREFIX: z.string().trim().regex(/^[\w:.-]{1,64}$/, 'must be 1-64 characters of letters, digits and _ : . -').default('remit:rl'),
  REDIS_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(5).max(10_000).default(200),
  TRUST_PROXY: trustProxy,
});

/** A fixed-window quota: `points` requests per `windowS` seconds. */
export interface Quota {
  readonly points: number;
  readonly windowS: number;
}

/** The budgets, each counted separately (see README, "Rate limits"). */
export interface RateLimitPolicies {
  /** Per API key: GET requests. */
  readonly read: Quota;
  /** Per API key: POST, PATCH and DELETE — stricter, since each may move money. */
  readonly write: Quota;
  /** Per account, across all its keys: GET requests. Keys are free to mint; this is the ceiling. */
  readonly account_read: Quota;
  /** Per account, across all its keys: POST, PATCH and DELETE. The account's money-moving ceiling. */
  readonly account_write: Quota;
  /** For the admin token: `/admin` operations. */
  readonly admin: Quota;
  /** Per client address, per process: `/health`, `/ready`, `/openapi.json`, `/docs`. */
  readonly ops: Quota;
  /** Per client address: failed authentications before the address is refused ahead of any key lookup. */
  readonly auth: Quota;
}

/** The cap of the processor adapter's backoff between attempts. */
export const PROCESSOR_BACKOFF_MAX_MS = 2_000;

/** The longest a processor call can take: every attempt timing out, plus the capped backoff between them. */
export function worstProcessorCallMs(timeoutMs: number, maxRetries: number, backoffMaxMs = PROCESSOR_BACKOFF_MAX_MS): number {
  return timeoutMs * (maxRetries + 1) + backoffMaxMs * maxRetries;
}

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  /** The address to listen on: loopback by default, every interface by default in production. */
  readonly host: string;
  readonly port: number;
  readonly database: { readonly url?: string; readonly poolMax: number; readonly dataDir?: string };
  readonly redisUrl?: string;
  /** The operator token for `/admin`. Generated (and printed) when `ADMIN_TOKEN` is unset. */
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  readonly processorUrl?: string;
  /** The API's base URL as clients reach it (no trailing slash), for the links it gives out. */
  readonly publicUrl?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** JSON lines, or readable lines for a terminal: pretty by default on a terminal outside production. */
  readonly logFormat: 'json' | 'pretty';
  /** Validate every response against the spec. On by default except in production. */
  readonly validateResponses: boolean;
  readonly bodyLimitBytes: number;
  /** How long a client may take to send its headers, its whole request, and how long an idle connection stays open. */
  readonly server: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number; readonly keepAliveTimeoutMs: number };
  readonly shutdownTimeoutMs: number;
  /** Create a demo account and print its key at start-up. On by default on the embedded database. */
  readonly demoAccount: boolean;
  readonly processor: {
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly breakerThreshold: number;
    readonly breakerHalfOpenMs: number;
  };
  readonly idempotency: { readonly leaseMs: number; readonly retentionMs: number; readonly jobIntervalMs: number };
  /** Active API keys an account may hold at once. */
  readonly apiKeysMaxPerAccount: number;
  /** Verified keys remembered by each process (0: none), and for how long. */
  readonly apiKeyCache: { readonly maxEntries: number; readonly ttlMs: number };
  readonly rateLimits: {
    readonly enabled: boolean;
    readonly policies: RateLimitPolicies;
    /** How many API processes share the quotas: while Redis is unreachable each enforces 1/N of them. */
    readonly instances: number;
    /** Namespaces the counters in Redis, so deployments can share one Redis. */
    readonly keyPrefix: string;
  };
  /** The bound on one Redis command; past it the limiter falls back to its in-memory insurance. */
  readonly redisTimeoutMs: number;
  /** Express `trust proxy`: whose X-Forwarded-For to believe when finding the client's address. */
  readonly trustProxy: false | number | string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** For entry points: the configuration `load` reads, or its problems on stderr and exit status 1. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * Parses an environment (default: `process.env`) into a typed config, or throws ConfigError.
 * `terminal` says whether logs go to a person at a terminal (stdout is a TTY).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, terminal: boolean = process.stdout.isTTY === true): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const v = parsed.data;
  if (v.SERVER_HEADERS_TIMEOUT_MS > v.SERVER_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(['SERVER_HEADERS_TIMEOUT_MS must not be more than SERVER_REQUEST_TIMEOUT_MS (the headers are part of the request)']);
  }
  if (v.DATABASE_URL && v.DATA_DIR) {
    throw new ConfigError(['DATA_DIR applies only to the embedded database: unset it or unset DATABASE_URL']);
  }
  // Production never runs on what `npm start` gives a laptop: an embedded database, the in-process
  // fake processor, a generated admin token, a demo account with its key printed.
  if (v.NODE_ENV === 'production') {
    const missing = [
      !v.DATABASE_URL && 'DATABASE_URL is required in production (the embedded database is for development), e.g. postgres://remit@db:5432/remit',
      !v.PROCESSOR_URL && 'PROCESSOR_URL is required in production (the in-process simulator is a development tool), e.g. https://processor.example.com',
      !v.ADMIN_TOKEN && 'ADMIN_TOKEN is required in production (a generated one would be printed to the log); at least 24 characters, e.g. `openssl rand -hex 24`',
      v.DEMO_ACCOUNT === true && 'DEMO_ACCOUNT cannot be true in production (it prints a live API key)',
    ].filter((p): p is string => typeof p === 'string');
    if (missing.length > 0) throw new ConfigError(missing);
  }
  // A lease shorter than a request's longest processor call would let a retry take over a request
  // that is still running; the processor's keys would still prevent a double charge, but the
  // first request would end in a confusing 409.
  const worstMs = worstProcessorCallMs(v.PROCESSOR_TIMEOUT_MS, v.PROCESSOR_MAX_RETRIES);
  if (v.IDEMPOTENCY_LEASE_MS <= 2 * worstMs) {
    throw new ConfigError([
      `IDEMPOTENCY_LEASE_MS must be more than ${2 * worstMs} (twice the longest processor call: PROCESSOR_TIMEOUT_MS × (PROCESSOR_MAX_RETRIES + 1) plus backoff)`,
    ]);
  }
  return {
    env: v.NODE_ENV,
    // Development binds loopback, so a laptop's demo key is not served to the network; containers
    // and hosts in production listen on every interface unless told otherwise.
    host: v.HOST ?? (v.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    port: v.PORT,
    database: { url: v.DATABASE_URL, poolMax: v.DATABASE_POOL_MAX, dataDir: v.DATA_DIR },
    redisUrl: v.REDIS_URL,
    adminToken: v.ADMIN_TOKEN ?? randomBytes(24).toString('hex'),
    adminTokenGenerated: v.ADMIN_TOKEN === undefined,
    processorUrl: v.PROCESSOR_URL,
    publicUrl: v.PUBLIC_URL?.replace(/\/+$/, ''),
    logLevel: v.LOG_LEVEL ?? (v.NODE_ENV === 'test' ? 'silent' : 'info'),
    logFormat: v.LOG_FORMAT ?? (terminal && v.NODE_ENV !== 'production' ? 'pretty' : 'json'),
    validateResponses: v.VALIDATE_RESPONSES ?? v.NODE_ENV !== 'production',
    bodyLimitBytes: v.BODY_LIMIT_BYTES,
    server: { headersTimeoutMs: v.SERVER_HEADERS_TIMEOUT_MS, requestTimeoutMs: v.SERVER_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: v.SERVER_KEEP_ALIVE_TIMEOUT_MS },
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    demoAccount: v.NODE_ENV !== 'production' && (v.DEMO_ACCOUNT ?? v.DATABASE_URL === undefined),
    processor: {
      timeoutMs: v.PROCESSOR_TIMEOUT_MS,
      maxRetries: v.PROCESSOR_MAX_RETRIES,
      breakerThreshold: v.PROCESSOR_BREAKER_THRESHOLD,
      breakerHalfOpenMs: v.PROCESSOR_BREAKER_HALF_OPEN_MS,
    },
    idempotency: {
      leaseMs: v.IDEMPOTENCY_LEASE_MS,
      retentionMs: v.IDEMPOTENCY_RETENTION_HOURS * 3_600_000,
      jobIntervalMs: v.IDEMPOTENCY_JOB_INTERVAL_MS,
    },
    apiKeysMaxPerAccount: v.API_KEYS_MAX_PER_ACCOUNT,
    apiKeyCache: { maxEntries: v.API_KEY_CACHE_SIZE, ttlMs: v.API_KEY_CACHE_TTL_S * 1000 },
    rateLimits: {
      enabled: v.RATE_LIMITS_ENABLED ?? true,
      policies: {
        read: v.RATE_LIMIT_READ,
        write: v.RATE_LIMIT_WRITE,
        account_read: v.RATE_LIMIT_ACCOUNT_READ,
        account_write: v.RATE_LIMIT_ACCOUNT_WRITE,
        admin: v.RATE_LIMIT_ADMIN,
        ops: v.RATE_LIMIT_OPS,
        auth: v.RATE_LIMIT_AUTH_FAILURES,
      },
      instances: v.RATE_LIMIT_INSTANCES,
      keyPrefix: v.REDIS_KEY_PREFIX,
    },
    redisTimeoutMs: v.REDIS_TIMEOUT_MS,
    trustProxy: v.TRUST_PROXY,
  };
}

const simulatorSchema = z.object({
  PROCESSOR_HOST: z.string().trim().min(1).default('127.0.0.1'),
  PROCESSOR_CONTROL_TOKEN: z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 24`)').optional(),
  PROCESSOR_PORT: z.coerce.number({ message: 'must be a port number' }).int().min(0).max(65535, 'must be at most 65535').default(4010),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export interface SimulatorConfig {
  readonly host: string;
  readonly port: number;
  /** The bearer token of `/control/*`; generated (and printed) when unset. */
  readonly controlToken?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

/** `npm run processor`: where the processor simulator listens. */
export function loadSimulatorConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const parsed = simulatorSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  return { host: parsed.data.PROCESSOR_HOST, port: parsed.data.PROCESSOR_PORT, controlToken: parsed.data.PROCESSOR_CONTROL_TOKEN, logLevel: parsed.data.LOG_LEVEL };
}
