/**
 * What the HTTP benchmark measures, shared by the orchestrator (`main.ts` and the tables), the server
 * processes (`server.ts`) and the load processes (`load.ts`): the read, write, rate-limit,
 * validation-attack, hot-path, metrics and auth targets, the customer every read target answers
 * with, the write requests, the padded spec, the attack's body and its unbounded spec, and the
 * messages the processes exchange.
 */
import type { OpenApiDocument } from '../../src/platform/http/openapi-router.js';

export const TARGETS = {
  'node-http': { label: 'node:http, fixed JSON', validators: false, padded: false },
  express: { label: 'Express 5, fixed JSON', validators: false, padded: false },
  stack: {
    label: 'full app (createApp), spec as is: auth with key lookup + per-resource request/response validation + DB query',
    validators: true,
    padded: false,
  },
  'stack-padded': {
    label: 'full app (createApp), padded spec: auth with key lookup + per-resource request/response validation + DB query',
    validators: true,
    padded: true,
  },
  split: {
    label: 'per-resource validators (buildApiRouter), spec as is, fixed JSON; no auth, no DB',
    validators: true,
    padded: false,
  },
  'split-padded': {
    label: 'per-resource validators (buildApiRouter), padded spec, fixed JSON; no auth, no DB',
    validators: true,
    padded: true,
  },
  single: { label: 'one validator over the whole spec as is, fixed JSON; no auth, no DB', validators: true, padded: false },
  'single-padded': { label: 'one validator over the whole padded spec, fixed JSON; no auth, no DB', validators: true, padded: true },
} as const satisfies Record<string, { label: string; validators: boolean; padded: boolean }>;

export type TargetId = keyof typeof TARGETS;
export const TARGET_IDS = Object.keys(TARGETS) as TargetId[];

/**
 * The write table: each target is the full app (createApp, spec as is) on a database of its own,
 * with the processor simulator in the same process. `keys` says what Idempotency-Key each request
 * carries: a new one every time, none, or one key that was already used.
 */
export const WRITE_TARGETS = {
  'payment-unique-key': {
    label: 'POST /v1/payments, a new Idempotency-Key per request: key claim, payment + event, processor charge, status + event + stored response',
    path: '/v1/payments',
    keys: 'unique',
  },
  'customer-plain': {
    label: 'POST /v1/customers without a key: one INSERT in one transaction (the plain insert)',
    path: '/v1/customers',
    keys: 'none',
  },
  'payment-replay': {
    label: 'POST /v1/payments re-sending one used Idempotency-Key: key lookup, stored response replayed',
    path: '/v1/payments',
    keys: 'fixed',
  },
} as const satisfies Record<string, { label: string; path: string; keys: 'unique' | 'none' | 'fixed' }>;

export type WriteTargetId = keyof typeof WRITE_TARGETS;
export const WRITE_TARGET_IDS = Object.keys(WRITE_TARGETS) as WriteTargetId[];

/** The row the write table's ratios divide by. */
export const WRITE_BASELINE: WriteTargetId = 'customer-plain';

/**
 * The rate-limit table: the read table's `stack` request (`GET /v1/customers/{id}`, full app, spec
 * as is, one API key) three times over, identical but for the `rateLimits` handed to createApp.
 */
export const LIMIT_TARGETS = {
  'limits-off': { label: 'full app (createApp), rate limits off (rateLimits undefined)', limits: 'off' },
  'limits-memory': { label: 'full app (createApp), rate limits counted in this process\'s memory (RateLimits without Redis)', limits: 'memory' },
  'limits-redis': { label: 'full app (createApp), rate limits counted in Redis (RateLimits with a client from createRedis)', limits: 'redis' },
} as const satisfies Record<string, { label: string; limits: 'off' | 'memory' | 'redis' }>;

export type LimitTargetId = keyof typeof LIMIT_TARGETS;
export const LIMIT_TARGET_IDS = Object.keys(LIMIT_TARGETS) as LimitTargetId[];

/** The row the rate-limit table's ratios divide by. */
export const LIMIT_BASELINE: LimitTargetId = 'limits-off';

/**
 * Every policy's quota in the rate-limit table: far more than a run can use, so every request is
 * counted and none is refused. The window is an hour rather than a minute so that one window spans
 * the whole benchmark and the Redis counter can be checked against the requests sent; what a
 * request costs does not depend on the window's length.
 */
export const BENCH_QUOTA = { points: 1_000_000_000, windowS: 3600 } as const;

