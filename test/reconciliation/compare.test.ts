/**
 * The decisions and the parsing rules on their own: compare() as a pure function of the report and
 * Remit's rows, and parseReportPage() on the answers a drifting processor sends.
 */
import { expect } from 'chai';
import { compare } from '../../src/reconciliation/compare.js';
import type { StoredTransaction } from '../../src/reconciliation/repository.js';
import { parseReportPage, ReportDriftError, retryAfterMs } from '../../src/processor/report.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const window = { start: new Date('2026-12-01T00:00:00Z'), end: new Date('2026-12-02T00:00:00Z') };

function txn(over: Partial<StoredTransaction> & Pick<StoredTransaction, 'id' | 'type' | 'charge_id'>): StoredTransaction {
  return { refund_id: null, amount: 1_000, currency: 'EUR', charge_status: 'captured', reference: null, idempotency_key: over.id, applied_at: T0, ...over };
}

function payment(id: string, status: string, over: Record<string, unknown> = {}) {
  return { id, status, amount: 1_000, currency: 'EUR', processor_charge_id: null, created_at: T0, ...over } as never;
}

function refund(id: string, status: string, over: Record<string, unknown> = {}) {
  return { id, payment_id: 'pay_a', status, amount: 400, currency: 'EUR', processor_refund_id: null, created_at: T0, ...over } as never;
}

describe('reconciliation: compare()', () => {
  it('matches each charge status to the payment status it means, and settles only a processing payment', () => {
    const transactions = [
      txn({ id: 'txn_1', type: 'charge', charge_id: 'ch_a', reference: 'pay_a', charge_status: 'authorized' }),
      txn({ id: 'txn_2', type: 'capture', charge_id: 'ch_a', charge_status: 'captured' }),
      txn({ id: 'txn_3', type: 'charge', charge_id: 'ch_b', reference: 'pay_b', charge_status: 'authorized' }),
      txn({ id: 'txn_4', type: 'void', charge_id: 'ch_b', charge_status: 'voided' }),
      txn({ id: 'txn_5', type: 'charge', charge_id: 'ch_c', reference: 'pay_c', charge_status: 'declined', amount: 0 }),
      txn({ id: 'txn_6', type: 'charge', charge_id: 'ch_d', reference: 'pay_d', charge_status: 'authorized' }),
      txn({ id: 'txn_7', type: 'charge', charge_id: 'ch_e', reference: 'pay_e', charge_status: 'declined', amount: 0 }),
    ];
    const result = compare({
      window,
      transactions,
      payments: [payment('pay_a', 'succeeded'), payment('pay_b', 'canceled'), payment('pay_c', 'failed'), payment('pay_d', 'processing'), payment('pay_e', 'processing')],
      refunds: [],
    });
    expect(result.paymentsChecked).to.equal(5);
    expect(result.discrepancies).to.deep.equal([]);
    expect(result.settlements).to.deep.equal([
      { objectType: 'payment', id: 'pay_d', chargeId: 'ch_d', outcome: { status: 'requires_capture' } },
      { objectType: 'payment', id: 'pay_e', chargeId: 'ch_e', outcome: { status: 'failed', failure_code: 'card_declined' } },
    ]);
  });

  it('reports a settled status that disagrees, and a processing payment whose charge was voided, without settling either', () => {
    const result = compare({
      window,
      transactions: [
        txn({ id: 'txn_1', type: 'charge', charge_id: 'ch_a', reference: 'pay_a', charge_status: 'authorized' }),
        txn({ id: 'txn_2', type: 'charge', charge_id: 'ch_b', reference: 'pay_b', charge_status: 'authorized' }),
        txn({ id: 'txn_3', type: 'void', charge_id: 'ch_b', charge_status: 'voided' }),
      ],
      payments: [payment('pay_a', 'succeeded'), payment('pay_b', 'processing')],
      refunds: [],
    });
    expect(result.settlements).to.deep.equal([]);
    expect(result.discrepancies.map((d) => [d.kind, d.local!.id, d.processor!.status])).to.deep.equal([
      ['status_mismatch', 'pay_a', 'authorized'],
      ['status_mismatch', 'pay_b', 'voided'],
    ]);
  });

  it('compares a payment created just before the window with its charge inside it, and ignores what is out of scope', () => {
    const before = new Date(window.start.getTime() - 5);
    const result = compare({
      window,
      transactions: [
        txn({ id: 'txn_1', type: 'charge', charge_id: 'ch_a', reference: 'pay_a' }),
        // A capture of a charge created before the report began: nothing to compare it with.
        txn({ id: 'txn_2', type: 'capture', charge_id: 'ch_old' }),
      ],
      payments: [payment('pay_a', 'succeeded', { created_at: before }), payment('pay_old', 'succeeded', { created_at: before })],
      refunds: [],
    });
    expect(result.paymentsChecked).to.equal(1);
    expect(result.discrepancies).to.deep.equal([]);
  });

  it('settles a pending refund the processor made, reports a failed one it made, and one it never made', () => {
    const result = compare({
      window,
      transactions: [
        txn({ id: 'txn_1', type: 'refund', charge_id: 'ch_a', refund_id: 'rf_1', idempotency_key: 're_pending', amount: 400 }),
        txn({ id: 'txn_2', type: 'refund', charge_id: 'ch_a', refund_id: 'rf_2', idempotency_key: 're_failed', amount: 400 }),
        txn({ id: 'txn_3', type: 'refund', charge_id: 'ch_a', refund_id: 'rf_3', idempotency_key: 're_short', amount: 300 }),
        txn({ id: 'txn_4', type: 'refund', charge_id: 'ch_a', refund_id: 'rf_4', idempotency_key: 'elsewhere-1', amount: 50 }),
      ],
      payments: [],
      refunds: [refund('re_pending', 'pending'), refund('re_failed', 'failed'), refund('re_short', 'pending'), refund('re_lost', 'succeeded'), refund('re_refused', 'failed')],
    });
    expect(result.settlements).to.deep.equal([{ objectType: 'refund', id: 're_pending', processorRefundId: 'rf_1' }]);
    expect(result.discrepancies.map((d) => [d.kind, d.local?.id ?? null, d.processor?.id ?? null])).to.deep.equal([
      ['status_mismatch', 're_failed', 'rf_2'],
      ['amount_mismatch', 're_short', 'rf_3'],
      ['missing_at_processor', 're_lost', null],
      ['missing_locally', null, 'rf_4'],
    ]);
    expect(result.refundsChecked).to.equal(5);
  });
});

