/**
 * Remit's processor adapter against the simulator, over each protocol it speaks: what it retries
 * and with which key, what it passes on as a refusal, when its breaker opens, how its timeouts
 * reach the processor as deadlines, and what it counts per attempt.
 */
import { expect } from 'chai';
import { FaultPoint, OperationKind } from '../../generated/processor/processor_pb.js';
import { createProcessorClient, ProcessorUnavailableError, type ProcessorClient, type ProcessorOptions } from '../../src/processor/client.js';
import { Metrics, type ProcessorAttemptOutcome } from '../../src/platform/metrics.js';
import { mulberry32, type FaultKind } from '../../src/processor/simulator/faults.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { metricValue } from '../helpers/metrics.js';
import { rejection } from '../helpers/rejection.js';

let sim: ProcessorSimulator;

const CHARGE = { amount: 1_500, currency: 'EUR', capture: true, reference: 'pay_test' };

/**
 * A seed under which, at a fault rate of 1/2 and a fixed fault point (one roll per request), the
 * first request faults and the second does not: exactly one failed attempt, then a clean one.
 */
function seedFaultingOnlyTheFirstRequest(): bigint {
  for (let seed = 1; seed < 10_000; seed++) {
    const roll = mulberry32(seed);
    if (roll() < 0.5 && roll() >= 0.5) return BigInt(seed);
  }
  throw new Error('no such seed');
}

const requests = () => Number(sim.ledger().stats!.requests);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Watches the timers the simulator starts to hold a call it will never answer (a `timeout` fault
 * waits `hangMs`): how many were started, and how many are still waiting. A hold that outlives
 * its caller is a call the simulator never saw cancelled.
 */
function watchHolds(hangMs: number): { started(): number; waiting(): number; restore(): void } {
  const real = { set: globalThis.setTimeout, clear: globalThis.clearTimeout };
  const holds = new Set<unknown>();
  let started = 0;
  const watched = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    if (ms !== hangMs) return real.set(fn, ms, ...args);
    started += 1;
    timer = real.set(
      (...a: unknown[]) => {
        holds.delete(timer);
        fn(...a);
      },
      ms,
      ...args,
    );
    holds.add(timer);
    return timer;
  }) as typeof setTimeout;
  globalThis.setTimeout = watched;
  globalThis.clearTimeout = ((timer: Parameters<typeof clearTimeout>[0]) => {
    holds.delete(timer);
    real.clear(timer);
  }) as typeof clearTimeout;
  return {
    started: () => started,
    waiting: () => holds.size,
    restore() {
      globalThis.setTimeout = real.set;
      globalThis.clearTimeout = real.clear;
    },
  };
}

