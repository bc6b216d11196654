/**
 * The simulated processor's books: charges, refunds, one operation per applied side effect, and
 * the idempotency records that make a retried call a replay rather than a second charge.
 */
import { clone, create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ChargeSchema,
  ChargeStatus,
  DeclineCode,
  GetLedgerResponseSchema,
  OperationKind,
  OperationSchema,
  RefundSchema,
  RefundStatus,
  RefusalCode,
  ReportCallSchema,
  SimulatorStatsSchema,
  TransactionSchema,
  TransactionType,
  type Charge,
  type CreateChargeRequest,
  type CreateRefundRequest,
  type GetLedgerResponse,
  type Operation,
  type Refund,
  type ReportCall,
  type SimulatorStats,
  type Transaction,
} from '../../../generated/processor/processor_pb.js';
import { randomBase62 } from '../../platform/ids.js';

// The books hold exactly what the protocol answers with: spec/processor.proto is their one definition.
export type { Charge, GetLedgerResponse as LedgerSnapshot, Operation, Refund, ReportCall, SimulatorStats, Transaction } from '../../../generated/processor/processor_pb.js';

/** A refusal as the ledger decides it; the service sends it as an error with a `Refusal` detail. */
export interface LedgerRefusal {
  readonly code: RefusalCode;
  readonly message: string;
}

/** An answer the processor gives: what is stored under an idempotency key and replayed. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: LedgerRefusal };

const ID_LENGTH = 20;

export function refused(code: RefusalCode, message: string): { ok: false; refusal: LedgerRefusal } {
  return { ok: false, refusal: { code, message } };
}

/**
 * The test-card rule: an amount whose last three digits are 402 (402, 1402, 25402, …) is declined
 * with `card_declined`; every other amount is approved. It lets a caller provoke a decline with an
 * ordinary request and no special card data.
 */
export function isDeclinedAmount(amount: bigint): boolean {
  return amount % 1000n === 402n;
}

// Capture and void both need an authorized charge; from any other state they fail the same way.
const BLOCKED_FROM: Partial<Record<ChargeStatus, LedgerRefusal>> = {
  [ChargeStatus.CAPTURED]: { code: RefusalCode.CHARGE_ALREADY_CAPTURED, message: 'The charge has already been captured.' },
  [ChargeStatus.VOIDED]: { code: RefusalCode.CHARGE_VOIDED, message: 'The charge has been voided.' },
  [ChargeStatus.DECLINED]: { code: RefusalCode.CHARGE_DECLINED, message: 'The charge was declined.' },
};

function emptyStats(): SimulatorStats {
  return create(SimulatorStatsSchema, { faults: {} });
}

interface IdempotencyRecord {
  fingerprint: string;
  outcome: Outcome<Charge | Refund>;
}

/** Something waiting for the next operation to be applied (a followed `StreamOperations`). */
type Follower = () => void;

/** An operation as applied, with what the report needs that the charge no longer says later. */
interface Applied {
  readonly operation: Operation;
  /** The charge it created or moved; for a refund, the refunded charge. */
  readonly chargeId: string;
  /** The charge's status right after the operation. */
  readonly chargeStatus: ChargeStatus;
}

const TRANSACTION_TYPE: Record<OperationKind, TransactionType> = {
  [OperationKind.UNSPECIFIED]: TransactionType.UNSPECIFIED,
  [OperationKind.CHARGE]: TransactionType.CHARGE,
  [OperationKind.CAPTURE]: TransactionType.CAPTURE,
  [OperationKind.VOID]: TransactionType.VOID,
  [OperationKind.REFUND]: TransactionType.REFUND,
};

/** A page of the report, before it is encoded. */
export interface TransactionPage {
  readonly transactions: Transaction[];
  /** The sequence number of the last of `transactions`; 0 when there are none. */
  readonly last: number;
  /** Whether the window holds more after the last of `transactions`. */
  readonly hasMore: boolean;
}

export class Ledger {
  #charges = new Map<string, Charge>();
  #refunds = new Map<string, Refund>();
  #applied: Applied[] = [];
  #idempotency = new Map<string, IdempotencyRecord>();
  #followers = new Set<Follower>();
  stats: SimulatorStats = emptyStats();

