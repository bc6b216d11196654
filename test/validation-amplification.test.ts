/**
 * One request must not stall the server. Bodies built to make validation expensive — thousands of
 * array items where two are allowed, thousands of metadata members, thousands of errors — are
 * answered with a small 400 that lists at most 10 problems and says how many there were, and they
 * are refused before the validator walks them. Whether another client's latency holds while
 * attackers send them is measured by `make bench` (target `validation-attack`), not here.
 */
import { expect } from 'chai';
import request from 'supertest';
import { beyondBounds } from '../src/platform/http/body-bounds.js';
import { MAX_LISTED_ERRORS } from '../src/platform/http/problem.js';
import { loadSpec } from '../src/platform/spec.js';
import { ADMIN_TOKEN, createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

/** Pathological bodies, each under the 64 KiB limit. */
const ATTACKS: { name: string; path: string; body: string }[] = [
  { name: '6,000 objects as API key scopes', path: '/v1/api_keys', body: JSON.stringify({ scopes: Array.from({ length: 6_000 }, () => ({})) }) },
  { name: '32,000 integers as API key scopes', path: '/v1/api_keys', body: JSON.stringify({ scopes: Array.from({ length: 32_000 }, (_, i) => i % 10) }) },
  { name: '9,000 equal strings as API key scopes (uniqueItems)', path: '/v1/api_keys', body: JSON.stringify({ scopes: Array.from({ length: 9_000 }, () => 'read') }) },
  {
    name: '5,000 metadata members of the wrong type',
    path: '/v1/customers',
    body: JSON.stringify({ email: 'a@example.com', metadata: Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])) }),
  },
  {
    name: '3,000 nested arrays in a payment description',
    path: '/v1/payments',
    body: JSON.stringify({ amount: 100, currency: 'EUR', description: Array.from({ length: 3_000 }, () => [[1]]) }),
  },
];

describe('validation amplification', () => {
  let t: TestApp;
  let account: TestAccount;
  before(async () => {
    t = await createTestApp();
    account = await t.createAccount();
  });
  after(() => t.close());

  for (const attack of ATTACKS) {
    it(`answers ${attack.name} (${Math.round(attack.body.length / 1024)} KiB) with a small 400 and changes nothing`, async () => {
      expect(attack.body.length).to.be.below(64 * 1024);
      const before = await snapshot(t.db);
      const res = await request(t.app)
        .post(attack.path)
        .set('Authorization', `Bearer ${account.secret}`)
        .set('Idempotency-Key', `amp-${Math.random()}`)
        .set('Content-Type', 'application/json')
        .send(attack.body);
      expectProblem(res, 400, 'validation_failed');
      expect(res.text.length, 'answer size').to.be.below(4 * 1024);
      expect(res.body.errors.length).to.be.within(1, MAX_LISTED_ERRORS);
      expect(res.body.error_count).to.be.at.least(res.body.errors.length);
      expect(await snapshot(t.db)).to.deep.equal(before);
    });
  }

  it('stops at the first collection beyond its bound, before the validator walks it', async () => {
    const res = await request(t.app)
      .post('/v1/api_keys')
      .set('Authorization', `Bearer ${account.secret}`)
      .send({ scopes: Array.from({ length: 6_000 }, () => ({})) });
    expect(res.body.error_count).to.equal(1);
    expect(res.body.errors).to.deep.equal([{ path: '/body/scopes', message: 'must NOT have more than 2 items' }]);
  });

  it('lists ten of 5,000 unknown members of a closed object, and counts them all', async () => {
    const res = await request(t.app)
      .post('/admin/accounts')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ name: 'n', ...Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`x${i}`, i])) });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.error_count).to.equal(5_000);
    expect(res.body.errors).to.have.length(MAX_LISTED_ERRORS);
    expect(res.body.errors[0]).to.deep.equal({ path: '/body/x0', message: 'must NOT have additional properties' });
  });

  it('still lists several problems of a body within the bounds, and counts them all', async () => {
    const res = await request(t.app)
      .post('/v1/customers')
      .set('Authorization', `Bearer ${account.secret}`)
      .send({ email: 'not-an-email', phone: 'x', name: '', description: 7, metadata: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, i])) });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.error_count).to.be.greaterThan(MAX_LISTED_ERRORS);
    expect(res.body.errors).to.have.length(MAX_LISTED_ERRORS);
    expect(res.body.detail).to.match(/; and \d+ more \(see errors\)$/);
  });

  it('admits the largest valid body of an operation (the bound is not too tight)', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key_${i}`, 'v'.repeat(500)]));
    const res = await request(t.app)
      .post('/v1/customers')
      .set('Authorization', `Bearer ${account.secret}`)
      .send({ email: 'max@example.com', name: 'n', phone: '+1 555', description: 'd', metadata });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
  });

  describe('beyondBounds', () => {
    const doc = loadSpec();
    it('names an array over maxItems, and an open object over maxProperties, where they are', () => {
      expect(beyondBounds(doc, { type: 'object', properties: { a: { type: 'array', maxItems: 2, items: {} } } }, { a: [1, 2, 3] }, '/body')).to.deep.equal([
        { path: '/body/a', message: 'must NOT have more than 2 items' },
      ]);
      expect(beyondBounds(doc, { $ref: '#/components/schemas/Metadata' }, Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])), '/body')).to.deep.equal([
        { path: '/body', message: 'must NOT have more than 50 properties' },
      ]);
    });
    it('passes what is within bounds, and leaves a type error to the validator', () => {
      expect(beyondBounds(doc, { type: 'array', maxItems: 2, items: {} }, [1, 2], '/body')).to.equal(undefined);
      expect(beyondBounds(doc, { type: 'string' }, Array.from({ length: 10_000 }, () => 1), '/body')).to.equal(undefined);
    });
    it('takes a oneOf value within bounds if any alternative does', () => {
      const schema = { oneOf: [{ type: 'array', maxItems: 1, items: {} }, { type: 'array', maxItems: 5, items: {} }] };
      expect(beyondBounds(doc, schema, [1, 2, 3], '/body')).to.equal(undefined);
      expect(beyondBounds(doc, schema, [1, 2, 3, 4, 5, 6], '/body')).to.deep.equal([{ path: '/body', message: 'must NOT have more than 1 items' }]);
    });
  });
});
