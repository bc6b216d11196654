/**
 * The one place that reads `process.env`. Every variable is optional for `npm start`; a value that
 * is present but wrong stops start-up with a message that names the variable and says how to fix it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** The wire the processor adapter speaks: the Connect protocol's JSON over HTTP/1.1, or gRPC over HTTP/2. */
export const PROCESSOR_PROTOCOLS = ['http', 'grpc'] as const;
export type ProcessorProtocol = (typeof PROCESSOR_PROTOCOLS)[number];

/** The gRPC keep-alive interval unless told otherwise: gRPC's own permitted minimum, 5 minutes. */
export const GRPC_KEEPALIVE_DEFAULT_MS = 300_000;

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

/**
 * A variable's line in docs/configuration.md (scripts/config-docs.ts writes it from this schema):
 * what it means, and its default in words where the schema's default is not the whole story.
 */
function doc<T extends z.ZodType>(schema: T, meaning: string, defaultText?: string): T {
  return schema.meta({ description: meaning, ...(defaultText ? { defaultText } : {}) });
}

const schema = z.object({
  NODE_ENV: doc(z.enum(['development', 'test', 'production'], { message: 'must be development, test or production' }).default('development'), '`development`, `test` or `production`. Production refuses development defaults: `DATABASE_URL`, `PROCESSOR_URL` and `ADMIN_TOKEN` are required, no demo account is made, no secret is printed'),
  HOST: doc(z.string().trim().min(1).optional(), 'the interface to listen on; the banner says what the binding means', '`127.0.0.1`; `0.0.0.0` in production'),
  PORT: doc(z.coerce.number({ message: 'must be a port number' }).int().min(0).max(65535, 'must be at most 65535').default(8080), 'the HTTP port (`0` picks a free one)'),
  DATABASE_URL: doc(optionalUrl(['postgres:', 'postgresql:'], 'postgres://postgres@127.0.0.1:5432/remit'), 'PostgreSQL connection string (`postgres://…`); required in production', 'embedded PGlite'),
  DATABASE_POOL_MAX: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(200).default(10), 'PostgreSQL connections per process'),
  DATA_DIR: doc(z.string().trim().min(1).optional(), 'where embedded PGlite keeps its data; not with `DATABASE_URL`', 'in memory'),
  REDIS_URL: doc(optionalUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'), 'Redis for the rate-limit counters shared by every instance (`redis://…`, `rediss://…`)', 'quotas in each process\'s memory'),
  ADMIN_TOKEN: doc(z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 24`)').optional(), 'the operator token for `/admin`; at least 24 characters; required in production', 'generated and printed'),
  METRICS_ENABLED: doc(booleanFlag, '`false` turns the Prometheus metrics off: nothing is counted, and `/metrics` and `/console/feed` answer `404`', '`true`'),
  METRICS_TOKEN: doc(z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 24`)').optional(), 'the bearer token a scraper sends to `/metrics` (and the console\'s live view to `/console/feed`); at least 24 characters; required in production (unless `METRICS_ENABLED=false`)', '`/metrics` and `/console/feed` open to anyone who can reach it'),
  PROCESSOR_URL: doc(optionalUrl(['http:', 'https:'], 'http://127.0.0.1:4010'), 'the card processor\'s base URL (`http://…`); required in production', 'the in-process simulator'),
  PUBLIC_URL: doc(optionalUrl(['http:', 'https:'], 'https://api.example.com').refine((v) => v === undefined || (!new URL(v).search && !new URL(v).hash), {
    message: 'must be a base URL without a query or fragment, e.g. https://api.example.com',
  }), 'the API\'s base URL as clients reach it (`https://api.example.com`), for the links it gives out (problem `type`)', 'the origin each request was sent to'),
  LOG_LEVEL: doc(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(), '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`', '`info`; `silent` when `NODE_ENV=test`'),
  LOG_FORMAT: doc(z.enum(['json', 'pretty'], { message: 'must be json or pretty' }).optional(), '`json` (a JSON object per line) or `pretty` (one readable line per event)', '`pretty` on a terminal outside production, else `json`'),
  VALIDATE_RESPONSES: doc(booleanFlag, 'validate every response, headers included, against the spec (an answer off the contract becomes a `500`)', '`true`; `false` in production'),
  BODY_LIMIT_BYTES: doc(z.coerce
    .number({ message: 'must be a number of bytes' })
    .int()
    .min(CONTRACT_BODY_LIMIT_BYTES, `must be at least ${CONTRACT_BODY_LIMIT_BYTES}: the spec promises every body up to that size is read (x-request-body-max-bytes)`)
    .max(10 * 1024 * 1024)
    .default(CONTRACT_BODY_LIMIT_BYTES), 'the largest request body read; larger is `413 payload_too_large`. At least the size the spec promises (`x-request-body-max-bytes`)'),
  SERVER_HEADERS_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(120_000).default(10_000), 'a request\'s headers must arrive within this (`408` and the connection closed otherwise)'),
  SERVER_REQUEST_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(600_000).default(30_000), 'the whole request must arrive within this'),
  SERVER_KEEP_ALIVE_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(600_000).default(65_000), 'an idle kept-alive connection is closed after this: longer than a load balancer\'s idle timeout, so the balancer closes first'),
  SHUTDOWN_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(0).max(120_000).default(10_000), 'how long SIGTERM waits for in-flight requests before closing them'),
  DEMO_ACCOUNT: doc(booleanFlag, 'create (or reuse) a demo account at start-up and print a fresh key for it; never in production', '`true` on embedded PGlite, else `false`'),
  PROCESSOR_PROTOCOL: doc(z.enum(PROCESSOR_PROTOCOLS, { message: 'must be http or grpc' }).default('http'), 'how the adapter talks to the processor: `http` (the Connect protocol\'s JSON over kept-alive HTTP/1.1) or `grpc` (binary Protobuf over HTTP/2); the same contract (spec/processor.proto) and the same retries either way'),
  PROCESSOR_GRPC_CHANNELS: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1, 'must be at least 1').max(64, 'must be at most 64').default(1), 'with `grpc`: the HTTP/2 connections the calls are spread over, round robin'),
  PROCESSOR_GRPC_KEEPALIVE_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(10_000, 'must be at least 10000').max(7_200_000, 'must be at most 7200000 (2 hours)').default(GRPC_KEEPALIVE_DEFAULT_MS), 'with `grpc`: the keep-alive PING interval of a connection with calls in flight; idle connections are not pinged, so a server\'s `too_many_pings` limit (gRPC\'s default: one per 5 minutes) is never crossed'),
  PROCESSOR_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(50).max(60_000).default(2_000), 'the per-attempt timeout of a processor call'),
  PROCESSOR_MAX_RETRIES: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(10).default(2), 'retries after the first attempt, for transient failures only'),
  PROCESSOR_BREAKER_THRESHOLD: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(1_000).default(5), 'consecutive transient failures that open the processor circuit'),
  PROCESSOR_BREAKER_HALF_OPEN_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(600_000).default(5_000), 'how long the circuit stays open before a trial call'),
  API_KEY_CACHE_SIZE: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(1_000_000).default(10_000), 'verified keys each process remembers (`0`: none); a revocation evicts at once'),
  API_KEY_CACHE_TTL_S: doc(z.coerce.number({ message: 'must be a number of seconds' }).int().min(1).max(3_600).default(60), 'how long a verified key is remembered'),
  OAUTH_TOKEN_TTL_S: doc(z.coerce.number({ message: 'must be a number of seconds' }).int().min(60).max(86_400).default(600), 'how long an OAuth access token is valid'),
  OAUTH_KEY_ROTATION_S: doc(z.coerce.number({ message: 'must be a number of seconds' }).int().min(300).max(31_536_000).default(86_400), 'how long a signing key signs access tokens before the next one takes over; it stays published until the last token it signed has expired'),
  OAUTH_CLIENTS_MAX_PER_ACCOUNT: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(100_000).default(100), 'active OAuth clients an account may hold (`409 oauth_client_limit_reached` beyond)'),
  API_KEYS_MAX_PER_ACCOUNT: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(100_000).default(100), 'active API keys an account may hold (`409 api_key_limit_reached` beyond)'),
  IDEMPOTENCY_LEASE_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(3_600_000).default(30_000), 'how long a request holds its key; more than twice the longest processor call (checked at start-up)'),
  IDEMPOTENCY_RETENTION_HOURS: doc(z.coerce.number({ message: 'must be a number of hours' }).int().min(24, 'must be at least 24 (keys are kept at least a day)').max(24 * 90).default(24), 'finished keys are kept at least this long'),
  IDEMPOTENCY_JOB_INTERVAL_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(3_600_000).default(10_000), 'how often the completer and the retention job run (in every instance; they use `SKIP LOCKED`)'),
  RATE_LIMITS_ENABLED: doc(booleanFlag, '`false` turns every limit, and the `RateLimit` fields the spec requires, off: for benchmarks, or behind a gateway that limits and sends its own', '`true`'),
  RATE_LIMIT_READ: doc(quota('1000/10s'), 'per API key: GET requests per window (`<requests>/<window>`, the window in `s`, `m` or `h`)'),
  RATE_LIMIT_WRITE: doc(quota('200/10s'), 'per API key: POST, PATCH and DELETE requests per window; stricter, each may move money'),
  RATE_LIMIT_ACCOUNT_READ: doc(quota('3000/10s'), 'per account, across all its keys: GET requests per window'),
  RATE_LIMIT_ACCOUNT_WRITE: doc(quota('400/10s'), 'per account, across all its keys: POST, PATCH and DELETE requests per window'),
  RATE_LIMIT_ADMIN: doc(quota('120/1m'), 'the admin token\'s `/admin` requests per window'),
  RATE_LIMIT_OPS: doc(quota('600/1m'), 'per client address and process: `/health`, `/ready`, `/metrics`, `/openapi.json`, `/docs`, `/problems`, `/console` (its page, files and feed) and requests that match no operation'),
  RATE_LIMIT_AUTH_FAILURES: doc(quota('30/1m'), 'per client address: failed authentications before unknown credentials from it are refused ahead of any lookup'),
  RATE_LIMIT_TOKEN: doc(quota('120/1m'), 'per client address: requests to `POST /oauth/token`'),
  RATE_LIMIT_INSTANCES: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(1_000).default(1), 'how many API processes share the quotas; while Redis is down each enforces 1/N of every quota'),
  REDIS_KEY_PREFIX: doc(z.string().trim().regex(/^[\w:.-]{1,64}$/, 'must be 1-64 characters of letters, digits and _ : . -').default('remit:rl'), 'namespace of the counters in Redis, so deployments can share one Redis'),
  REDIS_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(5).max(10_000).default(200), 'the bound on one Redis command; past it the in-memory insurance limiter decides'),
  WEBHOOK_SECRETS_KEY: doc(
    z
      .string()
      .trim()
      .optional()
      .transform((v) => (v === '' ? undefined : v))
      .refine((v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v) || /^[A-Za-z0-9+/]{43}=$/.test(v), {
        message: 'must be 32 random bytes as 64 hex digits or 44 base64 characters (e.g. `openssl rand -base64 32`)',
      }),
    'the key webhook signing secrets are encrypted under in the database (32 bytes, hex or base64); every instance needs the same one; required in production',
    'a key generated into the database (development only)',
  ),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: doc(booleanFlag, '`true` lets webhook URLs use plain `http` and private, loopback and link-local addresses: for development and tests only', '`false`'),
  WEBHOOK_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(30_000).default(10_000), 'one delivery attempt\'s timeout: connecting, the answer and its first KiB'),
  WEBHOOK_RELAY_ENABLED: doc(booleanFlag, '`false` stops this instance from delivering webhooks (another instance on the database still does)', '`true`'),
  WEBHOOK_RELAY_INTERVAL_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(10).max(60_000).default(200), 'how often an idle relay looks for new events and due deliveries'),
  WEBHOOK_RELAY_CONCURRENCY: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(1_000).default(32), 'delivery attempts one instance runs at once'),
  WEBHOOK_DEGRADED_AFTER_S: doc(z.coerce.number({ message: 'must be a number of seconds' }).int().min(1).max(30 * 86_400).default(3_600), 'an endpoint whose every attempt has failed for this long is marked `degraded`'),
  WEBHOOK_DISABLE_AFTER_S: doc(z.coerce.number({ message: 'must be a number of seconds' }).int().min(1).max(90 * 86_400).default(5 * 86_400), 'an endpoint whose every attempt has failed for this long is disabled (`failing`)'),
  WEBHOOK_ENDPOINTS_MAX_PER_ACCOUNT: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(1_000).default(16), 'webhook endpoints an account may register (`409 webhook_endpoint_limit_reached` beyond)'),
  RECONCILIATION_ENABLED: doc(booleanFlag, '`false` stops this instance from working reconciliation runs (another instance on the database still does)', '`true`'),
  RECONCILIATION_INTERVAL_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(10).max(60_000).default(1_000), 'how often an idle reconciliation worker looks for a run to work'),
  RECONCILIATION_PAGE_SIZE: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(1, { message: 'must be at least 1' }).max(500, { message: 'must be at most 500' }).default(100), 'transactions asked for per page of the processor\'s report'),
  RECONCILIATION_TIMEOUT_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(100).max(120_000).default(10_000), 'one request for a page of the processor\'s report: its timeout'),
  RECONCILIATION_MAX_RETRIES: doc(z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(20).default(5), 'retries of a failed report request (backoff with jitter) before the run fails `processor_unavailable`'),
  RECONCILIATION_LEASE_MS: doc(z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(1_000).max(600_000).default(30_000), 'how long a worker holds a run without a sign of life before another instance may resume it from its checkpoint'),
  TRUST_PROXY: doc(trustProxy, 'Express `trust proxy`: a hop count (`1`) or proxy addresses/subnets (`10.0.0.0/8,loopback`) whose `X-Forwarded-For` names the client; never "any"', 'none'),
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
  /** Per client address, per process: the operational endpoints and pages (`/health`, `/metrics`, `/docs`, `/console`, …). */
  readonly ops: Quota;
  /** Per client address: failed authentications before the address is refused ahead of any key lookup. */
  readonly auth: Quota;
  /** Per client address: requests to the token endpoint (`POST /oauth/token`). */
  readonly token: Quota;
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
  /** Prometheus metrics on or off, and the scraper's token for `/metrics` (none: open). */
  readonly metrics: { readonly enabled: boolean; readonly token?: string };
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
    readonly protocol: ProcessorProtocol;
    readonly grpcChannels: number;
    readonly grpcKeepaliveMs: number;
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
  readonly webhooks: WebhookConfig;
  readonly reconciliation: ReconciliationConfig;
  readonly oauth: OAuthConfig;
}

