/**
 * Idempotency keys with recovery points, after the PostgreSQL design Stripe described ("atomic
 * phases"): the work of an unsafe request is split into phases, each of which commits atomically
 * together with the recovery point it reached on the key row. A request holds the key by a lease,
 * not by a transaction held open across network calls. If the process dies mid-request, the key is
 * left at its last recovery point; once the lease expires, a retry with the same key (or the
 * background completer) resumes from there. Calls to the processor between phases carry keys
 * derived from Remit's own ids, so resuming a phase that already reached the processor replays the
 * processor's answer instead of moving money again.
 *
 * Contract (BRIEF.md, "Idempotency"): same key + same request → the first response, replayed with
 * `Idempotent-Replayed: true`; same key + different request → 422; same key while the first still
 * runs → 409 with Retry-After. Keys are scoped to the account.
 */
import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Db, Transaction } from '../db.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { IdempotencyOutcome, Metrics } from '../metrics.js';
import * as repo from './repository.js';

/** Seconds a client should wait after `idempotency_in_flight`: most requests finish well within it. */
export const IN_FLIGHT_RETRY_AFTER_S = 1;

/** The answer a request ends with, as stored with its key and replayed to a retry. */
export interface StoredResponse<R = unknown> {
  readonly status: number;
  readonly body: R;
}

/**
 * What a phase ends with: the next recovery point, or the response that finishes the request.
 * `carry` hands what the phase just wrote to the next phase when it runs in the same process, so
 * that phase need not read it back; only `resourceId` is stored with the key.
 */
export type PhaseOutcome<R, S = never> =
  | { readonly next: string; readonly resourceId?: string; readonly carry?: S }
  | { readonly response: StoredResponse<R> };

/** What every phase is given about the request it works for. */
export interface PhaseInput<P, S = never> {
  readonly accountId: string;
  readonly params: P;
  /** The resource an earlier phase created (e.g. the payment id), for the phases that follow. */
  readonly resourceId: string | undefined;
  /**
   * What the previous phase carried (`PhaseOutcome.carry`) when it ran in this process; undefined
   * when the phase resumes from a stored recovery point (a retry, the completer), which must then
   * read what it needs from `resourceId`.
   */
  readonly carried: S | undefined;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
}

export interface PhaseContext<P, R, S = never> extends PhaseInput<P, S> {
  /**
   * Runs `work` in one transaction that also records its outcome on the key row: the change, its
   * event and the recovery point commit together or not at all. Fails if the lease was lost.
   */
  atomic(work: (trx: Transaction) => Promise<PhaseOutcome<R, S>>): Promise<PhaseOutcome<R, S>>;
}

/**
 * A phase that is one transaction and nothing else: no processor call, no read outside it. The
 * layer runs it as `ctx.atomic` would, and for a key it has never seen it also inserts the key in
 * that transaction, so claiming the key costs no commit of its own (see `startNewKey`).
 */
export interface AtomicPhase<P, R, S = never> {
  readonly atomic: (trx: Transaction, input: PhaseInput<P, S>) => Promise<PhaseOutcome<R, S>>;
}

/** A phase as a function that calls `ctx.atomic` itself (after a processor call, say), or an AtomicPhase. */
export type Phase<P, R, S = never> = ((ctx: PhaseContext<P, R, S>) => Promise<PhaseOutcome<R, S>>) | AtomicPhase<P, R, S>;

/**
 * A request that must happen once per Idempotency-Key, as phases with recovery points. `P` is
 * what the phases need (stored with the key, so the completer can resume), `R` the body of the
 * response that finishes it: the spec's type for the operation's success answer; `S` what one
 * phase may carry to the next in the same process (never, unless the operation says).
 */
export interface IdempotentOperation<P, R, S = never> {
  /** Stored with the key so the completer knows how to resume it. */
  readonly name: string;
  /** Money-moving operations refuse a request without a key (400 idempotency_key_required). */
  readonly keyRequired: boolean;
  /** Keyed by recovery point; `started` runs first. Every phase ends in one transaction (`ctx.atomic`, or an AtomicPhase). */
  readonly phases: Readonly<Record<string, Phase<P, R, S>>>;
}

/**
 * Who asks, and with which request: built once per request by the HTTP layer (HandlerContext's
 * `envelope`), for every idempotent operation.
 */
