/**
 * The adapter to the card processor (`PROCESSOR_URL`), over either protocol of spec/processor.proto:
 * gRPC on HTTP/2 (`PROCESSOR_PROTOCOL=grpc`) or the Connect protocol's JSON on HTTP/1.1 with
 * kept-alive connections (`http`). Every call carries an idempotency key that Remit derives from
 * its own record (the payment or refund id), so the same logical operation sends the same key on
 * every retry — from this adapter, from a client's retry of the API request, or from the background
 * completer after a crash — and the processor applies it at most once.
 *
 * Resilience, outermost first (cockatiel), the same whichever the protocol:
 * - retry: transient failures only (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, DATA_LOSS,
 *   RESOURCE_EXHAUSTED, ABORTED, a connection refused or dropped, an answer cut off), with
 *   exponential backoff and decorrelated jitter. A refusal (INVALID_ARGUMENT, NOT_FOUND,
 *   FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE, …) is the processor's decision and final.
 * - circuit breaker: after `breakerThreshold` consecutive transient failures, calls fail fast for
 *   `breakerHalfOpenMs`, then one trial call decides whether it closes. While open, the API answers
 *   503 `processor_unavailable` with a Retry-After of the time left, instead of piling up timeouts.
 * - timeout: each attempt is aborted after `timeoutMs`, which is also sent as the call's deadline
 *   (`grpc-timeout`, or `connect-timeout-ms`), so the processor stops working on it when the
 *   caller has stopped waiting.
 *
 * The messages are spec/processor.proto's, generated into generated/processor/. The callers see
 * plain values whose names come from it (`'captured'`, `'charge_already_captured'`); a refusal
 * without a `Refusal` detail, or with a code the contract does not list, is a broken contract,
 * thrown as ProcessorContractError rather than passed on as a decision the caller would have to
 * guess the meaning of.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Client, type Transport } from '@connectrpc/connect';
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import {
  ChargeStatus,
  DeclineCode,
  ProcessorService,
  RefusalCode,
  RefusalSchema,
  type Charge,
  type CreateChargeRequestSchema,
  type Refund,
} from '../../generated/processor/processor_pb.js';
import { GRPC_KEEPALIVE_DEFAULT_MS, PROCESSOR_BACKOFF_MAX_MS, type ProcessorProtocol } from '../platform/config.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { requestReportPage, type ReportAttempt, type ReportQuery } from './report.js';
import { secondsSince, type CircuitStateName, type Metrics, type ProcessorAttemptOutcome, type ProcessorCall, type ProcessorCallOutcome } from '../platform/metrics.js';

export interface ProcessorOptions {
  readonly url: string;
  /** `http` unless told otherwise. */
  readonly protocol?: ProcessorProtocol;
  readonly timeoutMs: number;
  /** Retries after the first attempt, for transient failures only. */
  readonly maxRetries: number;
  readonly breakerThreshold: number;
  readonly breakerHalfOpenMs: number;
  /** First backoff delay; doubles per retry with jitter, capped at `backoffMaxMs`. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** gRPC: HTTP/2 connections (channels) the calls are spread over, round robin; 1 unless told otherwise. */
  readonly grpcChannels?: number;
  /**
   * gRPC: the keep-alive PING interval of a channel with calls in flight (gRPC Core's
   * GRPC_ARG_KEEPALIVE_TIME_MS). Idle channels are not pinged: a server that enforces a minimum
   * interval (gRPC's default is 5 minutes) answers pings it finds too frequent with GOAWAY
   * `too_many_pings`. A channel unused for longer is checked with one PING before its next call.
   */
  readonly grpcKeepaliveMs?: number;
  readonly log?: Logger;
  /** Counts calls and attempts, times calls, and reports the breaker's state (`remit_processor_*`). */
  readonly metrics?: Metrics;
}

/** The charge metadata key naming the Remit account a charge belongs to (the report carries it back). */
export const ACCOUNT_METADATA_KEY = 'remit_account';

/** A proto enum's value as the callers name it: `CHARGE_STATUS_CAPTURED` is `'captured'`. */
type Named<E extends Record<string, string | number>> = Lowercase<Exclude<Extract<keyof E, string>, 'UNSPECIFIED'>>;

export type ProcessorChargeStatus = Named<typeof ChargeStatus>;
export type ProcessorRefusalCode = Named<typeof RefusalCode>;
export type ProcessorDeclineCode = Named<typeof DeclineCode>;

/** A charge as the processor answered it, in the callers' terms. */
export interface ProcessorCharge {
  readonly id: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: ProcessorChargeStatus;
  readonly amount_captured: number;
  readonly amount_refunded: number;
  /** Why a declined charge was declined; `null` otherwise. */
  readonly decline_code: ProcessorDeclineCode | null;
}

