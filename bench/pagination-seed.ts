/**
 * Seeds payments for the deep-page benchmark (`pagination.bench.ts`) in SQL, straight into the
 * migrated schema: a million rows through the API would take hours and measure the write path,
 * not the list.
 *
 * Row `g` of an account (1 = newest) gets a created_at `step` milliseconds older per row, plus a
 * jitter smaller than the step drawn from a hash, so times fall irregularly but never out of
 * order. Every `tieEvery`-th row takes the timestamp of the row before it: those pairs can only be
 * ordered by the id, the list's tie-breaker. Ids have the real shape (`pay_` + 22 base62
 * characters), drawn from md5 of a per-run seed, so they are as unordered as random ids.
 */
import type { Knex } from 'knex';

export interface SeedRange {
  readonly accountId: string;
  /** Row numbers `from`..`to` inclusive; 1 is the newest. */
  readonly from: number;
  readonly to: number;
  /** Distinguishes the ids of this run and this account from every other. */
  readonly seed: string;
  /** The newest possible created_at, in whole milliseconds. */
  readonly newest: Date;
  readonly stepMs: number;
  /** Every n-th row shares the previous row's timestamp; 0 for none. */
  readonly tieEvery: number;
}

/** 22 characters of base64 over two md5 digests, with `+` and `/` mapped to letters: base62. */
const base62Of = (expr: string) => `substr(translate(encode(decode(md5(${expr}) || md5(${expr} || ':2'), 'hex'), 'base64'), '+/', 'xQ'), 1, 22)`;

const INSERT_SQL = `
insert into payments (id, account_id, customer_id, amount, currency, capture_method, status, description, metadata,
                      amount_captured, amount_refunded, failure_code, failure_message, processor_charge_id, created_at, updated_at)
select 'pay_' || ${base62Of(`:seed || ':' || g`)},
       :accountId,
       case when h % 10 < 3 then 'cus_' || ${base62Of(`:seed || ':cus:' || (h % 5000)`)} end,
       amount,
       'EUR',
       case when status in ('requires_capture', 'canceled') or (status = 'succeeded' and h % 5 = 0) then 'manual' else 'automatic' end,
       status,
       'Order ' || g,
       case when h % 4 = 0 then jsonb_build_object('order', g::text) else '{}'::jsonb end,
       case when status = 'succeeded' then amount else 0 end,
       case when status = 'succeeded' and h % 7 = 0 then amount / 2 else 0 end,
       case when status = 'failed' then 'card_declined' end,
       case when status = 'failed' then 'The card was declined.' end,
       case when status in ('succeeded', 'requires_capture', 'canceled') then 'ch_' || substr(md5(:seed || ':ch:' || g), 1, 24) end,
       created_at,
       created_at
from (
  select g, h,
         100 + h % 99900 as amount,
         case when h % 100 < 70 then 'succeeded'
              when h % 100 < 80 then 'failed'
              when h % 100 < 88 then 'requires_capture'
              when h % 100 < 98 then 'canceled'
              else 'processing' end as status,
         :newest::timestamptz - (slot * :stepMs + (hashint8(slot) & 2147483647) % :jitterMs) * interval '1 millisecond' as created_at
  from (
    select g, hashint8(g::bigint # hashtext(:seed)::bigint) & 2147483647 as h,
           case when :tieEvery > 0 then g - g / :tieEvery else g end as slot
    from generate_series(:from::bigint, :to::bigint) as g
  ) numbered
) rows`;

/**
 * Inserts one range of rows. On PostgreSQL the app's 5 s statement timeout is lifted for this
 * transaction only: a batch is seeding, not a request.
 */
export async function seedRange(db: Knex, postgres: boolean, range: SeedRange): Promise<void> {
  const jitterMs = Math.max(1, Math.floor(range.stepMs * 0.8));
  if (jitterMs >= range.stepMs && range.stepMs > 1) throw new Error('the jitter must stay below the step, or rows would change order');
  await db.transaction(async (trx) => {
    if (postgres) await trx.raw('set local statement_timeout = 0');
    await trx.raw(INSERT_SQL, {
      seed: range.seed,
      accountId: range.accountId,
      newest: range.newest.toISOString(),
      stepMs: range.stepMs,
      jitterMs,
      tieEvery: range.tieEvery,
      from: range.from,
      to: range.to,
    });
  });
}
