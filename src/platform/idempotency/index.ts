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
import * as repo from './repository.js';

/** Seconds a client should wait after `idempotency_in_flight`: most requests finish well within it. */
export const IN_FLIGHT_RETRY_AFTER_S = 1;

/** The answer a request ends with, as stored with its key and replayed to a retry. */
export interface StoredResponse<R = unknown> {
  readonly status: number;
  readonly body: R;
}

/** What a phase ends with: the next recovery point, or the response that finishes the request. */
export type PhaseOutcome<R> = { readonly next: string; readonly resourceId?: string } | { readonly response: StoredResponse<R> };

export interface PhaseContext<P, R> {
  readonly accountId: string;
  readonly params: P;
  /** The resource an earlier phase created (e.g. the payment id), for the phases that follow. */
  readonly resourceId: string | undefined;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  /**
   * Runs `work` in one transaction that also records its outcome on the key row: the change, its
   * event and the recovery point commit together or not at all. Fails if the lease was lost.
   */
  atomic(work: (trx: Transaction) => Promise<PhaseOutcome<R>>): Promise<PhaseOutcome<R>>;
}

export type Phase<P, R> = (ctx: PhaseContext<P, R>) => Promise<PhaseOutcome<R>>;

/**
 * A request that must happen once per Idempotency-Key, as phases with recovery points. `P` is
 * what the phases need (stored with the key, so the completer can resume), `R` the body of the
 * response that finishes it: the spec's type for the operation's success answer.
 */
export interface IdempotentOperation<P, R> {
  /** Stored with the key so the completer knows how to resume it. */
  readonly name: string;
  /** Money-moving operations refuse a request without a key (400 idempotency_key_required). */
  readonly keyRequired: boolean;
  /** Keyed by recovery point; `started` runs first. Every phase ends by calling `ctx.atomic`. */
  readonly phases: Readonly<Record<string, Phase<P, R>>>;
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

export class IdempotencyService {
  private readonly operations = new Map<string, IdempotentOperation<never, unknown>>();

  constructor(
    private readonly db: Db,
    private readonly options: IdempotencyOptions,
  ) {}

