/**
 * The collection runner's vocabulary: collections as JSON data (`console/collections/*.json`, held
 * to `collection.schema.json` by test/console/collections.test.ts), what a run is told, what it
 * reports as it goes, and the report it ends with.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Collection {
  /** kebab-case, unique among the collections. */
  id: string;
  name: string;
  description: string;
  /**
   * Values made afresh at the start of every iteration (templates allowed), for what several steps
   * share but no response gives, such as an Idempotency-Key sent twice.
   */
  variables?: Record<string, Json>;
  steps: Step[];
}

export type Step = CallStep | RequestStep | WaitStep;

interface StepCommon {
  name: string;
  /** What the step demonstrates, for a reader of the collection. */
  note?: string;
  /** Runs even after the run was stopped: it releases what earlier steps created (a key, an endpoint). */
  cleanup?: boolean;
}

interface ExchangeStepCommon extends StepCommon {
  expect?: Assertion[];
  /** Values kept for the next steps of the iteration: name → path in the answer, e.g. `{ "customer": "body.id" }`. */
  save?: Record<string, string>;
  /** A burst: this many calls (a template may compute it, e.g. `"{{writeQuota + 40}}"`). */
  repeat?: number | string;
  /** How many calls of a burst are in flight at once (default 10, at most `repeat`). */
  concurrency?: number | string;
  /** Sends the request again until every assertion passes or the time is up; the last answer is judged. */
  poll?: { timeoutMs: number; intervalMs?: number };
}

/** An SDK method by its name, e.g. `customers.create` or `v2.payments.capture`. */
export interface CallStep extends ExchangeStepCommon {
  call: string;
  /** The method's arguments before its request options: an id, a body, a query. */
  args?: Json[];
  /** The SDK's per-call options. */
  options?: CallOptions;
  /** This step's client: another API key, retries on. By default the run's key, no retries. */
  client?: ClientSettings;
}

export interface CallOptions {
  idempotencyKey?: string;
  maxRetries?: number | string;
  timeout?: number;
  headers?: Record<string, string>;
}

export interface ClientSettings {
  apiKey?: string;
  maxRetries?: number | string;
  /** Milliseconds per attempt. */
  timeout?: number;
}

/** A request no SDK would send (malformed JSON, another Content-Type, no key), sent with fetch. */
export interface RequestStep extends ExchangeStepCommon {
  request: RawRequest;
}

export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/v1/customers?limit=1`. */
  path: string;
  headers?: Record<string, string>;
  /** The body, sent byte for byte as written. */
  body?: string;
  /** A body sent as JSON (with `Content-Type: application/json` unless `headers` says otherwise). */
  json?: Json;
  /** The key sent as `Authorization: Bearer …`: the run's by default, `null` for none. */
  apiKey?: string | null;
}

/**
 * A pause until a quota the run's answers reported (`RateLimit`) has at least `minRemaining` left,
 * waiting for its window to reset when it has not: a collection that spends a quota leaves it
 * usable for the next one.
 */
export interface WaitStep extends StepCommon {
  wait: { quota: string; minRemaining: number | string };
}

export type Assertion = Check | Aggregate;

/**
 * One comparison of the value at `path` in an answer: `status`, `headers.<name>` (lower case),
 * `body.<field>` (`body.data[0].id`, `body.data[*].id` for every item's), `ratelimit.<policy>.<q|w|r|t>`
 * (the RateLimit-Policy and RateLimit fields, parsed). Exactly one operator. In a burst, a check
 * must hold for every answer. Expected values may be templates.
 */
export interface Check {
  path: string;
  equals?: Json;
  notEquals?: Json;
  oneOf?: Json[];
  exists?: boolean;
  /** A regular expression (JavaScript syntax) the value, as a string, must match. */
  matches?: string;
  /** An array holds this item, or a string this substring. */
  includes?: Json;
  excludes?: Json;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  /** The array's or string's length. */
  length?: number | string;
  description?: string;
}

/**
 * A statement about a set of answers (`responses`: the final answer of each call) or of HTTP
 * attempts (`attempts`: every request sent, retries included, each with `status`, `retryCount`,
 * `latencyMs`, `method`, `path`), optionally narrowed by `where`. Exactly one of `count`, `every`,
 * `some`, `distinct`.
 */
export interface Aggregate {
  over?: 'responses' | 'attempts';
  where?: Check;
  count?: NumberComparison;
  every?: Check;
  some?: Check;
  /** Every selected answer has a different value at this path. */
  distinct?: string;
  description?: string;
}

export interface NumberComparison {
  equals?: number | string;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
}

export interface RunOptions {
  /** e.g. location.origin in the browser. */
  baseURL: string;
  /** The key the user entered (the demo key). */
  apiKey: string;
  /** Default 1. */
  iterations?: number;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Stops the run; steps marked `cleanup` still run, without it. */
  signal?: AbortSignal;
  /** Live progress. */
  onEvent?: (event: RunEvent) => void;
}

export type RunEvent =
  | { type: 'step-start'; iteration: number; index: number; name: string }
  | { type: 'step-end'; result: StepResult };

export interface AttemptRecord {
  method: string;
  path: string;
  /** null: network error (no answer). */
  status: number | null;
  latencyMs: number;
  retryCount: number;
}

export interface StepResult {
  /** 0-based. */
  iteration: number;
  /** The step's index in the collection. */
  index: number;
  name: string;
  /** `wait` steps send nothing: no method, path, status or attempts. */
  kind: 'request' | 'burst' | 'wait';
  /** Of the step's first request (path without origin, with query). */
  method: string;
  path: string;
  /** The final answer's status (for a burst: the most frequent final status); null when none came or none was sent. */
  status: number | null;
  /** Wall time of the step (all its calls, retries and waits included). */
  latencyMs: number;
  /** Every HTTP attempt the step made, retries included. */
  attempts: AttemptRecord[];
  assertions: AssertionResult[];
  /** Every assertion passed and nothing threw. */
  passed: boolean;
  /** What went wrong when the step could not run or got no answer (e.g. a template variable missing). */
  error?: string;
  /** A line about what happened, for the reader: a burst's statuses, how long a wait lasted. */
  note?: string;
}

export interface AssertionResult {
  description: string;
  passed: boolean;
  /** Why it failed: expected vs actual. */
  reason?: string;
}

export interface RunReport {
  collectionId: string;
  collectionName: string;
  startedAt: string;
  durationMs: number;
  iterations: number;
  steps: StepResult[];
  totals: {
    steps: number;
    passedSteps: number;
    failedSteps: number;
    assertions: number;
    passedAssertions: number;
    failedAssertions: number;
    requests: number;
  };
  /** '200' -> n, '429' -> n, 'network' -> n, over every attempt. */
  statusCounts: Record<string, number>;
  /** Every attempt's latency (ms), in the order the attempts ended. */
  latencies: number[];
  aborted?: boolean;
}

export type ConnectionCheck =
  | { ok: true }
  | { ok: false; kind: 'unauthorized' | 'forbidden' | 'unreachable' | 'rate_limited' | 'error'; message: string };
