import { expect } from 'chai';
import { createProcessorClient, ProcessorUnavailableError, type ProcessorClient, type ProcessorOptions } from '../../src/processor/client.js';
import { mulberry32, type FaultKind } from '../../src/processor/simulator/faults.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { rejection } from '../helpers/rejection.js';

let sim: ProcessorSimulator;

function client(overrides: Partial<Omit<ProcessorOptions, 'url'>> = {}): ProcessorClient {
  return createProcessorClient({
    url: sim.url,
    timeoutMs: 200,
    maxRetries: 2,
    breakerThreshold: 50,
    breakerHalfOpenMs: 300,
    backoffInitialMs: 5,
    backoffMaxMs: 20,
    ...overrides,
  });
}

const CHARGE = { amount: 1_500, currency: 'EUR', capture: true, reference: 'pay_test' };

/**
 * A seed under which, at a fault rate of 1/2 and a fixed fault point (one roll per request), the
 * first request faults and the second does not: exactly one failed attempt, then a clean one.
 */
function seedFaultingOnlyTheFirstRequest(): number {
  for (let seed = 1; seed < 10_000; seed++) {
    const roll = mulberry32(seed);
    if (roll() < 0.5 && roll() >= 0.5) return seed;
  }
  throw new Error('no such seed');
}