export interface ProcessorRefund {
  readonly id: string;
  readonly charge: string;
  readonly amount: number;
}

export interface ProcessorChargeInput {
  readonly amount: number;
  readonly currency: string;
  readonly capture: boolean;
  readonly reference?: string;
  readonly statement_descriptor?: string;
  /** Key-value pairs kept with the charge (the payment's metadata). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ProcessorRefundInput {
  readonly charge: string;
  readonly amount: number;
}

/** A refusal: the processor's decision, which retrying will not change. */
export interface ProcessorRefusal {
  readonly code: ProcessorRefusalCode;
  readonly message: string;
}

/** The processor's considered answer: success, or a refusal. */
export type ProcessorResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: ProcessorRefusal };

/** An answer outside spec/processor.proto: a bug on one side of the protocol, neither a refusal nor worth a retry. */
export class ProcessorContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcessorContractError';
  }
}

/**
 * The `default` of a switch over refusal codes: it compiles only when every code has its case, so
 * a code added to the contract makes each caller decide what it means.
 */
export function unhandledRefusal(code: never): never {
  throw new ProcessorContractError(`no case for processor refusal ${String(code)}`);
}

function named<E extends Record<string, string | number>>(enumObject: E, value: number, what: string): Named<E> {
  const name = (enumObject as Record<number, string | undefined>)[value];
  if (name === undefined || name === 'UNSPECIFIED') throw new ProcessorContractError(`processor answered a ${what} outside its contract: ${value}`);
  return name.toLowerCase() as Named<E>;
}

/** An amount the API can hold: the processor's int64 within JavaScript's safe integers. */
function amount(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProcessorContractError(`processor answered ${what} ${value}, outside the amounts the API holds`);
  return Number(value);
}

function toCharge(charge: Charge | undefined): ProcessorCharge {
  if (!charge) throw new ProcessorContractError('processor answered without the charge');
  return {
    id: charge.id,
    amount: amount(charge.amount, 'a charge amount'),
    currency: charge.currency,
    status: named(ChargeStatus, charge.status, 'charge status'),
    amount_captured: amount(charge.amountCaptured, 'an amount captured'),
    amount_refunded: amount(charge.amountRefunded, 'an amount refunded'),
    decline_code: charge.declineCode === DeclineCode.UNSPECIFIED ? null : named(DeclineCode, charge.declineCode, 'decline code'),
  };
}

function toRefund(refund: Refund | undefined): ProcessorRefund {
  if (!refund) throw new ProcessorContractError('processor answered without the refund');
  return { id: refund.id, charge: refund.chargeId, amount: amount(refund.amount, 'a refund amount') };
}

/** The codes that are a decision: the call reached the processor, which refused it. */
const REFUSAL_STATUSES: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.Unauthenticated,
]);

/** The codes worth a retry with the same key: the operation may or may not have been applied. */
const TRANSIENT_STATUSES: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
  Code.ResourceExhausted,
  Code.Aborted,
]);

function toRefusal(err: ConnectError): ProcessorRefusal {
  const [detail] = err.findDetails(RefusalSchema);
  if (!detail) throw new ProcessorContractError(`processor answered ${Code[err.code]} without a Refusal detail: ${err.rawMessage.slice(0, 200)}`);
  return { code: named(RefusalCode, detail.code, 'refusal code'), message: err.rawMessage };
}

/** The processor could not give an answer: every attempt failed transiently, or the breaker is open. */
export class ProcessorUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterS: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProcessorUnavailableError';
  }
}

/** The connection itself failed: refused, reset, dropped before or while the answer came. */
function isConnectionFailure(err: ConnectError): boolean {
  const cause = err.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' && /^(E[A-Z]+|ERR_HTTP2_[A-Z_]+|ERR_STREAM_PREMATURE_CLOSE)$/.test(cause.code);
}

/** What one attempt ended with, for `remit_processor_attempts_total`. */
function attemptOutcome(err: unknown): ProcessorAttemptOutcome {
  if (err instanceof TaskCancelledError) return 'timeout';
  if (err instanceof ConnectError) {
    if (err.code === Code.DeadlineExceeded || err.code === Code.Canceled) return 'timeout';
    if (isConnectionFailure(err)) return 'connection';
    if (err.code === Code.Unavailable) return 'unavailable';
    if (err.code === Code.ResourceExhausted) return 'throttled';
    if (TRANSIENT_STATUSES.has(err.code)) return 'internal';
  }
  return 'invalid';
}

/** What a whole call ended with, retries included, for `remit_processor_calls_total`. */
function callOutcome(err: unknown): ProcessorCallOutcome {
  if (err instanceof BrokenCircuitError) return 'circuit_open';
  return isTransient(err) ? 'unavailable' : 'contract_error';
}

