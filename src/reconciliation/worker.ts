/**
 * The reconciliation worker every process runs (unless RECONCILIATION_ENABLED=false): it claims a
 * due run (`SKIP LOCKED`, with a lease), reads the processor's report page by page from the run's
 * checkpoint, storing each page and the cursor after it in one transaction, then compares the two
 * books and applies what it decided — settlements, discrepancies, the run's counts and status — in
 * one transaction.
 *
 * Towards the processor it behaves as integration code should: one request at a time with a
 * timeout; a failure retried with exponential backoff and full jitter; a `429` waited out exactly as
 * its `Retry-After` says (a wait longer than half the lease gives the run back, due again then, so
 * no lease is held across it); an open circuit breaker ends the run `processor_unavailable` rather
 * than queueing calls behind it; a page that breaks the contract ends it `processor_schema_drift`
 * with the fields it broke, and nothing from that page is stored.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { Naps } from '../platform/naps.js';
import { newId } from '../platform/ids.js';
import { settleProcessingPayment, paymentsToReconcile } from '../payments/index.js';
import { refundsToReconcile, settlePendingRefund } from '../refunds/index.js';
import { ACCOUNT_METADATA_KEY, ReportDriftError, ReportRefusedError, type DriftIssue, type ProcessorClient, type ReportTransaction } from '../processor/index.js';
import { compare, referencedIds } from './compare.js';
import * as repo from './repository.js';

export interface ReconciliationWorkerOptions {
  /** How often an idle worker looks for a due run. */
  readonly intervalMs: number;
  /** Transactions asked for per report page. */
  readonly pageSize: number;
  /** One report request's timeout. */
  readonly timeoutMs: number;
  /** Retries of a failed report request before the run fails `processor_unavailable`. */
  readonly maxRetries: number;
  /** How long a claim holds a run without a sign of life; a lapsed lease lets another instance resume it. */
  readonly leaseMs: number;
  /** First backoff delay after a failed request; doubles per retry, with full jitter, up to 30 s. */
  readonly backoffInitialMs?: number;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Randomness for the backoff's jitter (tests fix it). */
  readonly random?: () => number;
}

/** Throttles in a row on one page before the run gives up on the processor. */
const MAX_THROTTLES_PER_PAGE = 20;
const BACKOFF_MAX_MS = 30_000;

type Failure = { readonly code: repo.FailureCode; readonly detail: string; readonly drift?: readonly DriftIssue[] };
type Fetched = { readonly transactions: readonly ReportTransaction[]; readonly nextCursor: string | null } | { readonly failure: Failure } | { readonly released: true };

export class ReconciliationWorker {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private readonly naps = new Naps();

  constructor(
    private readonly db: Db,
    private readonly processor: ProcessorClient,
    private readonly options: ReconciliationWorkerOptions,
  ) {}

  /** Claims one due run and works it until it ends or is given back; its id, or undefined when none was due. */
  async runOnce(): Promise<string | undefined> {
    const token = randomUUID();
    const run = await repo.claimRun(this.db, token, this.options.leaseMs);
    if (!run) return undefined;
    const log = this.options.log.child({ reconciliation: run.id, account: run.account_id });
    log.info({ resumedFrom: run.pages_fetched > 0 ? run.pages_fetched : undefined }, 'reconciliation claimed');
    try {
      await this.work(run, token, log);
    } catch (err) {
      log.error({ err }, 'reconciliation failed');
      await this.fail(run, token, { code: 'internal_error', detail: 'The run stopped on an unexpected error; start a new one.' }, log);
    }
    return run.id;
  }