  /** Makes an operation resumable by the completer. */
  register<P, R>(operation: IdempotentOperation<P, R>): IdempotentOperation<P, R> {
    this.operations.set(operation.name, operation as unknown as IdempotentOperation<never, unknown>);
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
  async execute<P, R>(operation: IdempotentOperation<P, R>, envelope: RequestEnvelope, params: P, body: unknown): Promise<IdempotentResult<R>> {
    if (operation.keyRequired) requireKey(envelope.key);
    const request: IdempotentRequest<P> = { ...envelope, params, body };
    if (request.key === undefined) return this.runUnkeyed(operation, request);

    const token = randomUUID();
    const claim = await this.claim(operation, request, token);
    if (claim.kind === 'replay') {
      if (claim.status >= 400) throw replayError(claim.body);
      // Stored by this same operation when it finished: the body it answered with then.
      return { status: claim.status, body: claim.body as R, replayed: true };
    }
    const result = await this.runPhases(operation, claim.row, request.params, token);
    return { ...result, replayed: false };
  }

  private async claim<P, R>(
    operation: IdempotentOperation<P, R>,
    request: IdempotentRequest<P>,
    token: string,
  ): Promise<{ kind: 'replay'; status: number; body: unknown } | { kind: 'run'; row: repo.KeyRow }> {
    const print = fingerprint(request.method, request.path, request.body);
    const key = request.key!;
    // The common case, a new key, costs one statement.
    const inserted = await repo.insertLeased(
      this.db,
      {
        account_id: request.accountId,
        key,
        operation: operation.name,
        fingerprint: print,
        request_method: request.method.toUpperCase(),
        request_path: request.path,
        request_params: request.params,
        request_id: request.requestId,
      },
      token,
    );
    if (inserted) return { kind: 'run', row: inserted };

    const mismatch = (row: repo.KeyRow) =>
      new AppError(
        'idempotency_key_reused',
        `This Idempotency-Key was first used for ${row.request_method} ${row.request_path} with a different body. Use a new key for a new request.`,
      );
    // A finished key never changes again, so a replay needs no lock: concurrent replays of one
    // key do not queue behind each other.
    const seen = await repo.findKey(this.db, request.accountId, key);
    if (seen && (seen.fingerprint !== print || seen.operation !== operation.name)) throw mismatch(seen);
    if (seen?.recovery_point === repo.FINISHED) return { kind: 'replay', status: seen.response_status!, body: seen.response_body };

    return this.db.transaction(async (trx) => {
      const row = await repo.lockKey(trx, request.accountId, key, this.options.leaseMs);
      // Deleted between the statements by retention: only possible for a key older than the
      // retention period, which the client should not be retrying.
      if (!row) throw new AppError('idempotency_in_flight', 'The key is being recycled; retry.', retryAfter());
      if (row.recovery_point === repo.FINISHED) return { kind: 'replay', status: row.response_status!, body: row.response_body };
      if (row.lease_live) {
        throw new AppError('idempotency_in_flight', 'A request with this Idempotency-Key is still running. Retry with the same key.', retryAfter());
      }
      // Unfinished and unheld: the earlier attempt failed or its process died. Resume it.
      await repo.takeLease(trx, row.id, token);
      this.options.log.info({ key: row.id, recoveryPoint: row.recovery_point, attempts: row.attempts + 1 }, 'resuming idempotent request');
      return { kind: 'run', row };
    });
  }

  /** Resumes an abandoned key (the completer's entry point); the lease is already taken. */
  async resume(row: repo.KeyRow, token: string): Promise<void> {
    const operation = this.operations.get(row.operation);
    if (!operation) throw new Error(`no operation registered as ${row.operation}`);
    try {
      await this.runPhases(operation, { ...row, request_id: null }, row.request_params as never, token);
    } catch (err) {
      if (!isFinalError(err)) throw err;
    }
  }

  private async runPhases<P, R>(operation: IdempotentOperation<P, R>, row: repo.KeyRow, params: P, token: string): Promise<StoredResponse<R>> {
    try {
      return await runFrom(operation, row.recovery_point, {
        accountId: row.account_id,
        params,
        resourceId: row.resource_id ?? undefined,
        requestId: row.request_id,
        idempotencyKey: row.key,
        atomic: (work) => this.atomic<R>(row.id, token, work),
      });
    } catch (err) {
      if (err instanceof LeaseLostError) {
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

  private async atomic<R>(keyId: number, token: string, work: (trx: Transaction) => Promise<PhaseOutcome<R>>): Promise<PhaseOutcome<R>> {
    try {
      return await this.db.transaction(async (trx) => {
        const outcome = await work(trx);
        // The lease is checked by the same UPDATE that records the outcome: if another attempt
        // took the key over meanwhile, this phase's changes roll back with it.
        const held =
          'response' in outcome
            ? await repo.recordResponse(trx, keyId, token, outcome.response.status, outcome.response.body)
            : await repo.recordPoint(trx, keyId, token, outcome.next, outcome.resourceId);
        if (!held) throw new LeaseLostError();
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
    await repo.recordResponse(this.db, keyId, token, err.status, { code: err.code, detail: err.message });
  }

  /** `Idempotency-Key` is optional here and absent: the same phases, each in its own transaction. */
  private async runUnkeyed<P, R>(operation: IdempotentOperation<P, R>, request: IdempotentRequest<P>): Promise<IdempotentResult<R>> {
    const response = await runFrom(operation, 'started', {
      accountId: request.accountId,
      params: request.params,
      resourceId: undefined,
      requestId: request.requestId,
      idempotencyKey: null,
      atomic: (work) => this.db.transaction(work),
    });
    return { ...response, replayed: false };
  }
}

/** Runs an operation's phases from `point` until one ends with the response. */
async function runFrom<P, R>(operation: IdempotentOperation<P, R>, point: string, context: PhaseContext<P, R>): Promise<StoredResponse<R>> {
  let ctx = context;
  for (;;) {
    const phase = operation.phases[point];
    if (!phase) throw new Error(`${operation.name} has no phase ${point}`);
    const outcome = await phase(ctx);
    if ('response' in outcome) return outcome.response;
    point = outcome.next;
    ctx = { ...ctx, resourceId: outcome.resourceId ?? ctx.resourceId };
  }
}

/** Money-moving requests need a key (the spec requires it too; this holds whatever the entry point). */
export function requireKey(key: string | undefined): void {
  if (key === undefined) throw new AppError('idempotency_key_required', 'Send an Idempotency-Key header (e.g. a UUID) so the request is safe to retry.');
}

function retryAfter() {
  return { headers: { 'Retry-After': String(IN_FLIGHT_RETRY_AFTER_S) } };
}