const CIRCUIT_STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

/** A report request that got no usable answer (report.ts): a failure the breaker counts. */
class ReportUnavailableError extends Error {}

function isTransient(err: unknown): boolean {
  if (err instanceof TaskCancelledError || err instanceof ReportUnavailableError) return true;
  // CANCELED is the attempt's own timeout aborting the call.
  return err instanceof ConnectError && (TRANSIENT_STATUSES.has(err.code) || err.code === Code.Canceled || isConnectionFailure(err));
}

export interface ProcessorClient {
  createCharge(key: string, input: ProcessorChargeInput): Promise<ProcessorResult<ProcessorCharge>>;
  captureCharge(key: string, chargeId: string): Promise<ProcessorResult<ProcessorCharge>>;
  voidCharge(key: string, chargeId: string): Promise<ProcessorResult<ProcessorCharge>>;
  createRefund(key: string, input: ProcessorRefundInput): Promise<ProcessorResult<ProcessorRefund>>;
  /**
   * One page of the processor's report, in one request of at most `timeoutMs` (report.ts), through
   * the same circuit breaker as every other call: its failures count towards opening it, and while
   * it is open no request is sent. Retrying, and waiting out a throttle, is the caller's to decide.
   */
  reportPage(query: ReportQuery, timeoutMs: number): Promise<ReportAttempt | { readonly outcome: 'circuit_open'; readonly retryAfterMs: number }>;
  /** `up`, or `degraded` while the breaker is open or testing (for `/ready`). */
  health(): 'up' | 'degraded';
  /** Closes the connections (gRPC channels and kept-alive HTTP/1.1 sockets). */
  close(): void;
}

/** The transports a client spreads its calls over: one for HTTP/1.1 (its agent pools sockets), N gRPC channels. */
function createTransports(options: ProcessorOptions, origin: URL): { transports: Transport[]; close: () => void } {
  const baseUrl = origin.href.replace(/\/+$/, '');
  if ((options.protocol ?? 'http') === 'http') {
    // Connections are kept alive and reused across calls: one TCP (and TLS) handshake per
    // connection, not per call.
    const agent = origin.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    // A field the processor adds to its answers is skipped, as the binary encoding skips it, not refused.
    const transport = createConnectTransport({ baseUrl, httpVersion: '1.1', useBinaryFormat: false, jsonOptions: { ignoreUnknownFields: true }, nodeOptions: { agent } });
    return { transports: [transport], close: () => agent.destroy() };
  }
  const channels = Math.max(1, options.grpcChannels ?? 1);
  // One session manager per channel: its own HTTP/2 connection, reopened when lost, pinged while
  // calls are in flight and before reuse after an idle spell.
  const managers = Array.from(
    { length: channels },
    () => new Http2SessionManager(baseUrl, { pingIntervalMs: options.grpcKeepaliveMs ?? GRPC_KEEPALIVE_DEFAULT_MS, pingIdleConnection: false, pingTimeoutMs: 20_000 }),
  );
  const transports = managers.map((sessionManager) => createGrpcTransport({ baseUrl, sessionManager }));
  return { transports, close: () => managers.forEach((m) => m.abort()) };
}

type Method = 'createCharge' | 'captureCharge' | 'voidCharge' | 'createRefund';

