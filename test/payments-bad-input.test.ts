/**
 * Malformed requests to the payment, refund and event operations: each is a 4xx
 * `application/problem+json` carrying the request id, and none changes the database or reaches the
 * processor.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import type { ErrorCode } from '../src/platform/errors.js';
import { createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

interface BadInputCase {
  /** What is wrong with the request; the test is named "rejects <name> with <status> <code> …". */
  readonly name: string;
  readonly method: 'get' | 'post';
  /**
   * `{pay}`, `{re}` and `{evt}` are replaced by the ids of a payment, a refund and an event of the
   * calling account; `{payments_cursor}`, `{refunds_cursor}` and `{events_cursor}` by a cursor each
   * of those lists really issued.
   */
  readonly path: string;
  /**
   * The Idempotency-Key to send: absent → a fresh valid key on POST and none on GET; null → none.
   * Sent as raw bytes (latin1), so a non-ASCII key reaches the server as sent.
   */
  readonly key?: string | null;
  /** An object is sent as JSON; a string is sent as is, as `contentType`. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly expectedStatus: number;
  readonly expectedCode: ErrorCode;
  /** For validation_failed: a path that `errors` must name. */
  readonly errorPath?: string;
}

const long = (n: number, c = 'a') => c.repeat(n);
const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const valid = { amount: 2500, currency: 'EUR' } as const;
const KEY_PATH = '/headers/idempotency-key';
const T = '2026-01-01T00:00:00.000Z';

