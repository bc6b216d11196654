/**
 * The database: PostgreSQL when `DATABASE_URL` is set, otherwise embedded PGlite (real Postgres
 * compiled to WASM) in memory or in `DATA_DIR`. Both run the same migrations and the same SQL.
 */
import knexFactory, { type Knex } from 'knex';
import type { PGlite } from '@electric-sql/pglite';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import type { Logger } from './logger.js';
import { migrationSource } from './migrations/index.js';
import type { CreatedBounds, Position } from './pagination.js';

/** The database handle (knex underneath). Only repositories and this module use its query builder. */
export type Db = Knex;
/** A unit of work: one transaction. Use cases pass it to repositories without naming knex. */
export type Transaction = Knex.Transaction;

export interface DbOptions {
  /** PostgreSQL connection string; embedded PGlite when absent. */
  readonly url?: string;
  /** Embedded only: where the data persists. In memory when absent. */
  readonly dataDir?: string;
  readonly poolMax?: number;
  /** PostgreSQL only: a schema to create and use (tests isolate each run in its own). */
  readonly schema?: string;
  /** Where knex's own warnings go (pool and connection errors); silent when absent. */
  readonly log?: Logger;
  /** Embedded only: an open PGlite to use (e.g. one loaded from a migrated copy), instead of a new one. */
  readonly pglite?: PGlite;
}

function knexLogger(log: Logger | undefined): Knex.Config['log'] {
  const quiet = () => {};
  if (!log) return { warn: quiet, error: quiet, deprecate: quiet, debug: quiet };
  return {
    warn: (message: unknown) => log.warn({ knex: String(message) }, 'database warning'),
    error: (message: unknown) => log.error({ knex: String(message) }, 'database error'),
    deprecate: (method: string, alternative: string) => log.warn({ method, alternative }, 'knex deprecation'),
    debug: quiet,
  };
}

// int8 (bigint) columns arrive as strings from node-postgres; amounts and counts fit in 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

const STATEMENT_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 3_000;

export function createDb(options: DbOptions): Db {
  if (options.url) {
    return knexFactory({
      client: 'pg',
      connection: {
        connectionString: options.url,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        statement_timeout: STATEMENT_TIMEOUT_MS,
        application_name: 'remit',
      },
      searchPath: options.schema ? [options.schema] : undefined,
      pool: {
        min: 0,
        max: options.poolMax ?? 10,
        afterCreate: options.schema
          ? (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
              conn.query(`create schema if not exists "${options.schema}"`).then(() => done(null, conn), (err: Error) => done(err, conn));
            }
          : undefined,
      },
      acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
      log: knexLogger(options.log),
    });
  }
  return knexFactory({
    client: ClientPgLite as unknown as typeof Knex.Client,
    dialect: 'postgres',
    connection: options.pglite ? { pglite: options.pglite } : options.dataDir ? { filename: options.dataDir } : {},
    log: knexLogger(options.log),
  } as Knex.Config);
}

