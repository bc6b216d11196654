/**
 * Builds the HTTP application from its dependencies. It never listens: `main.ts` does, and tests
 * hand it to supertest with a database of their own.
 */
import express, { type Express, type RequestHandler } from 'express';
import { accountHandlers } from './accounts/routes.js';
import { AccountService } from './accounts/service.js';
import { apiKeyHandlers } from './api-keys/routes.js';
import { ApiKeyService, VerifiedKeyCache } from './api-keys/index.js';
import { createNotificationChannel } from './platform/notify.js';
import { customerHandlers } from './customers/routes.js';
import { CustomerService } from './customers/service.js';
import { eventHandlers } from './events/routes.js';
import { EventService } from './events/service.js';
import { PROBLEM_PAGE_STYLE } from './ops/problems.js';
import { exceptOn, pageSecurityPolicy, securityHeaders, strictTransportSecurity } from './platform/http/security-headers.js';
import { consoleHandlers, DOCS_ASSETS_PATH, DOCS_PAGE_PATH, docsAssetsDir, docsPageDir, opsHandlers, problemHandlers } from './ops/routes.js';
import { CONSOLE_ASSETS_PATH, CONSOLE_FEED_PATH, CONSOLE_PAGE_PATH, consoleAssetsDir } from './ops/console.js';
import { paymentHandlers } from './payments/routes.js';
import { paymentHandlersV2 } from './payments/routes-v2.js';
import { PaymentService } from './payments/service.js';
import type { ProcessorClient } from './processor/client.js';
import { refundHandlers } from './refunds/routes.js';
import { refundHandlersV2 } from './refunds/routes-v2.js';
import { RefundService } from './refunds/service.js';
import { IdempotencyService } from './platform/idempotency/index.js';
import { CursorCodec } from './platform/pagination.js';
import { loadCursorKey, loadWebhookSecretsKey } from './platform/server-secrets.js';
import { SecretBox, WebhookRelay, WebhookSender, WebhookService } from './webhooks/index.js';
import { webhookHandlers } from './webhooks/routes.js';
import { ReconciliationService, ReconciliationWorker, type ReconciliationWorkerOptions } from './reconciliation/index.js';
import { reconciliationHandlers } from './reconciliation/routes.js';
import { OAuthService } from './oauth/index.js';
import { oauthHandlers } from './oauth/routes.js';
import { IdempotencyJobs } from './platform/idempotency/jobs.js';
import { pingDb, poolState, type Db } from './platform/db.js';
import { authenticate, authorize, type Authenticator } from './platform/http/auth.js';
import { defineHandlers } from './platform/http/handlers.js';
import { buildApiRouter, type OpenApiDocument } from './platform/http/openapi-router.js';
import { PROBLEM_TYPES_PATH, problemHandler, routeNotFound } from './platform/http/problem.js';
import { jsonBody } from './platform/http/json-body.js';
import { authThrottle, clientAuthGuard, limitAnonymous, limitRequests, limitUncountedErrors } from './platform/http/rate-limit.js';
import { checkResponseHeaders } from './platform/http/response-headers.js';
import { mountPipeline } from './platform/http/pipeline.js';
import type { RateLimits } from './platform/rate-limit.js';
import { requestId } from './platform/http/request-id.js';
import { observe, observed } from './platform/http/observe.js';
import type { Metrics } from './platform/metrics.js';
import type { Logger } from './platform/logger.js';
import type { Lifecycle } from './platform/shutdown.js';
import { loadSpec, operationsOf } from './platform/spec.js';
import { timingSafeEqual, createHash } from 'node:crypto';