const cases: BadInputCase[] = [
  // ── Idempotency-Key ──────────────────────────────────────────────────────────────────────────
  { name: 'a payment without Idempotency-Key', method: 'post', path: '/v1/payments', key: null, body: valid, expectedStatus: 400, expectedCode: 'idempotency_key_required', errorPath: KEY_PATH },
  { name: 'a capture without Idempotency-Key', method: 'post', path: '/v1/payments/{pay}/capture', key: null, expectedStatus: 400, expectedCode: 'idempotency_key_required', errorPath: KEY_PATH },
  { name: 'a refund without Idempotency-Key', method: 'post', path: '/v1/refunds', key: null, body: { payment: '{pay}', amount: 100 }, expectedStatus: 400, expectedCode: 'idempotency_key_required', errorPath: KEY_PATH },
  { name: 'a payment with an empty Idempotency-Key', method: 'post', path: '/v1/payments', key: '', body: valid, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a payment with a 256-character Idempotency-Key', method: 'post', path: '/v1/payments', key: long(256, 'k'), body: valid, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a payment with a space in its Idempotency-Key', method: 'post', path: '/v1/payments', key: 'order 42', body: valid, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a payment with a non-ASCII Idempotency-Key', method: 'post', path: '/v1/payments', key: 'clé-42', body: valid, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a payment with a tab in its Idempotency-Key', method: 'post', path: '/v1/payments', key: 'order\t42', body: valid, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a capture with an empty Idempotency-Key', method: 'post', path: '/v1/payments/{pay}/capture', key: '', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a capture with a 256-character Idempotency-Key', method: 'post', path: '/v1/payments/{pay}/capture', key: long(256, 'k'), expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a cancel with a space in its Idempotency-Key', method: 'post', path: '/v1/payments/{pay}/cancel', key: 'cancel it', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a cancel with an empty Idempotency-Key', method: 'post', path: '/v1/payments/{pay}/cancel', key: '', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a refund with a non-ASCII Idempotency-Key', method: 'post', path: '/v1/refunds', key: 'rückerstattung', body: { payment: '{pay}', amount: 100 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },
  { name: 'a refund with a 256-character Idempotency-Key', method: 'post', path: '/v1/refunds', key: long(256, 'k'), body: { payment: '{pay}', amount: 100 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: KEY_PATH },

  // ── POST /v1/payments body ───────────────────────────────────────────────────────────────────
  { name: 'an amount of 0', method: 'post', path: '/v1/payments', body: { ...valid, amount: 0 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'a negative amount', method: 'post', path: '/v1/payments', body: { ...valid, amount: -2500 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'a fractional amount', method: 'post', path: '/v1/payments', body: { ...valid, amount: 1.5 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'an amount given as a string', method: 'post', path: '/v1/payments', body: { ...valid, amount: '2500' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'an amount above 99999999', method: 'post', path: '/v1/payments', body: { ...valid, amount: 100_000_000 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'an amount beyond the safe integer range', method: 'post', path: '/v1/payments', body: '{"amount":123456789012345678901234567890,"currency":"EUR"}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'a payment without amount', method: 'post', path: '/v1/payments', body: { currency: 'EUR' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'an amount that is null', method: 'post', path: '/v1/payments', body: { ...valid, amount: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'a lowercase currency', method: 'post', path: '/v1/payments', body: { ...valid, currency: 'eur' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/currency' },
  { name: 'an unknown currency', method: 'post', path: '/v1/payments', body: { ...valid, currency: 'XYZ' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/currency' },
  { name: 'a payment without currency', method: 'post', path: '/v1/payments', body: { amount: 2500 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/currency' },
  { name: 'a currency that is a number', method: 'post', path: '/v1/payments', body: { ...valid, currency: 978 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/currency' },
  { name: 'an unknown capture_method', method: 'post', path: '/v1/payments', body: { ...valid, capture_method: 'later' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/capture_method' },
  { name: 'an unknown payment property', method: 'post', path: '/v1/payments', body: { ...valid, confirm: true }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/confirm' },
  { name: 'a client-chosen payment status', method: 'post', path: '/v1/payments', body: { ...valid, status: 'succeeded' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/status' },
  { name: 'a client-chosen amount_refunded', method: 'post', path: '/v1/payments', body: { ...valid, amount_refunded: 0 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount_refunded' },
  { name: 'a customer id with nothing after the prefix', method: 'post', path: '/v1/payments', body: { ...valid, customer: 'cus_' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/customer' },
  { name: 'a customer id with symbols', method: 'post', path: '/v1/payments', body: { ...valid, customer: "cus_1' OR '1'='1" }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/customer' },
  { name: 'a pay_ id as the customer', method: 'post', path: '/v1/payments', body: { ...valid, customer: '{pay}' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/customer' },
  { name: 'a customer that is null', method: 'post', path: '/v1/payments', body: { ...valid, customer: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/customer' },
  { name: 'a description longer than 1000 characters', method: 'post', path: '/v1/payments', body: { ...valid, description: long(1001) }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/description' },
  { name: 'a NUL byte in the description', method: 'post', path: '/v1/payments', body: { ...valid, description: 'a\u0000b' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/description' },
  { name: 'metadata that is an array', method: 'post', path: '/v1/payments', body: { ...valid, metadata: ['order', '42'] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'a metadata value that is a number', method: 'post', path: '/v1/payments', body: { ...valid, metadata: { order: 42 } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/order' },
  { name: 'a metadata key longer than 40 characters', method: 'post', path: '/v1/payments', body: { ...valid, metadata: { [long(41, 'k')]: 'v' } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'a payment body that is truncated JSON', method: 'post', path: '/v1/payments', body: '{"amount":2500,"curr', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'a payment body that is a JSON array', method: 'post', path: '/v1/payments', body: '[{"amount":2500,"currency":"EUR"}]', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body' },
  { name: 'a payment body sent as text/plain', method: 'post', path: '/v1/payments', body: '{"amount":2500,"currency":"EUR"}', contentType: 'text/plain', expectedStatus: 415, expectedCode: 'unsupported_media_type' },

  // ── POST /v1/refunds body ────────────────────────────────────────────────────────────────────
  { name: 'a refund without payment', method: 'post', path: '/v1/refunds', body: { amount: 100 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/payment' },
  { name: 'a refund with a malformed payment id', method: 'post', path: '/v1/refunds', body: { payment: 'pay_!!' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/payment' },
  { name: 'a refund of a re_ id', method: 'post', path: '/v1/refunds', body: { payment: '{re}' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/payment' },
  { name: 'a refund amount of 0', method: 'post', path: '/v1/refunds', body: { payment: '{pay}', amount: 0 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'a negative refund amount', method: 'post', path: '/v1/refunds', body: { payment: '{pay}', amount: -100 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'a refund amount given as a string', method: 'post', path: '/v1/refunds', body: { payment: '{pay}', amount: '100' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/amount' },
  { name: 'an unknown refund reason', method: 'post', path: '/v1/refunds', body: { payment: '{pay}', reason: 'changed_mind' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/reason' },
  { name: 'an unknown refund property', method: 'post', path: '/v1/refunds', body: { payment: '{pay}', currency: 'EUR' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/currency' },
  { name: 'refund metadata that is a string', method: 'post', path: '/v1/refunds', body: { payment: '{pay}', metadata: 'note' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },

  // ── Ids in paths ─────────────────────────────────────────────────────────────────────────────
  { name: 'a payment id with symbols', method: 'get', path: '/v1/payments/pay_abc$def', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a re_ id on the payments route', method: 'get', path: '/v1/payments/{re}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a payment id longer than 64 characters', method: 'get', path: `/v1/payments/pay_${long(65)}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a capture of a malformed payment id', method: 'post', path: '/v1/payments/pay_/capture', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a capture with an SQL injection in the payment id', method: 'post', path: `/v1/payments/${encodeURIComponent("pay_1' OR '1'='1")}/capture`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a cancel of a cus_ id', method: 'post', path: '/v1/payments/cus_3mfdbXbC2SoUEyMbGSsbgE/cancel', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a refund id with symbols', method: 'get', path: '/v1/refunds/re_%21%21', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a pay_ id on the refunds route', method: 'get', path: '/v1/refunds/{pay}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'an event id with nothing after the prefix', method: 'get', path: '/v1/events/evt_', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a pay_ id on the events route', method: 'get', path: '/v1/events/{pay}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'an event sequence number as the event id', method: 'get', path: '/v1/events/1', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },

  // ── List filters ─────────────────────────────────────────────────────────────────────────────
  { name: 'an unknown payment status filter', method: 'get', path: '/v1/payments?status=paid', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/status' },
  { name: 'an upper-case payment status filter', method: 'get', path: '/v1/payments?status=SUCCEEDED', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/status' },
  { name: 'a refund status used as a payment status filter', method: 'get', path: '/v1/payments?status=pending', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/status' },
  { name: 'a payment customer filter that is not a customer id', method: 'get', path: '/v1/payments?customer={pay}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/customer' },
  { name: 'a refund payment filter that is not a payment id', method: 'get', path: '/v1/refunds?payment=cus_abc', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/payment' },
  { name: 'an unknown event type filter', method: 'get', path: '/v1/events?type=payment.refunded', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/type' },
  { name: 'an event type filter without its namespace', method: 'get', path: '/v1/events?type=created', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/type' },
  { name: 'an event object_id filter that is a customer id', method: 'get', path: '/v1/events?object_id=cus_abc', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/object_id' },
  { name: 'an unknown query parameter on the payments list', method: 'get', path: '/v1/payments?amount=2500', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/amount' },
  { name: 'created[gte] that is not an integer on the events list', method: 'get', path: '/v1/events?created[gte]=today', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/created/gte' },
  { name: 'a payments limit of 0', method: 'get', path: '/v1/payments?limit=0', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a payments limit of 101', method: 'get', path: '/v1/payments?limit=101', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a refunds limit of 0', method: 'get', path: '/v1/refunds?limit=0', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a refunds limit of 101', method: 'get', path: '/v1/refunds?limit=101', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'an events limit of 0', method: 'get', path: '/v1/events?limit=0', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'an events limit of 101', method: 'get', path: '/v1/events?limit=101', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },

  // ── Cursors ──────────────────────────────────────────────────────────────────────────────────
  { name: 'a payments cursor that is not base64 JSON', method: 'get', path: '/v1/payments?cursor=bm90LWpzb24', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a refunds cursor that is not base64 JSON', method: 'get', path: '/v1/refunds?cursor=bm90LWpzb24', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'an events cursor that is not base64 JSON', method: 'get', path: '/v1/events?cursor=bm90LWpzb24', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a payments cursor used on the events list', method: 'get', path: '/v1/events?cursor={payments_cursor}', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'an events cursor used on the payments list', method: 'get', path: '/v1/payments?cursor={events_cursor}', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a refunds cursor used on the payments list', method: 'get', path: '/v1/payments?cursor={refunds_cursor}', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a payments cursor used on the refunds list', method: 'get', path: '/v1/refunds?cursor={payments_cursor}', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'an events cursor used on the refunds list', method: 'get', path: '/v1/refunds?cursor={events_cursor}', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged events cursor whose tie-breaker is an id, not a sequence', method: 'get', path: `/v1/events?cursor=${b64json({ l: 'events', t: T, i: 'evt_abc' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged events cursor with an SQL injection as its sequence', method: 'get', path: `/v1/events?cursor=${b64json({ l: 'events', t: T, i: '1) or (1=1' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged payments cursor whose tie-breaker is a sequence number', method: 'get', path: `/v1/payments?cursor=${b64json({ l: 'payments', t: T, i: '42' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged payments cursor with an invalid date', method: 'get', path: `/v1/payments?cursor=${b64json({ l: 'payments', t: 'yesterday', i: 'pay_x' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a payments cursor with characters outside base64url', method: 'get', path: `/v1/payments?cursor=${encodeURIComponent('abc=/+')}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/cursor' },
];

describe('payments, refunds and events: bad input', () => {
  let t: TestApp;
  let account: TestAccount;
  const fill: Record<string, string> = {};

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount('Bad payment input account');
    const auth = { Authorization: `Bearer ${account.secret}` };
    const payments: string[] = [];
    for (const amount of [5000, 6000]) {
      const res = await request(t.app).post('/v1/payments').set(auth).set('Idempotency-Key', randomUUID()).send({ amount, currency: 'EUR' });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      payments.push(res.body.id);
    }
    const refunds: string[] = [];
    for (const amount of [100, 200]) {
      const res = await request(t.app).post('/v1/refunds').set(auth).set('Idempotency-Key', randomUUID()).send({ payment: payments[0], amount });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      refunds.push(res.body.id);
    }
    const firstPage = async (path: string) => {
      const res = await request(t.app).get(path).query({ limit: 1 }).set(auth);
      expect(res.status).to.equal(200);
      expect(res.body.next_cursor).to.be.a('string');
      return res.body as { data: { id: string }[]; next_cursor: string };
    };
    const events = await firstPage('/v1/events');
    Object.assign(fill, {
      pay: payments[0]!,
      re: refunds[0]!,
      evt: events.data[0]!.id,
      payments_cursor: (await firstPage('/v1/payments')).next_cursor,
      refunds_cursor: (await firstPage('/v1/refunds')).next_cursor,
      events_cursor: events.next_cursor,
    });
  });
  after(() => t?.close());

  const substitute = (text: string) => text.replace(/\{(\w+)\}/g, (whole, name: string) => fill[name] ?? whole);

  function send(c: BadInputCase, requestId: string): request.Test {
    let req = request(t.app)[c.method](substitute(c.path))
      .set('Authorization', `Bearer ${account.secret}`)
      .set('Request-Id', requestId);
    const key = c.key === undefined ? (c.method === 'post' ? randomUUID() : null) : c.key;
    // Latin-1 bytes: what a client that sends a raw non-ASCII header puts on the wire.
    if (key !== null) req = req.set('Idempotency-Key', Buffer.from(key, 'utf8').toString('latin1'));
    if (c.body === undefined) return req;
    if (typeof c.body === 'string') return req.set('Content-Type', c.contentType ?? 'application/json').send(substitute(c.body));
    return req.send(JSON.parse(substitute(JSON.stringify(c.body))) as object);
  }

  it(`has at least 40 malformed-request cases with distinct names (${cases.length})`, () => {
    expect(cases.length).to.be.at.least(40);
    expect(new Set(cases.map((c) => c.name)).size).to.equal(cases.length);
  });

  it('fills every placeholder the cases use', () => {
    for (const c of cases) {
      expect(substitute(c.path), c.name).not.to.match(/\{\w+\}/);
      if (c.body !== undefined) expect(substitute(JSON.stringify(c.body)), c.name).not.to.match(/\{(pay|re|evt)\}/);
    }
  });

  describe('malformed requests', () => {
    cases.forEach((c, i) => {
      it(`rejects ${c.name} with ${c.expectedStatus} ${c.expectedCode} and changes nothing`, async () => {
        const requestId = `payments-bad-input.${i}`;
        const before = await snapshot(t.db);
        const opsBefore = t.simulator.ledger().operations.length;
        const res = await send(c, requestId);
        expectProblem(res, c.expectedStatus, c.expectedCode);
        expect(res.body.request_id).to.equal(requestId);
        // A refusal is never a replay; the operations that take a key say so explicitly.
        expect(res.headers['idempotent-replayed']).to.equal(c.method === 'post' ? 'false' : undefined);
        if (c.errorPath !== undefined) {
          expect(res.body.errors, JSON.stringify(res.body)).to.be.an('array');
          expect(res.body.errors.map((e: { path: string }) => e.path), JSON.stringify(res.body.errors)).to.include(c.errorPath);
        }
        expect(await snapshot(t.db)).to.deep.equal(before);
        expect(t.simulator.ledger().operations.length).to.equal(opsBefore);
      });
    });
  });

  it('leaves the existing payment and refunds untouched', async () => {
    const auth = { Authorization: `Bearer ${account.secret}` };
    const payment = await request(t.app).get(`/v1/payments/${fill.pay}`).set(auth);
    expect(payment.status).to.equal(200);
    expect(payment.body).to.include({ status: 'succeeded', amount: 5000, amount_captured: 5000, amount_refunded: 300 });
    const refunds = await request(t.app).get('/v1/refunds').query({ payment: fill.pay! }).set(auth);
    expect(refunds.body.data).to.have.length(2);
  });
});