/**
 * The validation-attack table: the read table's `stack` request (`GET /v1/customers/{id}`, full
 * app, one API key of account A) as the victim, alone or while account B's key sends the attack
 * body (ATTACK_BODY) to `POST /v1/api_keys` back to back. `spec` says which document the app is
 * given: the spec as is, or a copy without `maxItems` on ApiKeyCreateRequest.scopes (unboundSpec),
 * which is the contract before request collections were bounded.
 */
export const ATTACK_TARGETS = {
  'attack-none': { label: 'victim alone, spec as is', attackers: false, spec: 'as-is' },
  'attack-bounded': { label: 'victim + attackers, spec as is (scopes maxItems: 2, body walked against its bounds before validation)', attackers: true, spec: 'as-is' },
  'attack-unbounded': {
    label: 'victim + attackers, spec without maxItems on ApiKeyCreateRequest.scopes (the validator walks every item)',
    attackers: true,
    spec: 'unbounded',
  },
} as const satisfies Record<string, { label: string; attackers: boolean; spec: 'as-is' | 'unbounded' }>;

export type AttackTargetId = keyof typeof ATTACK_TARGETS;
export const ATTACK_TARGET_IDS = Object.keys(ATTACK_TARGETS) as AttackTargetId[];

/** The row the attack table's ratios divide by. */
export const ATTACK_BASELINE: AttackTargetId = 'attack-none';

/** Where the attackers send their body. */
export const ATTACK_PATH = '/v1/api_keys';

/** Integers in the attack body's `scopes`, where at most two enum strings are allowed. */
export const ATTACK_ITEMS = 32_000;

/**
 * `{"scopes":[0,1,2,…,9,0,1,…]}`: ATTACK_ITEMS one-digit integers, 64,012 bytes, just under the
 * 64 KiB body limit. Every item is wrong twice over (not a string, not one of the enum's values),
 * so a validator reporting every error finds two per item.
 */
export function attackBody(items = ATTACK_ITEMS): string {
  return JSON.stringify({ scopes: Array.from({ length: items }, (_, i) => i % 10) });
}

/**
 * A copy of the spec as it was before request collections were bounded: no `maxItems` on
 * ApiKeyCreateRequest.scopes, so nothing stops the validator before it has looked at every item.
 */
export function unboundSpec(doc: OpenApiDocument): OpenApiDocument {
  const copy = structuredClone(doc);
  const request = copy.components?.schemas?.ApiKeyCreateRequest as { properties?: { scopes?: { maxItems?: number } } } | undefined;
  const scopes = request?.properties?.scopes;
  if (scopes?.maxItems === undefined) throw new Error('unboundSpec: ApiKeyCreateRequest.scopes has no maxItems to remove; the attack table needs updating');
  delete scopes.maxItems;
  return copy;
}

/** What createApp's `rateLimits` is built with: nothing (limits off), in-memory counting, or Redis. */
export type RateLimitMode =
  | { readonly mode: 'off' }
  | { readonly mode: 'memory' }
  | { readonly mode: 'redis'; readonly url: string; readonly keyPrefix: string; readonly commandTimeoutMs: number };

/**
 * What every payment request sends. Automatic capture, so each new payment is one charge at the
 * processor; the amount is not one the simulator declines (`amount % 1000 === 402`).
 */
export const PAYMENT_REQUEST = {
  amount: 2500,
  currency: 'EUR',
  description: 'Benchmark payment',
  metadata: { order: 'bench' },
} as const;

/** What the full app stores for the seeded customer; the fixed-JSON targets answer with the same fields. */
export const CUSTOMER_FIELDS = {
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  phone: '+44 20 7946 0000',
  description: 'Benchmark customer',
  metadata: { plan: 'pro' },
} as const;

// Same id length and key order as a stored customer, so every target sends the same number of bytes.
export const FIXED_CUSTOMER = {
  id: 'cus_4q2nUkCVvP9Y6gAiMb8y1Z',
  object: 'customer',
  ...CUSTOMER_FIELDS,
  created: 1795000000,
} as const;

/** Sent by the fixed-JSON targets' load too, so every target receives the same request bytes. */
export const UNUSED_AUTHORIZATION = `Bearer sk_${'x'.repeat(22)}_${'y'.repeat(43)}`;

// Longer than every real resource prefix and alphabetically before `/v1/customers`: the padding
// sorts ahead of the measured route both in Express's prefix order (longest first) and in the
// validator's route order, so the measured request pays for every padding path it can pay for.
const PAD_PREFIX = '/v1/bench_pad_';

/**
 * A copy of the spec with `resources` synthetic resources, each a list path and an item path with a
 * GET shaped like the customer ones. The operations have no operationId: an operationId needs a
 * handler in createApp, and these are never requested (each padding resource's validator, being
 * lazy, never resolves its handlers).
 */