export interface RequestEnvelope {
  readonly accountId: string;
  /** The client's Idempotency-Key; without one the phases run once, unrecorded. */
  readonly key: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly requestId: string | null;
  /** Told what the key did for this request (for the request's log line). */
  readonly observe?: (outcome: IdempotencyOutcome) => void;
}

/** What `execute` works from: the envelope, with the operation's params and fingerprinted body. */
interface IdempotentRequest<P> extends RequestEnvelope {
  /** Everything the phases need (path parameters and body); stored for the completer. */
  readonly params: P;
  /** The part of the request whose change makes it a different request. */
  readonly body: unknown;
}

export interface IdempotentResult<R> {
  readonly status: number;
  readonly body: R;
  readonly replayed: boolean;
}

/** Another holder took the key over (our lease expired while we worked). */
class LeaseLostError extends Error {}

export interface IdempotencyOptions {
  /**
   * How long a request may hold a key before others may take it over. Longer than the worst-case
   * request (processor timeout × attempts + backoff), so a live request is never overtaken.
   */
  readonly leaseMs: number;
  readonly log: Logger;
  /** Counts what keys do (`remit_idempotency_outcomes_total`). */
  readonly metrics?: Metrics;
}

/** What a request's key did, noted by whichever step found out, reported once when `execute` ends. */
interface Tracked {
  outcome?: IdempotencyOutcome;
}

