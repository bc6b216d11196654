import type { Knex } from 'knex';
import * as initial from './001-initial.js';
import * as payments from './002-payments.js';
import * as serverSecrets from './003-server-secrets.js';
import * as replayBytes from './004-replay-bytes.js';
import * as statementDescriptor from './005-statement-descriptor.js';
import * as webhooks from './006-webhooks.js';
import * as reconciliations from './007-reconciliations.js';
import * as oauth from './008-oauth.js';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

// Listed in code, not discovered on disk, so the same migrations run from TypeScript sources,
// from a compiled build and inside the test runner. Names are stable: they are recorded in the db.
const migrations: [name: string, migration: Migration][] = [
  ['001-initial', initial],
  ['002-payments', payments],
  ['003-server-secrets', serverSecrets],
  ['004-replay-bytes', replayBytes],
  ['005-statement-descriptor', statementDescriptor],
  ['006-webhooks', webhooks],
  ['007-reconciliations', reconciliations],
  ['008-oauth', oauth],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = migrations.find(([n]) => n === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};