export function padSpec(doc: OpenApiDocument, resources: number): OpenApiDocument {
  const padded = structuredClone(doc);
  const paths: Record<string, unknown> = {};
  const errors = {
    '400': { $ref: '#/components/responses/BadRequest' },
    '401': { $ref: '#/components/responses/Unauthorized' },
    '403': { $ref: '#/components/responses/Forbidden' },
    '500': { $ref: '#/components/responses/InternalError' },
  };
  const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
  for (let n = 0; n < resources; n++) {
    const base = `${PAD_PREFIX}${String(n).padStart(3, '0')}`;
    paths[base] = {
      get: {
        summary: `List padding resource ${n}`,
        security: [{ apiKey: ['read'] }],
        parameters: [{ $ref: '#/components/parameters/Limit' }, { $ref: '#/components/parameters/Cursor' }],
        responses: { '200': { description: 'A page.', ...json('CustomerList') }, ...errors },
      },
    };
    paths[`${base}/{id}`] = {
      parameters: [{ $ref: '#/components/parameters/CustomerId' }],
      get: {
        summary: `Retrieve padding resource ${n}`,
        security: [{ apiKey: ['read'] }],
        responses: { '200': { description: 'The item.', ...json('Customer') }, '404': { $ref: '#/components/responses/NotFound' }, ...errors },
      },
    };
  }
  padded.paths = { ...(paths as OpenApiDocument['paths']), ...padded.paths };
  return padded;
}

export function pathCount(doc: OpenApiDocument): number {
  return Object.keys(doc.paths ?? {}).length;
}

/**
 * The hot-path table: the customer read as a deployment serves it, against bare Express sending the
 * same JSON in the same rounds. `validateResponses` is the one difference between the two full-app
 * rows; `conditional` sends the customer's ETag in `If-None-Match`, so every answer is a `304`.
 */
export const HOT_TARGETS = {
  'hot-express': { label: 'Express 5, fixed JSON (the baseline)', app: 'express', validateResponses: false, conditional: false },
  'hot-path': {
    label: 'full app, production defaults: key cache, rate limits in Redis, request validation, PostgreSQL or PGlite, logs at info',
    app: 'full',
    validateResponses: false,
    conditional: false,
  },
  'hot-path-validated': { label: 'the same, with response validation on (development and test)', app: 'full', validateResponses: true, conditional: false },
  'hot-path-304': {
    label: 'the same as `hot-path`, If-None-Match with the current ETag: every answer a 304',
    app: 'full',
    validateResponses: false,
    conditional: true,
  },
} as const satisfies Record<string, { label: string; app: 'express' | 'full'; validateResponses: boolean; conditional: boolean }>;

export type HotTargetId = keyof typeof HOT_TARGETS;
export const HOT_TARGET_IDS = Object.keys(HOT_TARGETS) as HotTargetId[];

/** The row the hot-path table's ratios divide by. */
export const HOT_BASELINE: HotTargetId = 'hot-express';

/**
 * The metrics table: the hot-path row's read (production defaults: response validation off, logs
 * at info, rate limits in Redis when it answers) twice over, identical but for the instance's
 * Prometheus metrics: one `Metrics` handed to createApp, the processor client and the rate limits,
 * as main.ts does (`METRICS_ENABLED=true`, production's default), or none.
 */
export const METRICS_TARGETS = {
  'metrics-off': { label: 'full app as deployed, metrics off (no `Metrics`: nothing counted, `/metrics` a 404)', metrics: false },
  'metrics-on': { label: 'the same, metrics on (one `Metrics` shared by createApp, the processor client and RateLimits)', metrics: true },
} as const satisfies Record<string, { label: string; metrics: boolean }>;

export type MetricsTargetId = keyof typeof METRICS_TARGETS;
export const METRICS_TARGET_IDS = Object.keys(METRICS_TARGETS) as MetricsTargetId[];

/** The row the metrics table's ratio divides by. */
export const METRICS_BASELINE: MetricsTargetId = 'metrics-off';

/**
 * The metrics table's second part, selected like a target though it starts no server: `/metrics`
 * rendered from a `Metrics` holding every series a busy instance would, against a fresh one.
 */
export const METRICS_RENDER_ID = 'metrics-render';

/**
 * The auth table: the hot-path row's read (production defaults: response validation off, logs at
 * info, rate limits in Redis) twice over, identical but for the credential every request carries:
 * the seeded account's API key (after its first request, from the verified-key cache), or an
 * OAuth access token for a client of that account (an ES256 JWT, its signature and claims checked
 * on every request, in memory).
 */