export interface OAuthConfig {
  readonly tokenTtlS: number;
  readonly keyRotationS: number;
  readonly maxClientsPerAccount: number;
}

export interface ReconciliationConfig {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly pageSize: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly leaseMs: number;
}

export interface WebhookConfig {
  /** The key signing secrets are sealed under; absent outside production, where one is kept in the database. */
  readonly secretsKey?: Buffer;
  readonly allowPrivateTargets: boolean;
  readonly timeoutMs: number;
  readonly relay: { readonly enabled: boolean; readonly intervalMs: number; readonly concurrency: number };
  readonly degradedAfterMs: number;
  readonly disableAfterMs: number;
  readonly maxEndpointsPerAccount: number;
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
  if (v.WEBHOOK_DEGRADED_AFTER_S >= v.WEBHOOK_DISABLE_AFTER_S) {
    throw new ConfigError(['WEBHOOK_DEGRADED_AFTER_S must be less than WEBHOOK_DISABLE_AFTER_S (an endpoint is marked degraded before it is disabled)']);
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
      v.METRICS_ENABLED !== false && !v.METRICS_TOKEN && 'METRICS_TOKEN is required in production, for the scraper of /metrics (or METRICS_ENABLED=false); at least 24 characters, e.g. `openssl rand -hex 24`',
      v.DEMO_ACCOUNT === true && 'DEMO_ACCOUNT cannot be true in production (it prints a live API key)',
      !v.WEBHOOK_SECRETS_KEY && 'WEBHOOK_SECRETS_KEY is required in production (webhook signing secrets are encrypted under it; every instance needs the same), e.g. `openssl rand -base64 32`',
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
    metrics: { enabled: v.METRICS_ENABLED ?? true, token: v.METRICS_TOKEN },
    publicUrl: v.PUBLIC_URL?.replace(/\/+$/, ''),
    logLevel: v.LOG_LEVEL ?? (v.NODE_ENV === 'test' ? 'silent' : 'info'),
    logFormat: v.LOG_FORMAT ?? (terminal && v.NODE_ENV !== 'production' ? 'pretty' : 'json'),
    validateResponses: v.VALIDATE_RESPONSES ?? v.NODE_ENV !== 'production',
    bodyLimitBytes: v.BODY_LIMIT_BYTES,
    server: { headersTimeoutMs: v.SERVER_HEADERS_TIMEOUT_MS, requestTimeoutMs: v.SERVER_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: v.SERVER_KEEP_ALIVE_TIMEOUT_MS },
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    demoAccount: v.NODE_ENV !== 'production' && (v.DEMO_ACCOUNT ?? v.DATABASE_URL === undefined),
    processor: {
      protocol: v.PROCESSOR_PROTOCOL,
      grpcChannels: v.PROCESSOR_GRPC_CHANNELS,
      grpcKeepaliveMs: v.PROCESSOR_GRPC_KEEPALIVE_MS,
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
        token: v.RATE_LIMIT_TOKEN,
      },
      instances: v.RATE_LIMIT_INSTANCES,
      keyPrefix: v.REDIS_KEY_PREFIX,
    },
    redisTimeoutMs: v.REDIS_TIMEOUT_MS,
    trustProxy: v.TRUST_PROXY,
    webhooks: {
      secretsKey: v.WEBHOOK_SECRETS_KEY === undefined ? undefined : Buffer.from(v.WEBHOOK_SECRETS_KEY, v.WEBHOOK_SECRETS_KEY.length === 64 ? 'hex' : 'base64'),
      allowPrivateTargets: v.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? false,
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      relay: { enabled: v.WEBHOOK_RELAY_ENABLED ?? true, intervalMs: v.WEBHOOK_RELAY_INTERVAL_MS, concurrency: v.WEBHOOK_RELAY_CONCURRENCY },
      degradedAfterMs: v.WEBHOOK_DEGRADED_AFTER_S * 1000,
      disableAfterMs: v.WEBHOOK_DISABLE_AFTER_S * 1000,
      maxEndpointsPerAccount: v.WEBHOOK_ENDPOINTS_MAX_PER_ACCOUNT,
    },
    reconciliation: {
      enabled: v.RECONCILIATION_ENABLED ?? true,
      intervalMs: v.RECONCILIATION_INTERVAL_MS,
      pageSize: v.RECONCILIATION_PAGE_SIZE,
      timeoutMs: v.RECONCILIATION_TIMEOUT_MS,
      maxRetries: v.RECONCILIATION_MAX_RETRIES,
      leaseMs: v.RECONCILIATION_LEASE_MS,
    },
    oauth: { tokenTtlS: v.OAUTH_TOKEN_TTL_S, keyRotationS: v.OAUTH_KEY_ROTATION_S, maxClientsPerAccount: v.OAUTH_CLIENTS_MAX_PER_ACCOUNT },
  };
}