  /**
   * Runs `apply` at most once per (kind, key). The same request again gets the stored outcome;
   * a different request under the same key is refused. Everything here is synchronous, so two
   * concurrent calls with one key cannot both reach `apply`.
   */
  execute<T extends Charge | Refund>(kind: OperationKind, key: string, fingerprint: string, apply: () => Outcome<T>): { outcome: Outcome<T>; replayed: boolean } {
    const slot = `${kind}:${key}`;
    const prior = this.#idempotency.get(slot);
    if (prior) {
      if (prior.fingerprint !== fingerprint) {
        return { outcome: refused(RefusalCode.IDEMPOTENCY_KEY_REUSED, 'This idempotency key was already used with a different request.'), replayed: false };
      }
      this.stats.replays += 1n;
      return { outcome: copyOutcome(prior.outcome) as Outcome<T>, replayed: true };
    }
    const outcome = apply();
    this.#idempotency.set(slot, { fingerprint, outcome: copyOutcome(outcome) });
    return { outcome, replayed: false };
  }

  createCharge(input: CreateChargeRequest): Outcome<Charge> {
    const declined = isDeclinedAmount(input.amount);
    const status = declined ? ChargeStatus.DECLINED : input.capture ? ChargeStatus.CAPTURED : ChargeStatus.AUTHORIZED;
    const charge = create(ChargeSchema, {
      id: `ch_${randomBase62(ID_LENGTH)}`,
      amount: input.amount,
      currency: input.currency,
      status,
      amountCaptured: status === ChargeStatus.CAPTURED ? input.amount : 0n,
      amountRefunded: 0n,
      declineCode: declined ? DeclineCode.CARD_DECLINED : DeclineCode.UNSPECIFIED,
      ...(input.reference === undefined ? {} : { reference: input.reference }),
      idempotencyKey: input.idempotencyKey,
      createdUnixMs: BigInt(Date.now()),
      metadata: { ...input.metadata },
    });
    this.#charges.set(charge.id, charge);
    this.#record(OperationKind.CHARGE, input.idempotencyKey, charge.id, declined ? 0n : input.amount, charge);
    return { ok: true, value: clone(ChargeSchema, charge) };
  }

  capture(chargeId: string, key: string): Outcome<Charge> {
    return this.#settle(chargeId, key, OperationKind.CAPTURE);
  }

  void(chargeId: string, key: string): Outcome<Charge> {
    return this.#settle(chargeId, key, OperationKind.VOID);
  }

  refund(input: CreateRefundRequest): Outcome<Refund> {
    const charge = this.#charges.get(input.chargeId);
    if (!charge) return chargeNotFound(input.chargeId);
    if (charge.status !== ChargeStatus.CAPTURED) {
      return refused(RefusalCode.CHARGE_NOT_CAPTURED, `Only a captured charge can be refunded; this one is ${ChargeStatus[charge.status].toLowerCase()}.`);
    }
    const refundable = charge.amountCaptured - charge.amountRefunded;
    if (input.amount > refundable) {
      return refused(RefusalCode.AMOUNT_EXCEEDS_REFUNDABLE, `The refund of ${input.amount} exceeds the ${refundable} still refundable on the charge.`);
    }
    const refund = create(RefundSchema, {
      id: `rf_${randomBase62(ID_LENGTH)}`,
      chargeId: charge.id,
      amount: input.amount,
      status: RefundStatus.SUCCEEDED,
      idempotencyKey: input.idempotencyKey,
      createdUnixMs: BigInt(Date.now()),
    });
    charge.amountRefunded += input.amount;
    this.#refunds.set(refund.id, refund);
    this.#record(OperationKind.REFUND, input.idempotencyKey, refund.id, input.amount, charge);
    return { ok: true, value: clone(RefundSchema, refund) };
  }

  getCharge(chargeId: string): Outcome<Charge> {
    const charge = this.#charges.get(chargeId);
    return charge ? { ok: true, value: clone(ChargeSchema, charge) } : chargeNotFound(chargeId);
  }

  /** Up to `limit` operations after the one numbered `after` (0 for the first). */
  operationsAfter(after: number, limit: number): Operation[] {
    // Sequence numbers are positions from 1, so the page is a slice.
    return this.#applied.slice(after, after + limit).map((a) => clone(OperationSchema, a.operation));
  }

  /** How many operations the ledger holds: the sequence number of the last one. */
  get lastSequence(): number {
    return this.#applied.length;
  }