  private async work(run: repo.RunRow, token: string, log: Logger): Promise<void> {
    // A run whose every page is stored (a cursor of null after at least one page) only compares.
    let cursor = run.cursor;
    let pages = run.pages_fetched;
    let done = pages > 0 && cursor === null;
    while (!done) {
      const fetched = await this.fetchPage(run, token, cursor, log);
      if ('released' in fetched) return;
      if ('failure' in fetched) return this.fail(run, token, fetched.failure, log);
      // The report is the processor's for every account: a run keeps its own account's transactions.
      const rows = fetched.transactions.filter((t) => t.metadata[ACCOUNT_METADATA_KEY] === run.account_id).map(toStored);
      const stored = await this.db.transaction((trx) => repo.storePage(trx, run.id, token, rows, fetched.nextCursor, this.options.leaseMs));
      if (stored.lost) return log.warn('reconciliation lease lost; another instance has the run');
      if (stored.conflicting) {
        const t = stored.conflicting;
        return this.fail(run, token, driftFailure([{ path: `transactions[id=${t.id}]`, expected: 'the same transaction as when it was first sent', received: 'a different one under the same id' }]), log);
      }
      pages += 1;
      this.options.metrics?.reconciliationPages.inc();
      log.info({ page: pages, cursor, transactions: fetched.transactions.length, kept: rows.length, added: stored.added, next: fetched.nextCursor }, 'reconciliation report page stored');
      cursor = fetched.nextCursor;
      done = cursor === null;
    }
    await this.settle(run, token, log);
  }

  /** One page, retried and waited for as the processor's answers say. */
  private async fetchPage(run: repo.RunRow, token: string, cursor: string | null, log: Logger): Promise<Fetched> {
    const query = { fromMs: run.window_start.getTime(), toMs: run.report_until.getTime(), cursor, pageSize: this.options.pageSize };
    let failures = 0;
    let throttles = 0;
    for (;;) {
      if (this.stopping()) return this.release(run, token, 0);
      let answer: Awaited<ReturnType<ProcessorClient['reportPage']>>;
      try {
        answer = await this.processor.reportPage(query, this.options.timeoutMs);
      } catch (err) {
        if (err instanceof ReportDriftError) return { failure: driftFailure(err.issues) };
        if (err instanceof ReportRefusedError) return { failure: { code: 'processor_refused', detail: err.message } };
        throw err;
      }
      switch (answer.outcome) {
        case 'page':
          return answer.page;
        case 'circuit_open':
          return {
            failure: {
              code: 'processor_unavailable',
              detail: `The processor's circuit breaker is open (calls are paused for about ${Math.ceil(answer.retryAfterMs / 1000)} s); start a new run once it has recovered.`,
            },
          };
        case 'throttled': {
          throttles += 1;
          this.options.metrics?.reconciliationThrottled.inc();
          await repo.countThrottle(this.db, run.id, token);
          if (throttles > MAX_THROTTLES_PER_PAGE) {
            return { failure: { code: 'processor_unavailable', detail: `The processor answered 429 to ${throttles} requests in a row for one page.` } };
          }
          log.info({ cursor, retryAfterMs: answer.retryAfterMs }, 'processor throttled the report; waiting as Retry-After says');
          if (answer.retryAfterMs > this.options.leaseMs / 2) return this.release(run, token, answer.retryAfterMs);
          if (!(await this.wait(run, token, answer.retryAfterMs))) return this.release(run, token, 0);
          break;
        }
        case 'failed': {
          failures += 1;
          if (failures > this.options.maxRetries) {
            return { failure: { code: 'processor_unavailable', detail: `The processor did not answer the report request (${answer.reason}) after ${failures} attempts.` } };
          }
          const ceiling = Math.min(BACKOFF_MAX_MS, (this.options.backoffInitialMs ?? 200) * 2 ** (failures - 1));
          const delay = Math.round((this.options.random ?? Math.random)() * ceiling);
          log.warn({ cursor, reason: answer.reason, attempt: failures, retryInMs: delay }, 'report request failed; retrying');
          if (!(await this.wait(run, token, delay))) return this.release(run, token, 0);
          break;
        }
      }
    }
  }

  /**
   * Waits `ms` holding the run (its lease pushed past the wait). False when the worker is stopping
   * (the wait ends at once) or the lease is no longer this worker's: either way, let go of the run.
   */
  private async wait(run: repo.RunRow, token: string, ms: number): Promise<boolean> {
    if (!(await repo.renewLease(this.db, run.id, token, ms + this.options.leaseMs))) return false;
    await this.naps.sleep(ms);
    return !this.stopping();
  }

  /** `stop` was called on a started worker (runs worked by hand with `runOnce` are never stopping). */
  private stopping(): boolean {
    return this.stopped && this.loop !== undefined;
  }