const simulatorSchema = z.object({
  PROCESSOR_HOST: doc(z.string().trim().min(1).default('127.0.0.1'), 'the interface the simulator listens on'),
  PROCESSOR_CONTROL_TOKEN: doc(
    z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 24`)').optional(),
    'the bearer token its control service (`SimulatorControlService`: every charge, faults, reset) requires; at least 24 characters',
    'generated and printed',
  ),
  PROCESSOR_PORT: doc(z.coerce.number({ message: 'must be a port number' }).int().min(0).max(65535, 'must be at most 65535').default(4010), 'the simulator\'s port'),
  LOG_LEVEL: doc(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'), 'as for the API'),
});

/** The variables of the API and of the simulator, for docs/configuration.md (scripts/config-docs.ts). */
export const CONFIG_SCHEMAS = { api: schema, simulator: simulatorSchema } as const;

export interface SimulatorConfig {
  readonly host: string;
  readonly port: number;
  /** The bearer token of `SimulatorControlService`; generated (and printed) when unset. */
  readonly controlToken?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

/** `npm run processor`: where the processor simulator listens. */
export function loadSimulatorConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const parsed = simulatorSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  return { host: parsed.data.PROCESSOR_HOST, port: parsed.data.PROCESSOR_PORT, controlToken: parsed.data.PROCESSOR_CONTROL_TOKEN, logLevel: parsed.data.LOG_LEVEL };
}
