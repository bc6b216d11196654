/**
 * The background side of idempotency, safe to run in every API instance at once:
 * - the completer finishes requests whose client gave up (a crash, or a 503 never retried), so a
 *   payment does not stay `processing` because nobody asked again;
 * - retention deletes finished keys once they are older than the retention period (at least 24 h).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { IdempotencyService } from './index.js';
import * as repo from './repository.js';

export interface IdempotencyJobOptions {
  /** A key unfinished and untouched for this long is resumed (the request lease). */
  readonly idleMs: number;
  readonly retentionMs: number;
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly log: Logger;
  /** The backlog gauge (`remit_idempotency_unfinished_keys`), refreshed every completer round. */
  readonly metrics?: Metrics;
}

export class IdempotencyJobs {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Db,
    private readonly idempotency: IdempotencyService,
    private readonly options: IdempotencyJobOptions,
  ) {}

  /** Resumes abandoned keys; returns how many finished. */
  async completeAbandoned(): Promise<{ resumed: number; finished: number }> {
    const token = randomUUID();
    if (this.options.metrics) this.options.metrics.unfinishedKeys.set(await repo.countAbandoned(this.db, this.options.idleMs));
    const rows = await this.db.transaction((trx) =>
      repo.leaseAbandoned(trx, this.idempotency.registeredOperations(), this.options.idleMs, this.options.batchSize ?? 50, token),
    );
    let finished = 0;
    for (const row of rows) {
      try {
        await this.idempotency.resume(row, token);
        finished += 1;
      } catch (err) {
        // Still failing (the processor is down): the key was released and is retried next round.
        this.options.log.warn({ err, key: row.id, operation: row.operation }, 'could not complete abandoned request');
      }
    }
    if (rows.length > 0) this.options.log.info({ resumed: rows.length, finished }, 'completed abandoned idempotent requests');
    return { resumed: rows.length, finished };
  }

  async deleteExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await repo.deleteExpired(this.db, this.options.retentionMs, 1_000);
      this.idempotency.countExpired(deleted);
      total += deleted.length;
      if (deleted.length < 1_000) break;
    }
    if (total > 0) this.options.log.info({ deleted: total }, 'deleted expired idempotency keys');
    return total;
  }

  start(): void {
    this.timer = setInterval(() => {
      // A round slower than the interval is not overlapped by the next one.
      if (this.running) return;
      this.running = Promise.all([this.completeAbandoned(), this.deleteExpired()])
        .catch((err: unknown) => this.options.log.warn({ err }, 'idempotency jobs failed'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops scheduling and waits for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
