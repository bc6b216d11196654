import type { Knex } from 'knex';

/**
 * A replayed response is the first response byte for byte. `jsonb` keeps the value but not the
 * text (it reorders object keys), so a replay would list a payment's fields in another order than
 * the original; `json` keeps the stored text as it was written.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('alter table idempotency_keys alter column response_body type json using response_body::json');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('alter table idempotency_keys alter column response_body type jsonb using response_body::jsonb');
}