export function createProcessorClient(options: ProcessorOptions): ProcessorClient {
  const origin = new URL(options.url);
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new Error(`processor URL must be http or https, not ${origin.protocol}`);
  const { transports, close } = createTransports(options, origin);
  const clients: Client<typeof ProcessorService>[] = transports.map((t) => createClient(ProcessorService, t));
  let next = 0;
  const pick = () => clients[next++ % clients.length]!;

  const breaker: CircuitBreakerPolicy = circuitBreaker(handleWhen(isTransient), {
    halfOpenAfter: options.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
    options.log?.warn({ halfOpenAfterMs: options.breakerHalfOpenMs }, 'processor circuit opened');
  });
  breaker.onReset(() => options.log?.info('processor circuit closed'));
  const metrics = options.metrics;
  metrics?.watchCircuit(() => CIRCUIT_STATE_NAMES[breaker.state]);
  const policy = wrap(
    retry(handleWhen(isTransient), {
      maxAttempts: options.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffInitialMs ?? 100, maxDelay: options.backoffMaxMs ?? PROCESSOR_BACKOFF_MAX_MS }),
    }),
    breaker,
    timeout(options.timeoutMs, TimeoutStrategy.Aggressive),
  );

  const retryAfterS = () => {
    if (breaker.state === CircuitState.Open) {
      return Math.max(1, Math.ceil((openedAt + options.breakerHalfOpenMs - Date.now()) / 1000));
    }
    return 1;
  };

  /** One attempt: a call and its answer read as the protocol says, counted by how it ended. */
  async function attempt<T>(kind: ProcessorCall, send: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, number: number): Promise<ProcessorResult<T>> {
    let outcome: ProcessorAttemptOutcome = 'invalid';
    try {
      const value = await send(signal);
      outcome = 'ok';
      return { ok: true, value };
    } catch (err) {
      if (err instanceof ConnectError && REFUSAL_STATUSES.has(err.code)) {
        const refusal = toRefusal(err);
        outcome = 'refused';
        return { ok: false, refusal };
      }
      outcome = attemptOutcome(err);
      throw err;
    } finally {
      metrics?.processorAttempts.inc({ call: kind, attempt: String(number), outcome });
    }
  }

  async function call<M extends Method, T>(
    kind: ProcessorCall,
    method: M,
    request: Parameters<Client<typeof ProcessorService>[M]>[0],
    read: (answer: Awaited<ReturnType<Client<typeof ProcessorService>[M]>>) => T,
  ): Promise<ProcessorResult<T>> {
    const started = performance.now();
    let outcome: ProcessorCallOutcome = 'contract_error';
    try {
      // Each attempt goes to the next channel; the deadline is the attempt's timeout.
      const send = async (signal: AbortSignal): Promise<T> => {
        const fn = pick()[method] as (req: typeof request, opts: { signal: AbortSignal; timeoutMs: number }) => ReturnType<Client<typeof ProcessorService>[M]>;
        return read(await fn(request, { signal, timeoutMs: options.timeoutMs }));
      };
      // A signal per call: without one, every concurrent call hangs a listener on cockatiel's
      // single shared signal, and Node warns past ten.
      const result = await policy.execute(({ signal, attempt: retries }) => attempt<T>(kind, send, signal, retries + 1), new AbortController().signal);
      outcome = result.ok ? 'succeeded' : 'refused';
      return result;
    } catch (err) {
      outcome = callOutcome(err);
      if (err instanceof BrokenCircuitError) {
        throw new ProcessorUnavailableError('The card processor is failing; calls are paused.', retryAfterS(), { cause: err });
      }
      if (isTransient(err)) {
        options.log?.warn({ err, call: kind }, 'processor call failed after retries');
        throw new ProcessorUnavailableError('The card processor did not answer.', retryAfterS(), { cause: err });
      }
      throw err;
    } finally {
      if (metrics) {
        metrics.processorCalls.inc({ call: kind, outcome });
        metrics.processorDuration.observe({ call: kind }, secondsSince(started));
      }
    }
  }

  return {
    createCharge: (key, input) => {
      const request: MessageInitShape<typeof CreateChargeRequestSchema> = {
        idempotencyKey: key,
        amount: BigInt(input.amount),
        currency: input.currency,
        capture: input.capture,
        ...(input.reference === undefined ? {} : { reference: input.reference }),
        ...(input.statement_descriptor === undefined ? {} : { statementDescriptor: input.statement_descriptor }),
        ...(input.metadata === undefined ? {} : { metadata: { ...input.metadata } }),
      };
      return call('charge', 'createCharge', request, (a) => toCharge(a.charge));
    },
    captureCharge: (key, chargeId) => call('capture', 'captureCharge', { idempotencyKey: key, chargeId }, (a) => toCharge(a.charge)),
    voidCharge: (key, chargeId) => call('void', 'voidCharge', { idempotencyKey: key, chargeId }, (a) => toCharge(a.charge)),
    createRefund: (key, input) => call('refund', 'createRefund', { idempotencyKey: key, chargeId: input.charge, amount: BigInt(input.amount) }, (a) => toRefund(a.refund)),
    reportPage: async (query, timeoutMs) => {
      try {
        return await breaker.execute(async () => {
          const answer = await requestReportPage(options.url, query, timeoutMs);
          if (answer.outcome === 'failed') throw new ReportUnavailableError(answer.reason);
          return answer;
        });
      } catch (err) {
        if (err instanceof BrokenCircuitError) return { outcome: 'circuit_open', retryAfterMs: retryAfterS() * 1000 };
        if (err instanceof ReportUnavailableError) return { outcome: 'failed', reason: err.message };
        throw err;
      }
    },
    health: () => (breaker.state === CircuitState.Closed ? 'up' : 'degraded'),
    close,
  };
}

export function processorUnavailable(err: ProcessorUnavailableError): AppError {
  return new AppError('processor_unavailable', `${err.message} Retry with the same Idempotency-Key after the delay in Retry-After.`, {
    headers: { 'Retry-After': String(err.retryAfterS) },
    cause: err,
  });
}

/** Runs a processor call, turning "no answer" into the 503 the API promises. */
export async function callProcessor<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ProcessorUnavailableError) throw processorUnavailable(err);
    throw err;
  }
}
