/**
 * What the HTTP benchmark measures, shared by the orchestrator (`http.bench.ts`), the server
 * processes (`server.ts`) and the load process (`load.ts`): the targets, the customer every target
 * answers with, the padded spec, and the messages the processes exchange.
 */
import type { OpenApiDocument } from '../src/platform/http/openapi-router.js';

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

/** Handed to each server process as its only argument, as JSON. */
export interface ServerConfig {
  readonly target: TargetId;
  readonly padResources: number;
  readonly logLevel: string;
  /** Full-app targets only: PostgreSQL when set, embedded PGlite otherwise. */
  readonly databaseUrl?: string;
  readonly schema?: string;
  readonly dbPoolMax: number;
}

export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number; readonly path: string; readonly headers: Record<string, string>; readonly specPaths: number | null }
  | { readonly type: 'error'; readonly message: string };

export interface LoadRequest {
  readonly type: 'run';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly durationS: number;
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
}

export type LoadMessage = { readonly type: 'result'; readonly result: RunResult } | { readonly type: 'error'; readonly message: string };