describe('reconciliation: parseReportPage()', () => {
  const transaction = {
    id: 'txn_1',
    type: 'TRANSACTION_TYPE_CHARGE',
    chargeId: 'ch_1',
    amount: 1500,
    currency: 'eur',
    chargeStatus: 'CHARGE_STATUS_CAPTURED',
    idempotencyKey: 'pay_1',
    createdUnixMs: 1_795_000_000_000,
    metadata: { remit_account: 'acct_1' },
    declineCode: 'DECLINE_CODE_UNSPECIFIED',
  };

  it('normalises a page: names lowercased, the currency upper-cased, absent optional fields null', () => {
    const page = parseReportPage({ transactions: [transaction], nextCursor: '', hasMore: false });
    expect(page.nextCursor).to.equal(null);
    expect(page.transactions[0]).to.deep.include({ type: 'charge', charge_status: 'captured', currency: 'EUR', amount: 1500, refund_id: null, reference: null, decline_code: null });
    expect(page.transactions[0]!.applied_at.getTime()).to.equal(1_795_000_000_000);
  });

  it('refuses a 64-bit value beyond what the API can hold, a fraction, and a cursor missing where more pages are promised', () => {
    for (const amount of ['9007199254740993', 15.5, '15.00', -1]) {
      expect(() => parseReportPage({ transactions: [{ ...transaction, amount }] }), String(amount)).to.throw(ReportDriftError).with.property('issues').that.has.nested.property('[0].path', 'transactions[0].amount');
    }
    expect(() => parseReportPage({ transactions: [transaction], hasMore: true })).to.throw(ReportDriftError, /nextCursor/);
  });

  it('names every broken field, up to ten', () => {
    try {
      parseReportPage({ transactions: Array.from({ length: 12 }, () => ({ ...transaction, type: 'TRANSACTION_TYPE_DISPUTE' })) });
      expect.fail('parsed');
    } catch (err) {
      expect(err).to.be.instanceOf(ReportDriftError);
      const issues = (err as ReportDriftError).issues;
      expect(issues).to.have.length(10);
      expect(issues[9]).to.deep.equal({ path: 'transactions[9].type', expected: 'one of TRANSACTION_TYPE_CHARGE, TRANSACTION_TYPE_CAPTURE, TRANSACTION_TYPE_VOID, TRANSACTION_TYPE_REFUND', received: '"TRANSACTION_TYPE_DISPUTE"' });
    }
  });

  it('reads Retry-After in seconds or as an HTTP date, and waits a second when it is absent', () => {
    expect(retryAfterMs('3')).to.equal(3_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).to.equal(6_000);
    expect(retryAfterMs(null)).to.equal(1_000);
    expect(retryAfterMs('soon')).to.equal(1_000);
  });
});
