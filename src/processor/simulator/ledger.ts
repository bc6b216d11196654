/**
 * The simulated processor's books: charges, refunds, one operation per applied side effect, and
 * the idempotency records that make a retried request a replay rather than a second charge.
 */
import type { components } from '../../../generated/processor.js';
import { randomBase62 } from '../../platform/ids.js';

// The books hold exactly what the protocol answers with: spec/processor.yaml is their one definition.
type Schemas = components['schemas'];
export type ChargeStatus = Schemas['ChargeStatus'];
export type OperationKind = Schemas['OperationKind'];
export type Charge = Schemas['Charge'];
export type Refund = Schemas['Refund'];
export type Operation = Schemas['Operation'];
export type SimulatorStats = Schemas['SimulatorStats'];
export type LedgerSnapshot = Schemas['LedgerSnapshot'];
export type Refusal = Schemas['Refusal'];
export type RefusalCode = Schemas['RefusalCode'];
export type ChargeInput = Schemas['ChargeCreateRequest'];
export type RefundInput = Schemas['RefundCreateRequest'];

/** A response the processor gives: what is stored under an idempotency key and replayed. */
export interface Outcome {
  status: number;
  body: Charge | Refund | Refusal;
}

const ID_LENGTH = 20;

export function processorError(status: number, code: RefusalCode, message: string): Outcome {
  return { status, body: { code, message } };
}

/**
 * The test-card rule: an amount whose last three digits are 402 (402, 1402, 25402, …) is declined
 * with `card_declined`; every other amount is approved. It lets a caller provoke a decline with an
 * ordinary request and no special card data.
 */
export function isDeclinedAmount(amount: number): boolean {
  return amount % 1000 === 402;
}

// Capture and void both need an authorized charge; from any other state they fail the same way.
const BLOCKED_FROM: Record<Exclude<ChargeStatus, 'authorized'>, Refusal> = {
  captured: { code: 'charge_already_captured', message: 'The charge has already been captured.' },
  voided: { code: 'charge_voided', message: 'The charge has been voided.' },
  declined: { code: 'charge_declined', message: 'The charge was declined.' },
};

function emptyStats(): SimulatorStats {
  return { requests: 0, replays: 0, faults: { error: 0, timeout: 0, drop: 0 } };
}

interface IdempotencyRecord {
  fingerprint: string;
  outcome: Outcome;
}

export class Ledger {
  #charges = new Map<string, Charge>();
  #refunds = new Map<string, Refund>();
  #operations: Operation[] = [];
  #idempotency = new Map<string, IdempotencyRecord>();
  stats: SimulatorStats = emptyStats();

  /**
   * Runs `apply` at most once per (kind, key). The same request again gets the stored outcome;
   * a different request under the same key is refused. Everything here is synchronous, so two
   * concurrent requests with one key cannot both reach `apply`.
   */
  execute(kind: OperationKind, key: string, fingerprint: string, apply: () => Outcome): { outcome: Outcome; replayed: boolean } {
    const slot = `${kind}:${key}`;
    const prior = this.#idempotency.get(slot);
    if (prior) {
      if (prior.fingerprint !== fingerprint) {
        return {
          outcome: processorError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request.'),
          replayed: false,
        };
      }
      this.stats.replays += 1;
      return { outcome: structuredClone(prior.outcome), replayed: true };
    }
    const outcome = apply();
    this.#idempotency.set(slot, { fingerprint, outcome: structuredClone(outcome) });
    return { outcome, replayed: false };
  }

  createCharge(input: ChargeInput, key: string): Outcome {
    const declined = isDeclinedAmount(input.amount);
    const status: ChargeStatus = declined ? 'declined' : input.capture ? 'captured' : 'authorized';
    const charge: Charge = {
      id: `ch_${randomBase62(ID_LENGTH)}`,
      object: 'charge',
      amount: input.amount,
      currency: input.currency,
      status,
      amount_captured: status === 'captured' ? input.amount : 0,
      amount_refunded: 0,
      decline_code: declined ? 'card_declined' : null,
      reference: input.reference ?? null,
      idempotency_key: key,
      created: Date.now(),
    };
    this.#charges.set(charge.id, charge);
    this.#record('charge', key, charge.id);
    return { status: 201, body: { ...charge } };
  }

  capture(chargeId: string, key: string): Outcome {
    return this.#settle(chargeId, key, 'capture');
  }

  void(chargeId: string, key: string): Outcome {
    return this.#settle(chargeId, key, 'void');
  }

  refund(input: RefundInput, key: string): Outcome {
    const charge = this.#charges.get(input.charge);
    if (!charge) return chargeNotFound(input.charge);
    if (charge.status !== 'captured') {
      return processorError(409, 'charge_not_captured', `Only a captured charge can be refunded; this one is ${charge.status}.`);
    }
    const refundable = charge.amount_captured - charge.amount_refunded;
    if (input.amount > refundable) {
      return processorError(422, 'amount_exceeds_refundable', `The refund of ${input.amount} exceeds the ${refundable} still refundable on the charge.`);
    }
    const refund: Refund = {
      id: `rf_${randomBase62(ID_LENGTH)}`,
      object: 'refund',
      charge: charge.id,
      amount: input.amount,
      status: 'succeeded',
      idempotency_key: key,
      created: Date.now(),
    };
    charge.amount_refunded += input.amount;
    this.#refunds.set(refund.id, refund);
    this.#record('refund', key, refund.id);
    return { status: 201, body: { ...refund } };
  }

  getCharge(chargeId: string): Outcome {
    const charge = this.#charges.get(chargeId);
    return charge ? { status: 200, body: { ...charge } } : chargeNotFound(chargeId);
  }

  snapshot(): LedgerSnapshot {
    return structuredClone({
      charges: [...this.#charges.values()],
      refunds: [...this.#refunds.values()],
      operations: this.#operations,
      stats: this.stats,
    });
  }

  reset(): void {
    this.#charges.clear();
    this.#refunds.clear();
    this.#operations = [];
    this.#idempotency.clear();
    this.stats = emptyStats();
  }

  #settle(chargeId: string, key: string, kind: 'capture' | 'void'): Outcome {
    const charge = this.#charges.get(chargeId);
    if (!charge) return chargeNotFound(chargeId);
    if (charge.status !== 'authorized') return { status: 409, body: { ...BLOCKED_FROM[charge.status] } };
    if (kind === 'capture') {
      charge.status = 'captured';
      charge.amount_captured = charge.amount;
    } else {
      charge.status = 'voided';
    }
    this.#record(kind, key, charge.id);
    return { status: 200, body: { ...charge } };
  }

  #record(kind: OperationKind, key: string, target: string): void {
    this.#operations.push({ kind, idempotency_key: key, target, at: Date.now() });
  }
}

function chargeNotFound(id: string): Outcome {
  return processorError(404, 'charge_not_found', `No charge ${JSON.stringify(id)}.`);
}
