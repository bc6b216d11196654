/**
 * A real app on a real database for each test file: PostgreSQL when DATABASE_URL is set (in a
 * schema of its own, dropped afterwards), embedded PGlite in memory otherwise. Responses are
 * validated against the spec, so a handler that answers off-contract fails the test with a 500.
 */
import type { Express } from 'express';
import request from 'supertest';
import { createApp, type Services } from '../../src/app.js';
import { createDb, migrate, type Db } from '../../src/platform/db.js';
import { randomBase62 } from '../../src/platform/ids.js';
import { createLogger } from '../../src/platform/logger.js';
import { Lifecycle } from '../../src/platform/shutdown.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestAccount {
  readonly id: string;
  /** A read+write key. */
  readonly secret: string;
  readonly keyId: string;
}

export interface TestApp {
  readonly app: Express;
  readonly db: Db;
  readonly services: Services;
  readonly lifecycle: Lifecycle;
  readonly storage: 'postgres' | 'pglite';
  /** Creates an account through the admin API and returns its first key. */
  createAccount(name?: string): Promise<TestAccount>;
  /** Creates an extra key for the account through the public API. */
  createKey(account: TestAccount, scopes: ('read' | 'write')[]): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export function storageUnderTest(): 'postgres' | 'pglite' {
  return process.env.DATABASE_URL ? 'postgres' : 'pglite';
}

export async function openTestDb(): Promise<{ db: Db; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = createDb({});
    await migrate(db);
    return { db, drop: () => db.destroy() };
  }
  const schema = `test_${randomBase62(12).toLowerCase()}`;
  const db = createDb({ url, schema, poolMax: 20 });
  await migrate(db);
  return {
    db,
    // A connection of its own: the test may have destroyed the app's pool on purpose.
    drop: async () => {
      await db.destroy();
      const admin = createDb({ url, poolMax: 1 });
      try {
        await admin.raw(`drop schema if exists "${schema}" cascade`);
      } finally {
        await admin.destroy();
      }
    },
  };
}

export async function createTestApp(options: { bodyLimitBytes?: number } = {}): Promise<TestApp> {
  const { db, drop } = await openTestDb();
  const lifecycle = new Lifecycle();
  const { app, services } = createApp({
    db,
    log: createLogger(process.env.LOG_LEVEL ?? 'silent'),
    lifecycle,
    adminToken: ADMIN_TOKEN,
    validateResponses: true,
    bodyLimitBytes: options.bodyLimitBytes ?? 64 * 1024,
  });
  return {
    app,
    db,
    services,
    lifecycle,
    storage: storageUnderTest(),
    async createAccount(name = 'Test account') {
      const res = await request(app).post('/admin/accounts').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name });
      if (res.status !== 201) throw new Error(`account creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.account.id, secret: res.body.api_key.secret, keyId: res.body.api_key.id };
    },
    async createKey(account, scopes) {
      const res = await request(app).post('/v1/api_keys').set('Authorization', `Bearer ${account.secret}`).send({ scopes });
      if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, secret: res.body.secret };
    },
    close: drop,
  };
}

/** Every row of the tables a test may touch, for "nothing changed" assertions. */
export async function snapshot(db: Db): Promise<Record<string, unknown[]>> {
  const tables = ['accounts', 'api_keys', 'customers'];
  const entries = await Promise.all(tables.map(async (t) => [t, await db(t).select('*').orderBy('id')] as const));
  return Object.fromEntries(entries);
}