export interface AppDependencies {
  readonly db: Db;
  readonly log: Logger;
  readonly lifecycle: Lifecycle;
  readonly adminToken: string;
  readonly validateResponses: boolean;
  readonly bodyLimitBytes: number;
  /** The contract; loaded from `spec/openapi.yaml` when not given. */
  readonly spec?: OpenApiDocument;
  readonly processor: ProcessorClient;
  readonly idempotency: { readonly leaseMs: number; readonly retentionMs: number; readonly jobIntervalMs: number };
  /** The quotas; without them nothing is rate limited (`RATE_LIMITS_ENABLED=false`). */
  readonly rateLimits?: RateLimits;
  /** Express `trust proxy`, which decides the client address per-address limits count under. */
  readonly trustProxy?: false | number | string;
  /** The API's public base URL, for links it gives out (problem types); the request's origin when absent. */
  readonly publicUrl?: string;
  /** Active API keys an account may hold (API_KEYS_MAX_PER_ACCOUNT). */
  readonly apiKeysMaxPerAccount?: number;
  /** Verified keys remembered between requests (API_KEY_CACHE_SIZE, API_KEY_CACHE_TTL_S); 0 entries for none. */
  readonly apiKeyCache?: { readonly maxEntries: number; readonly ttlMs: number };
  /**
   * The instance's Prometheus metrics, shared with the processor client and the rate limits built
   * beside the app; without them nothing is counted and `/metrics` answers 404 (`METRICS_ENABLED=false`).
   */
  readonly metrics?: Metrics;
  /** The scraper's token for `/metrics`; without it `/metrics` is open (production requires one). */
  readonly metricsToken?: string;
  /**
   * The clock deprecated operations' sunset dates are read against, and webhook deliveries are
   * scheduled by (ms since the epoch); the system's when absent.
   */
  readonly now?: () => number;
  /** Webhook delivery settings (WEBHOOK_*); the defaults below when absent. */
  readonly webhooks?: Partial<AppWebhookOptions>;
  /** Reconciliation worker settings (RECONCILIATION_*); the defaults below when absent. */
  readonly reconciliation?: Partial<AppReconciliationOptions>;
  /** OAuth settings (OAUTH_*); the defaults below when absent. */
  readonly oauth?: Partial<AppOAuthOptions>;
}

export interface AppOAuthOptions {
  readonly tokenTtlS: number;
  readonly keyRotationS: number;
  readonly maxClientsPerAccount: number;
}

const DEFAULT_OAUTH: AppOAuthOptions = { tokenTtlS: 600, keyRotationS: 86_400, maxClientsPerAccount: 100 };

export type AppReconciliationOptions = Omit<ReconciliationWorkerOptions, 'log' | 'metrics'>;

const DEFAULT_RECONCILIATION: AppReconciliationOptions = { intervalMs: 1_000, pageSize: 100, timeoutMs: 10_000, maxRetries: 5, leaseMs: 30_000 };

export interface AppWebhookOptions {
  /** The key signing secrets are sealed under; the database's own when absent (development). */
  readonly secretsKey?: Buffer;
  readonly allowPrivateTargets: boolean;
  readonly timeoutMs: number;
  readonly relay: { readonly intervalMs: number; readonly concurrency: number };
  readonly degradedAfterMs: number;
  readonly disableAfterMs: number;
  readonly maxEndpointsPerAccount: number;
  /** Randomness for the retry schedule's jitter (tests fix it). */
  readonly random?: () => number;
  /** Name resolution for the URL check at creation (tests point names where they like). */
  readonly lookup?: (host: string) => Promise<string[]>;
}

const DEFAULT_WEBHOOKS: AppWebhookOptions = {
  allowPrivateTargets: false,
  timeoutMs: 10_000,
  relay: { intervalMs: 200, concurrency: 32 },
  degradedAfterMs: 3_600_000,
  disableAfterMs: 5 * 86_400_000,
  maxEndpointsPerAccount: 16,
};

const DEFAULT_API_KEYS_PER_ACCOUNT = 100;
const DEFAULT_API_KEY_CACHE = { maxEntries: 10_000, ttlMs: 60_000 };
/**
 * The channel on which revocations (of API keys and OAuth clients) and changes of the signing keys
 * reach every process sharing the database.
 */
const KEY_REVOCATIONS_CHANNEL = 'remit_api_key_revoked';

