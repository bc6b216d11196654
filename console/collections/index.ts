/**
 * The runner's collections, in the order the console lists them. Each is imported by name (not by
 * a glob) so that Vite and Node load the same files the same way.
 *
 * JSON carries no literal types, so TypeScript cannot hold these files to the step format:
 * collection.schema.json does, checked for every file by test/console/collections.test.ts, along
 * with every SDK method a step names.
 */
import type { Collection } from '../src/runner/types.js';
import authAndTenancy from './auth-and-tenancy.json' with { type: 'json' };
import customers from './customers.json' with { type: 'json' };
import errorsAndBadInput from './errors-and-bad-input.json' with { type: 'json' };
import paginationThroughInserts from './pagination-through-inserts.json' with { type: 'json' };
import paymentsAndIdempotency from './payments-and-idempotency.json' with { type: 'json' };
import rateLimits from './rate-limits.json' with { type: 'json' };
import storm from './storm.json' with { type: 'json' };
import versioning from './versioning.json' with { type: 'json' };
import webhooks from './webhooks.json' with { type: 'json' };

const files: readonly unknown[] = [
  authAndTenancy,
  customers,
  paymentsAndIdempotency,
  paginationThroughInserts,
  rateLimits,
  errorsAndBadInput,
  versioning,
  webhooks,
  storm,
];

export const collections: readonly Collection[] = files as readonly Collection[];