/** knex's connection pool (tarn), as far as the metrics read it. */
interface PoolCounts {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** The connection pool's state: connections in use and free, and queries waiting for one. */
export function poolState(db: Db): { used: number; free: number; pending: number } | undefined {
  const pool = (db.client as { pool?: PoolCounts }).pool;
  if (!pool) return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
}

/** Where a prepared read's parameters go in the query it is built from. */
const PARAMETER = '\u0000remit-parameter:';

/** What of knex's client a prepared read uses: its configuration and its connection pool. */
interface PooledClient {
  readonly config: { readonly client?: unknown };
  acquireConnection(): Promise<pg.ClientBase>;
  releaseConnection(connection: pg.ClientBase): Promise<void>;
}

interface CompiledRead {
  /** `$1, $2, …` placeholders (PostgreSQL's own), for a named prepared statement. */
  readonly native: string;
  /** `?` placeholders, for knex's raw queries. */
  readonly positional: string;
  /** Per placeholder: the parameter's name, or a constant the builder put there (e.g. a limit). */
  readonly slots: readonly ({ readonly param: string } | { readonly value: unknown })[];
}

/**
 * A read on the hot path, built once with the query builder and then run without it. Built and
 * compiled on first use per database handle; on PostgreSQL outside a transaction it runs as a
 * named prepared statement on a pooled connection, so each connection parses and plans it once and
 * each call skips knex's query building and compilation, the largest share of a lookup by id
 * spent outside the database. In a transaction, or on the embedded database, it runs as a raw query
 * of the same SQL. `build` gets a placeholder for each parameter and must use each one as a value.
 */
export function preparedRead<P extends string, Row>(
  name: string,
  params: readonly P[],
  build: (db: Knex, param: Record<P, string>) => Knex.QueryBuilder,
): (db: Db, values: Record<P, unknown>) => Promise<Row[]> {
  const compiled = new WeakMap<object, CompiledRead>();
  const placeholders = Object.fromEntries(params.map((p) => [p, `${PARAMETER}${p}`])) as Record<P, string>;
  const compile = (db: Knex): CompiledRead => {
    const sql = build(db, placeholders).toSQL();
    const native = sql.toNative();
    const slots = native.bindings.map((b) => (typeof b === 'string' && b.startsWith(PARAMETER) ? { param: b.slice(PARAMETER.length) } : { value: b }));
    const used = new Set(slots.flatMap((s) => ('param' in s ? [s.param] : [])));
    const unused = params.filter((p) => !used.has(p));
    if (unused.length > 0) throw new Error(`prepared read ${name} does not use ${unused.join(', ')}`);
    return { native: native.sql, positional: sql.sql, slots };
  };
  return async (db, values) => {
    // One compilation serves a database and every transaction on it (they share the client).
    let read = compiled.get(db.client as object);
    if (!read) compiled.set(db.client as object, (read = compile(db)));
    const bindings = read.slots.map((s) => ('param' in s ? values[s.param as P] : s.value));
    const client = db.client as PooledClient;
    if (db.isTransaction || client.config.client !== 'pg') {
      const result = (await db.raw(read.positional, bindings as Knex.RawBinding[])) as { rows: Row[] };
      return result.rows;
    }
    const connection = await client.acquireConnection();
    try {
      return (await connection.query<Row & pg.QueryResultRow>({ name, text: read.native, values: bindings })).rows;
    } finally {
      await client.releaseConnection(connection);
    }
  };
}

export async function migrate(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

/** Liveness of the database for `/ready`: a round trip, bounded in time. */
export async function pingDb(db: Db, timeoutMs = 1_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return await Promise.race([db.raw('select 1').then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
// SQLSTATE classes that mean "the database cannot serve now", not "the query is wrong":
// 08 connection exception, 53 insufficient resources, 57P0x operator intervention / shutdown.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0)/;

/** Whether an error means the database is unreachable or overloaded (answer 503), not a bug (500). */
export function isDbUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string };
  if (e.name === 'KnexTimeoutError') return true;
  if (e.code && (UNAVAILABLE_NODE_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  if (/Connection terminated|PGlite is closed|Unable to acquire a connection/i.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err && isDbUnavailable(e.cause);
}

/**
 * One page of a list, newest first: the `created` bounds, the rows strictly after the cursor's
 * position by keyset on (created_at, tiebreak), the order the list's composite index serves, and
 * the limit. `tiebreak` is the unique column that orders rows sharing a millisecond.
 */
export function keysetPage<Q extends Knex.QueryBuilder>(
  q: Q,
  page: { readonly created?: CreatedBounds; readonly after?: Position; readonly limit: number; readonly tiebreak?: 'id' | 'seq' },
): Q {
  const tiebreak = page.tiebreak ?? 'id';
  const { fromS, untilS } = page.created ?? {};
  // Seconds, converted by the database: the end of the last second of year 9999 (the largest
  // `created[lte]`) is a timestamp PostgreSQL holds but a JavaScript Date cannot be sent as.
  if (fromS !== undefined) q.whereRaw('created_at >= to_timestamp(?)', [fromS]);
  if (untilS !== undefined) q.whereRaw('created_at < to_timestamp(?)', [untilS]);
  if (page.after) q.whereRaw(`(created_at, ${tiebreak}) < (?, ?)`, [page.after.created, page.after.id]);
  return q
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: tiebreak, order: 'desc' },
    ])
    .limit(page.limit) as Q;
}
