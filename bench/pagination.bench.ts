/**
 * `npm run bench:pagination` (issue 4): does a page deep in a long list cost what the first page
 * costs? One account holds a million payments (plus other accounts' noise); the benchmark times
 * page 1 and the page after row 900,000, through the real app over HTTP and as the repository's
 * SQL, next to the same page by OFFSET. It checks that every page it timed holds the right rows,
 * and that the deep keyset query's plan reads the composite index from the cursor on (no sort,
 * no sequential scan): if not, it says so loudly and exits with status 1.
 *
 * PostgreSQL when DATABASE_URL is set (a throwaway schema, dropped at the end), embedded PGlite
 * otherwise. Results on stdout, progress on stderr. See bench/README.md.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import pg from 'pg';
import { createApp, type Services } from '../src/app.js';
import * as paymentsRepo from '../src/payments/repository.js';
import { createDb, migrate, type Db } from '../src/platform/db.js';
import { randomBase62 } from '../src/platform/ids.js';
import { createLogger } from '../src/platform/logger.js';
import { CursorCodec, type ListFilter, type Position } from '../src/platform/pagination.js';
import { loadCursorKey } from '../src/platform/server-secrets.js';
import { Lifecycle } from '../src/platform/shutdown.js';
import { createProcessorClient } from '../src/processor/client.js';
import { seedRange } from './pagination-seed.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
  return value;
}

const ROWS = envInt('BENCH_PAGINATION_ROWS', 1_000_000);
const DEPTH = envInt('BENCH_PAGINATION_DEPTH', 900_000);
const NOISE_ACCOUNTS = envInt('BENCH_PAGINATION_NOISE_ACCOUNTS', 20);
const NOISE_ROWS = envInt('BENCH_PAGINATION_NOISE_ROWS', 200_000);
const ROUNDS = envInt('BENCH_PAGINATION_ROUNDS', 3);
const REPS = envInt('BENCH_PAGINATION_REPS', 50);
const OFFSET_REPS = envInt('BENCH_PAGINATION_OFFSET_REPS', 10);
const WALK_PAGES = envInt('BENCH_PAGINATION_WALK', 5);
// succeeded is most of the list, so the planner may keep to the account index and filter;
// failed is a tenth, where the status index pays. Both are measured.
const STATUSES = (process.env.BENCH_PAGINATION_STATUSES?.trim() || 'succeeded,failed').split(',').map((s) => s.trim()).filter(Boolean);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL?.trim() || 'silent';
const DATABASE_URL = process.env.DATABASE_URL?.trim() || undefined;

const LIMIT = 20;
const BATCH_ROWS = 100_000;
// One payment per ~50 ms going back in time: a million span about 14 hours.
const STEP_MS = 50;
// Every 7th payment shares the previous one's millisecond: 1 in 7 page boundaries on average falls
// inside such a pair, where only the id tie-breaker keeps a page from repeating or skipping a row.
const TIE_EVERY = 7;
const WARMUP_REPS = 10;
const OFFSET_WARMUP_REPS = 2;
// What PaymentService names its list and the filter object it seals into cursors
// (src/payments/service.ts). Checked at run time: the app's next_cursor for page 1 must open here
// at page 1's last row, and the cursor this builds for that row must lead the app to the same page 2.
// (Cursors carry a random nonce, so no two are alike byte for byte, not even the app's own.)
const LIST = 'payments';
const filterOf = (status: string | undefined): ListFilter => ({ status });

if (DEPTH + (WALK_PAGES + 1) * LIMIT >= ROWS) throw new Error('BENCH_PAGINATION_DEPTH must leave room for the walk before the end of the list');

const started = performance.now();
let aborted = false;

function progress(message: string): void {
  console.error(`[pagination ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

function checkAborted(): void {
  if (aborted) throw new Error('interrupted');
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => (n >= 100 ? int(n) : n.toFixed(2));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest rank: with 10 samples the p95 is the slowest. */
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)]!;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Check {
  ok: boolean;
  line: string;
}
const checks: Check[] = [];
function check(ok: boolean, line: string): boolean {
  checks.push({ ok, line });
  progress(`${ok ? 'ok' : 'FAILED'}: ${line}`);
  return ok;
}

// ---- database ------------------------------------------------------------------------------------

interface Storage {
  db: Db;
  postgres: boolean;
  describe: string;
  drop(): Promise<void>;
}