export const AUTH_TARGETS = {
  'auth-api-key': { label: 'full app as deployed, the account\'s API key (from the verified-key cache)', credential: 'api_key' },
  'auth-oauth': {
    label: 'the same, an OAuth access token (client credentials, an ES256 JWT verified once, then remembered until it expires)',
    credential: 'oauth',
  },
} as const satisfies Record<string, { label: string; credential: 'api_key' | 'oauth' }>;

export type AuthTargetId = keyof typeof AUTH_TARGETS;
export const AUTH_TARGET_IDS = Object.keys(AUTH_TARGETS) as AuthTargetId[];

/** The row the auth table's ratios divide by. */
export const AUTH_BASELINE: AuthTargetId = 'auth-api-key';

/** Any table's target. */
export type AnyTargetId = TargetId | WriteTargetId | LimitTargetId | AttackTargetId | HotTargetId | MetricsTargetId | AuthTargetId;

/** What BENCH_TARGETS may name: any table's target, or the metrics table's render part. */
export type SelectableId = AnyTargetId | typeof METRICS_RENDER_ID;

/** Handed to each server process as its only argument, as JSON. */
export interface ServerConfig {
  readonly target: AnyTargetId;
  readonly padResources: number;
  readonly logLevel: string;
  /**
   * Full-app targets only: PostgreSQL when set (a run storage's URL, whose `options` put the
   * server's connections in a schema of its own), embedded PGlite in memory otherwise.
   */
  readonly databaseUrl?: string;
  readonly dbPoolMax: number;
  /** Full-app targets only; `off` for every one outside the rate-limit and hot-path tables. */
  readonly rateLimits: RateLimitMode;
  /** Full-app targets only: response validation (on unless the target is a production-default one). */
  readonly validateResponses: boolean;
  /** Full-app targets only: one `Metrics` for createApp, the processor client and the rate limits (on), or none. */
  readonly metrics: boolean;
  /** Where to write a V8 CPU profile of the server from ready to stopped (BENCH_CPU_PROF). */
  readonly cpuProfile?: string;
}

/**
 * What a full-app server holds for its benchmark account once the load is over: the rows in its
 * database and the side effects in its processor simulator's ledger.
 */
export interface Audit {
  readonly payments: number;
  /** Payments with exactly one charge operation in the ledger, keyed by the payment id. */
  readonly paymentsChargedOnce: number;
  /** `charge` operations in the ledger: money moved. */
  readonly chargeOperations: number;
  /** Charges in the ledger (one per distinct processor key). */
  readonly charges: number;
  /** Charge operations whose processor key is no payment of the account. */
  readonly chargesWithoutPayment: number;
  /** Rows in `idempotency_keys` for createPayment. */
  readonly paymentKeys: number;
  /** Of those, finished with a stored 201 that names a payment which exists. */
  readonly paymentKeysFinishedWithPayment: number;
  /** Distinct payments named by those keys. */
  readonly distinctPaymentsOfKeys: number;
  readonly customers: number;
}

/** What a rate-limited server's limiter says about itself once the load is over. */
export interface LimiterState {
  /** Decisions the in-memory insurance made because Redis could not (failed, timed out, circuit open). */
  readonly insuranceDecisions: number;
  /** `RateLimits.redisState()`: null without Redis. */
  readonly redis: 'up' | 'degraded' | null;
}

export type ServerMessage =
  | {
      readonly type: 'ready';
      readonly port: number;
      readonly path: string;
      readonly headers: Record<string, string>;
      readonly specPaths: number | null;
      /** Full-app targets: the probe's path's ETag, for conditional requests. */
      readonly etag?: string;
      /** Attack targets: the API key of a second account, the attackers'. */
      readonly attackerHeaders?: Record<string, string>;
      /** Targets loaded with an OAuth access token: when it expires (ms since the epoch). */
      readonly credentialExpiresAt?: number;
    }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'audit'; readonly audit: Audit }
  | { readonly type: 'limiter'; readonly limiter: LimiterState }
  | { readonly type: 'cpu'; readonly cpu: CpuUsage };

/** `process.cpuUsage()` of a server: microseconds of CPU since it started, in user and system mode. */
export interface CpuUsage {
  readonly user: number;
  readonly system: number;
}

/** Sent to a full-app server after its load; it answers with an `audit` message. */
export interface AuditRequest {
  readonly type: 'audit';
}

/** Sent to a rate-limited full-app server after its load; it answers with a `limiter` message. */
export interface LimiterRequest {
  readonly type: 'limiter';
}

/** Sent to any server around a run; it answers with a `cpu` message, its CPU time so far. */
export interface CpuRequest {
  readonly type: 'cpu';
}

