/**
 * The simulator's handlers for spec/processor.proto: `ProcessorService` over the ledger, with the
 * faults of `FaultInjector`, and `SimulatorControlService` behind the control token. One set of
 * handlers: the server (server.ts) serves them over gRPC and over the Connect protocol alike, and
 * calls the report's handler itself for its JSON form, which it writes by hand (report.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Http2ServerRequest } from 'node:http2';
import { constants as http2 } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import { create, toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import canonicalize from 'canonicalize';
import { Code, ConnectError, createContextKey, type ConnectRouter, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  CaptureChargeRequestSchema,
  CreateChargeRequestSchema,
  CreateRefundRequestSchema,
  FailureCode,
  FailureSchema,
  OperationKind,
  ProcessorService,
  RefusalCode,
  RefusalSchema,
  SimulatorControlService,
  StreamOperationsResponseSchema,
  VoidChargeRequestSchema,
  type Charge,
  type Operation,
  type Refund,
  type StreamOperationsResponse,
} from '../../../generated/processor/processor_pb.js';
import type { Logger } from '../../platform/logger.js';
import { FaultSettingsError, type FaultDecision, type FaultInjector } from './faults.js';
import type { Ledger, LedgerRefusal, Outcome } from './ledger.js';
import { transactionPage } from './report.js';

/** The Node request under a call, to drop its stream or connection as a network fault would. */
export const rawRequestKey = createContextKey<IncomingMessage | Http2ServerRequest | undefined>(undefined, { description: 'the Node request' });

/** The status each refusal is sent with: spec/processor.proto names them beside the codes. */
const REFUSAL_STATUS: Record<RefusalCode, Code> = {
  [RefusalCode.UNSPECIFIED]: Code.Internal,
  [RefusalCode.INVALID_REQUEST]: Code.InvalidArgument,
  [RefusalCode.IDEMPOTENCY_KEY_REQUIRED]: Code.InvalidArgument,
  [RefusalCode.UNAUTHORIZED]: Code.Unauthenticated,
  [RefusalCode.CHARGE_NOT_FOUND]: Code.NotFound,
  [RefusalCode.CHARGE_ALREADY_CAPTURED]: Code.FailedPrecondition,
  [RefusalCode.CHARGE_VOIDED]: Code.FailedPrecondition,
  [RefusalCode.CHARGE_DECLINED]: Code.FailedPrecondition,
  [RefusalCode.CHARGE_NOT_CAPTURED]: Code.FailedPrecondition,
  [RefusalCode.IDEMPOTENCY_KEY_REUSED]: Code.AlreadyExists,
  [RefusalCode.AMOUNT_EXCEEDS_REFUNDABLE]: Code.OutOfRange,
};

/** A refusal as the protocol sends it: its status, and one `Refusal` detail naming the code. */
export function refusalError(refusal: LedgerRefusal): ConnectError {
  return new ConnectError(refusal.message, REFUSAL_STATUS[refusal.code], undefined, [{ desc: RefusalSchema, value: { code: refusal.code } }]);
}

function deadlinePassed(): ConnectError {
  return new ConnectError('The call ended (its deadline passed, or its caller left) before the processor answered.', Code.DeadlineExceeded);
}

function invalid(message: string): ConnectError {
  return refusalError({ code: RefusalCode.INVALID_REQUEST, message });
}

// ---------------------------------------------------------------------------------------------
// The rules spec/processor.proto states in its comments, which Protobuf's types cannot say.