const requests = () => sim.ledger().stats.requests;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('processor client (createProcessorClient)', () => {
  before(async () => {
    sim = await startProcessorSimulator({ validateResponses: true });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  describe('transient failures', () => {
    const RATE: Record<FaultKind, 'error_rate' | 'drop_rate' | 'timeout_rate'> = { error: 'error_rate', drop: 'drop_rate', timeout: 'timeout_rate' };

    const LABEL: Record<FaultKind, string> = { error: 'a 5xx answer', drop: 'a dropped connection', timeout: 'an attempt that hangs past timeoutMs' };

    for (const kind of ['error', 'drop', 'timeout'] as const) {
      for (const point of ['before', 'after'] as const) {
        it(`retries ${LABEL[kind]} ${point} the processor applies the charge, with the same idempotency key, and the charge is made once`, async () => {
          sim.setFaults({ [RATE[kind]]: 0.5, fault_point: point, hang_ms: 60_000, seed: seedFaultingOnlyTheFirstRequest() });
          const result = await client().createCharge('pay_retry_1', CHARGE);

          expect(result.ok, JSON.stringify(result)).to.equal(true);
          const ledger = sim.ledger();
          expect(ledger.stats.requests).to.equal(2);
          expect(ledger.stats.faults[kind]).to.equal(1);
          expect(ledger.operations.map((o) => [o.kind, o.idempotency_key])).to.deep.equal([['charge', 'pay_retry_1']]);
          expect(ledger.charges).to.have.length(1);
          if (result.ok) expect(result.value).to.include({ id: ledger.charges[0]!.id, status: 'captured', amount: CHARGE.amount });
          // When the first attempt was applied, the second was answered from the processor's
          // record of that key: proof the retry carried the same key.
          expect(ledger.stats.replays).to.equal(point === 'after' ? 1 : 0);
        });
      }
    }

    it('gives up after maxRetries + 1 attempts that each time out, with ProcessorUnavailableError', async () => {
      sim.setFaults({ timeout_rate: 1, fault_point: 'before', hang_ms: 60_000 });
      const err = await rejection(client({ timeoutMs: 100, maxRetries: 2 }).createCharge('pay_hang', CHARGE));
      expect(err).to.be.instanceOf(ProcessorUnavailableError);
      expect((err as ProcessorUnavailableError).retryAfterS).to.be.at.least(1);
      const ledger = sim.ledger();
      expect(ledger.stats.requests).to.equal(3);
      expect(ledger.stats.faults.timeout).to.equal(3);
      expect(ledger.operations).to.deep.equal([]);
    });

    it('gives up after maxRetries + 1 attempts answered 500 or 503', async () => {
      sim.setFaults({ error_rate: 1, fault_point: 'before' });
      const err = await rejection(client({ maxRetries: 3 }).createCharge('pay_5xx', CHARGE));
      expect(err).to.be.instanceOf(ProcessorUnavailableError);
      expect(sim.ledger().stats.requests).to.equal(4);
      expect(sim.ledger().stats.faults.error).to.equal(4);
    });

    it('makes a single attempt when maxRetries is 0', async () => {
      sim.setFaults({ drop_rate: 1, fault_point: 'before' });
      const err = await rejection(client({ maxRetries: 0 }).createCharge('pay_once', CHARGE));
      expect(err).to.be.instanceOf(ProcessorUnavailableError);
      expect(sim.ledger().stats.requests).to.equal(1);
    });
  });

  describe('refusals (4xx)', () => {
    it('does not retry a 404: capturing an unknown charge is refused with charge_not_found after one request', async () => {
      const result = await client().captureCharge('pay_x:capture', 'ch_doesnotexist');
      expect(result).to.deep.equal({ ok: false, refusal: { code: 'charge_not_found', message: 'No charge "ch_doesnotexist".' } });
      expect(requests()).to.equal(1);
    });

    it('does not retry a 409: capturing a voided charge is refused with charge_voided after one request', async () => {
      const c = client();
      const charged = await c.createCharge('pay_v', { ...CHARGE, capture: false });
      if (!charged.ok) throw new Error(JSON.stringify(charged));
      expect((await c.voidCharge('pay_v:void', charged.value.id)).ok).to.equal(true);
      const before = requests();
      const result = await c.captureCharge('pay_v:capture', charged.value.id);
      expect(result).to.deep.equal({ ok: false, refusal: { code: 'charge_voided', message: 'The charge has been voided.' } });
      expect(requests() - before).to.equal(1);
      expect(sim.ledger().operations.map((o) => o.kind)).to.deep.equal(['charge', 'void']);
    });

    it('does not retry a 422: the same key with a different charge is refused once', async () => {
      const c = client();
      expect((await c.createCharge('pay_reuse', CHARGE)).ok).to.equal(true);
      const before = requests();
      const result = await c.createCharge('pay_reuse', { ...CHARGE, amount: CHARGE.amount + 1 });
      expect(result).to.deep.equal({
        ok: false,
        refusal: { code: 'idempotency_key_reused', message: 'This Idempotency-Key was already used with a different request.' },
      });
      expect(requests() - before).to.equal(1);
      expect(sim.ledger().charges).to.have.length(1);
    });

    it('reports a decline as a successful answer carrying the declined charge', async () => {
      const result = await client().createCharge('pay_declined', { ...CHARGE, amount: 2_402 });
      expect(result.ok).to.equal(true);
      if (result.ok) expect(result.value).to.include({ status: 'declined', decline_code: 'card_declined' });
      expect(requests()).to.equal(1);
    });
  });

  describe('circuit breaker', () => {
    it('opens after breakerThreshold consecutive failures, fails fast while open, and closes after a successful trial', async () => {
      const c = client({ maxRetries: 0, breakerThreshold: 3, breakerHalfOpenMs: 300 });
      expect(c.health()).to.equal('up');
      sim.setFaults({ error_rate: 1, fault_point: 'before' });

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

      sim.setFaults({ error_rate: 0 });
      await sleep(400);
      const trial = await c.createCharge('pay_trial', CHARGE);
      expect(trial.ok).to.equal(true);
      expect(requests() - before).to.equal(1);
      expect(c.health()).to.equal('up');
      expect(sim.ledger().operations.map((o) => o.idempotency_key)).to.deep.equal(['pay_trial']);
    });

    it('opens again when the trial call after the half-open delay fails', async () => {
      const c = client({ maxRetries: 0, breakerThreshold: 2, breakerHalfOpenMs: 300 });
      sim.setFaults({ error_rate: 1, fault_point: 'before' });
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

    it('does not count refusals (4xx) as failures', async () => {
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
      sim.setFaults({ error_rate: 1, fault_point: 'before' });
      await rejection(c.createCharge('pay_c1', CHARGE));
      sim.setFaults({ error_rate: 0 });
      expect((await c.createCharge('pay_c2', CHARGE)).ok).to.equal(true);
      sim.setFaults({ error_rate: 1 });
      await rejection(c.createCharge('pay_c3', CHARGE));
      expect(c.health()).to.equal('up');
      const before = requests();
      await rejection(c.createCharge('pay_c4', CHARGE));
      expect(requests() - before).to.equal(1);
      expect(c.health()).to.equal('degraded');
    });
  });
});
