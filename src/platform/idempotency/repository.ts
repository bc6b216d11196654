import type { Knex } from 'knex';

export const FINISHED = 'finished';

export interface KeyRow {
  id: number;
  account_id: string;
  key: string;
  operation: string;
  fingerprint: string;
  request_method: string;
  request_path: string;
  request_params: unknown;
  request_id: string | null;
  recovery_point: string;
  resource_id: string | null;
  locked_at: Date | null;
  lock_token: string | null;
  response_status: number | null;
  response_body: unknown;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

export type NewKey = Pick<
  KeyRow,
  'account_id' | 'key' | 'operation' | 'fingerprint' | 'request_method' | 'request_path' | 'request_params' | 'request_id'
>;

/**
 * Inserts the key already leased to `token`, or does nothing when the account already has it.
 * Concurrent inserts of one key wait on each other inside PostgreSQL's unique index, and exactly
 * one of them inserts: alone, the statement is the whole claim; inside a transaction (the first
 * phase's, see IdempotencyService.startNewKey), the others wait until that transaction ends.
 */
export async function insertLeased(db: Knex, row: NewKey, token: string): Promise<KeyRow | undefined> {
  const [inserted] = await db('idempotency_keys')
    .insert({
      ...row,
      request_params: JSON.stringify(row.request_params),
      recovery_point: 'started',
      locked_at: db.fn.now(),
      lock_token: token,
      attempts: 1,
    })
    .onConflict(['account_id', 'key'])
    .ignore()
    .returning('*');
  return inserted as KeyRow | undefined;
}

/**
 * Inserts the key already finished with its response, unleased; false when the account has the
 * key already (another request inserted it first, and its outcome is the key's).
 */
export async function insertFinished(db: Knex, row: NewKey, status: number, body: unknown): Promise<boolean> {
  const inserted = await db('idempotency_keys')
    .insert({
      ...row,
      request_params: JSON.stringify(row.request_params),
      recovery_point: FINISHED,
      response_status: status,
      response_body: JSON.stringify(body),
      attempts: 1,
    })
    .onConflict(['account_id', 'key'])
    .ignore()
    .returning('id');
  return inserted.length === 1;
}

/** The key row without a lock: enough to replay a finished key, whose row never changes again. */
export async function findKey(db: Knex, accountId: string, key: string): Promise<KeyRow | undefined> {
  return db('idempotency_keys').select('*').where({ account_id: accountId, key }).first();
}

/** The key row, locked for the rest of the transaction, with whether its lease is still live. */
export async function lockKey(
  trx: Knex.Transaction,
  accountId: string,
  key: string,
  leaseMs: number,
): Promise<(KeyRow & { lease_live: boolean }) | undefined> {
  // The database clock decides lease expiry, so API instances with skewed clocks agree.
  return trx('idempotency_keys')
    .select(
      '*',
      trx.raw('(locked_at is not null and locked_at > now() - make_interval(secs => ?)) as lease_live', [leaseMs / 1000]),
    )
    .where({ account_id: accountId, key })
    .forUpdate()
    .first();
}

export async function takeLease(trx: Knex.Transaction, id: number, token: string): Promise<void> {
  await trx('idempotency_keys')
    .where({ id })
    .update({ locked_at: trx.fn.now(), lock_token: token, attempts: trx.raw('attempts + 1'), updated_at: trx.fn.now() });
}

/** Whether `token` still holds the key's lease. */
export async function holdsLease(db: Knex, id: number, token: string): Promise<boolean> {
  const row = await db('idempotency_keys').select('lock_token').where({ id }).first();
  return row?.lock_token === token;
}

/**
 * Records the recovery point a phase reached, only if `token` still holds the lease; false when
 * it does not (the caller rolls the phase back). Checking in the same UPDATE that records the
 * outcome saves a round trip per phase over locking the row first.
 */
export async function recordPoint(trx: Knex.Transaction, id: number, token: string, point: string, resourceId: string | undefined): Promise<boolean> {
  const updated = await trx('idempotency_keys')
    .where({ id, lock_token: token })
    .update({ recovery_point: point, ...(resourceId !== undefined ? { resource_id: resourceId } : {}), updated_at: trx.fn.now() })
    .returning('id');
  return updated.length === 1;
}

/** Stores the final response and frees the key, only if `token` still holds the lease. */
export async function recordResponse(trx: Knex, id: number, token: string, status: number, body: unknown): Promise<boolean> {
  const updated = await trx('idempotency_keys')
    .where({ id, lock_token: token })
    .update({
      recovery_point: FINISHED,
      response_status: status,
      response_body: JSON.stringify(body),
      locked_at: null,
      lock_token: null,
      updated_at: trx.fn.now(),
    })
    .returning('id');
  return updated.length === 1;
}

/** Gives the lease up so a retry (or the completer) may resume at once from the recovery point. */
export async function releaseLease(db: Knex, id: number, token: string): Promise<void> {
  await db('idempotency_keys').where({ id, lock_token: token }).update({ locked_at: null, lock_token: null, updated_at: db.fn.now() });
}

/**
 * Unfinished keys nobody holds: released after a failure, or whose holder's lease ran out (the
 * process died). `skip locked` lets several API instances run the completer side by side.
 */
export async function leaseAbandoned(
  trx: Knex.Transaction,
  operations: readonly string[],
  idleMs: number,
  limit: number,
  token: string,
): Promise<KeyRow[]> {
  const rows: KeyRow[] = await trx('idempotency_keys')
    .select('*')
    .whereNot('recovery_point', FINISHED)
    .whereIn('operation', operations)
    .where('updated_at', '<', trx.raw('now() - make_interval(secs => ?)', [idleMs / 1000]))
    .where((q) => q.whereNull('locked_at').orWhere('locked_at', '<', trx.raw('now() - make_interval(secs => ?)', [idleMs / 1000])))
    .orderBy('updated_at')
    .limit(limit)
    .forUpdate()
    .skipLocked();
  for (const row of rows) await takeLease(trx, row.id, token);
  return rows;
}

/** Deletes finished keys older than the retention period, a batch at a time; returns the operation of each. */
export async function deleteExpired(db: Knex, retentionMs: number, batch: number): Promise<string[]> {
  // Counted from `returning` rather than from the driver's affected-rows result, which the
  // embedded driver reports in a different shape for DELETE.
  const deleted: { operation: string }[] = await db('idempotency_keys')
    .whereIn(
      'id',
      db('idempotency_keys')
        .select('id')
        .where('recovery_point', FINISHED)
        .where('created_at', '<', db.raw('now() - make_interval(secs => ?)', [retentionMs / 1000]))
        .limit(batch),
    )
    .delete()
    .returning('operation');
  return deleted.map((row) => row.operation);
}

/** Unfinished keys nobody has touched for `idleMs`: the completer's backlog (the partial index on unfinished keys answers it). */
export async function countAbandoned(db: Knex, idleMs: number): Promise<number> {
  const [row] = await db('idempotency_keys')
    .whereNot('recovery_point', FINISHED)
    .where('updated_at', '<', db.raw('now() - make_interval(secs => ?)', [idleMs / 1000]))
    .count<{ count: string | number }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}
