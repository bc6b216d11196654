/**
 * The database layer: embedded PGlite keeps its data in DATA_DIR across a close and a reopen, and
 * migrating again applies nothing; and the classification the API answers by: a lost connection or
 * an overloaded server is unavailability (503), a query error is a bug (500).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createDb, isDbUnavailable, migrate } from '../../src/platform/db.js';
import { migrationSource } from '../../src/platform/migrations/index.js';

describe('database', () => {
  it('keeps embedded data in DATA_DIR across restarts, and migrating again is a no-op', async function () {
    this.timeout(60_000);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-data-'));
    try {
      const first = createDb({ dataDir: dir });
      await migrate(first);
      await first('accounts').insert({ id: 'acct_persisted', name: 'Persisted' });
      await first.destroy();

      const second = createDb({ dataDir: dir });
      await migrate(second);
      const row = await second('accounts').where({ id: 'acct_persisted' }).first();
      const counted = await second('knex_migrations').count({ count: '*' });
      await second.destroy();
      expect(row.name).to.equal('Persisted');
      expect(Number(counted[0]?.count)).to.equal((await migrationSource.getMigrations([])).length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('isDbUnavailable', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    it('classifies lost connections and overload as unavailable (503)', () => {
      for (const code of ['ECONNREFUSED', 'ECONNRESET', '08006', '53300', '57P01']) expect(isDbUnavailable(withCode(code)), code).to.equal(true);
      expect(isDbUnavailable(Object.assign(new Error('pool'), { name: 'KnexTimeoutError' }))).to.equal(true);
      expect(isDbUnavailable(new Error('wrapped', { cause: withCode('ECONNREFUSED') }))).to.equal(true);
    });
    it('classifies query errors as bugs (500), not outages', () => {
      for (const code of ['42P01', '23505', '22P02', '42703']) expect(isDbUnavailable(withCode(code)), code).to.equal(false);
      expect(isDbUnavailable('not an error')).to.equal(false);
    });
  });
});