export interface Services {
  readonly accounts: AccountService;
  readonly apiKeys: ApiKeyService;
  readonly customers: CustomerService;
  readonly payments: PaymentService;
  readonly refunds: RefundService;
  readonly events: EventService;
  readonly idempotency: IdempotencyService;
  /** The completer and retention jobs; `main.ts` starts them, tests run them by hand. */
  readonly idempotencyJobs: IdempotencyJobs;
  readonly webhooks: WebhookService;
  /** Delivers the outbox; `main.ts` starts it, tests run its rounds by hand (`runOnce`). */
  readonly webhookRelay: WebhookRelay;
  /** The relay's HTTP client: its keep-alive connections close with `close()`. */
  readonly webhookSender: WebhookSender;
  readonly reconciliations: ReconciliationService;
  /** Works reconciliation runs; `main.ts` starts it, tests run runs by hand (`runOnce`). */
  readonly reconciliationWorker: ReconciliationWorker;
  /** OAuth clients, tokens and signing keys; `main.ts` starts the key rotation schedule. */
  readonly oauth: OAuthService;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Dependencies `/ready` reports without gating on them: with the processor's circuit open, or
 * Redis gone and the insurance limiter counting, the instance still serves honestly.
 */
function advisoriesOf(deps: AppDependencies): Record<string, () => 'up' | 'degraded'> {
  const advisories: Record<string, () => 'up' | 'degraded'> = { processor: () => deps.processor.health() };
  const limits = deps.rateLimits;
  if (limits?.redisState()) advisories.redis = () => limits.redisState() ?? 'up';
  return advisories;
}

export function createApp(deps: AppDependencies): { app: Express; services: Services } {
  const { db, log, lifecycle } = deps;
  const spec = deps.spec ?? loadSpec();

  const cursors = new CursorCodec(() => loadCursorKey(db));
  const keyCache = deps.apiKeyCache ?? DEFAULT_API_KEY_CACHE;
  const revocations = createNotificationChannel(db, KEY_REVOCATIONS_CHANNEL, log);
  const apiKeys = new ApiKeyService(db, cursors, {
    maxPerAccount: deps.apiKeysMaxPerAccount ?? DEFAULT_API_KEYS_PER_ACCOUNT,
    cache: keyCache.maxEntries > 0 ? new VerifiedKeyCache(keyCache) : undefined,
    revocations,
  });
  const metrics = deps.metrics;
  metrics?.watchPool(() => poolState(db));
  metrics?.knowOperations(operationsOf(spec).flatMap((o) => (o.operationId ? [o.operationId] : [])));
  const idempotency = new IdempotencyService(db, { leaseMs: deps.idempotency.leaseMs, log, metrics });
  const hooks: AppWebhookOptions = { ...DEFAULT_WEBHOOKS, ...deps.webhooks };
  const now = deps.now ?? Date.now;
  const secretsKey = hooks.secretsKey;
  const secretBox = new SecretBox(secretsKey ? async () => secretsKey : () => loadWebhookSecretsKey(db));
  const webhookSender = new WebhookSender({ timeoutMs: hooks.timeoutMs, allowPrivate: hooks.allowPrivateTargets });
  const services: Services = {
    apiKeys,
    accounts: new AccountService(db, apiKeys),
    customers: new CustomerService(db, idempotency, cursors),
    payments: new PaymentService(db, deps.processor, idempotency, cursors),
    refunds: new RefundService(db, deps.processor, idempotency, cursors),
    events: new EventService(db, cursors),
    idempotency,
    idempotencyJobs: new IdempotencyJobs(db, idempotency, {
      idleMs: deps.idempotency.leaseMs,
      retentionMs: deps.idempotency.retentionMs,
      intervalMs: deps.idempotency.jobIntervalMs,
      log,
      metrics,
    }),
    webhooks: new WebhookService(db, idempotency, cursors, {
      secrets: secretBox,
      allowPrivateTargets: hooks.allowPrivateTargets,
      maxEndpointsPerAccount: hooks.maxEndpointsPerAccount,
      degradedAfterMs: hooks.degradedAfterMs,
      now,
      lookup: hooks.lookup,
    }),
    webhookRelay: new WebhookRelay(db, webhookSender, secretBox, {
      ...hooks.relay,
      timeoutMs: hooks.timeoutMs,
      degradedAfterMs: hooks.degradedAfterMs,
      disableAfterMs: hooks.disableAfterMs,
      log: log.child({ component: 'webhook-relay' }),
      metrics,
      now,
      random: hooks.random,
    }),
    webhookSender,
    reconciliations: new ReconciliationService(db, idempotency, cursors, now),
    reconciliationWorker: new ReconciliationWorker(db, deps.processor, {
      ...DEFAULT_RECONCILIATION,
      ...deps.reconciliation,
      log: log.child({ component: 'reconciliation' }),
      metrics,
    }),
    oauth: new OAuthService(db, cursors, {
      ...DEFAULT_OAUTH,
      ...deps.oauth,
      // Signing keys are sealed like webhook secrets, under the server's secrets key.
      sealer: secretBox,
      channel: revocations,
      now,
      log: log.child({ component: 'oauth' }),
    }),
  };
  const issuerFor = (origin: string) => deps.publicUrl ?? origin;

  const adminHash = sha256(deps.adminToken);
  const metricsHash = deps.metricsToken === undefined ? undefined : sha256(deps.metricsToken);
  const authenticator: Authenticator = {
    knownApiKey: (secret) => apiKeys.known(secret),
    verifyApiKey: (secret) => apiKeys.verify(secret),
    verifyAccessToken: (token, origin) => services.oauth.verify(issuerFor(origin), token),
    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    verifyAdminToken: (token) => timingSafeEqual(sha256(token), adminHash),
    verifyMetricsToken: (token) => metricsHash === undefined || (token !== null && timingSafeEqual(sha256(token), metricsHash)),
  };

  // The validator annotates the document it is given; /openapi.json serves an untouched copy.
  const published = structuredClone(spec);
  const handlers = defineHandlers({
    ...problemHandlers(),
    ...opsHandlers({ lifecycle, checks: { database: () => pingDb(db) }, advisories: advisoriesOf(deps), spec: published, metrics }),
    ...consoleHandlers({ metrics }),
    ...accountHandlers(services.accounts, services.apiKeys),
    ...apiKeyHandlers(services.apiKeys),
    ...customerHandlers(services.customers),
    ...paymentHandlers(services.payments),
    ...paymentHandlersV2(services.payments),
    ...refundHandlers(services.refunds),
    ...refundHandlersV2(services.refunds),
    ...eventHandlers(services.events),
    ...webhookHandlers(services.webhooks),
    ...reconciliationHandlers(services.reconciliations),
    ...oauthHandlers(services.oauth, { issuerFor, guardFor: deps.rateLimits ? clientAuthGuard(deps.rateLimits) : () => ({ admit: async () => {}, failed: async () => {} }) }),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy ?? false);
  const limits = deps.rateLimits;
  const security = (spec.security ?? []) as Record<string, string[]>[];
  const countAnonymous = limits ? [limitAnonymous(limits)] : [];
  const staticFiles: RequestHandler = (_req, res, next) => {
    observed(res).operation = 'static';
    next();
  };
  mountPipeline(app, {
    app: {
      requestId: [requestId()],
      securityHeaders: [
        securityHeaders(),
        strictTransportSecurity(),
        [['/docs', PROBLEM_TYPES_PATH, CONSOLE_PAGE_PATH], exceptOn([CONSOLE_FEED_PATH], pageSecurityPolicy([PROBLEM_PAGE_STYLE]))],
      ],
      observe: [observe(log, metrics)],
      pageFiles: [
        [DOCS_ASSETS_PATH, staticFiles, ...countAnonymous, express.static(docsAssetsDir, { index: false, immutable: true, maxAge: '1d' })],
        [DOCS_PAGE_PATH, staticFiles, ...countAnonymous, express.static(docsPageDir, { index: false, maxAge: '1h' })],
        // The console's files carry their content's hash in their names: a new build is new names.
        [CONSOLE_ASSETS_PATH, staticFiles, ...countAnonymous, express.static(consoleAssetsDir, { index: false, immutable: true, maxAge: '1y' })],
      ],
      resourceRouter: [
        buildApiRouter({
          spec,
          handlers,
          authenticate: authenticate(authenticator, security, limits && authThrottle(limits)),
          limit: limits && limitRequests(limits, new Set(['createAccessToken'])),
          authorize: authorize(security),
          body: jsonBody(deps.bodyLimitBytes),
          validateResponses: deps.validateResponses,
          now: deps.now,
          // Without rate limits (a benchmarking switch) the instance sends no RateLimit fields.
          checkHeaders: deps.validateResponses ? checkResponseHeaders(published, limits ? [] : ['RateLimit', 'RateLimit-Policy']) : undefined,
          log,
        }),
      ],
      unmatchedRoute: [routeNotFound()],
    },
    error: {
      uncountedErrors: limits ? [limitUncountedErrors(limits)] : [],
      problem: [problemHandler(log, { publicUrl: deps.publicUrl })],
    },
  });
  return { app, services };
}