const MAX_AMOUNT = BigInt(Number.MAX_SAFE_INTEGER);
const KEY = /^[\x21-\x7E]{1,255}$/;
const CURRENCY = /^[A-Za-z]{3}$/;
const METADATA_KEY = /^[A-Za-z0-9_.-]{1,40}$/;
const DESCRIPTOR = /^(?=.{5,22}$)[A-Za-z0-9 .,\-/&#@+]*[A-Za-z][A-Za-z0-9 .,\-/&#@+]*$/;

/** The idempotency key of a call that changes the books: present, and 1–255 visible ASCII characters. */
function checkKey(key: string): void {
  if (key === '') throw refusalError({ code: RefusalCode.IDEMPOTENCY_KEY_REQUIRED, message: 'Send an idempotency_key with every call that changes the books.' });
  if (!KEY.test(key)) throw invalid('idempotency_key must be 1 to 255 visible ASCII characters.');
}

function checkAmount(amount: bigint): void {
  if (amount < 1n || amount > MAX_AMOUNT) throw invalid(`amount must be a whole number from 1 to ${MAX_AMOUNT}.`);
}

function checkChargeId(id: string): void {
  if (id.length < 1 || id.length > 255) throw invalid('charge_id must be 1 to 255 characters.');
}

// ---------------------------------------------------------------------------------------------

export interface ServiceOptions {
  readonly ledger: Ledger;
  readonly faults: FaultInjector;
  /** SHA-256 of the control token, compared in constant time. */
  readonly controlTokenHash: Buffer;
  /** Resets the ledger and the faults (`Reset`). */
  readonly reset: () => void;
  /** Waits `ms`, or less when the simulator closes. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly log?: Logger;
}

const PAGE_SIZE_DEFAULT = 100;
const PAGE_SIZE_MAX = 1_000;

/** A cursor is the sequence number of the last operation seen; empty for the beginning. */
function parseCursor(cursor: string): number {
  if (cursor === '') return 0;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(cursor)) throw invalid('cursor is not one this processor gave.');
  return Number(cursor);
}

/** How a ListTransactions call ended, as `SimulatorStats.report_calls` records it. */
type ReportOutcome = 'ok' | 'throttled' | 'error' | 'invalid';

/** The handlers of both services, for the Connect router and for the server's own JSON route of the report. */
export interface Services {
  readonly processor: ServiceImpl<typeof ProcessorService>;
  readonly control: ServiceImpl<typeof SimulatorControlService>;
}

export function registerServices(router: ConnectRouter, services: Services): void {
  router.service(ProcessorService, services.processor);
  router.service(SimulatorControlService, services.control);
}

export function createServices(options: ServiceOptions): Services {
  const { ledger, faults, log } = options;

  /** Ends the call without an answer: the HTTP/2 stream is reset, or the HTTP/1.1 connection closed. */
  function drop(ctx: HandlerContext): void {
    const raw = ctx.values.get(rawRequestKey);
    if (raw && 'stream' in raw) raw.stream.close(http2.NGHTTP2_INTERNAL_ERROR);
    else raw?.socket.destroy();
  }

  /** Applies a fault to the call: an error thrown, or a call dropped or never answered. */
  async function inject(ctx: HandlerContext, kind: FaultDecision['kind'], point: 'before' | 'after'): Promise<never> {
    ledger.stats.faults![kind] += 1n;
    log?.debug({ fault: kind, point, method: ctx.method.name }, 'fault injected');
    if (kind === 'error') {
      const which = faults.nextError();
      throw which === 'unavailable'
        ? new ConnectError('The processor is temporarily unavailable.', Code.Unavailable, undefined, [{ desc: FailureSchema, value: { code: FailureCode.PROCESSOR_UNAVAILABLE } }])
        : new ConnectError('The processor failed to handle the request.', Code.Internal, undefined, [{ desc: FailureSchema, value: { code: FailureCode.PROCESSOR_ERROR } }]);
    }
    // Never answer: the caller's own deadline is what ends the wait, or the hang limit does. A
    // deadline that passed is answered as one; a hang that outlasts the limit is dropped.
    if (kind === 'timeout') {
      await options.sleep(faults.settings.hangMs, ctx.signal);
      if (ctx.signal.aborted) throw deadlinePassed();
    }
    drop(ctx);
    // Whatever the handler sends now goes nowhere; the caller has already lost the call.
    throw new ConnectError('The call was dropped.', Code.Aborted);
  }

  /**
   * Counts the call, waits the latency, and rolls its fault: thrown now (`before`) or returned for
   * later. A call whose deadline passed (or whose caller left) during the latency is not worked on,
   * as a processor that honours deadlines would not.
   */
  async function gate(ctx: HandlerContext): Promise<FaultDecision | null> {
    ledger.stats.requests += 1n;
    await options.sleep(faults.latency(), ctx.signal);
    if (ctx.signal.aborted) throw deadlinePassed();
    const decision = faults.decide();
    if (decision?.point === 'before') return inject(ctx, decision.kind, 'before');
    return decision;
  }

  /**
   * A call that changes the books, at most once per (kind, key). The fingerprint is the request
   * without its key in Protobuf's JSON, canonicalized, so a retry that differs only in encoding
   * (JSON or binary, field or map entry order) is the same request.
   */
  async function mutation<D extends DescMessage & { readonly typeName: string }, T extends Charge | Refund>(
    ctx: HandlerContext,
    kind: OperationKind,
    schema: D,
    request: MessageShape<D> & { idempotencyKey: string },
    validate: () => void,
    apply: () => Outcome<T>,
  ): Promise<T> {
    const after = await gate(ctx);
    let result: { outcome: Outcome<T>; replayed: boolean } | undefined;
    let refusal: ConnectError | undefined;
    try {
      checkKey(request.idempotencyKey);
      validate();
      // RFC 8785 over the JSON form: a map's entries in another order are still the same request.
      const fingerprint = canonicalize(toJson(schema, create(schema, { ...request, idempotencyKey: '' } as never))) ?? '';
      result = ledger.execute(kind, request.idempotencyKey, fingerprint, apply);
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      refusal = err;
    }
    if (after) await inject(ctx, after.kind, 'after');
    if (refusal) throw refusal;
    const { outcome, replayed } = result!;
    if (replayed) ctx.responseHeader.set('idempotent-replayed', 'true');
    if (!outcome.ok) throw refusalError(outcome.refusal);
    return outcome.value;
  }

  /** A read: faulted like any call, and answered from the books. */
  async function read<T>(ctx: HandlerContext, answer: () => T): Promise<T> {
    const after = await gate(ctx);
    let value: T | undefined;
    let refusal: unknown;
    try {
      value = answer();
    } catch (err) {
      refusal = err;
    }
    if (after) await inject(ctx, after.kind, 'after');
    if (refusal !== undefined) throw refusal;
    return value as T;
  }

  const unwrap = <T>(outcome: Outcome<T>): T => {
    if (!outcome.ok) throw refusalError(outcome.refusal);
    return outcome.value;
  };

  const processor: ServiceImpl<typeof ProcessorService> = {
    async createCharge(req, ctx) {
      const charge = await mutation(ctx, OperationKind.CHARGE, CreateChargeRequestSchema, req, () => {
        checkAmount(req.amount);
        if (!CURRENCY.test(req.currency)) throw invalid('currency must be three letters.');
        if (req.reference !== undefined && req.reference.length > 255) throw invalid('reference must be at most 255 characters.');
        if (req.statementDescriptor !== undefined && !DESCRIPTOR.test(req.statementDescriptor)) {
          throw invalid('statement_descriptor must be 5 to 22 characters of A-Z a-z 0-9 space . , - / & # @ + with at least one letter.');
        }
        const entries = Object.entries(req.metadata);
        if (entries.length > 50) throw invalid('metadata must have at most 50 keys.');
        for (const [key, value] of entries) {
          if (!METADATA_KEY.test(key)) throw invalid(`metadata key ${JSON.stringify(key.slice(0, 50))} must be 1 to 40 characters of A-Z a-z 0-9 _ . -.`);
          if (value.length > 500) throw invalid(`metadata value of ${JSON.stringify(key)} must be at most 500 characters.`);
        }
      }, () => ledger.createCharge(req));
      return { charge };
    },
    async captureCharge(req, ctx) {
      const charge = await mutation(ctx, OperationKind.CAPTURE, CaptureChargeRequestSchema, req, () => checkChargeId(req.chargeId), () => ledger.capture(req.chargeId, req.idempotencyKey));
      return { charge };
    },
    async voidCharge(req, ctx) {
      const charge = await mutation(ctx, OperationKind.VOID, VoidChargeRequestSchema, req, () => checkChargeId(req.chargeId), () => ledger.void(req.chargeId, req.idempotencyKey));
      return { charge };
    },
    async createRefund(req, ctx) {
      const refund = await mutation(ctx, OperationKind.REFUND, CreateRefundRequestSchema, req, () => {
        checkChargeId(req.chargeId);
        checkAmount(req.amount);
      }, () => ledger.refund(req));
      return { refund };
    },
    async getCharge(req, ctx) {
      return read(ctx, () => {
        checkChargeId(req.chargeId);
        return { charge: unwrap(ledger.getCharge(req.chargeId)) };
      });
    },
    async listOperations(req, ctx) {
      return read(ctx, () => {
        const after = parseCursor(req.cursor);
        const size = req.pageSize === 0 ? PAGE_SIZE_DEFAULT : req.pageSize;
        if (size < 1 || size > PAGE_SIZE_MAX) throw invalid(`page_size must be 1 to ${PAGE_SIZE_MAX} (or 0 for ${PAGE_SIZE_DEFAULT}).`);
        const operations = ledger.operationsAfter(after, size);
        return { operations, nextCursor: String(after + operations.length) };
      });
    },
    async *streamOperations(req, ctx) {
      let after = await read(ctx, () => parseCursor(req.cursor));
      const send = (op: Operation): StreamOperationsResponse => create(StreamOperationsResponseSchema, { operation: op, cursor: String(op.sequence) });
      for (;;) {
        const page = ledger.operationsAfter(after, PAGE_SIZE_MAX);
        for (const op of page) {
          after = Number(op.sequence);
          yield send(op);
        }
        if (page.length === PAGE_SIZE_MAX) continue;
        if (!req.follow) return;
        // Caught up: wait for the next operation, or for the caller to go.
        if (ctx.signal.aborted) return;
        await new Promise<void>((resolve) => {
          const stop = ledger.follow(done);
          ctx.signal.addEventListener('abort', done, { once: true });
          function done(): void {
            stop();
            ctx.signal.removeEventListener('abort', done);
            resolve();
          }
        });
        if (ctx.signal.aborted) return;
      }
    },
    async listTransactions(req, ctx) {
      const at = BigInt(Date.now());
      let outcome: ReportOutcome = 'error';
      let transactions = 0;
      try {
        // The rate limit answers first, without the latency or a fault: it is the front door's.
        if (faults.reportThrottled()) {
          ledger.stats.requests += 1n;
          outcome = 'throttled';
          const retryAfter = faults.settings.reportRetryAfterS;
          log?.debug({ method: ctx.method.name, retryAfter }, 'report call throttled');
          throw new ConnectError(`The report is rate limited: retry after ${retryAfter} s.`, Code.ResourceExhausted, { 'retry-after': String(retryAfter) });
        }
        const page = await read(ctx, () => unwrap(transactionPage(ledger, req)));
        outcome = 'ok';
        transactions = page.transactions.length;
        return page;
      } catch (err) {
        if (outcome !== 'throttled') outcome = err instanceof ConnectError && err.code === Code.InvalidArgument ? 'invalid' : 'error';
        throw err;
      } finally {
        ledger.recordReportCall({ cursor: req.cursor, fromUnixMs: req.fromUnixMs, toUnixMs: req.toUnixMs, outcome, atUnixMs: at, transactions });
      }
    },
  };

  // The control API reads every charge and can fail or wipe the processor: it takes a bearer
  // token, compared in constant time (hashes of equal length).
  function requireToken(ctx: HandlerContext): void {
    const presented = /^Bearer (\S+)$/.exec(ctx.requestHeader.get('authorization') ?? '')?.[1] ?? '';
    if (timingSafeEqual(createHash('sha256').update(presented).digest(), options.controlTokenHash)) return;
    ctx.responseHeader.set('www-authenticate', 'Bearer realm="processor-control"');
    throw refusalError({ code: RefusalCode.UNAUTHORIZED, message: 'The control API needs `authorization: Bearer <control token>`.' });
  }

  const control: ServiceImpl<typeof SimulatorControlService> = {
    getLedger(_req, ctx) {
      requireToken(ctx);
      return ledger.snapshot();
    },
    getFaults(_req, ctx) {
      requireToken(ctx);
      return { settings: faults.settings };
    },
    updateFaults(req, ctx) {
      requireToken(ctx);
      try {
        const { $typeName: _, ...patch } = req;
        return { settings: faults.update(patch) };
      } catch (err) {
        // Protobuf's types cannot say that a rate is at most 1, or that the three add up to at most 1; this can.
        if (err instanceof FaultSettingsError) throw invalid(err.message);
        throw err;
      }
    },
    reset(_req, ctx) {
      requireToken(ctx);
      options.reset();
      return {};
    },
  };

  return { processor, control };
}
