/**
 * `created[gt|gte|lt|lte]` mean whole seconds, as `created` is shown: an item shown as `created: X`
 * is inside `gte=X` and `lte=X` and outside `gt=X` and `lt=X`, wherever in second X it was stored.
 * The rows keep their sub-second order, so a walk inside one second still returns them newest first.
 *
 * Every list with the filter is covered (customers, payments, refunds, events), with rows placed at
 * the start, middle and end of second X and just either side of it.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';

/** A second well in the past, so nothing else the test creates falls into it. */
const X = 1_700_000_000;
/** Where each row is placed, in milliseconds since the epoch. */
const PLACEMENTS = {
  before: X * 1000 - 1,
  start: X * 1000, // X.000
  middle: X * 1000 + 500, // X.500
  end: X * 1000 + 999, // X.999
  after: (X + 1) * 1000, // X+1.000
} as const;
type Placement = keyof typeof PLACEMENTS;
const ORDER: Placement[] = ['before', 'start', 'middle', 'end', 'after'];

const EXPECTED: Record<'gt' | 'gte' | 'lt' | 'lte', Placement[]> = {
  gt: ['after'],
  gte: ['start', 'middle', 'end', 'after'],
  lt: ['before'],
  lte: ['before', 'start', 'middle', 'end'],
};

describe('created[gt|gte|lt|lte] filters, in whole seconds', () => {
  let t: TestApp;
  let account: TestAccount;
  const auth = () => ({ Authorization: `Bearer ${account.secret}` });
  /** Per list: the id of the row placed at each position. */
  const placed: Record<string, Record<Placement, string>> = {};

  async function post(path: string, body: object): Promise<{ id: string }> {
    const res = await request(t.app).post(path).set(auth()).set('Idempotency-Key', `${path}-${Math.random()}`).send(body);
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
    return res.body;
  }

  async function place(table: string, column: string, id: string, at: Placement): Promise<void> {
    await t.db(table).where({ [column]: id }).update({ created_at: new Date(PLACEMENTS[at]) });
  }

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount();
    placed.customers = {} as Record<Placement, string>;
    placed.payments = {} as Record<Placement, string>;
    placed.refunds = {} as Record<Placement, string>;
    placed.events = {} as Record<Placement, string>;
    for (const at of ORDER) {
      const customer = await post('/v1/customers', { email: `${at}@example.com` });
      await place('customers', 'id', customer.id, at);
      placed.customers[at] = customer.id;

      const payment = await post('/v1/payments', { amount: 1000, currency: 'EUR' });
      await place('payments', 'id', payment.id, at);
      placed.payments[at] = payment.id;

      const refund = await post('/v1/refunds', { payment: payment.id, amount: 100 });
      await place('refunds', 'id', refund.id, at);
      placed.refunds[at] = refund.id;

      // One event per position: the refund's first event, placed; its later ones moved far away.
      const events = await t.db('events').where({ object_id: refund.id }).orderBy('seq');
      await t.db('events').whereIn('id', events.map((e: { id: string }) => e.id)).update({ created_at: new Date(0) });
      await place('events', 'id', events[0].id, at);
      placed.events[at] = events[0].id;
    }
  });
  after(() => t.close());

  const lists = [
    { name: 'customers', path: '/v1/customers', query: {} },
    { name: 'payments', path: '/v1/payments', query: {} },
    { name: 'refunds', path: '/v1/refunds', query: {} },
    { name: 'events', path: '/v1/events', query: { type: 'refund.created' } },
  ] as const;

  async function list(path: string, query: object): Promise<{ id: string; created: number }[]> {
    const res = await request(t.app).get(path).query({ ...query, limit: 100 }).set(auth());
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.data;
  }

  for (const { name, path, query } of lists) {
    describe(`GET ${path}`, () => {
      it('shows every row of second X as created X', async () => {
        const rows = await list(path, { ...query, 'created[gte]': X - 1, 'created[lte]': X + 1 });
        const createdOf = new Map(rows.map((r) => [r.id, r.created]));
        expect(createdOf.get(placed[name]!.before)).to.equal(X - 1);
        for (const at of ['start', 'middle', 'end'] as const) expect(createdOf.get(placed[name]![at]), at).to.equal(X);
        expect(createdOf.get(placed[name]!.after)).to.equal(X + 1);
      });

      for (const [bound, expected] of Object.entries(EXPECTED)) {
        it(`created[${bound}]=X returns exactly the rows ${expected.join(', ')}`, async () => {
          const rows = await list(path, { ...query, [`created[${bound}]`]: X });
          const ids = new Set(Object.values(placed[name]!));
          // Only the placed rows can be near second X; everything else is now or at the epoch.
          const near = rows.filter((r) => ids.has(r.id)).map((r) => r.id);
          expect(near).to.have.members(expected.map((at) => placed[name]![at]));
        });
      }

      it('created[gte]=X&created[lte]=X pages through second X one row at a time, newest first', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const res = await request(t.app)
            .get(path)
            .query({ ...query, 'created[gte]': X, 'created[lte]': X, limit: 1, ...(cursor ? { cursor } : {}) })
            .set(auth());
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          seen.push(...res.body.data.map((r: { id: string }) => r.id));
          cursor = res.body.next_cursor ?? undefined;
        } while (cursor);
        expect(seen).to.deep.equal([placed[name]!.end, placed[name]!.middle, placed[name]!.start]);
      });

      it('takes the largest UnixTime at every bound: lte and lt keep everything, gt is empty', async () => {
        const max = 253_402_300_799; // 9999-12-31T23:59:59Z, the spec's maximum
        const all = await list(path, query);
        expect((await list(path, { ...query, 'created[lte]': max })).map((r) => r.id)).to.deep.equal(all.map((r) => r.id));
        expect((await list(path, { ...query, 'created[lt]': max })).map((r) => r.id)).to.deep.equal(all.map((r) => r.id));
        expect(await list(path, { ...query, 'created[gt]': max })).to.deep.equal([]);
        expect(await list(path, { ...query, 'created[gte]': max })).to.deep.equal([]);
      });

      it('created[gt]=X&created[lt]=X+1 is empty: no whole second lies strictly between', async () => {
        const rows = await list(path, { ...query, 'created[gt]': X, 'created[lt]': X + 1 });
        expect(rows).to.deep.equal([]);
      });
    });
  }
});
