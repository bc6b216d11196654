import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { startProcessorSimulator, type Charge, type ProcessorSimulator, type Refund } from '../../src/processor/simulator/server.js';
import { rejection } from '../helpers/rejection.js';

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

let sim: ProcessorSimulator;

async function call(method: string, path: string, options: { body?: unknown; raw?: string; key?: string | null; signal?: AbortSignal } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  if (options.key !== null && method !== 'GET') headers['Idempotency-Key'] = options.key ?? randomUUID();
  if (path.startsWith('/control/')) headers.Authorization = `Bearer ${sim.controlToken}`;
  const res = await fetch(`${sim.url}${path}`, { method, headers, body: payload, signal: options.signal });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const post = (path: string, body?: unknown, key?: string | null) => call('POST', path, { body, key });

async function createCharge(body: Record<string, unknown> = {}, key?: string): Promise<Charge> {
  const res = await post('/v1/charges', { amount: 1000, currency: 'usd', capture: false, ...body }, key);
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body as unknown as Charge;
}

function countOps(kind: string): number {
  return sim.ledger().operations.filter((o) => o.kind === kind).length;
}

describe('processor simulator', () => {
  before(async () => {
    // Every answer in this file is also checked against spec/processor.yaml.
    sim = await startProcessorSimulator({ validateResponses: true });
  });

  after(async () => {
    await sim.close();
  });

  beforeEach(() => {
    sim.reset();
  });

  describe('charges', () => {
    it('authorizes a charge when capture is false', async () => {
      const charge = await createCharge({ amount: 2500, currency: 'eur', reference: 'order-17' }, 'auth-1');
      expect(charge).to.include({
        object: 'charge',
        amount: 2500,
        currency: 'eur',
        status: 'authorized',
        amount_captured: 0,
        amount_refunded: 0,
        decline_code: null,
        reference: 'order-17',
        idempotency_key: 'auth-1',
      });
      expect(charge.id).to.match(/^ch_[A-Za-z0-9]{20}$/);
      expect(charge.created).to.be.a('number');
      expect(sim.ledger().charges).to.deep.equal([charge]);
    });

    it('captures a charge immediately when capture is true', async () => {
      const charge = await createCharge({ amount: 1234, capture: true });
      expect(charge.status).to.equal('captured');
      expect(charge.amount_captured).to.equal(1234);
      expect(charge.reference).to.equal(null);
    });

    it('declines every amount whose last three digits are 402, and only those', async () => {
      for (const amount of [402, 1402, 25402]) {
        const charge = await createCharge({ amount, capture: true });
        expect(charge.status, String(amount)).to.equal('declined');
        expect(charge.decline_code).to.equal('card_declined');
        expect(charge.amount_captured).to.equal(0);
      }
      for (const amount of [401, 403, 4020, 1042]) {
        expect((await createCharge({ amount, capture: true })).status, String(amount)).to.equal('captured');
      }
      expect(countOps('charge')).to.equal(7);
    });

    it('returns the current state of a charge on GET, and 404 for an unknown one', async () => {
      const charge = await createCharge();
      await post(`/v1/charges/${charge.id}/capture`);
      const got = await call('GET', `/v1/charges/${charge.id}`);
      expect(got.status).to.equal(200);
      expect(got.body).to.include({ id: charge.id, status: 'captured', amount_captured: 1000 });

      const missing = await call('GET', '/v1/charges/ch_doesnotexist');
      expect(missing.status).to.equal(404);
      expect(missing.body.code).to.equal('charge_not_found');
    });

    it('refuses invalid bodies with 400 invalid_request and records nothing', async () => {
      const bad: unknown[] = [
        { amount: 0, currency: 'usd', capture: true },
        { amount: 10.5, currency: 'usd', capture: true },
        { amount: '100', currency: 'usd', capture: true },
        { amount: 100, currency: 'us', capture: true },
        { amount: 100, currency: 'usd1', capture: true },
        { amount: 100, currency: 'usd' },
        { amount: 100, currency: 'usd', capture: 'yes' },
        { amount: 100, currency: 'usd', capture: true, reference: 'x'.repeat(256) },
        { amount: 100, currency: 'usd', capture: true, surprise: 1 },
        [{ amount: 100, currency: 'usd', capture: true }],
      ];
      for (const body of bad) {
        const res = await post('/v1/charges', body);
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(res.body.code).to.equal('invalid_request');
        expect(res.body.message).to.be.a('string').and.not.equal('');
      }
      const malformed = await call('POST', '/v1/charges', { raw: '{"amount": 100,' });
      expect(malformed.status).to.equal(400);
      expect(malformed.body.code).to.equal('invalid_request');
      expect(sim.ledger().charges).to.have.length(0);
    });

    it('lets a key that met a validation error be used again once the body is fixed', async () => {
      const first = await post('/v1/charges', { amount: -1, currency: 'usd', capture: true }, 'fix-me');
      expect(first.status).to.equal(400);
      const second = await post('/v1/charges', { amount: 1, currency: 'usd', capture: true }, 'fix-me');
      expect(second.status).to.equal(201);
    });

    it('answers unknown routes with 404 not_found', async () => {
      for (const [method, path] of [
        ['GET', '/v1/nothing'],
        ['POST', '/v1/charges/ch_x/refund'],
        ['GET', '/elsewhere'],
      ] as const) {
        const res = await call(method, path);
        expect(res.status, `${method} ${path}`).to.equal(404);
        expect(res.body.code).to.equal('not_found');
      }
    });
  });

  describe('idempotency', () => {
    it('requires an Idempotency-Key on every POST, and bounds its length', async () => {
      const missing = await post('/v1/charges', { amount: 100, currency: 'usd', capture: true }, null);
      expect(missing.status).to.equal(400);
      expect(missing.body.code).to.equal('idempotency_key_required');
      const charge = await createCharge();
      for (const path of [`/v1/charges/${charge.id}/capture`, `/v1/charges/${charge.id}/void`, '/v1/refunds']) {
        const res = await post(path, path === '/v1/refunds' ? { charge: charge.id, amount: 1 } : undefined, null);
        expect(res.body.code, path).to.equal('idempotency_key_required');
      }
      const tooLong = await post('/v1/charges', { amount: 100, currency: 'usd', capture: true }, 'k'.repeat(256));
      expect(tooLong.status).to.equal(400);
      expect(tooLong.body.code).to.equal('invalid_request');
      expect((await post('/v1/charges', { amount: 100, currency: 'usd', capture: true }, 'k'.repeat(255))).status).to.equal(201);
      expect(countOps('charge')).to.equal(2);
    });

    it('replays the first response for the same key and request, without a new operation', async () => {
      const body = { amount: 700, currency: 'usd', capture: false, reference: 'r-1' };
      const first = await post('/v1/charges', body, 'same-key');
      expect(first.status).to.equal(201);
      expect(first.headers.get('idempotent-replayed')).to.equal(null);

      // Key order differs: the fingerprint is over canonical JSON, so this is the same request.
      const again = await post('/v1/charges', { reference: 'r-1', capture: false, currency: 'usd', amount: 700 }, 'same-key');
      expect(again.status).to.equal(201);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(again.body).to.deep.equal(first.body);

      const ledger = sim.ledger();
      expect(ledger.charges).to.have.length(1);
      expect(ledger.operations).to.have.length(1);
      expect(ledger.stats.replays).to.equal(1);
    });

    it('replays the response as it was, even after the charge has moved on', async () => {
      const charge = await createCharge({}, 'create-then-capture');
      await post(`/v1/charges/${charge.id}/capture`);
      const replay = await post('/v1/charges', { amount: 1000, currency: 'usd', capture: false }, 'create-then-capture');
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body.status).to.equal('authorized');
    });

    it('refuses the same key with a different request with 422 idempotency_key_reused', async () => {
      await createCharge({ amount: 100 }, 'reused');
      const res = await post('/v1/charges', { amount: 101, currency: 'usd', capture: false }, 'reused');
      expect(res.status).to.equal(422);
      expect(res.body.code).to.equal('idempotency_key_reused');

      // The path is part of the request: one key cannot capture two different charges.
      const a = await createCharge();
      const b = await createCharge();
      expect((await post(`/v1/charges/${a.id}/capture`, undefined, 'cap')).status).to.equal(200);
      const other = await post(`/v1/charges/${b.id}/capture`, undefined, 'cap');
      expect(other.status).to.equal(422);
      expect(other.body.code).to.equal('idempotency_key_reused');
      expect(countOps('capture')).to.equal(1);
    });

    it('scopes keys by kind of operation, so a charge and its capture may share one', async () => {
      const charge = await createCharge({}, 'shared');
      const capture = await post(`/v1/charges/${charge.id}/capture`, {}, 'shared');
      expect(capture.status).to.equal(200);
      expect(capture.headers.get('idempotent-replayed')).to.equal(null);
    });

    it('stores business errors too, so a replayed 409 is exact', async () => {
      const charge = await createCharge({ capture: true });
      const conflict = await post(`/v1/charges/${charge.id}/capture`, undefined, 'late-capture');
      expect(conflict.status).to.equal(409);
      const replay = await post(`/v1/charges/${charge.id}/capture`, undefined, 'late-capture');
      expect(replay.status).to.equal(409);
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body).to.deep.equal(conflict.body);
    });

    it('applies 50 concurrent identical requests with one key exactly once', async () => {
      sim.setFaults({ latency_ms: 20 });
      const body = { amount: 5000, currency: 'usd', capture: true };
      const replies = await Promise.all(Array.from({ length: 50 }, () => post('/v1/charges', body, 'concurrent')));
      expect(replies.map((r) => r.status)).to.deep.equal(Array(50).fill(201));
      expect(new Set(replies.map((r) => r.body.id)).size).to.equal(1);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).to.have.length(49);
      expect(countOps('charge')).to.equal(1);
      expect(sim.ledger().charges).to.have.length(1);
    });
  });

  describe('capture and void', () => {
    it('captures an authorized charge once; a second capture or a void is a 409', async () => {
      const charge = await createCharge({ amount: 900 });
      const captured = await post(`/v1/charges/${charge.id}/capture`, {});
      expect(captured.status).to.equal(200);
      expect(captured.body).to.include({ id: charge.id, status: 'captured', amount_captured: 900 });

      const twice = await post(`/v1/charges/${charge.id}/capture`);
      expect(twice.status).to.equal(409);
      expect(twice.body.code).to.equal('charge_already_captured');
      const voided = await post(`/v1/charges/${charge.id}/void`);
      expect(voided.status).to.equal(409);
      expect(voided.body.code).to.equal('charge_already_captured');
      expect(countOps('capture')).to.equal(1);
      expect(countOps('void')).to.equal(0);
    });

    it('voids an authorized charge once; a capture or a second void is a 409', async () => {
      const charge = await createCharge();
      const voided = await post(`/v1/charges/${charge.id}/void`);
      expect(voided.status).to.equal(200);
      expect(voided.body).to.include({ status: 'voided', amount_captured: 0 });

      const capture = await post(`/v1/charges/${charge.id}/capture`);
      expect(capture.status).to.equal(409);
      expect(capture.body.code).to.equal('charge_voided');
      const again = await post(`/v1/charges/${charge.id}/void`);
      expect(again.status).to.equal(409);
      expect(again.body.code).to.equal('charge_voided');
      expect(countOps('void')).to.equal(1);
    });

    it('refuses to capture or void a declined charge', async () => {
      const charge = await createCharge({ amount: 3402 });
      for (const action of ['capture', 'void']) {
        const res = await post(`/v1/charges/${charge.id}/${action}`);
        expect(res.status, action).to.equal(409);
        expect(res.body.code).to.equal('charge_declined');
      }
      expect(sim.ledger().operations.map((o) => o.kind)).to.deep.equal(['charge']);
    });

    it('answers 404 charge_not_found for an unknown charge, and 400 for a capture body with fields', async () => {
      for (const action of ['capture', 'void']) {
        const res = await post(`/v1/charges/ch_missing/${action}`);
        expect(res.status, action).to.equal(404);
        expect(res.body.code).to.equal('charge_not_found');
      }
      const charge = await createCharge();
      const withAmount = await post(`/v1/charges/${charge.id}/capture`, { amount: 10 });
      expect(withAmount.status).to.equal(400);
      expect(withAmount.body.code).to.equal('invalid_request');
      expect(sim.ledger().charges[0]?.status).to.equal('authorized');
    });
  });

  describe('refunds', () => {
    it('accumulates partial refunds up to the captured amount, then refuses with 422', async () => {
      const charge = await createCharge({ amount: 1000, capture: true });
      const first = await post('/v1/refunds', { charge: charge.id, amount: 300 }, 'rf-1');
      expect(first.status).to.equal(201);
      const refund = first.body as unknown as Refund;
      expect(refund).to.include({ object: 'refund', charge: charge.id, amount: 300, status: 'succeeded', idempotency_key: 'rf-1' });
      expect(refund.id).to.match(/^rf_[A-Za-z0-9]{20}$/);

      expect((await call('GET', `/v1/charges/${charge.id}`)).body.amount_refunded).to.equal(300);
      const over = await post('/v1/refunds', { charge: charge.id, amount: 701 });
      expect(over.status).to.equal(422);
      expect(over.body.code).to.equal('amount_exceeds_refundable');

      expect((await post('/v1/refunds', { charge: charge.id, amount: 700 })).status).to.equal(201);
      expect((await call('GET', `/v1/charges/${charge.id}`)).body.amount_refunded).to.equal(1000);
      const more = await post('/v1/refunds', { charge: charge.id, amount: 1 });
      expect(more.status).to.equal(422);
      expect(more.body.code).to.equal('amount_exceeds_refundable');

      const ledger = sim.ledger();
      expect(ledger.refunds.map((r) => r.amount)).to.deep.equal([300, 700]);
      expect(countOps('refund')).to.equal(2);
    });

    it('replays a refund for the same key instead of refunding twice', async () => {
      const charge = await createCharge({ amount: 1000, capture: true });
      const first = await post('/v1/refunds', { charge: charge.id, amount: 400 }, 'refund-once');
      const again = await post('/v1/refunds', { charge: charge.id, amount: 400 }, 'refund-once');
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(again.body).to.deep.equal(first.body);
      expect(sim.ledger().charges[0]?.amount_refunded).to.equal(400);
    });

    it('refunds only captured charges, and answers 404 for an unknown one', async () => {
      const authorized = await createCharge();
      const voided = await createCharge();
      await post(`/v1/charges/${voided.id}/void`);
      const declined = await createCharge({ amount: 402, capture: true });
      for (const charge of [authorized, voided, declined]) {
        const res = await post('/v1/refunds', { charge: charge.id, amount: 1 });
        expect(res.status, charge.status).to.equal(409);
        expect(res.body.code).to.equal('charge_not_captured');
      }
      const missing = await post('/v1/refunds', { charge: 'ch_missing', amount: 1 });
      expect(missing.status).to.equal(404);
      expect(missing.body.code).to.equal('charge_not_found');
      const invalid = await post('/v1/refunds', { charge: authorized.id, amount: 0 });
      expect(invalid.status).to.equal(400);
      expect(sim.ledger().refunds).to.have.length(0);
    });
  });

  describe('control API', () => {
    it('refuses every control request without the control token, or with another one', async () => {
      await createCharge({ capture: true });
      for (const [method, path] of [['GET', '/control/ledger'], ['GET', '/control/faults'], ['PUT', '/control/faults'], ['POST', '/control/reset']] as const) {
        for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${sim.controlToken}`]) {
          const res = await fetch(`${sim.url}${path}`, {
            method,
            headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
            body: method === 'PUT' ? JSON.stringify({ error_rate: 1 }) : undefined,
          });
          expect(res.status, `${method} ${path} with ${authorization ?? 'no token'}`).to.equal(401);
          expect(res.headers.get('www-authenticate')).to.match(/^Bearer /);
        }
      }
      expect(sim.ledger().charges).to.have.length(1);
      expect((await call('GET', '/control/faults')).body.error_rate).to.equal(0);
    });

    it('answers /health without a token, for health checks', async () => {
      const res = await fetch(`${sim.url}/health`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 'ok' });
    });

    it('merges partial fault settings and returns them in full', async () => {
      const put = await call('PUT', '/control/faults', { body: { error_rate: 0.25, latency_ms: 5 } });
      expect(put.status).to.equal(200);
      expect(put.body).to.deep.equal({
        latency_ms: 5,
        latency_jitter_ms: 0,
        error_rate: 0.25,
        timeout_rate: 0,
        drop_rate: 0,
        fault_point: 'random',
        hang_ms: 60000,
        seed: 1,
      });
      await call('PUT', '/control/faults', { body: { fault_point: 'after' } });
      const got = await call('GET', '/control/faults');
      expect(got.body).to.include({ error_rate: 0.25, latency_ms: 5, fault_point: 'after' });
    });

    it('refuses invalid fault settings with 400 and keeps the previous ones', async () => {
      const bad: unknown[] = [
        { error_rate: 1.5 },
        { drop_rate: -0.1 },
        { error_rate: 0.5, drop_rate: 0.3, timeout_rate: 0.3 },
        { latency_ms: -1 },
        { hang_ms: 1.5 },
        { latency_jitter_ms: '10' },
        { fault_point: 'during' },
        { seed: 0.5 },
        { errror_rate: 0.1 },
      ];
      for (const body of bad) {
        const res = await call('PUT', '/control/faults', { body });
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(res.body.code).to.equal('invalid_request');
      }
      const malformed = await call('PUT', '/control/faults', { raw: '{"error_rate":' });
      expect(malformed.status).to.equal(400);
      expect((await call('GET', '/control/faults')).body.error_rate).to.equal(0);
      expect(() => sim.setFaults({ error_rate: 2 })).to.throw(/error_rate/);
      expect(sim.setFaults({ error_rate: 0.5, drop_rate: 0.5 })).to.include({ error_rate: 0.5, drop_rate: 0.5 });
    });

    it('serves the same ledger over HTTP as ledger(), and is never faulted', async () => {
      await createCharge({ capture: true });
      sim.setFaults({ error_rate: 1, fault_point: 'before' });
      const res = await call('GET', '/control/ledger');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(sim.ledger());
      expect((await call('GET', '/control/faults')).status).to.equal(200);
    });

    it('resets the ledger, the idempotency records, the stats and the faults', async () => {
      await createCharge({}, 'before-reset');
      sim.setFaults({ error_rate: 0.5, seed: 9 });
      const res = await call('POST', '/control/reset');
      expect(res.status).to.equal(204);
      const ledger = sim.ledger();
      expect(ledger.charges).to.have.length(0);
      expect(ledger.operations).to.have.length(0);
      expect(ledger.stats).to.deep.equal({ requests: 0, replays: 0, faults: { error: 0, timeout: 0, drop: 0 } });
      expect((await call('GET', '/control/faults')).body).to.include({ error_rate: 0, seed: 1 });
      const again = await createCharge({}, 'before-reset');
      expect(again.idempotency_key).to.equal('before-reset');
      expect(countOps('charge')).to.equal(1);
    });
  });

  describe('fault injection', () => {
    it('faults about error_rate of requests, and applies none of the ones faulted before the operation', async () => {
      sim.setFaults({ error_rate: 0.3, fault_point: 'before', seed: 424242 });
      const statuses: number[] = [];
      for (let batch = 0; batch < 8; batch += 1) {
        const replies = await Promise.all(Array.from({ length: 50 }, () => post('/v1/charges', { amount: 100, currency: 'usd', capture: true })));
        statuses.push(...replies.map((r) => r.status));
      }
      const errors = statuses.filter((s) => s === 500 || s === 503).length;
      const created = statuses.filter((s) => s === 201).length;
      expect(errors).to.be.within(80, 160);
      expect(errors + created).to.equal(400);
      const ledger = sim.ledger();
      expect(ledger.charges).to.have.length(created);
      expect(countOps('charge')).to.equal(created);
      expect(ledger.stats.faults.error).to.equal(errors);
      expect(ledger.stats.requests).to.equal(400);
    });

    it('answers with processor_unavailable (503) and processor_error (500) JSON', async () => {
      sim.setFaults({ error_rate: 1, fault_point: 'before' });
      const replies = [await call('GET', '/v1/charges/ch_any'), await call('GET', '/v1/charges/ch_any')];
      expect(replies.map((r) => [r.status, r.body.code])).to.have.deep.members([
        [503, 'processor_unavailable'],
        [500, 'processor_error'],
      ]);
    });

    it('repeats the same fault sequence for the same seed', async () => {
      const run = async () => {
        sim.setFaults({ error_rate: 0.5, fault_point: 'before', seed: 7 });
        const statuses: number[] = [];
        for (let i = 0; i < 30; i += 1) statuses.push((await call('GET', '/v1/charges/ch_any')).status);
        return statuses;
      };
      const first = await run();
      const second = await run();
      expect(first).to.deep.equal(second);
      expect(first).to.include(404).and.to.include(503);
    });

    it('applies the operation when the fault comes after it, and a retry with the same key replays it', async () => {
      sim.setFaults({ error_rate: 1, fault_point: 'after' });
      const body = { amount: 4200, currency: 'usd', capture: true };
      const failed = await post('/v1/charges', body, 'retry-me');
      expect(failed.status).to.be.oneOf([500, 503]);
      expect(sim.ledger().charges).to.have.length(1);

      sim.setFaults({ error_rate: 0 });
      const retry = await post('/v1/charges', body, 'retry-me');
      expect(retry.status).to.equal(201);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect(retry.body.id).to.equal(sim.ledger().charges[0]?.id);
      expect(sim.ledger().operations).to.have.length(1);
    });

    it('drops the connection without a response', async () => {
      sim.setFaults({ drop_rate: 1, fault_point: 'before' });
      const error = await rejection(post('/v1/charges', { amount: 100, currency: 'usd', capture: true }));
      expect(error).to.be.instanceOf(TypeError);
      const ledger = sim.ledger();
      expect(ledger.stats.faults.drop).to.equal(1);
      expect(ledger.charges).to.have.length(0);
    });

    it('still applies the operation when the drop comes after it', async () => {
      sim.setFaults({ drop_rate: 1, fault_point: 'after' });
      expect(await rejection(post('/v1/charges', { amount: 100, currency: 'usd', capture: true }))).to.be.instanceOf(TypeError);
      expect(sim.ledger().charges).to.have.length(1);
    });

    it('hangs without answering until the caller gives up', async () => {
      sim.setFaults({ timeout_rate: 1, fault_point: 'before', hang_ms: 600_000 });
      const error = await rejection(call('POST', '/v1/charges', { body: { amount: 100, currency: 'usd', capture: true }, signal: AbortSignal.timeout(200) }));
      expect((error as Error).name).to.equal('TimeoutError');
      expect(sim.ledger().stats.faults.timeout).to.equal(1);
      expect(sim.ledger().charges).to.have.length(0);
    });

    it('applies the operation before hanging when the timeout comes after it', async () => {
      sim.setFaults({ timeout_rate: 1, fault_point: 'after', hang_ms: 600_000 });
      const body = { amount: 100, currency: 'usd', capture: true };
      const error = await rejection(call('POST', '/v1/charges', { body, key: 'hung-after', signal: AbortSignal.timeout(200) }));
      expect((error as Error).name).to.equal('TimeoutError');
      expect(sim.ledger().charges).to.have.length(1);
      sim.setFaults({ timeout_rate: 0 });
      expect((await post('/v1/charges', body, 'hung-after')).headers.get('idempotent-replayed')).to.equal('true');
    });

    it('close() ends hanging requests at once', async function () {
      this.timeout(2000);
      const own = await startProcessorSimulator({ faults: { timeout_rate: 1, hang_ms: 600_000 } });
      const hanging = fetch(`${own.url}/v1/charges/ch_any`).then(
        () => 'answered',
        () => 'rejected',
      );
      // Wait until the request has reached the simulator before closing.
      while (own.ledger().stats.faults.timeout === 0) await new Promise((r) => setTimeout(r, 10));
      await own.close();
      expect(await hanging).to.equal('rejected');
    });
  });
});
