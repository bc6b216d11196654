/**
 * `preparedRead` (src/platform/db.ts): a read built once with the query builder and run without
 * it answers exactly what the builder's query answers, outside a transaction (a named prepared
 * statement on PostgreSQL) and inside one (seeing the transaction's own uncommitted rows), on the
 * storage under test; and a read whose builder drops a parameter fails when first used rather
 * than running a query that ignores it.
 */
import { expect } from 'chai';
import { preparedRead, type Db } from '../../src/platform/db.js';
import { openTestDb, storageUnderTest } from '../helpers/app.js';

interface Row {
  id: string;
  account_id: string;
  email: string;
  metadata: Record<string, string>;
  created_at: Date;
}

const byId = preparedRead<'accountId' | 'id', Row>('test_customer_by_id', ['accountId', 'id'], (db, p) =>
  db('customers').select('id', 'account_id', 'email', 'metadata', 'created_at').where({ account_id: p.accountId, id: p.id }).whereNull('deleted_at').limit(1),
);

describe(`preparedRead (${storageUnderTest()})`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  before(async () => {
    ({ db, drop } = await openTestDb());
    await db('accounts').insert([
      { id: 'acct_prepared1', name: 'one' },
      { id: 'acct_prepared2', name: 'two' },
    ]);
    await db('customers').insert([
      { id: 'cus_prepared1', account_id: 'acct_prepared1', email: 'one@example.com', metadata: { plan: 'pro' } },
      { id: 'cus_prepared2', account_id: 'acct_prepared2', email: 'two@example.com', metadata: {} },
    ]);
  });
  after(() => drop());

  const viaBuilder = (d: Db, accountId: string, id: string) =>
    d('customers').select('id', 'account_id', 'email', 'metadata', 'created_at').where({ account_id: accountId, id }).whereNull('deleted_at').first() as Promise<Row | undefined>;

  it('answers what the builder answers: a hit with parsed types, and misses for another account or id', async () => {
    for (const [accountId, id] of [
      ['acct_prepared1', 'cus_prepared1'],
      ['acct_prepared2', 'cus_prepared1'],
      ['acct_prepared1', 'cus_nothere'],
      ['acct_prepared2', 'cus_prepared2'],
    ] as const) {
      // Twice: the second run is the prepared statement's reuse on PostgreSQL.
      for (let i = 0; i < 2; i++) expect((await byId(db, { accountId, id }))[0], `${accountId} ${id}`).to.deep.equal(await viaBuilder(db, accountId, id));
    }
    const [hit] = await byId(db, { accountId: 'acct_prepared1', id: 'cus_prepared1' });
    expect(hit!.created_at).to.be.instanceOf(Date);
    expect(hit!.metadata).to.deep.equal({ plan: 'pro' });
  });

  it('runs many at once on the pool, each with its own values', async () => {
    const ids: (readonly [string, string])[] = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? ['acct_prepared1', 'cus_prepared1'] : ['acct_prepared2', 'cus_prepared2']));
    const rows = await Promise.all(ids.map(([accountId, id]) => byId(db, { accountId, id })));
    expect(rows.map((r) => r[0]?.email)).to.deep.equal(ids.map(([, id]) => (id === 'cus_prepared1' ? 'one@example.com' : 'two@example.com')));
  });

  it('runs inside a transaction on its connection, seeing what the transaction wrote', async () => {
    await db
      .transaction(async (trx) => {
        await trx('customers').insert({ id: 'cus_prepared3', account_id: 'acct_prepared1', email: 'three@example.com', metadata: {} });
        expect((await byId(trx, { accountId: 'acct_prepared1', id: 'cus_prepared3' }))[0]?.email).to.equal('three@example.com');
        throw new Error('roll back');
      })
      .catch((err: Error) => expect(err.message).to.equal('roll back'));
    expect(await byId(db, { accountId: 'acct_prepared1', id: 'cus_prepared3' })).to.deep.equal([]);
  });

  it('refuses a builder that leaves a parameter out', async () => {
    const careless = preparedRead<'accountId' | 'id', Row>('test_careless', ['accountId', 'id'], (d, p) => d('customers').select('id').where({ id: p.id }));
    let error: unknown;
    await careless(db, { accountId: 'acct_prepared1', id: 'cus_prepared1' }).catch((err: unknown) => (error = err));
    expect(String(error)).to.include('does not use accountId');
  });
});
