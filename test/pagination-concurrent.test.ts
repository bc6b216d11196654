/**
 * Walking a list while other clients write to it. Writers run in parallel loops over real sockets
 * and interleave with the walker's page fetches (and overlap them). Whatever the interleaving: no
 * item is returned twice, every item that existed when the walk began and still exists at its end
 * is returned, and the pages read as one sequence ordered by (created, id) newest first (events: by
 * (created, seq)).
 *
 * Customers are walked while others insert and delete them, payments while others create, capture
 * and cancel them, events while payments are created and captured. Rows that commit late with an
 * older created_at — on PostgreSQL, transactions held open across the walk and committed behind and
 * ahead of its position — may be missed if they land behind the walker, and are never repeated or
 * out of order.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { newId } from '../src/platform/ids.js';
import { CursorCodec, type Position } from '../src/platform/pagination.js';
import { loadCursorKey } from '../src/platform/server-secrets.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { listen, sendJson, type JsonReply, type Listening } from './helpers/http-server.js';

const WAIT_LIMIT_MS = 30_000;

type Table = 'customers' | 'payments' | 'events';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The position a customers cursor ends at, opened with the database's own cursor key (cursors are
 * encrypted): the test places late rows around it.
 */
function positionOf(db: Knex, account: string, cursor: string): Promise<Position> {
  return new CursorCodec(() => loadCursorKey(db)).decode({ list: 'customers', account }, {}, cursor);
}

/** Runs `fn` for 0..count-1 with at most `width` calls in flight. */
async function inParallel<T>(count: number, width: number, fn: (n: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const n = next++;
        out[n] = await fn(n);
      }
    }),
  );
  return out;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Couples the writers to the walker so that the writes spread over the whole walk: writers get
 * `perPage` writes per page fetched, and the walker fetches its next page once they have had
 * them. Writers run in parallel loops, so their requests overlap each other and the page fetches.
 */
class Pace {
  writes = 0;
  pages = 0;
  walking = true;
  writersLeft = 0;
  /** Writes completed while the walk was still in progress. */
  writesDuringWalk = 0;

  constructor(private readonly perPage: number) {}

  async until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await sleep(1);
    }
  }

  /** One writer loop: `count` writes, each paced against the walker. */
  async writer(count: number, write: (n: number) => Promise<void>): Promise<void> {
    this.writersLeft++;
    try {
      for (let n = 0; n < count; n++) {
        await this.until(() => !this.walking || this.pages >= Math.floor(this.writes / this.perPage), 'the walker');
        await write(n);
        this.writes++;
        if (this.walking) this.writesDuringWalk++;
      }
    } finally {
      this.writersLeft--;
    }
  }

  /** Holds the paced walker until the writers have had their share for the pages read so far. */
  async caughtUp(): Promise<void> {
    await this.until(() => this.writes >= this.pages * this.perPage || this.writersLeft === 0, 'the writers');
  }

  /** Holds a walker until a write has completed since `writesBefore`, or no writer is left. */
  async nextWrite(writesBefore: number): Promise<void> {
    await this.until(() => this.writes > writesBefore || this.writersLeft === 0, 'a concurrent write');
  }
}

interface Walked {
  ids: string[];
  pages: number;
}