  /** Gives the run back, due again in `ms`: any instance resumes it from its checkpoint (nothing, once the lease is lost). */
  private async release(run: repo.RunRow, token: string, ms: number): Promise<{ released: true }> {
    await repo.releaseRun(this.db, run.id, token, ms);
    return { released: true };
  }

  private async fail(run: repo.RunRow, token: string, failure: Failure, log: Logger): Promise<void> {
    if (await repo.failRun(this.db, run.id, token, failure)) {
      this.options.metrics?.reconciliationRuns.inc({ outcome: failure.code });
      log.warn({ code: failure.code, detail: failure.detail, drift: failure.drift }, 'reconciliation failed');
    }
  }

  /** Compares the books and applies what was decided, with the run's outcome, in one transaction. */
  private async settle(run: repo.RunRow, token: string, log: Logger): Promise<void> {
    const transactions = await repo.runTransactions(this.db, run.id);
    const ids = referencedIds(transactions);
    const outcome = await this.db.transaction(async (trx) => {
      if (!(await repo.lockOwnedRun(trx, run.id, token))) return undefined;
      const [payments, refunds] = [
        await paymentsToReconcile(trx, run.account_id, run.window_start, run.window_end, ids.payments),
        await refundsToReconcile(trx, run.account_id, run.window_start, run.window_end, ids.refunds),
      ];
      const result = compare({ window: { start: run.window_start, end: run.window_end }, transactions, payments, refunds });
      const source = { accountId: run.account_id, requestId: null, idempotencyKey: null };
      let settled = 0;
      const settledObjects: string[] = [];
      // In one order (by id) whichever instance settles, so two runs over one account cannot deadlock.
      const settlements = [...result.settlements].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const s of settlements) {
        const done =
          s.objectType === 'payment' ? await settleProcessingPayment(trx, source, s.id, s.chargeId, s.outcome) : await settlePendingRefund(trx, source, s.id, s.processorRefundId);
        // Gone from processing/pending since it was read (its own request finished it): nothing to do.
        if (done) {
          settled += 1;
          settledObjects.push(s.objectType);
        }
      }
      await repo.insertDiscrepancies(
        trx,
        result.discrepancies.map((d) => ({
          id: newId('rcd'),
          reconciliation_id: run.id,
          account_id: run.account_id,
          kind: d.kind,
          object_type: d.objectType,
          local: d.local,
          processor: d.processor,
          subject: (d.local ?? d.processor)!.id,
        })),
      );
      const counts = { payments_checked: result.paymentsChecked, refunds_checked: result.refundsChecked, settled, discrepancy_count: result.discrepancies.length };
      await repo.succeedRun(trx, run.id, counts);
      return { counts, discrepancies: result.discrepancies, settledObjects };
    });
    if (!outcome) return log.warn('reconciliation lease lost before its outcome; another instance has the run');
    const m = this.options.metrics;
    if (m) {
      m.reconciliationRuns.inc({ outcome: 'succeeded' });
      for (const d of outcome.discrepancies) m.reconciliationDiscrepancies.inc({ kind: d.kind });
      for (const o of outcome.settledObjects) m.reconciliationSettled.inc({ object: o });
    }
    log.info(outcome.counts, 'reconciliation succeeded');
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let busy = false;
      try {
        busy = (await this.runOnce()) !== undefined;
      } catch (err) {
        this.options.log.warn({ err }, 'reconciliation round failed; trying again');
      }
      if (!busy && !this.stopped) await this.naps.sleep(this.options.intervalMs);
    }
  }

  /** Stops claiming; a run being worked is given back at its next wait or page, due again at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.naps.wakeAll();
    await this.loop;
    this.loop = undefined;
  }
}

function driftFailure(issues: readonly DriftIssue[]): Failure {
  const [first] = issues;
  return {
    code: 'processor_schema_drift',
    detail: first
      ? `A page of the processor's report broke its contract at ${first.path}: expected ${first.expected}, received ${first.received}. Nothing from that page was stored.`
      : "A page of the processor's report broke its contract. Nothing from that page was stored.",
    drift: issues,
  };
}

function toStored({ metadata: _account, decline_code: _decline, ...stored }: ReportTransaction): repo.StoredTransaction {
  return stored;
}