describe('processor client (createProcessorClient)', () => {
  before(async () => {
    sim = await startProcessorSimulator();
  });
  after(() => sim.close());

  for (const protocol of ['http', 'grpc'] as const) {
    describe(`over ${protocol === 'http' ? 'the Connect protocol (HTTP/1.1)' : 'gRPC (HTTP/2)'}`, () => {
      let opened: ProcessorClient[] = [];
      let metrics: Metrics;

      function client(overrides: Partial<Omit<ProcessorOptions, 'url' | 'protocol'>> = {}): ProcessorClient {
        const c = createProcessorClient({
          url: sim.url,
          protocol,
          timeoutMs: 500,
          maxRetries: 2,
          breakerThreshold: 50,
          breakerHalfOpenMs: 300,
          backoffInitialMs: 5,
          backoffMaxMs: 20,
          metrics,
          ...overrides,
        });
        opened.push(c);
        return c;
      }

      const attempts = (attempt: number, outcome: ProcessorAttemptOutcome, call = 'charge') => metricValue(metrics, 'remit_processor_attempts_total', { call, attempt: String(attempt), outcome });
      const calls = (outcome: string, call = 'charge') => metricValue(metrics, 'remit_processor_calls_total', { call, outcome });

      beforeEach(() => {
        sim.reset();
        metrics = new Metrics({ processMetrics: false });
      });
      afterEach(() => {
        for (const c of opened) c.close();
        opened = [];
      });

      describe('transient failures', () => {
        const RATE: Record<FaultKind, 'errorRate' | 'dropRate' | 'timeoutRate'> = { error: 'errorRate', drop: 'dropRate', timeout: 'timeoutRate' };
        const LABEL: Record<FaultKind, string> = { error: 'an UNAVAILABLE answer', drop: 'a dropped call', timeout: 'an attempt that hangs past timeoutMs' };
        /** How the first, failed attempt is counted. */
        const OUTCOME: Record<FaultKind, ProcessorAttemptOutcome> = { error: 'unavailable', drop: 'connection', timeout: 'timeout' };

        for (const kind of ['error', 'drop', 'timeout'] as const) {
          for (const point of ['before', 'after'] as const) {
            it(`retries ${LABEL[kind]} ${point} the processor applies the charge, with the same idempotency key, and the charge is made once`, async () => {
              sim.setFaults({ [RATE[kind]]: 0.5, faultPoint: point === 'before' ? FaultPoint.BEFORE : FaultPoint.AFTER, hangMs: 60_000, seed: seedFaultingOnlyTheFirstRequest() });
              const result = await client().createCharge('pay_retry_1', CHARGE);

              expect(result.ok, JSON.stringify(result)).to.equal(true);
              const ledger = sim.ledger();
              expect(ledger.stats!.requests).to.equal(2n);
              expect(ledger.stats!.faults![kind]).to.equal(1n);
              expect(ledger.operations.map((o) => [o.kind, o.idempotencyKey])).to.deep.equal([[OperationKind.CHARGE, 'pay_retry_1']]);
              expect(ledger.charges).to.have.length(1);
              if (result.ok) expect(result.value).to.include({ id: ledger.charges[0]!.id, status: 'captured', amount: CHARGE.amount, decline_code: null });
              // When the first attempt was applied, the second was answered from the processor's
              // record of that key: proof the retry carried the same key.
              expect(ledger.stats!.replays).to.equal(point === 'after' ? 1n : 0n);

              expect([await attempts(1, OUTCOME[kind]), await attempts(2, 'ok'), await calls('succeeded')]).to.deep.equal([1, 1, 1]);
            });
          }
        }

        it('makes exactly one charge per key when many concurrent calls meet faults after the operation and retry', async () => {
          sim.setFaults({ errorRate: 0.2, dropRate: 0.2, faultPoint: FaultPoint.AFTER, seed: 31n });
          const c = client({ maxRetries: 6, timeoutMs: 2_000 });
          const keys = Array.from({ length: 20 }, (_, i) => `pay_many_${i}`);
          const results = await Promise.allSettled(keys.map((key) => c.createCharge(key, CHARGE)));

          const ledger = sim.ledger();
          const perKey = keys.map((key) => ledger.operations.filter((o) => o.idempotencyKey === key).length);
          expect(perKey.every((n) => n <= 1), JSON.stringify(perKey)).to.equal(true);
          const succeeded = results.flatMap((r, i) => (r.status === 'fulfilled' && r.value.ok ? [[keys[i]!, r.value.value.id]] : []));
          expect(succeeded.length).to.be.at.least(18);
          for (const [key, id] of succeeded) expect(ledger.charges.find((ch) => ch.idempotencyKey === key)?.id, key).to.equal(id);
          // Faults after the operation were retried into replays, not into second charges.
          expect(Number(ledger.stats!.replays)).to.be.greaterThan(0);
          expect(Number(ledger.stats!.requests)).to.be.greaterThan(20);
        });

        it('gives up after maxRetries + 1 attempts that each time out, and the simulator sees every one cancelled', async () => {
          sim.setFaults({ timeoutRate: 1, faultPoint: FaultPoint.BEFORE, hangMs: 600_000 });
          const holds = watchHolds(600_000);
          try {
            const err = await rejection(client({ timeoutMs: 100, maxRetries: 2 }).createCharge('pay_hang', CHARGE));
            expect(err).to.be.instanceOf(ProcessorUnavailableError);
            expect((err as ProcessorUnavailableError).retryAfterS).to.be.at.least(1);
            // The deadline reached the processor: no hold outlives the caller by long.
            for (let i = 0; i < 50 && holds.waiting() > 0; i++) await sleep(10);
            expect([holds.started(), holds.waiting()]).to.deep.equal([3, 0]);
          } finally {
            holds.restore();
          }
          const ledger = sim.ledger();
          expect(ledger.stats!.requests).to.equal(3n);
          expect(ledger.stats!.faults!.timeout).to.equal(3n);
          expect(ledger.operations).to.deep.equal([]);
          expect([await attempts(1, 'timeout'), await attempts(2, 'timeout'), await attempts(3, 'timeout'), await calls('unavailable')]).to.deep.equal([1, 1, 1, 1]);
        });

        it('gives up after maxRetries + 1 attempts answered UNAVAILABLE or INTERNAL, counting each by its status', async () => {
          sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
          const err = await rejection(client({ maxRetries: 3 }).createCharge('pay_5xx', CHARGE));
          expect(err).to.be.instanceOf(ProcessorUnavailableError);
          expect(sim.ledger().stats!.requests).to.equal(4n);
          expect(sim.ledger().stats!.faults!.error).to.equal(4n);
          // The simulator alternates UNAVAILABLE and INTERNAL.
          expect([await attempts(1, 'unavailable'), await attempts(2, 'internal'), await attempts(3, 'unavailable'), await attempts(4, 'internal')]).to.deep.equal([1, 1, 1, 1]);
          expect(await calls('unavailable')).to.equal(1);
        });

        it('makes a single attempt when maxRetries is 0', async () => {
          sim.setFaults({ dropRate: 1, faultPoint: FaultPoint.BEFORE });
          const err = await rejection(client({ maxRetries: 0 }).createCharge('pay_once', CHARGE));
          expect(err).to.be.instanceOf(ProcessorUnavailableError);
          expect(requests()).to.equal(1);
          expect(await attempts(1, 'connection')).to.equal(1);
        });

        it('reaches the processor again on the next call after a dropped one', async () => {
          const c = client({ maxRetries: 0 });
          sim.setFaults({ dropRate: 1, faultPoint: FaultPoint.BEFORE });
          expect(await rejection(c.createCharge('pay_drop_1', CHARGE))).to.be.instanceOf(ProcessorUnavailableError);
          sim.setFaults({ dropRate: 0 });
          expect((await c.createCharge('pay_drop_2', CHARGE)).ok).to.equal(true);
          expect(sim.ledger().operations.map((o) => o.idempotencyKey)).to.deep.equal(['pay_drop_2']);
        });
      });

      describe('refusals', () => {
        it('does not retry NOT_FOUND: capturing an unknown charge is refused with charge_not_found after one request', async () => {
          const result = await client().captureCharge('pay_x:capture', 'ch_doesnotexist');
          expect(result).to.deep.equal({ ok: false, refusal: { code: 'charge_not_found', message: 'No charge "ch_doesnotexist".' } });
          expect(requests()).to.equal(1);
          expect([await attempts(1, 'refused', 'capture'), await calls('refused', 'capture')]).to.deep.equal([1, 1]);
        });

        it('does not retry FAILED_PRECONDITION: capturing a voided charge is refused with charge_voided after one request', async () => {
          const c = client();
          const charged = await c.createCharge('pay_v', { ...CHARGE, capture: false });
          if (!charged.ok) throw new Error(JSON.stringify(charged));
          expect((await c.voidCharge('pay_v:void', charged.value.id)).ok).to.equal(true);
          const before = requests();
          const result = await c.captureCharge('pay_v:capture', charged.value.id);
          expect(result).to.deep.equal({ ok: false, refusal: { code: 'charge_voided', message: 'The charge has been voided.' } });
          expect(requests() - before).to.equal(1);
          expect(sim.ledger().operations.map((o) => o.kind)).to.deep.equal([OperationKind.CHARGE, OperationKind.VOID]);
        });

        it('does not retry ALREADY_EXISTS: the same key with a different charge is refused once', async () => {
          const c = client();
          expect((await c.createCharge('pay_reuse', CHARGE)).ok).to.equal(true);
          const before = requests();
          const result = await c.createCharge('pay_reuse', { ...CHARGE, amount: CHARGE.amount + 1 });
          expect(result).to.deep.equal({
            ok: false,
            refusal: { code: 'idempotency_key_reused', message: 'This idempotency key was already used with a different request.' },
          });
          expect(requests() - before).to.equal(1);
          expect(sim.ledger().charges).to.have.length(1);
        });

        it('does not retry OUT_OF_RANGE: a refund beyond the captured amount is refused once', async () => {
          const c = client();
          const charged = await c.createCharge('pay_rf', CHARGE);
          if (!charged.ok) throw new Error(JSON.stringify(charged));
          expect(await c.createRefund('rf_1', { charge: charged.value.id, amount: 1_000 })).to.deep.include({ ok: true });
          const before = requests();
          const result = await c.createRefund('rf_2', { charge: charged.value.id, amount: 501 });
          expect(result.ok).to.equal(false);
          if (!result.ok) expect(result.refusal.code).to.equal('amount_exceeds_refundable');
          expect(requests() - before).to.equal(1);
          expect(sim.ledger().refunds.map((r) => r.amount)).to.deep.equal([1_000n]);
        });

        it('reports a decline as a successful answer carrying the declined charge', async () => {
          const result = await client().createCharge('pay_declined', { ...CHARGE, amount: 2_402 });
          expect(result.ok).to.equal(true);
          if (result.ok) expect(result.value).to.include({ status: 'declined', decline_code: 'card_declined', amount_captured: 0 });
          expect(requests()).to.equal(1);
        });
      });

      describe('circuit breaker', () => {
        it('opens after breakerThreshold consecutive failures, fails fast while open, and closes after a successful trial', async () => {
          const c = client({ maxRetries: 0, breakerThreshold: 3, breakerHalfOpenMs: 300 });
          expect(c.health()).to.equal('up');
          sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });

          const deltas: number[] = [];
          for (let i = 0; i < 3; i++) {
            const before = requests();
            expect(await rejection(c.createCharge(`pay_open_${i}`, CHARGE))).to.be.instanceOf(ProcessorUnavailableError);
            deltas.push(requests() - before);
          }
          expect(deltas).to.deep.equal([1, 1, 1]);
          expect(c.health()).to.equal('degraded');

          const before = requests();
          const fast = await rejection(c.createCharge('pay_open_fast', CHARGE));
          expect(fast).to.be.instanceOf(ProcessorUnavailableError);
          expect((fast as ProcessorUnavailableError).retryAfterS).to.be.at.least(1);
          expect(requests() - before, 'an open breaker does not call the processor').to.equal(0);
          expect(await calls('circuit_open')).to.equal(1);

          sim.setFaults({ errorRate: 0 });
          await sleep(400);
          const trial = await c.createCharge('pay_trial', CHARGE);
          expect(trial.ok).to.equal(true);
          expect(requests() - before).to.equal(1);
          expect(c.health()).to.equal('up');
          expect(sim.ledger().operations.map((o) => o.idempotencyKey)).to.deep.equal(['pay_trial']);
        });

        it('opens again when the trial call after the half-open delay fails', async () => {
          const c = client({ maxRetries: 0, breakerThreshold: 2, breakerHalfOpenMs: 300 });
          sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
          for (let i = 0; i < 2; i++) await rejection(c.createCharge(`pay_reopen_${i}`, CHARGE));
          expect(c.health()).to.equal('degraded');

          await sleep(400);
          let before = requests();
          expect(await rejection(c.createCharge('pay_reopen_trial', CHARGE))).to.be.instanceOf(ProcessorUnavailableError);
          expect(requests() - before, 'the trial reaches the processor').to.equal(1);
          expect(c.health()).to.equal('degraded');

          before = requests();
          expect(await rejection(c.createCharge('pay_reopen_fast', CHARGE))).to.be.instanceOf(ProcessorUnavailableError);
          expect(requests() - before, 'open again: no call').to.equal(0);
        });

        it('does not count refusals as failures', async () => {
          const c = client({ maxRetries: 0, breakerThreshold: 2 });
          for (let i = 0; i < 4; i++) {
            const result = await c.captureCharge(`pay_404_${i}:capture`, `ch_missing_${i}`);
            expect(result).to.deep.equal({ ok: false, refusal: { code: 'charge_not_found', message: `No charge "ch_missing_${i}".` } });
          }
          expect(requests()).to.equal(4);
          expect(c.health()).to.equal('up');
        });

        it('is reset by a success between failures (the failures must be consecutive)', async () => {
          const c = client({ maxRetries: 0, breakerThreshold: 2 });
          sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
          await rejection(c.createCharge('pay_c1', CHARGE));
          sim.setFaults({ errorRate: 0 });
          expect((await c.createCharge('pay_c2', CHARGE)).ok).to.equal(true);
          sim.setFaults({ errorRate: 1 });
          await rejection(c.createCharge('pay_c3', CHARGE));
          expect(c.health()).to.equal('up');
          const before = requests();
          await rejection(c.createCharge('pay_c4', CHARGE));
          expect(requests() - before).to.equal(1);
          expect(c.health()).to.equal('degraded');
        });
      });
    });
  }
});