  /**
   * Up to `limit` transactions applied at or after `fromUnixMs` and before `toUnixMs`, after the
   * operation numbered `after` (0 for the first), in the order applied.
   */
  transactions(fromUnixMs: bigint, toUnixMs: bigint, after: number, limit: number): TransactionPage {
    const transactions: Transaction[] = [];
    let last = 0;
    for (let i = after; i < this.#applied.length; i++) {
      const applied = this.#applied[i]!;
      const at = applied.operation.atUnixMs;
      if (at < fromUnixMs || at >= toUnixMs) continue;
      if (transactions.length === limit) return { transactions, last, hasMore: true };
      transactions.push(this.#transaction(applied));
      last = i + 1;
    }
    return { transactions, last, hasMore: false };
  }

  /** The transaction of the operation numbered `sequence`, if the ledger holds it. */
  transactionAt(sequence: number): Transaction | undefined {
    const applied = sequence >= 1 ? this.#applied[sequence - 1] : undefined;
    return applied && this.#transaction(applied);
  }

  /** Adds one ListTransactions call to `stats.reportCalls`. */
  recordReportCall(call: Omit<ReportCall, '$typeName' | '$unknown'>): void {
    this.stats.reportCalls.push(create(ReportCallSchema, call));
  }

  /** Calls `follower` after each operation is applied, until the returned function is called. */
  follow(follower: Follower): () => void {
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }

  snapshot(): GetLedgerResponse {
    return clone(
      GetLedgerResponseSchema,
      create(GetLedgerResponseSchema, {
        charges: [...this.#charges.values()],
        refunds: [...this.#refunds.values()],
        operations: this.#applied.map((a) => a.operation),
        stats: this.stats,
      }),
    );
  }

  reset(): void {
    this.#charges.clear();
    this.#refunds.clear();
    this.#applied = [];
    this.#idempotency.clear();
    this.stats = emptyStats();
  }

  #settle(chargeId: string, key: string, kind: OperationKind.CAPTURE | OperationKind.VOID): Outcome<Charge> {
    const charge = this.#charges.get(chargeId);
    if (!charge) return chargeNotFound(chargeId);
    const blocked = BLOCKED_FROM[charge.status];
    if (blocked) return { ok: false, refusal: { ...blocked } };
    if (kind === OperationKind.CAPTURE) {
      charge.status = ChargeStatus.CAPTURED;
      charge.amountCaptured = charge.amount;
    } else {
      charge.status = ChargeStatus.VOIDED;
    }
    this.#record(kind, key, charge.id, charge.amount, charge);
    return { ok: true, value: clone(ChargeSchema, charge) };
  }

  /** Appends the operation, with the charge's status as the operation left it, and wakes followers. */
  #record(kind: OperationKind, key: string, target: string, amount: bigint, charge: Charge): void {
    const init: MessageInitShape<typeof OperationSchema> = { sequence: BigInt(this.#applied.length + 1), kind, idempotencyKey: key, target, amount, atUnixMs: BigInt(Date.now()) };
    this.#applied.push({ operation: create(OperationSchema, init), chargeId: charge.id, chargeStatus: charge.status });
    for (const follower of this.#followers) follower();
  }

  /** The report's view of one operation: the charge's fixed fields now, its status as it was then. */
  #transaction({ operation, chargeId, chargeStatus }: Applied): Transaction {
    const charge = this.#charges.get(chargeId)!;
    return create(TransactionSchema, {
      id: `txn_${operation.sequence}`,
      type: TRANSACTION_TYPE[operation.kind],
      chargeId,
      ...(operation.kind === OperationKind.REFUND ? { refundId: operation.target } : {}),
      amount: operation.amount,
      currency: charge.currency,
      chargeStatus,
      ...(charge.reference === undefined ? {} : { reference: charge.reference }),
      idempotencyKey: operation.idempotencyKey,
      createdUnixMs: operation.atUnixMs,
      metadata: { ...charge.metadata },
      declineCode: operation.kind === OperationKind.CHARGE ? charge.declineCode : DeclineCode.UNSPECIFIED,
    });
  }
}

function copyOutcome<T extends Charge | Refund>(outcome: Outcome<T>): Outcome<T> {
  if (!outcome.ok) return { ok: false, refusal: { ...outcome.refusal } };
  return { ok: true, value: structuredClone(outcome.value) };
}

function chargeNotFound(id: string): { ok: false; refusal: LedgerRefusal } {
  return refused(RefusalCode.CHARGE_NOT_FOUND, `No charge ${JSON.stringify(id)}.`);
}