/** SHA-256 of method, path and the body in RFC 8785 canonical form (key order, number format). */
export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonicalize(body ?? null) ?? 'null'}`)
    .digest('hex');
}

function isFinalError(err: unknown): err is AppError {
  // A 4xx decided inside a phase (not capturable, over-refund, unknown customer) is the answer to
  // this request and is stored; 5xx and dependency failures are not, so a retry can still succeed.
  return err instanceof AppError && err.status < 500 && err.code !== 'idempotency_in_flight';
}

function replayError(body: unknown): AppError {
  const { code, detail } = body as { code: ErrorCode; detail?: string };
  return new AppError(code, detail, { headers: { 'Idempotent-Replayed': 'true' } });
}

/** What a final error is stored as, and replayed from (replayError). */
function storedError(err: AppError): { code: ErrorCode; detail: string } {
  return { code: err.code, detail: err.message };
}

type AnyOperation = IdempotentOperation<never, unknown, unknown>;

export class IdempotencyService {
  private readonly operations = new Map<string, AnyOperation>();

  constructor(
    private readonly db: Db,
    private readonly options: IdempotencyOptions,
  ) {}

  /** Makes an operation resumable by the completer. */
  register<P, R, S>(operation: IdempotentOperation<P, R, S>): IdempotentOperation<P, R, S> {
    this.operations.set(operation.name, operation as unknown as AnyOperation);
    return operation;
  }

  registeredOperations(): string[] {
    return [...this.operations.keys()];
  }

  /**
   * Runs `operation` for the request in `envelope` exactly once per (account, key). `params` is what
   * its phases need; `body` the part of the request whose change makes it a different request.
   * Returns the response (fresh or replayed); a stored error is thrown again as the same AppError.
   */
  async execute<P, R, S>(operation: IdempotentOperation<P, R, S>, envelope: RequestEnvelope, params: P, body: unknown): Promise<IdempotentResult<R>> {
    if (operation.keyRequired) requireKey(envelope.key);
    const tracked: Tracked = {};
    try {
      return await this.executeTracked(operation, envelope, params, body, tracked);
    } finally {
      if (tracked.outcome) {
        this.count(operation.name, tracked.outcome);
        envelope.observe?.(tracked.outcome);
      }
    }
  }

  private count(operation: string, outcome: IdempotencyOutcome, n = 1): void {
    this.options.metrics?.idempotency.inc({ operation, outcome }, n);
  }

  /** Counts keys the retention job deleted, by the operation they were used for. */
  countExpired(operations: readonly string[]): void {
    const counts = new Map<string, number>();
    for (const op of operations) counts.set(op, (counts.get(op) ?? 0) + 1);
    for (const [op, n] of counts) this.count(op, 'expired', n);
  }

  private async executeTracked<P, R, S>(
    operation: IdempotentOperation<P, R, S>,
    envelope: RequestEnvelope,
    params: P,
    body: unknown,
    tracked: Tracked,
  ): Promise<IdempotentResult<R>> {
    const request: IdempotentRequest<P> = { ...envelope, params, body };
    if (request.key === undefined) {
      tracked.outcome = 'unkeyed';
      return this.runUnkeyed(operation, request);
    }

    const token = randomUUID();
    const key: repo.NewKey = {
      account_id: request.accountId,
      key: request.key,
      operation: operation.name,
      fingerprint: fingerprint(request.method, request.path, request.body),
      request_method: request.method.toUpperCase(),
      request_path: request.path,
      request_params: request.params,
      request_id: request.requestId,
    };
    const first = firstPhase(operation);
    let known: repo.KeyRow | undefined;
    if (typeof first !== 'function') {
      // The key is looked up before a transaction is opened for it: a replay, what a client's
      // retries mostly are, then costs this one read and writes nothing; a new key costs the read
      // (no commit) before its transaction.
      known = await repo.findKey(this.db, key.account_id, key.key);
      if (!known) {
        const fresh = await this.startNewKey(operation, first, key, params, token, tracked);
        if (fresh) return { ...fresh, replayed: false };
      }
    }
    const claim = await this.claim(operation, key, token, typeof first === 'function', tracked, known);
    if (claim.kind === 'replay') {
      if (claim.status >= 400) throw replayError(claim.body);
      // Stored by this same operation when it finished: the body it answered with then.
      return { status: claim.status, body: claim.body as R, replayed: true };
    }
    const result = await this.runPhases(operation, claim.row, params, token, tracked);
    return { ...result, replayed: false };
  }

  /**
   * The common case, a key never seen, for an operation whose first phase is an AtomicPhase: the
   * key is inserted, leased to `token`, inside that phase's transaction, so the claim, the phase's
   * changes and the recovery point it reaches commit together, one commit where a claim of its own
   * took two. A concurrent request with the same key waits on the unique index until this
   * transaction ends; it then finds the key held (409) or finished (replay), or, if this
   * transaction rolled back, claims the key itself. Returns undefined when the key was inserted by
   * another request since the caller looked it up: the caller then takes the path of a known key.
   */
  private async startNewKey<P, R, S>(
    operation: IdempotentOperation<P, R, S>,
    first: AtomicPhase<P, R, S>,
    key: repo.NewKey,
    params: P,
    token: string,
    tracked: Tracked,
  ): Promise<StoredResponse<R> | undefined> {
    let started: { row: repo.KeyRow; outcome: PhaseOutcome<R, S> } | undefined;
    try {
      started = await this.db.transaction(async (trx) => {
        const row = await repo.insertLeased(trx, key, token);
        if (!row) return undefined;
        tracked.outcome = 'created';
        const outcome = await first.atomic(trx, inputOf<P, S>(row, params, undefined, undefined));
        // Nobody else can hold a key this transaction inserted and has not committed.
        if (!(await recordOutcome(trx, row.id, token, outcome))) throw new Error(`idempotency key ${row.id} inserted by this transaction is not leased to it`);
        return { row, outcome };
      });
    } catch (err) {
      // A 5xx or a dependency failure rolled the key back with the phase: nothing of this attempt
      // remains, and a retry with the key starts afresh.
      if (!isFinalError(err)) {
        // Rolled back: the key was never created.
        tracked.outcome = undefined;
        throw err;
      }
      // A 4xx decided by the phase is this key's answer. The rollback took the key row with it,
      // so the key is stored anew, finished. If another request with the key inserted it in the
      // meantime, that request's outcome is the key's: this one answers as the key now stands.
      if (await repo.insertFinished(this.db, key, err.status, storedError(err))) throw err;
      tracked.outcome = undefined;
      return undefined;
    }
    if (!started) return undefined;
    const { row, outcome } = started;
    if ('response' in outcome) return outcome.response;
    const next = { ...row, recovery_point: outcome.next, resource_id: outcome.resourceId ?? row.resource_id };
    return this.runPhases(operation, next, params, token, tracked, outcome.carry);
  }

  /**
   * Claims a key for this request: a new key by inserting it leased (when `insert`; the one
   * statement a key costs for an operation whose first phase is not an AtomicPhase), a known one
   * by replaying its stored answer, refusing it (422 other request, 409 still running) or taking
   * over an abandoned attempt.
   */
  private async claim<P, R, S>(
    operation: IdempotentOperation<P, R, S>,
    key: repo.NewKey,
    token: string,
    insert: boolean,
    tracked: Tracked,
    known?: repo.KeyRow,
  ): Promise<{ kind: 'replay'; status: number; body: unknown } | { kind: 'run'; row: repo.KeyRow }> {
    if (insert) {
      const inserted = await repo.insertLeased(this.db, key, token);
      if (inserted) {
        tracked.outcome = 'created';
        return { kind: 'run', row: inserted };
      }
    }

    const mismatch = (row: repo.KeyRow) =>
      new AppError(
        'idempotency_key_reused',
        `This Idempotency-Key was first used for ${row.request_method} ${row.request_path} with a different body. Use a new key for a new request.`,
      );
    // A finished key never changes again, so a replay needs no lock: concurrent replays of one
    // key do not queue behind each other.
    const seen = known ?? (await repo.findKey(this.db, key.account_id, key.key));
    if (seen && (seen.fingerprint !== key.fingerprint || seen.operation !== operation.name)) {
      tracked.outcome = 'key_reused';
      throw mismatch(seen);
    }
    if (seen?.recovery_point === repo.FINISHED) {
      tracked.outcome = 'replayed';
      return { kind: 'replay', status: seen.response_status!, body: seen.response_body };
    }

    return this.db.transaction(async (trx) => {
      const row = await repo.lockKey(trx, key.account_id, key.key, this.options.leaseMs);
      // Deleted between the statements by retention: only possible for a key older than the
      // retention period, which the client should not be retrying.
      if (!row) {
        tracked.outcome = 'in_flight';
        throw new AppError('idempotency_in_flight', 'The key is being recycled; retry.', retryAfter());
      }
      if (row.recovery_point === repo.FINISHED) {
        tracked.outcome = 'replayed';
        return { kind: 'replay', status: row.response_status!, body: row.response_body };
      }
      if (row.lease_live) {
        tracked.outcome = 'in_flight';
        throw new AppError('idempotency_in_flight', 'A request with this Idempotency-Key is still running. Retry with the same key.', retryAfter());
      }
      // Unfinished and unheld: the earlier attempt failed or its process died. Resume it.
      tracked.outcome = 'resumed';
      await repo.takeLease(trx, row.id, token);
      this.options.log.info({ key: row.id, recoveryPoint: row.recovery_point, attempts: row.attempts + 1 }, 'resuming idempotent request');
      return { kind: 'run', row };
    });
  }

  /** Resumes an abandoned key (the completer's entry point); the lease is already taken. */
  async resume(row: repo.KeyRow, token: string): Promise<void> {
    const operation = this.operations.get(row.operation);
    if (!operation) throw new Error(`no operation registered as ${row.operation}`);
    const tracked: Tracked = {};
    try {
      await this.runPhases(operation, { ...row, request_id: null }, row.request_params as never, token, tracked);
    } catch (err) {
      if (!isFinalError(err)) throw err;
    }
    // Finished, with a success or with a 4xx that is now the key's answer.
    this.count(operation.name, 'recovered');
  }

  /**
   * Runs the phases from the key's recovery point, under the lease `token` holds. `carried` is
   * what the phase that reached that point handed on, when it ran just before in this process.
   */
  private async runPhases<P, R, S>(
    operation: IdempotentOperation<P, R, S>,
    row: repo.KeyRow,
    params: P,
    token: string,
    tracked: Tracked,
    carried?: S,
  ): Promise<StoredResponse<R>> {
    try {
      return await runFrom(operation, row.recovery_point, {
        ...inputOf<P, S>(row, params, row.resource_id ?? undefined, carried),
        atomic: (work) => this.atomic<R, S>(row.id, token, work),
      });
    } catch (err) {
      if (err instanceof LeaseLostError) {
        tracked.outcome = 'in_flight';
        throw new AppError('idempotency_in_flight', 'Another attempt with this Idempotency-Key took over. Retry with the same key.', retryAfter());
      }
      if (isFinalError(err)) {
        await this.storeError(row.id, token, err);
        throw err;
      }
      await repo.releaseLease(this.db, row.id, token).catch((releaseErr: unknown) => {
        // The database is likely down too; the lease simply expires.
        this.options.log.warn({ err: releaseErr, key: row.id }, 'could not release idempotency key');
      });
      throw err;
    }
  }

  private async atomic<R, S>(keyId: number, token: string, work: (trx: Transaction) => Promise<PhaseOutcome<R, S>>): Promise<PhaseOutcome<R, S>> {
    try {
      return await this.db.transaction(async (trx) => {
        const outcome = await work(trx);
        // The lease is checked by the same UPDATE that records the outcome: if another attempt
        // took the key over meanwhile, this phase's changes roll back with it.
        if (!(await recordOutcome(trx, keyId, token, outcome))) throw new LeaseLostError();
        return outcome;
      });
    } catch (err) {
      // The work itself may fail because the attempt that took over changed the rows first (a
      // guarded status update that matches nothing, or a status check that now refuses): report
      // that as the lost lease it is, so this client retries and gets the real outcome replayed.
      if (!(err instanceof LeaseLostError) && !(await repo.holdsLease(this.db, keyId, token).catch(() => true))) {
        throw new LeaseLostError();
      }
      throw err;
    }
  }

  private async storeError(keyId: number, token: string, err: AppError): Promise<void> {
    // One UPDATE, guarded by the lease like every other write to the key.
    await repo.recordResponse(this.db, keyId, token, err.status, storedError(err));
  }

  /** `Idempotency-Key` is optional here and absent: the same phases, each in its own transaction. */
  private async runUnkeyed<P, R, S>(operation: IdempotentOperation<P, R, S>, request: IdempotentRequest<P>): Promise<IdempotentResult<R>> {
    const response = await runFrom(operation, START, {
      accountId: request.accountId,
      params: request.params,
      resourceId: undefined,
      carried: undefined,
      requestId: request.requestId,
      idempotencyKey: null,
      atomic: (work) => this.db.transaction(work),
    });
    return { ...response, replayed: false };
  }
}

/** The recovery point every operation starts from. */
const START = 'started';

function firstPhase<P, R, S>(operation: IdempotentOperation<P, R, S>): Phase<P, R, S> {
  const phase = operation.phases[START];
  if (!phase) throw new Error(`${operation.name} has no phase ${START}`);
  return phase;
}

function inputOf<P, S>(row: repo.KeyRow, params: P, resourceId: string | undefined, carried: S | undefined): PhaseInput<P, S> {
  return { accountId: row.account_id, params, resourceId, carried, requestId: row.request_id, idempotencyKey: row.key };
}

/** Records a phase's outcome on the key row, if `token` still holds its lease. */
function recordOutcome<R, S>(trx: Transaction, keyId: number, token: string, outcome: PhaseOutcome<R, S>): Promise<boolean> {
  return 'response' in outcome
    ? repo.recordResponse(trx, keyId, token, outcome.response.status, outcome.response.body)
    : repo.recordPoint(trx, keyId, token, outcome.next, outcome.resourceId);
}

/** Runs an operation's phases from `point` until one ends with the response. */
async function runFrom<P, R, S>(operation: IdempotentOperation<P, R, S>, point: string, context: PhaseContext<P, R, S>): Promise<StoredResponse<R>> {
  let ctx = context;
  for (;;) {
    const phase = operation.phases[point];
    if (!phase) throw new Error(`${operation.name} has no phase ${point}`);
    const outcome = typeof phase === 'function' ? await phase(ctx) : await ctx.atomic((trx) => phase.atomic(trx, ctx));
    if ('response' in outcome) return outcome.response;
    point = outcome.next;
    // What a phase carries is for the phase right after it only.
    ctx = { ...ctx, resourceId: outcome.resourceId ?? ctx.resourceId, carried: outcome.carry };
  }
}

/** Money-moving requests need a key (the spec requires it too; this holds whatever the entry point). */
export function requireKey(key: string | undefined): void {
  if (key === undefined) throw new AppError('idempotency_key_required', 'Send an Idempotency-Key header (e.g. a UUID) so the request is safe to retry.');
}

function retryAfter() {
  return { headers: { 'Retry-After': String(IN_FLIGHT_RETRY_AFTER_S) } };
}