/** Handed to the render process (`metrics-render.ts`) as its only argument, as JSON. */
export interface RenderConfig {
  /** Timed renders of each registry. */
  readonly renders: number;
  /** Untimed renders of each registry first. */
  readonly warmUp: number;
  /** The timed renders are taken in this many rounds, the registries in alternating order. */
  readonly rounds: number;
}

/** One registry's renders, as the render process timed them. */
export interface RenderTiming {
  /** Every timed render, in milliseconds, in the order taken. */
  readonly ms: readonly number[];
  /** Sample lines (neither a comment nor empty) in the text served. */
  readonly series: number;
  /** Of those, the instance's own (`remit_*`); the rest are prom-client's process and Node.js metrics. */
  readonly ownSeries: number;
  readonly bytes: number;
}

/** What the busy registry was filled with, for the table to say. */
export interface RenderPopulation {
  readonly operations: number;
  /** `remit_http_requests_total` label sets: operation × method × status class × code. */
  readonly requestLabelSets: number;
  readonly idempotentOperations: readonly string[];
  readonly policies: readonly string[];
  /** Where each operation's problem codes came from. */
  readonly codesFrom: string;
  /** Label sets beyond the spec's operations (`unmatched`, `static`). */
  readonly beyondSpec: string;
}

export type RenderMessage =
  | { readonly type: 'result'; readonly busy: RenderTiming; readonly fresh: RenderTiming; readonly population: RenderPopulation; readonly orders: readonly string[][] }
  | { readonly type: 'error'; readonly message: string };

/** The Idempotency-Key on each request of a run: none, a new one per request (`prefix-n`), or always the same. */
export type KeyMode = { readonly mode: 'none' } | { readonly mode: 'unique'; readonly prefix: string } | { readonly mode: 'fixed'; readonly key: string };

export interface LoadRequest {
  readonly type: 'run';
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly keys: KeyMode;
  readonly connections: number;
  readonly durationS: number;
  /** Seconds before autocannon counts a request as timed out; autocannon's default (10) when absent. */
  readonly timeoutS?: number;
  /** POST runs: record every answer's body size (`answers` in the result). */
  readonly recordAnswers?: boolean;
  /** Requests per second across all connections (autocannon's overallRate); as fast as answers come when absent. */
  readonly ratePerS?: number;
  /** Latency with the requests still waiting when the run ends counted too (`waits` in the result). */
  readonly waits?: boolean;
}

/**
 * Latency over the answered requests and the ones the run ended on, each of those counted at how
 * long it had waited by then (see load.ts). Milliseconds, to a tenth.
 */
export interface Waits {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly answered: number;
  /** Requests still waiting when the run ended: one per connection. */
  readonly waiting: number;
  readonly longestWaitMs: number;
}

/** What a `recordAnswers` run was answered: how many answers had a body of each size, in bytes. */
export interface Answers {
  readonly bytes: Record<string, number>;
}

/**
 * What became of the keys of a `unique` run. autocannon ends a run by closing its connections, so
 * each connection's last request is cut off unanswered; the server may still have done its work.
 * The load process then sends each cut-off key once more, as a client would after losing the
 * connection, so that every key sent ends with one 201.
 */
export interface KeyAccounting {
  /** Keys put on the wire: one per request autocannon sent. */
  readonly sent: number;
  /** Keys answered with 201 while the load ran. */
  readonly answered201: number;
  /** Keys answered with anything else while the load ran. */
  readonly answeredOther: number;
  /** Keys whose request was cut off by the end of the run. */
  readonly cutOff: number;
  /** Of the cut-off keys, resent and answered 201 as a replay: the server had finished the work. */
  readonly retriedReplayed: number;
  /** Resent and answered 201 fresh: the cut-off request never reached the point of creating anything. */
  readonly retriedNew: number;
  /** Resent and still not answered 201 (status and body, for the report). */
  readonly retriedFailed: readonly string[];
}

export interface RunResult {
  readonly requests: number;
  readonly durationS: number;
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Responses with status 201. */
  readonly created: number;
  /** Responses by status code, as autocannon counted them. */
  readonly statuses: Record<string, number>;
  /** Responses with `Idempotent-Replayed: true`. */
  readonly replayed: number;
  /** Requests autocannon wrote, answered or not. */
  readonly sent: number;
  /** `unique` runs only. */
  readonly keys?: KeyAccounting;
  /** `recordAnswers` runs only. */
  readonly answers?: Answers;
  /** `waits` runs only. */
  readonly waits?: Waits;
}

export type LoadMessage = { readonly type: 'result'; readonly result: RunResult } | { readonly type: 'error'; readonly message: string };
