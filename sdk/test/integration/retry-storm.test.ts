/**
 * A retry storm through the SDK: 20 logical payment creations at once through one client, against
 * a write quota of 5 per second and a processor that fails about a third of its calls (errors and
 * dropped connections, before or after applying the charge), once with retries enough to get
 * through and once without. Whatever happens, each call ends in a payment or a typed error, keeps
 * one Idempotency-Key across its attempts, and the processor's ledger holds exactly one charge per
 * successful call and no charge twice.
 */
import { expect } from 'chai';
import { APIConnectionError, APIError, InternalServerError, RateLimitError, RemitError, type Payment } from '../../src/index.js';
import { FaultPoint, OperationKind } from '../../../generated/processor/processor_pb.js';
import { recordingFetch, startApi, type RunningApi } from '../helpers/api.js';

const CALLS = 20;

describe('SDK retry storm against the API', function () {
  this.timeout(60_000);
  let api: RunningApi;

  before(async () => {
    api = await startApi({
      rateLimits: { policies: { write: { points: 5, windowS: 1 } } },
      // A breaker this high stays closed: the storm is about retries and keys, not failing fast.
      processor: { breakerThreshold: 1_000 },
    });
  });
  after(() => api?.close());

  /** 20 logical payments.create calls at once through one client; every attempt recorded. */
  async function storm(label: string, maxRetries: number) {
    const recorder = recordingFetch();
    const remit = api.client({ fetch: recorder.fetch, maxRetries });
    const results = await Promise.allSettled(
      Array.from({ length: CALLS }, (_, i) => remit.payments.create({ amount: 1_000 + i, currency: 'EUR', metadata: { storm: label, call: String(i) } })),
    );
    const payments = results.filter((r): r is PromiseFulfilledResult<Payment> => r.status === 'fulfilled').map((r) => r.value);
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    const statusCount = (s: number) => recorder.attempts.filter((a) => a.status === s).length;
    const attemptsByKey = new Map<string, number>();
    for (const a of recorder.attempts) attemptsByKey.set(String(a.key), (attemptsByKey.get(String(a.key)) ?? 0) + 1);
    const ledger = api.t.simulator.ledger();
    console.table({
      'logical calls': CALLS,
      maxRetries,
      'HTTP attempts': recorder.attempts.length,
      'attempts answered 201': statusCount(201),
      'attempts answered 429': statusCount(429),
      'attempts answered 503': statusCount(503),
      'attempts answered 409': statusCount(409),
      'calls that succeeded': payments.length,
      'calls that ended in a typed error': errors.length,
      'processor faults so far (error, drop)': `${ledger.stats!.faults!.error}, ${ledger.stats!.faults!.drop}`,
    });
    return { recorder, payments, errors, statusCount, attemptsByKey };
  }

  /** The outcome of every call and the processor's books after a storm. */
  function expectHonestOutcome({ payments, errors, attemptsByKey }: Awaited<ReturnType<typeof storm>>): void {
    // Every call ended in a payment or in one of the typed errors a storm can produce.
    expect(payments.length + errors.length).to.equal(CALLS);
    for (const err of errors) {
      expect(err).to.be.instanceOf(RemitError);
      const typed = err instanceof RateLimitError || err instanceof InternalServerError || err instanceof APIConnectionError;
      expect(typed, `unexpected error: ${String(err)}`).to.equal(true);
      if (err instanceof APIError) expect(err.requestId).to.match(/^req_/);
    }
    for (const p of payments) expect(p.status).to.equal('succeeded');
    expect(new Set(payments.map((p) => p.id)).size, 'each successful call is a payment of its own').to.equal(payments.length);

    // One key per logical call, the same on each of its attempts.
    expect(attemptsByKey.size).to.equal(CALLS);
    expect([...attemptsByKey.keys()].every((k) => /^[0-9a-f-]{36}$/.test(k))).to.equal(true);

    // The books: no charge twice, and exactly one for each successful call (the processor's key is
    // the payment id). A call that failed may have charged once, before its answer was lost.
    const charges = api.t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE);
    const chargesByKey = new Map<string, number>();
    for (const c of charges) chargesByKey.set(c.idempotencyKey, (chargesByKey.get(c.idempotencyKey) ?? 0) + 1);
    expect([...chargesByKey.entries()].filter(([, n]) => n > 1), 'keys charged twice').to.deep.equal([]);
    for (const p of payments) expect(chargesByKey.get(p.id), `charges for ${p.id}`).to.equal(1);
  }

  it('20 parallel payments.create, maxRetries 8: the retries absorb the quota and the faults, one charge per payment, none twice', async () => {
    api.t.simulator.setFaults({ errorRate: 0.2, dropRate: 0.15, faultPoint: FaultPoint.RANDOM, seed: 7n });
    const result = await storm('patient', 8);

    // The storm really happened: the quota refused attempts and the SDK retried them.
    expect(result.statusCount(429), 'attempts refused by the quota').to.be.greaterThan(0);
    expect(result.recorder.attempts.length).to.be.greaterThan(CALLS);
    expect(result.payments.length, 'some calls got through').to.be.greaterThan(0);
    expect(Math.max(...result.attemptsByKey.values()), 'attempts of one call: 1 + maxRetries at most').to.be.at.most(9);
    expectHonestOutcome(result);
  });

  it('20 parallel payments.create, maxRetries 1: the calls the quota still refuses end in RateLimitError, and nothing is charged twice', async () => {
    api.t.simulator.setFaults({ errorRate: 0.2, dropRate: 0.15, faultPoint: FaultPoint.RANDOM, seed: 8n });
    const result = await storm('impatient', 1);

    expect(result.errors.length, 'calls out of retries').to.be.greaterThan(0);
    expect(result.errors.some((e) => e instanceof RateLimitError && e.code === 'rate_limited')).to.equal(true);
    expect(Math.max(...result.attemptsByKey.values())).to.be.at.most(2);
    expectHonestOutcome(result);

    // Across both storms: every payment the API stored was charged at most once.
    const stored = await api.t.db('payments').where({ account_id: api.account.id });
    expect(stored.length).to.be.at.most(CALLS * 2);
    const charges = api.t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE);
    expect(new Set(charges.map((c) => c.idempotencyKey)).size).to.equal(charges.length);
  });
});
