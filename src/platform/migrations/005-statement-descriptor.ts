import type { Knex } from 'knex';

/** What a payment shows on the cardholder's statement, when the caller chose it (`statement_descriptor`). */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('payments', (t) => {
    t.string('statement_descriptor', 22).nullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('payments', (t) => {
    t.dropColumn('statement_descriptor');
  });
}