describe('pagination under concurrent writes', function () {
  this.timeout(120_000);
  let t: TestApp;
  let server: Listening;

  before(async () => {
    t = await createTestApp();
    server = await listen(t.app);
  });
  after(async () => {
    await server?.close();
    await t?.close();
  });

  async function call(acct: TestAccount, method: string, path: string, body?: unknown, key?: string): Promise<JsonReply> {
    return sendJson(`${server.url}${path}`, { method, secret: acct.secret, body, key });
  }

  async function createCustomer(acct: TestAccount, email: string): Promise<string> {
    const res = await call(acct, 'POST', '/v1/customers', { email });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  }

  async function createPayment(acct: TestAccount, body: Record<string, unknown>): Promise<{ id: string; status: string }> {
    const res = await call(acct, 'POST', '/v1/payments', { currency: 'EUR', ...body }, randomUUID());
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  /**
   * Follows next_cursor to the end through the socket. `beforePage` runs before each fetch and
   * may return a check for that page's items; `afterPage` runs once the page is in, before pacing.
   */
  async function walk(
    acct: TestAccount,
    path: string,
    query: Record<string, string>,
    options: {
      /** The walk the writers are paced against (only one per Pace). */
      pace?: Pace;
      /** Another walk in step with the same writers, which it waits for but does not pace. */
      follows?: Pace;
      limit?: number;
      beforePage?: () => ((ids: string[]) => void) | void;
      afterPage?: (cursor: string | undefined, page: number) => Promise<void>;
    } = {},
  ): Promise<Walked> {
    const { pace, follows, limit = 7, ...hooks } = options;
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    try {
      for (;;) {
        const writesBefore = follows?.writes ?? 0;
        const check = hooks.beforePage?.();
        const params = new URLSearchParams({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
        const res = await call(acct, 'GET', `${path}?${params}`);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        const page: string[] = res.body.data.map((r: { id: string }) => r.id);
        check?.(page);
        ids.push(...page);
        cursor = res.body.next_cursor ?? undefined;
        expect(res.body.has_more).to.equal(cursor !== undefined);
        if (cursor) expect(page).to.have.length(limit);
        pages++;
        expect(pages, 'the walk does not end').to.be.below(200);
        await hooks.afterPage?.(cursor, pages);
        if (pace) pace.pages++;
        if (!cursor) return { ids, pages };
        if (pace) await pace.caughtUp();
        else await follows?.nextWrite(writesBefore);
      }
    } finally {
      if (pace) pace.walking = false;
    }
  }

  /** The ids in the order the list promises, from the database. */
  async function ordered(table: Table, ids: readonly string[]): Promise<string[]> {
    const tiebreak = table === 'events' ? 'seq' : 'id';
    return t
      .db(table)
      .whereIn('id', ids)
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: tiebreak, order: 'desc' }])
      .pluck('id');
  }

  /** The three promises of a walk, checked against what existed before and after it. */
  async function expectSoundWalk(table: Table, walked: Walked, existedBefore: readonly string[], existsAfter: ReadonlySet<string>): Promise<void> {
    expect(new Set(walked.ids).size, 'no item is returned twice').to.equal(walked.ids.length);
    const returned = new Set(walked.ids);
    const missing = existedBefore.filter((id) => existsAfter.has(id) && !returned.has(id));
    expect(missing, 'items that existed throughout the walk but were skipped').to.deep.equal([]);
    expect(walked.ids, 'the pages, concatenated, are in list order').to.deep.equal(await ordered(table, walked.ids));
  }

  /** The account's customers that are not deleted. */
  async function customerIds(acct: TestAccount): Promise<string[]> {
    return t.db('customers').where({ account_id: acct.id }).whereNull('deleted_at').pluck('id');
  }

  /** 150 customers through the API, then 30 in one statement, which share one created_at. */
  async function seedCustomers(acct: TestAccount): Promise<void> {
    await inParallel(150, 10, (n) => createCustomer(acct, `before${n}@example.com`));
    await t.db('customers').insert(
      Array.from({ length: 30 }, (_, n) => ({ id: newId('cus'), account_id: acct.id, email: `tied${n}@example.com` })),
    );
    const tied = await t.db('customers').where({ account_id: acct.id }).whereLike('email', 'tied%').distinct('created_at');
    expect(tied).to.have.length(1);
  }

  describe('GET /v1/customers', () => {
    it('returns every customer that existed before the walk exactly once, in order, while others insert customers', async () => {
      const acct = await t.createAccount('Walk during inserts');
      await seedCustomers(acct);
      const before = await customerIds(acct);
      expect(before).to.have.length(180);

      const pace = new Pace(4);
      const inserted: string[] = [];
      const inserters = Array.from({ length: 4 }, (_, w) =>
        pace.writer(25, async (n) => {
          inserted.push(await createCustomer(acct, `during${w}-${n}@example.com`));
        }),
      );
      const [walked] = await Promise.all([walk(acct, '/v1/customers', {}, { pace }), ...inserters]);

      expect(inserted).to.have.length(100);
      expect(pace.writesDuringWalk).to.be.at.least(Math.min((walked.pages - 1) * 4, 100));
      await expectSoundWalk('customers', walked, before, new Set(await customerIds(acct)));
      // Every customer returned is the account's and existed at some point of the walk.
      const known = new Set([...before, ...inserted]);
      for (const id of walked.ids) expect(known.has(id)).to.equal(true);
    });

    it('returns every customer not deleted exactly once, in order, while others delete and insert customers', async () => {
      const acct = await t.createAccount('Walk during deletes');
      await seedCustomers(acct);
      const all = shuffled(await customerIds(acct));
      const deletedBefore = all.slice(0, 10);
      for (const id of deletedBefore) expect((await call(acct, 'DELETE', `/v1/customers/${id}`)).status).to.equal(200);
      const before = await customerIds(acct);
      expect(before).to.have.length(170);

      const toDelete = all.slice(10, 50);
      // In the order their DELETE was answered: a page asked for after that must not show them.
      const deleted: string[] = [];
      const pace = new Pace(3);
      const deleters = [0, 1].map((w) =>
        pace.writer(20, async (n) => {
          const id = toDelete[w * 20 + n]!;
          const res = await call(acct, 'DELETE', `/v1/customers/${id}`);
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          deleted.push(id);
        }),
      );
      const inserters = [0, 1].map((w) => pace.writer(15, async (n) => void (await createCustomer(acct, `new${w}-${n}@example.com`))));
      const walked = await Promise.all([
        walk(acct, '/v1/customers', {}, {
          pace,
          beforePage: () => {
            const goneBeforeAsking = new Set(deleted);
            return (page) => {
              for (const id of page) expect(goneBeforeAsking.has(id), `${id} was deleted before this page was asked for`).to.equal(false);
            };
          },
        }),
        ...deleters,
        ...inserters,
      ]).then(([w]) => w);

      expect(deleted).to.have.length(40);
      expect(pace.writesDuringWalk).to.be.at.least(Math.min((walked.pages - 1) * 3, 70));
      const liveAfter = new Set(await customerIds(acct));
      for (const id of toDelete) expect(liveAfter.has(id)).to.equal(false);
      await expectSoundWalk('customers', walked, before, liveAfter);
      for (const id of deletedBefore) expect(walked.ids).not.to.include(id);
      // The deletes landed ahead of the walk too, not only behind it: some customers that existed
      // at the start were gone before the walk reached them.
      const existedAtStart = new Set(before);
      expect(walked.ids.filter((id) => existedAtStart.has(id)).length).to.be.below(before.length);
    });

    // A transaction stamps created_at when it starts but becomes visible when it commits, so a
    // row can appear at a position the walk has already passed. Such a row did not exist when the
    // walk began, and the walk may miss it; what it must never do is return a row twice, return
    // rows out of order, or fail. A late row committed ahead of the walk's position is read like
    // any other.
    it('never repeats a row or fails when rows commit late with an older created_at', async () => {
      const acct = await t.createAccount('Late commits');
      await inParallel(30, 10, (n) => createCustomer(acct, `old${n}@example.com`));

      // On PostgreSQL, two real transactions opened now and committed mid-walk: their rows carry
      // a created_at older than everything created below. PGlite has one connection, which a
      // transaction held open would block, so there the late rows below stand in for them.
      const held: { trx: Knex.Transaction; id: string }[] = [];
      if (t.storage === 'postgres') {
        for (const label of ['early', 'late']) {
          const trx = await t.db.transaction();
          const id = newId('cus');
          await trx('customers').insert({ id, account_id: acct.id, email: `${label}@example.com` });
          held.push({ trx, id });
        }
      }
      await inParallel(60, 10, (n) => createCustomer(acct, `new${n}@example.com`));
      const before = await customerIds(acct);

      const ahead: string[] = [];
      const behind: string[] = [];
      const late = async (created: Date, label: string) => {
        const id = newId('cus');
        await t.db('customers').insert({ id, account_id: acct.id, email: `${label}@example.com`, created_at: created });
        return id;
      };
      /** Whether `id` sorts after the cursor's row in list order (per the database's own ORDER BY). */
      const sortsAfter = async (id: string, cursorId: string) => (await ordered('customers', [id, cursorId]))[0] === cursorId;

      const createdOf = async (h: (typeof held)[number]) => ((await h.trx('customers').where({ id: h.id }).first()) as { created_at: Date }).created_at;
      const [early, lateHeld] = held;
      let walked: Walked;
      try {
        walked = await walk(acct, '/v1/customers', {}, {
          afterPage: async (cursor, page) => {
            const at = cursor ? await positionOf(t.db, acct.id, cursor) : undefined;
            if (at && page <= 8) {
              // Around the position the page ended at: a millisecond either side, the same
              // millisecond (on either side of the id, as it falls), and long ago.
              const placed = [
                await late(new Date(at.created.getTime() + 1), `p${page}-newer`),
                await late(new Date(at.created.getTime() - 1), `p${page}-older`),
                await late(at.created, `p${page}-same-a`),
                await late(at.created, `p${page}-same-b`),
                await late(new Date(at.created.getTime() - 3_600_000), `p${page}-old`),
              ];
              for (const id of placed) ((await sortsAfter(id, at.id)) ? ahead : behind).push(id);
            }
            if (early && at && page === 1) {
              // Still ahead of the walk: sixty customers are newer than it and one page is read.
              expect((await createdOf(early)).getTime()).to.be.below(at.created.getTime());
              await early.trx.commit();
            }
            if (lateHeld && !lateHeld.trx.isCompleted() && (!at || at.created.getTime() < (await createdOf(lateHeld)).getTime())) {
              // The walk has passed its position: committed now, it is behind the walk.
              await lateHeld.trx.commit();
            }
          },
        });
      } finally {
        for (const h of held) if (!h.trx.isCompleted()) await h.trx.rollback();
      }
      expect(ahead.length + behind.length).to.equal(40);
      expect(behind.length).to.be.at.least(8);
      expect(ahead.length).to.be.at.least(16);
      await expectSoundWalk('customers', walked, before, new Set(await customerIds(acct)));
      for (const id of ahead) expect(walked.ids.filter((w) => w === id), id).to.have.length(1);
      if (early) expect(walked.ids.filter((w) => w === early.id)).to.have.length(1);
      if (lateHeld) {
        expect(lateHeld.trx.isCompleted()).to.equal(true);
        expect(await t.db('customers').where({ id: lateHeld.id }).first()).to.not.equal(undefined);
      }
    });
  });

  describe('GET /v1/payments', () => {
    it('returns every payment exactly once, in order, while others create, capture and cancel payments', async () => {
      const acct = await t.createAccount('Walk during payment changes');
      const seeded = await inParallel(120, 8, (n) =>
        createPayment(acct, { amount: n % 6 === 5 ? 1402 : 1000 + n, ...(n % 3 === 0 ? { capture_method: 'manual' } : {}) }),
      );
      // Twenty in one statement: they share one created_at, so only the id orders them.
      await t.db('payments').insert(
        Array.from({ length: 20 }, (_, n) => ({
          id: newId('pay'),
          account_id: acct.id,
          amount: 500 + n,
          currency: 'EUR',
          capture_method: 'automatic',
          status: 'succeeded',
          amount_captured: 500 + n,
        })),
      );
      const manual = shuffled(seeded.filter((p) => p.status === 'requires_capture').map((p) => p.id));
      expect(manual).to.have.length(40);
      const toCapture = manual.slice(0, 15);
      const toCancel = manual.slice(15, 30);
      const before: string[] = await t.db('payments').where({ account_id: acct.id }).pluck('id');
      expect(before).to.have.length(140);

      const pace = new Pace(5);
      const created: { id: string; status: string }[] = [];
      const writers = [
        ...[0, 1, 2].map((w) =>
          pace.writer(20, async (n) => {
            created.push(await createPayment(acct, { amount: 3000 + w * 100 + n, ...(n % 4 === 0 ? { capture_method: 'manual' } : {}) }));
          }),
        ),
        pace.writer(15, async (n) => {
          const res = await call(acct, 'POST', `/v1/payments/${toCapture[n]}/capture`, undefined, randomUUID());
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          expect(res.body.status).to.equal('succeeded');
        }),
        pace.writer(15, async (n) => {
          const res = await call(acct, 'POST', `/v1/payments/${toCancel[n]}/cancel`, undefined, randomUUID());
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          expect(res.body.status).to.equal('canceled');
        }),
      ];
      const [all, awaiting] = await Promise.all([
        walk(acct, '/v1/payments', {}, { pace }),
        // Alongside, a walk filtered on the status that captures and cancels move payments out of.
        walk(acct, '/v1/payments', { status: 'requires_capture' }, { follows: pace, limit: 2 }),
        ...writers,
      ]);

      expect(created).to.have.length(60);
      expect(pace.writesDuringWalk).to.be.at.least(Math.min((all.pages - 1) * 5, 90));
      const after: string[] = await t.db('payments').where({ account_id: acct.id }).pluck('id');
      await expectSoundWalk('payments', all, before, new Set(after));

      // The filtered walk owes every payment that awaited capture from its start to its end.
      const stillAwaiting: string[] = await t.db('payments').where({ account_id: acct.id, status: 'requires_capture' }).pluck('id');
      const awaitingBefore = manual;
      await expectSoundWalk('payments', awaiting, awaitingBefore, new Set(stillAwaiting));
      const everAwaiting = new Set([...manual, ...created.filter((p) => p.status === 'requires_capture').map((p) => p.id)]);
      for (const id of awaiting.ids) expect(everAwaiting.has(id), id).to.equal(true);
    });
  });

  describe('GET /v1/events', () => {
    it('returns every event exactly once, in (created, seq) order, while payments are created and captured', async () => {
      const acct = await t.createAccount('Walk during events');
      const seeded = await inParallel(50, 8, (n) => createPayment(acct, { amount: 1000 + n, ...(n % 2 === 0 ? { capture_method: 'manual' } : {}) }));
      const manual = seeded.filter((p) => p.status === 'requires_capture').map((p) => p.id);
      expect(manual).to.have.length(25);
      // Twenty more in one statement (copies of real ones): they share one created_at, so only
      // their sequence orders them.
      const copies: { type: string; object_id: string; data: unknown }[] = await t.db('events').where({ account_id: acct.id }).select('type', 'object_id', 'data').limit(20);
      // Copies of real events under new ids; their object sequence numbers do not matter to the walk.
      const tied = copies.map((e, i) => ({ id: newId('evt'), account_id: acct.id, type: e.type, object_id: e.object_id, data: JSON.stringify(e.data), object_seq: 100 + i }));
      await t.db('events').insert(tied);
      expect(await t.db('events').whereIn('id', tied.map((e) => e.id)).distinct('created_at')).to.have.length(1);
      const before: string[] = await t.db('events').where({ account_id: acct.id }).pluck('id');
      expect(before).to.have.length(120);

      const pace = new Pace(4);
      const writers = [
        ...[0, 1].map((w) => pace.writer(20, async (n) => void (await createPayment(acct, { amount: 5000 + w * 100 + n })))),
        pace.writer(20, async (n) => {
          const res = await call(acct, 'POST', `/v1/payments/${manual[n]}/capture`, undefined, randomUUID());
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
        }),
      ];
      const [walked] = await Promise.all([walk(acct, '/v1/events', {}, { pace }), ...writers]);

      expect(pace.writesDuringWalk).to.be.at.least(Math.min((walked.pages - 1) * 4, 60));
      const after: string[] = await t.db('events').where({ account_id: acct.id }).pluck('id');
      expect(after).to.have.length(120 + 40 * 2 + 20);
      await expectSoundWalk('events', walked, before, new Set(after));
    });
  });
});