async function openStorage(): Promise<Storage> {
  if (!DATABASE_URL) {
    const db = createDb({});
    return { db, postgres: false, describe: 'embedded PGlite (in memory, one connection)', drop: () => db.destroy() };
  }
  const schema = `bench_pagination_${randomBase62(12).toLowerCase()}`;
  const db = createDb({ url: DATABASE_URL, schema, poolMax: 4 });
  const url = new URL(DATABASE_URL);
  url.password = url.password ? '***' : '';
  return {
    db,
    postgres: true,
    describe: `PostgreSQL at ${url.toString()}, throwaway schema ${schema} (dropped at the end)`,
    drop: async () => {
      await db.destroy();
      const client = new pg.Client({ connectionString: DATABASE_URL, statement_timeout: 60_000 });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

interface Seeded {
  accountId: string;
  secret: string;
  seconds: number;
}

async function seed(storage: Storage, services: Services): Promise<Seeded> {
  const { db, postgres } = storage;
  const t0 = performance.now();
  const created = await services.accounts.create('Pagination benchmark');
  const accountId = created.account.id;
  const runSeed = randomBase62(8);
  const newest = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);

  for (let from = 1; from <= ROWS; from += BATCH_ROWS) {
    checkAborted();
    const to = Math.min(ROWS, from + BATCH_ROWS - 1);
    await seedRange(db, postgres, { accountId, from, to, seed: `${runSeed}:main`, newest, stepMs: STEP_MS, tieEvery: TIE_EVERY });
    progress(`seeded ${int(to)} / ${int(ROWS)} payments in the measured account`);
  }
  // Other accounts' payments over the same hours, interleaved in every index with the measured ones.
  const perNoiseAccount = Math.floor(NOISE_ROWS / NOISE_ACCOUNTS);
  const noiseStep = Math.max(1, Math.floor((STEP_MS * ROWS) / Math.max(1, perNoiseAccount)));
  for (let n = 0; n < NOISE_ACCOUNTS && perNoiseAccount > 0; n++) {
    checkAborted();
    const id = `acct_${randomBase62()}`;
    await db('accounts').insert({ id, name: `Noise ${n + 1}` });
    await seedRange(db, postgres, { accountId: id, from: 1, to: perNoiseAccount, seed: `${runSeed}:noise:${n}`, newest, stepMs: noiseStep, tieEvery: 0 });
  }
  progress(`seeded ${int(perNoiseAccount * NOISE_ACCOUNTS)} payments over ${NOISE_ACCOUNTS} other accounts`);
  // Only this schema's tables: other schemas on a shared test database are not ours to touch.
  await db.transaction(async (trx) => {
    if (postgres) await trx.raw('set local statement_timeout = 0');
    await trx.raw('analyze accounts, payments');
  });
  progress('analyzed');
  return { accountId, secret: created.api_key.secret, seconds: (performance.now() - t0) / 1000 };
}

interface Row {
  id: string;
  created_at: Date;
}

/** The rows a list should show, read straight by OFFSET (slow, but once, and independent of the cursor code). */
async function rowsAt(db: Db, accountId: string, status: string | undefined, offset: number, count: number): Promise<Row[]> {
  return db.transaction(async (trx) => {
    if (DATABASE_URL) await trx.raw('set local statement_timeout = 0');
    const q = trx('payments').select('id', 'created_at').where({ account_id: accountId });
    if (status) q.where({ status });
    return q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).offset(offset).limit(count);
  });
}

// ---- the repository's SQL ------------------------------------------------------------------------

interface Sql {
  /** knex raw form (`?` placeholders). */
  sql: string;
  bindings: unknown[];
}

/** The one statement `run` sends, as the driver receives it (`$n` placeholders), turned back into knex raw form. */
async function captureSql(db: Db, run: () => Promise<unknown>): Promise<Sql> {
  const seen: { sql: string; bindings: unknown[] }[] = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => seen.push({ sql: q.sql, bindings: [...(q.bindings ?? [])] });
  db.on('query', listener);
  try {
    await run();
  } finally {
    db.removeListener('query', listener);
  }
  if (seen.length !== 1) throw new Error(`expected the repository to send one statement, saw ${seen.length}`);
  const native = seen[0]!;
  let next = 1;
  const sql = native.sql.replace(/\$(\d+)/g, (_m, n: string) => {
    if (Number(n) !== next++) throw new Error(`unexpected placeholder order in ${native.sql}`);
    return '?';
  });
  if (next - 1 !== native.bindings.length) throw new Error('placeholders and bindings differ');
  // Sent through knex raw, it must reach the driver as the very statement the repository sent.
  const again = db.raw(sql, native.bindings as never).toSQL().toNative().sql;
  if (again !== native.sql) throw new Error(`raw form differs from the repository's statement:\n${again}\n${native.sql}`);
  return { sql, bindings: native.bindings };
}

async function runSql(db: Db, q: Sql): Promise<Row[]> {
  const result: { rows: Row[] } = await db.raw(q.sql, q.bindings as never);
  return result.rows;
}

/** Statements of the benchmark's own (counts, EXPLAIN ANALYZE of OFFSET) may take longer than the app's 5 s limit allows a request. */
async function unbounded<T extends Record<string, unknown>>(db: Db, sql: string, bindings: unknown[]): Promise<T[]> {
  return db.transaction(async (trx) => {
    if (DATABASE_URL) await trx.raw('set local statement_timeout = 0');
    const result: { rows: T[] } = await trx.raw(sql, bindings as never);
    return result.rows;
  });
}

async function one<T extends Record<string, unknown>>(db: Db, sql: string, bindings: unknown[]): Promise<T> {
  const [row] = await unbounded<T>(db, sql, bindings);
  if (!row) throw new Error(`no row from ${sql}`);
  return row;
}

async function explain(db: Db, q: Sql, format: 'text' | 'json'): Promise<unknown> {
  const prefix = format === 'json' ? 'explain (analyze, buffers, format json) ' : 'explain (analyze, buffers) ';
  const result = { rows: await unbounded<Record<string, unknown>>(db, prefix + q.sql, q.bindings) };
  if (format === 'text') return result.rows.map((r) => String(r['QUERY PLAN'])).join('\n');
  const plan = result.rows[0]?.['QUERY PLAN'];
  return typeof plan === 'string' ? JSON.parse(plan) : plan;
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Rows Removed by Filter'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

/** One line for a plan: its nodes, how many rows the bottom one produced, and the execution time. */
function planSummary(plan: unknown): string {
  const top = (plan as { Plan: PlanNode; 'Execution Time'?: number }[])[0];
  if (!top) return 'no plan';
  const nodes = planNodes(top.Plan);
  const leaf = nodes.at(-1)!;
  const removed = nodes.reduce((sum, n) => sum + (n['Rows Removed by Filter'] ?? 0), 0);
  return `${nodes.map((n) => n['Node Type'] + (n['Index Name'] ? ` using ${n['Index Name']}` : '')).join(' → ')}; ${int(leaf['Actual Rows'] ?? 0)} rows out of the scan${removed ? ` after ${int(removed)} removed by filter` : ''}; executed in ${ms(top['Execution Time'] ?? NaN)} ms`;
}

/** The deep page must come from the index, starting at the cursor: no sort, no sequential scan, no filtering its way down. */
function checkKeysetPlan(label: string, plan: unknown, indexes: string[]): string {
  const root = (plan as { Plan: PlanNode }[])[0]?.Plan;
  if (!root) {
    check(false, `${label}: EXPLAIN returned no plan`);
    return 'no plan';
  }
  const nodes = planNodes(root);
  const types = nodes.map((n) => n['Node Type']);
  const scans = nodes.filter((n) => (n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan') && indexes.includes(n['Index Name'] ?? ''));
  const scan = scans[0];
  check(scan !== undefined, `${label}: ${scan ? `${scan['Node Type']} using ${scan['Index Name']}` : `no Index Scan on ${indexes.join(' or ')}`} (plan: ${types.join(' → ')})`);
  const banned = types.filter((t) => t === 'Sort' || t === 'Incremental Sort' || t === 'Seq Scan');
  check(banned.length === 0, `${label}: no Sort and no Seq Scan in the plan${banned.length ? ` (found ${banned.join(', ')})` : ''}`);
  const cond = scan?.['Index Cond'] ?? '';
  check(/created_at/.test(cond), `${label}: the cursor position is in the Index Cond, so the scan starts at the cursor (${cond || 'no Index Cond'})`);
  return scan ? `${scan['Node Type']} using ${scan['Index Name']}` : `no index scan on ${indexes.join(' or ')}`;
}

// ---- HTTP ----------------------------------------------------------------------------------------

interface ListBody {
  data: { id: string }[];
  has_more: boolean;
  next_cursor: string | null;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

function makeGet(port: number, secret: string) {
  return async (params: Record<string, string>): Promise<ListBody> => {
    const url = `http://127.0.0.1:${port}/v1/payments?${new URLSearchParams({ limit: String(LIMIT), ...params }).toString()}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${secret}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text}`);
    return JSON.parse(text) as ListBody;
  };
}

// ---- measurements --------------------------------------------------------------------------------

interface Measurement {
  id: string;
  label: string;
  /** The id of the page-1 keyset row this one is compared with. */
  baseline: string;
  reps: number;
  warmup: number;
  /** One repetition's samples (a walk gives one per page). */
  sample(): Promise<number[]>;
}

interface Result {
  medians: number[];
  p95s: number[];
  samples: number;
}

/**
 * The measurements that share a baseline (page 1 of one list, over HTTP or in SQL) are sampled
 * interleaved: one repetition of each in turn, the turn's order reversed every other time, so a
 * deep page and its page 1 are timed moments apart and whatever else the machine does falls on
 * both alike. A measurement with fewer repetitions (deep OFFSET) takes part in the first turns
 * only. The groups run one after the other, in reverse order every other round.
 */
async function measure(measurements: Measurement[]): Promise<Map<string, Result>> {
  const results = new Map<string, Result>(measurements.map((m) => [m.id, { medians: [], p95s: [], samples: 0 }]));
  // Not Map.groupBy: Node 20 lacks it.
  const byBaseline = new Map<string, Measurement[]>();
  for (const m of measurements) byBaseline.set(m.baseline, [...(byBaseline.get(m.baseline) ?? []), m]);
  const groups = [...byBaseline.values()];
  const interleaved = async (group: Measurement[], reps: (m: Measurement) => number, record: boolean) => {
    const samples = new Map<string, number[]>(group.map((m) => [m.id, []]));
    const turns = Math.max(...group.map(reps));
    for (let turn = 0; turn < turns; turn++) {
      checkAborted();
      for (const m of turn % 2 === 0 ? group : [...group].reverse()) {
        if (turn < reps(m)) samples.get(m.id)!.push(...(await m.sample()));
      }
    }
    return record ? samples : undefined;
  };
  for (const group of groups) await interleaved(group, (m) => m.warmup, false);
  progress('warmed up');
  for (let round = 0; round < ROUNDS; round++) {
    for (const group of round % 2 === 0 ? groups : [...groups].reverse()) {
      const samples = (await interleaved(group, (m) => m.reps, true))!;
      for (const m of group) {
        const taken = samples.get(m.id)!;
        const r = results.get(m.id)!;
        r.medians.push(median(taken));
        r.p95s.push(p95(taken));
        r.samples = taken.length;
        progress(`round ${round + 1}/${ROUNDS} ${m.label}: median ${ms(median(taken))} ms, p95 ${ms(p95(taken))} ms (${taken.length} samples)`);
      }
    }
  }
  return results;
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.once('SIGINT', () => {
    aborted = true;
    process.exitCode = 130;
    progress('interrupted: stopping after the current statement and cleaning up');
  });

  const storage = await openStorage();
  const { db, postgres } = storage;
  const server = createServer();
  // As in main.ts: the client's keep-alive connection sits idle while the SQL rows run, and must
  // not be closed under a request that is about to reuse it.
  server.keepAliveTimeout = 65_000;
  let services: Services | undefined;
  const out: string[] = [];
  const print = (line = '') => out.push(line);
  try {
    progress(`storage: ${storage.describe}`);
    await migrate(db);
    const lifecycle = new Lifecycle();
    const app = createApp({
      db,
      log: createLogger(LOG_LEVEL),
      lifecycle,
      adminToken: randomBase62(32),
      validateResponses: true,
      bodyLimitBytes: 64 * 1024,
      // Never called: the benchmark only lists. Nothing listens on port 1.
      processor: createProcessorClient({ url: 'http://127.0.0.1:1', timeoutMs: 500, maxRetries: 0, breakerThreshold: 5, breakerHalfOpenMs: 5_000 }),
      idempotency: { leaseMs: 30_000, retentionMs: 86_400_000, jobIntervalMs: 60_000 },
    });
    services = app.services;
    server.on('request', app.app);

    progress(`seeding ${int(ROWS)} payments in one account and ${int(NOISE_ROWS)} over ${NOISE_ACCOUNTS} others (batches of ${int(BATCH_ROWS)})`);
    const seeded = await seed(storage, app.services);
    const { accountId, secret } = seeded;
    progress(`seeding and ANALYZE took ${seeded.seconds.toFixed(0)} s`);

    // ---- what the data looks like, read independently of the code under test
    const facts = await one<{ total: number; badIds: number; ties: number; everything: number }>(
      db,
      `select count(*)::int as total,
              count(*) filter (where id !~ '^pay_[A-Za-z0-9]{22}$')::int as "badIds",
              (count(*) - count(distinct created_at))::int as ties,
              (select count(*)::int from payments) as everything
         from payments where account_id = ?`,
      [accountId],
    );
    const { total, badIds, ties, everything } = facts;
    const byStatus = new Map(
      (await unbounded<{ status: string; n: number }>(db, 'select status, count(*)::int as n from payments where account_id = ? group by status order by n desc', [accountId])).map(
        (r) => [r.status, r.n],
      ),
    );
    check(total === ROWS, `the measured account holds ${int(total)} payments (${int(everything)} in the table)`);
    check(badIds === 0, `every id has the real shape pay_ + 22 base62 characters (${badIds} do not)`);
    check(ties > 0, `${int(ties)} payments share their created_at with another, so the id tie-breaker matters`);

    const port = await listen(server);
    const get = makeGet(port, secret);
    // The app's own key, from server_secrets: a deep cursor is one the app itself would have issued tens of thousands of pages in.
    const codec = new CursorCodec(() => loadCursorKey(db));
    const idsOf = (rows: { id: string }[]) => rows.map((r) => r.id).join(',');
    const walkRows = (WALK_PAGES + 1) * LIMIT;

    /** One list (all payments, or one status): its deep position, cursor, expected rows and statements, all checked. */
    interface ListCase {
      key: string;
      status: string | undefined;
      /** What the rows are called in labels: `row 900,000` or `succeeded row 629,917`. */
      rowName: string;
      size: number;
      depth: number;
      params: Record<string, string>;
      deepCursor: string;
      /** Page 1's next_cursor, as the app issued it. */
      page2Cursor: string;
      keysetFirst: Sql;
      keysetDeep: Sql;
      offsetFirst: Sql;
      offsetDeep: Sql;
      plan: string;
      planIndex: string;
      offsetPlan: string;
    }

    const prepare = async (status: string | undefined): Promise<ListCase> => {
      const size = status ? (byStatus.get(status) ?? 0) : total;
      // A filtered list's deep page sits as far into it as the unfiltered one's does.
      const depth = status ? Math.floor((size * DEPTH) / ROWS) : DEPTH;
      const name = status ? `status=${status}` : 'all payments';
      const rowName = `${status ? `${status} ` : ''}row ${int(depth)}`;
      if (depth < 1 || depth + walkRows + 1 > size) throw new Error(`${name}: ${int(size)} rows are too few for a deep page and a walk`);
      const params: Record<string, string> = status ? { status } : {};

      // Expected rows, read by OFFSET once, outside any timing and independently of the cursor code.
      const firstExpected = await rowsAt(db, accountId, status, 0, LIMIT + 1);
      const [deepRow] = await rowsAt(db, accountId, status, depth - 1, 1);
      const expected = await rowsAt(db, accountId, status, depth, walkRows + 1);
      if (!deepRow) throw new Error(`${name}: no row ${depth}`);
      const deepPosition: Position = { created: deepRow.created_at, id: deepRow.id };

      // The deep cursor is made the way the app makes its own. Each cursor has its own random nonce,
      // so that cannot be shown by comparing bytes; it is shown on page 1's last row instead: the
      // app's next_cursor opens here (the same key, list, account and filters) at that very row,
      // the cursor made here for the row opens at the same position, and the app, given the one
      // made here, answers with the page its own next_cursor leads to.
      const first = await get(params);
      check(idsOf(first.data) === idsOf(firstExpected.slice(0, LIMIT)) && first.has_more, `${name}: HTTP page 1 holds the ${LIMIT} newest`);
      const page2Cursor = first.next_cursor;
      if (page2Cursor === null) throw new Error(`${name}: page 1 has no next_cursor`);
      const scope = { list: LIST, account: accountId };
      const last = firstExpected[LIMIT - 1]!;
      const atLast = (p: Position | undefined) => p !== undefined && p.created.getTime() === last.created_at.getTime() && p.id === last.id;
      const mine = await codec.encode(scope, filterOf(status), { created: last.created_at, id: last.id });
      const theirsOpened = await codec.decode(scope, filterOf(status), page2Cursor).catch(() => undefined);
      const mineOpened = await codec.decode(scope, filterOf(status), mine).catch(() => undefined);
      const [viaTheirs, viaMine] = [await get({ ...params, cursor: page2Cursor }), await get({ ...params, cursor: mine })];
      const samePage2 = idsOf(viaMine.data) === idsOf(viaTheirs.data) && viaMine.data[0]?.id === firstExpected[LIMIT]?.id;
      if (
        !check(
          atLast(theirsOpened) && atLast(mineOpened) && samePage2,
          `${name}: the app's next_cursor for page 1 opens here at page 1's last row, as does a cursor made here for that row, and the app answers both with the same page 2`,
        )
      ) {
        throw new Error("the benchmark makes cursors differently from the app; its deep pages would not be the app's own");
      }
      const deepCursor = await codec.encode(scope, filterOf(status), deepPosition);

      // The deep page, then WALK_PAGES more by the app's own next_cursor.
      let page = await get({ ...params, cursor: deepCursor });
      let walked = 0;
      let inOrder = true;
      let tiesAtEnds = 0;
      for (let p = 0; ; p++) {
        const want = expected.slice(p * LIMIT, (p + 1) * LIMIT);
        inOrder &&= idsOf(page.data) === idsOf(want) && page.has_more;
        const next = expected[(p + 1) * LIMIT];
        if (next && want.at(-1)?.created_at.getTime() === next.created_at.getTime()) tiesAtEnds++;
        if (p === WALK_PAGES || !page.next_cursor) break;
        page = await get({ ...params, cursor: page.next_cursor });
        walked++;
      }
      check(
        inOrder && walked === WALK_PAGES,
        `${name}: the page at the deep cursor and ${WALK_PAGES} more by next_cursor hold exactly rows ${int(depth + 1)}–${int(depth + walkRows)}, in order (page ends between two payments of one millisecond: ${tiesAtEnds} of ${WALK_PAGES + 1})`,
      );

      // The repository's statements, as they reach the driver; OFFSET is page 1's statement skipping instead of seeking.
      const filter = status ? { status: status as paymentsRepo.PaymentStatus } : {};
      const keysetFirst = await captureSql(db, () => paymentsRepo.listPayments(db, accountId, filter, LIMIT + 1));
      const keysetDeep = await captureSql(db, () => paymentsRepo.listPayments(db, accountId, filter, LIMIT + 1, deepPosition));
      const withOffset = (q: Sql, offset: number): Sql => ({ sql: `${q.sql} offset ?`, bindings: [...q.bindings, offset] });
      const offsetFirst = withOffset(keysetFirst, 0);
      const offsetDeep = withOffset(keysetFirst, depth);
      const deepWant = idsOf(expected.slice(0, LIMIT + 1));
      check(idsOf(await runSql(db, keysetFirst)) === idsOf(firstExpected), `${name}: SQL keyset page 1 returns the expected ${LIMIT + 1} rows`);
      check(idsOf(await runSql(db, offsetFirst)) === idsOf(firstExpected), `${name}: SQL OFFSET 0 returns the expected ${LIMIT + 1} rows`);
      check(idsOf(await runSql(db, keysetDeep)) === deepWant, `${name}: SQL keyset after ${rowName} returns the expected ${LIMIT + 1} rows`);
      check(idsOf(await runSql(db, offsetDeep)) === deepWant, `${name}: SQL OFFSET ${depth} returns the same ${LIMIT + 1} rows`);

      const plan = (await explain(db, keysetDeep, 'text')) as string;
      const allowed = status ? ['payments_account_status_idx', 'payments_account_created_idx'] : ['payments_account_created_idx'];
      const planIndex = checkKeysetPlan(`${name}: deep keyset plan`, await explain(db, keysetDeep, 'json'), allowed);
      const offsetPlan = planSummary(await explain(db, offsetDeep, 'json'));
      return { key: status ?? 'all', status, rowName, size, depth, params, deepCursor, page2Cursor, keysetFirst, keysetDeep, offsetFirst, offsetDeep, plan, planIndex, offsetPlan };
    };

    const cases: ListCase[] = [];
    for (const status of [undefined, ...STATUSES]) {
      checkAborted();
      cases.push(await prepare(status));
    }
    const all = cases[0]!;
    const offsetPlan = (await explain(db, all.offsetDeep, 'text')) as string;

    // ---- timing
    const httpOnce = (params: Record<string, string>) => async () => [await timed(() => get(params))];
    const sqlOnce = (q: Sql) => async () => [await timed(() => runSql(db, q))];
    const walk = (cursor: string, params: Record<string, string>) => async () => {
      const samples: number[] = [];
      let page = await get({ ...params, cursor });
      for (let p = 0; p < WALK_PAGES; p++) {
        const next = page.next_cursor;
        if (!next) throw new Error('the walk ended early');
        samples.push(await timed(async () => (page = await get({ ...params, cursor: next }))));
      }
      return samples;
    };
    const fast = { reps: REPS, warmup: WARMUP_REPS };
    // Each walk repetition times WALK_PAGES pages, so fewer repetitions give as many samples.
    const walkReps = { reps: Math.max(1, Math.round(REPS / WALK_PAGES)), warmup: 2 };
    const slow = { reps: OFFSET_REPS, warmup: OFFSET_WARMUP_REPS };
    const query = (c: ListCase) => `/v1/payments?limit=${LIMIT}${c.status ? `&status=${c.status}` : ''}`;
    const httpRows: Measurement[] = cases.flatMap((c) => [
      { id: `http-first-${c.key}`, baseline: `http-first-${c.key}`, label: `HTTP GET ${query(c)} (page 1)`, ...fast, sample: httpOnce(c.params) },
      { id: `http-page2-${c.key}`, baseline: `http-first-${c.key}`, label: `HTTP same, page 1's next_cursor (page 2)`, ...fast, sample: httpOnce({ ...c.params, cursor: c.page2Cursor }) },
      { id: `http-deep-${c.key}`, baseline: `http-first-${c.key}`, label: `HTTP same, cursor at ${c.rowName}`, ...fast, sample: httpOnce({ ...c.params, cursor: c.deepCursor }) },
      ...(c === all
        ? [{ id: 'http-walk-all', baseline: 'http-first-all', label: `HTTP same, the next ${WALK_PAGES} pages by next_cursor (per page)`, ...walkReps, sample: walk(c.deepCursor, c.params) }]
        : []),
    ]);
    const sqlRows: Measurement[] = cases.flatMap((c) => {
      const where = c.status ? `, status=${c.status}` : '';
      return [
        { id: `sql-first-${c.key}`, baseline: `sql-first-${c.key}`, label: c === all ? `SQL keyset, page 1 (the repository query, limit ${LIMIT + 1})` : `SQL keyset${where}, page 1`, ...fast, sample: sqlOnce(c.keysetFirst) },
        { id: `sql-deep-${c.key}`, baseline: `sql-first-${c.key}`, label: `SQL keyset${where}, after ${c.rowName}`, ...fast, sample: sqlOnce(c.keysetDeep) },
        ...(c === all ? [{ id: 'sql-offset-first-all', baseline: 'sql-first-all', label: `SQL OFFSET 0 limit ${LIMIT + 1}`, ...fast, sample: sqlOnce(c.offsetFirst) }] : []),
        { id: `sql-offset-deep-${c.key}`, baseline: `sql-first-${c.key}`, label: `SQL OFFSET ${c.depth} limit ${LIMIT + 1}${where}`, ...slow, sample: sqlOnce(c.offsetDeep) },
      ];
    });
    const measurements = [...httpRows, ...sqlRows];
    progress(`timing: ${ROUNDS} rounds; ${REPS} repetitions per fast query, ${OFFSET_REPS} per deep OFFSET, after a warm-up`);
    const loadBefore = os.loadavg()[0]!;
    const results = await measure(measurements);
    const loadAfter = os.loadavg()[0]!;

    // ---- report
    const med = (id: string) => median(results.get(id)!.medians);
    const { v: version } = await one<{ v: string }>(db, 'select version() as v', []);
    const cpus = os.cpus();
    print(`# Deep-page benchmark — ${new Date().toISOString()}`);
    print();
    print(`- storage: ${storage.describe}; ${version.split(',')[0]}`);
    print(`- machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? '?'}, Node ${process.version}, ${os.platform()} ${os.arch()}; load average ${loadBefore.toFixed(1)} before timing, ${loadAfter.toFixed(1)} after`);
    print(
      `- data: ${int(total)} payments in the measured account (${[...byStatus].map(([s, n]) => `${s} ${int(n)}`).join(', ')}), ${int(everything - total)} in ${NOISE_ACCOUNTS} other accounts; ${int(ties)} share a millisecond with another; seeded in SQL and ANALYZEd in ${seeded.seconds.toFixed(0)} s`,
    );
    print(
      `- deep cursors: the (created_at, id) of ${cases.map((c) => `${c.rowName} of ${int(c.size)}`).join(', ')}, each read with one SQL query and sealed with new CursorCodec(() => loadCursorKey(db)), from the secret the app loads from server_secrets (the app's own next_cursor for page 1 opens so at page 1's last row, and a cursor sealed so for that row leads the app to the same page 2); the app accepted them, and the ${WALK_PAGES} pages after each were walked by the next_cursor it returned`,
    );
    print(
      `- timing: ${ROUNDS} rounds; per round ${REPS} repetitions (${OFFSET_REPS} for deep OFFSET, ${walkReps.reps} walks of ${WALK_PAGES} pages), after ${WARMUP_REPS} warm-up repetitions (${OFFSET_WARMUP_REPS} for deep OFFSET); the rows that share a page 1 are sampled interleaved (one of each in turn); median and p95 per round, the table shows the median over rounds. HTTP: one request at a time over a keep-alive connection to the app in this process (authentication, request and response validation, the list query), the body read and parsed. SQL: knex raw on the app's pool, rows returned to Node`,
    );
    print();
    print('| query | median ms | p95 ms | ratio vs page 1 (keyset) |');
    print('|---|--:|--:|--:|');
    for (const m of measurements) {
      const r = results.get(m.id)!;
      print(`| ${m.label} | ${ms(med(m.id))} | ${ms(median(r.p95s))} | ${ratio(med(m.id) / med(m.baseline))} |`);
    }
    print();
    print('Ratio: median ÷ the median of page 1 by keyset on the same path (HTTP or SQL) with the same filter. Page 2 is there because a request with a cursor does work page 1 does not (its validation, the AES-GCM decryption): deep ÷ page 2 is the cost of depth alone.');
    print();
    const target = (r: number) => (r <= 1.2 ? 'met' : 'NOT MET');
    const ratios: [string, number, boolean][] = [
      ...cases.map((c): [string, number, boolean] => [`keyset over HTTP, ${c.rowName} ÷ page 1`, med(`http-deep-${c.key}`) / med(`http-first-${c.key}`), true]),
      [`keyset over HTTP, walked pages after row ${int(DEPTH)} ÷ page 1`, med('http-walk-all') / med('http-first-all'), true],
      ...cases.map((c): [string, number, boolean] => [`keyset over HTTP, ${c.rowName} ÷ page 2 (depth alone)`, med(`http-deep-${c.key}`) / med(`http-page2-${c.key}`), false]),
      ...cases.map((c): [string, number, boolean] => [`keyset in SQL, ${c.rowName} ÷ page 1`, med(`sql-deep-${c.key}`) / med(`sql-first-${c.key}`), true]),
      [`OFFSET in SQL, OFFSET ${DEPTH} ÷ OFFSET 0`, med('sql-offset-deep-all') / med('sql-offset-first-all'), false],
      ...cases.map((c): [string, number, boolean] => [`OFFSET ${c.depth} ÷ keyset at ${c.rowName} (SQL)`, med(`sql-offset-deep-${c.key}`) / med(`sql-deep-${c.key}`), false]),
    ];
    print('```');
    print(`RATIOS (deep ÷ first; keyset target ≤ 1.2)`);
    for (const [label, r, isKeyset] of ratios) print(`  ${label.padEnd(66)} ${ratio(r).padStart(8)}${isKeyset ? `   target ${target(r)}` : ''}`);
    print('```');
    print();
    print('Per round (median / p95 ms):');
    print();
    for (const m of measurements) {
      const r = results.get(m.id)!;
      print(`- ${m.label}: ${r.medians.map((v, i) => `${ms(v)} / ${ms(r.p95s[i]!)}`).join(', ')} (${r.samples} samples per round)`);
    }
    for (const c of cases) {
      print();
      print(`EXPLAIN (ANALYZE, BUFFERS), keyset${c.status ? ` with status=${c.status}` : ''} after ${c.rowName} (the repository's statement; ${c.planIndex}):`);
      print();
      print('```');
      print(c.keysetDeep.sql);
      print(c.plan);
      print('```');
    }
    print();
    print(`EXPLAIN (ANALYZE, BUFFERS), OFFSET ${DEPTH} (page 1's statement with an OFFSET):`);
    print();
    print('```');
    print(all.offsetDeep.sql);
    print(offsetPlan);
    print('```');
    print();
    print('The deep OFFSET plans in one line each (EXPLAIN ANALYZE, FORMAT JSON):');
    print();
    for (const c of cases) print(`- OFFSET ${c.depth}${c.status ? `, status=${c.status}` : ''}: ${c.offsetPlan}`);
    print();
    print('Checks:');
    print();
    for (const c of checks) print(`- ${c.ok ? 'ok' : 'FAILED'}: ${c.line}`);
    print();
    print(`Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  } finally {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
    await services?.idempotencyJobs.stop();
    await services?.apiKeys.close();
    await storage.drop();
    progress(postgres ? 'schema dropped' : 'database closed');
  }
  console.log(out.join('\n'));
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nDEEP-PAGE BENCHMARK CHECK FAILED (${failed.length}):\n${failed.map((c) => `- ${c.line}`).join('\n')}\n${bar}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error('deep-page benchmark failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(aborted ? 130 : 1);
});
