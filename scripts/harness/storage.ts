/**
 * A database of a run's own, for processes that share it (several API processes, a benchmark and
 * the servers it starts, a test and the process it kills): a PostgreSQL schema created for the run
 * and dropped after it, or an embedded PGlite data directory made for it and removed after it.
 * Shared by the tests, the benchmarks and the storm.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from '../../src/platform/db.js';
import { randomBase62 } from '../../src/platform/ids.js';

export interface RunStorage {
  readonly kind: 'postgres' | 'pglite';
  /** For reports: where it is, without a password. */
  readonly label: string;
  /** The variables that point an API process at it (`DATABASE_URL` or `DATA_DIR`). */
  readonly env: Record<string, string>;
  /**
   * Opens it from this process. On PGlite only one process may have the data directory open at a
   * time: open it only while no API process runs, and destroy it before starting one.
   */
  open(poolMax?: number): Db;
  /** Drops the schema or removes the directory. */
  drop(): Promise<void>;
}

export function withoutPassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** null when PostgreSQL at `url` answers a query, else why not. */
export async function postgresAnswers(url: string, timeoutMs = 2_000): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
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

async function onPostgres(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, statement_timeout: 15_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * On PostgreSQL at `url`: a schema named `<prefix>_<random>`. The API process has no schema setting,
 * so its connection string carries one: node-postgres sends `options` in the startup message, and
 * the server starts every session with that search_path. Without `url`: a PGlite directory.
 */
export async function createRunStorage(prefix: string, url?: string): Promise<RunStorage> {
  if (!url) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
    return {
      kind: 'pglite',
      label: `embedded PGlite in ${dir}`,
      env: { DATA_DIR: dir },
      open: () => createDb({ dataDir: dir }),
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const schema = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBase62(10).toLowerCase()}`;
  await onPostgres(url, `create schema "${schema}"`);
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    kind: 'postgres',
    label: `PostgreSQL at ${withoutPassword(url)}, schema ${schema}`,
    env: { DATABASE_URL: scoped.toString() },
    open: (poolMax = 2) => createDb({ url, schema, poolMax }),
    drop: () => onPostgres(url, `drop schema if exists "${schema}" cascade`),
  };
}
