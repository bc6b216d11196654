/**
 * Every customer operation through the API, success and error paths, on a real database:
 * - create: 201 with absent optional fields null and metadata `{}`; a body without email is a 400
 *   naming the field; with an `Idempotency-Key`, one customer per key and the first answer
 *   replayed, the key reused with another body a 422 that creates nothing; without a key, one
 *   customer per request;
 * - retrieve, update and delete: an update changes only the fields sent, null clears a field,
 *   metadata is replaced whole, an empty body is a 400; a deleted customer is neither retrievable
 *   nor listed, and a second delete is a 404; an unknown id is a 404, an id of another kind a 400;
 * - the list: newest first in database order with every page walked once, the email filter
 *   case-insensitive and found when the address is sent unencoded (`*`, `'`, `!`, as curl sends
 *   them), the created range, limits 0 and 101 refused, forged cursors a 400 invalid_cursor.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

describe('customers', () => {
  let t: TestApp;
  let account: TestAccount;
  const auth = () => ({ Authorization: `Bearer ${account.secret}` });

  before(async () => {
    t = await createTestApp();
    account = await t.createAccount();
  });
  after(() => t.close());

  async function create(body: object = { email: 'ada@example.com' }) {
    const res = await request(t.app).post('/v1/customers').set(auth()).send(body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  describe('POST /v1/customers', () => {
    it('creates a customer and returns it with 201', async () => {
      const res = await request(t.app)
        .post('/v1/customers')
        .set(auth())
        .send({ email: 'grace@example.com', name: 'Grace Hopper', phone: '+1 555 0100', description: 'Rear admiral', metadata: { tier: 'gold' } });
      expect(res.status).to.equal(201);
      expect(res.headers['request-id']).to.match(/^req_/);
      expect(res.body).to.include({ object: 'customer', email: 'grace@example.com', name: 'Grace Hopper', phone: '+1 555 0100', description: 'Rear admiral' });
      expect(res.body.id).to.match(/^cus_[A-Za-z0-9]{22}$/);
      expect(res.body.metadata).to.deep.equal({ tier: 'gold' });
      expect(res.body.created).to.be.within(Math.floor(Date.now() / 1000) - 60, Math.floor(Date.now() / 1000) + 60);
      const row = await t.db('customers').where({ id: res.body.id }).first();
      expect(row.account_id).to.equal(account.id);
    });

    it('defaults absent optional fields to null and metadata to {}', async () => {
      const body = await create({ email: 'min@example.com' });
      expect(body).to.include({ name: null, phone: null, description: null });
      expect(body.metadata).to.deep.equal({});
    });

    it('rejects a body without email with 400 validation_failed naming the field', async () => {
      const res = await request(t.app).post('/v1/customers').set(auth()).send({ name: 'No email' });
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors).to.deep.include({ path: '/body/email', message: "must have required property 'email'" });
    });

    it('creates one customer when the same Idempotency-Key is sent twice, and replays the first answer', async () => {
      const key = `cus-${Date.now()}-${Math.random()}`;
      const body = { email: 'once@example.com', name: 'Once' };
      const first = await request(t.app).post('/v1/customers').set(auth()).set('Idempotency-Key', key).send(body);
      const second = await request(t.app).post('/v1/customers').set(auth()).set('Idempotency-Key', key).send(body);
      expect(first.status).to.equal(201);
      expect(first.headers['idempotent-replayed']).to.equal('false');
      expect(second.status).to.equal(201);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(second.body).to.deep.equal(first.body);
      const rows = await t.db('customers').where({ account_id: account.id, email: 'once@example.com' });
      expect(rows).to.have.length(1);
    });

    it('answers 422 idempotency_key_reused when the key comes back with another body, creating nothing', async () => {
      const key = `cus-${Date.now()}-${Math.random()}`;
      await request(t.app).post('/v1/customers').set(auth()).set('Idempotency-Key', key).send({ email: 'first@example.com' }).expect(201);
      const res = await request(t.app).post('/v1/customers').set(auth()).set('Idempotency-Key', key).send({ email: 'second@example.com' });
      expectProblem(res, 422, 'idempotency_key_reused');
      expect(await t.db('customers').where({ account_id: account.id, email: 'second@example.com' })).to.have.length(0);
    });

    it('creates a customer per request when no Idempotency-Key is sent', async () => {
      const body = { email: 'twice@example.com' };
      const a = await request(t.app).post('/v1/customers').set(auth()).send(body);
      const b = await request(t.app).post('/v1/customers').set(auth()).send(body);
      expect(a.status).to.equal(201);
      expect(b.status).to.equal(201);
      expect(a.body.id).not.to.equal(b.body.id);
    });
  });

  describe('GET /v1/customers/{id}', () => {
    it('returns the customer', async () => {
      const created = await create();
      const res = await request(t.app).get(`/v1/customers/${created.id}`).set(auth());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(created);
    });

    it('is 404 resource_not_found for an unknown id', async () => {
      const res = await request(t.app).get('/v1/customers/cus_doesnotexist').set(auth());
      expectProblem(res, 404, 'resource_not_found');
    });

    it('is 400 for an id that is not a customer id', async () => {
      const res = await request(t.app).get('/v1/customers/pay_123').set(auth());
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors[0].path).to.equal('/params/id');
    });
  });

  describe('PATCH /v1/customers/{id}', () => {
    it('changes only the fields present and clears fields set to null', async () => {
      const created = await create({ email: 'old@example.com', name: 'Old', phone: '123', metadata: { a: '1' } });
      const res = await request(t.app).patch(`/v1/customers/${created.id}`).set(auth()).send({ email: 'new@example.com', phone: null });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ id: created.id, email: 'new@example.com', name: 'Old', phone: null });
      expect(res.body.metadata).to.deep.equal({ a: '1' });
      const again = await request(t.app).get(`/v1/customers/${created.id}`).set(auth());
      expect(again.body).to.deep.equal(res.body);
    });

    it('replaces metadata as a whole', async () => {
      const created = await create({ email: 'm@example.com', metadata: { a: '1', b: '2' } });
      const res = await request(t.app).patch(`/v1/customers/${created.id}`).set(auth()).send({ metadata: { c: '3' } });
      expect(res.body.metadata).to.deep.equal({ c: '3' });
    });

    it('rejects an empty body with 400', async () => {
      const created = await create();
      const res = await request(t.app).patch(`/v1/customers/${created.id}`).set(auth()).send({});
      expectProblem(res, 400, 'validation_failed');
    });

    it('is 404 for an unknown customer', async () => {
      const res = await request(t.app).patch('/v1/customers/cus_doesnotexist').set(auth()).send({ name: 'X' });
      expectProblem(res, 404, 'resource_not_found');
    });
  });

  describe('DELETE /v1/customers/{id}', () => {
    it('deletes the customer: it is then neither retrievable nor listed', async () => {
      const created = await create({ email: 'gone@example.com' });
      const res = await request(t.app).delete(`/v1/customers/${created.id}`).set(auth());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ id: created.id, object: 'customer', deleted: true });
      expectProblem(await request(t.app).get(`/v1/customers/${created.id}`).set(auth()), 404, 'resource_not_found');
      const list = await request(t.app).get('/v1/customers').query({ email: 'gone@example.com' }).set(auth());
      expect(list.body.data).to.have.length(0);
    });

    it('is 404 the second time', async () => {
      const created = await create();
      await request(t.app).delete(`/v1/customers/${created.id}`).set(auth()).expect(200);
      expectProblem(await request(t.app).delete(`/v1/customers/${created.id}`).set(auth()), 404, 'resource_not_found');
    });
  });

  describe('GET /v1/customers', () => {
    let own: TestApp;
    let acct: TestAccount;
    const ids: string[] = [];

    before(async () => {
      own = await createTestApp();
      acct = await own.createAccount();
      for (let i = 0; i < 7; i++) {
        const res = await request(own.app).post('/v1/customers').set('Authorization', `Bearer ${acct.secret}`).send({ email: `p${i}@example.com` });
        ids.push(res.body.id);
      }
    });
    after(() => own.close());

    // RFC 3986 §3.4 lets a query carry `@ ! ' * ( )` unencoded, and so does curl; URLSearchParams
    // (which the SDK uses) leaves `* ' ( ) !` raw too.
    for (const email of ['ada@example.com', 'a*b@example.com', "o'neil!x@example.com"]) {
      it(`finds ${email} when the filter is sent unencoded, as curl sends it`, async () => {
        const created = await request(own.app).post('/v1/customers').set('Authorization', `Bearer ${acct.secret}`).send({ email });
        expect(created.status).to.equal(201);
        const res = await request(own.app).get(`/v1/customers?email=${email}`).set('Authorization', `Bearer ${acct.secret}`);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.body.data.map((c: { id: string }) => c.id)).to.deep.equal([created.body.id]);
        await request(own.app).delete(`/v1/customers/${created.body.id}`).set('Authorization', `Bearer ${acct.secret}`).expect(200);
      });
    }

    it('returns the envelope, newest first, and walks every page exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await request(own.app).get('/v1/customers').query({ limit: 3, ...(cursor ? { cursor } : {}) }).set('Authorization', `Bearer ${acct.secret}`);
        expect(res.status).to.equal(200);
        expect(res.body.object).to.equal('list');
        seen.push(...res.body.data.map((c: { id: string }) => c.id));
        cursor = res.body.next_cursor ?? undefined;
        expect(res.body.has_more).to.equal(cursor !== undefined);
        pages++;
      } while (cursor);
      expect(pages).to.equal(3);
      expect(seen).to.have.members(ids);
      expect(new Set(seen).size).to.equal(ids.length);
      const rows = await own.db('customers').select('id', 'created_at').whereIn('id', seen);
      const created = new Map(rows.map((r: { id: string; created_at: Date }) => [r.id, r.created_at.getTime()]));
      for (let i = 1; i < seen.length; i++) expect(created.get(seen[i - 1]!)! >= created.get(seen[i]!)!).to.equal(true);
    });

    it('filters by email, case-insensitively', async () => {
      const res = await request(own.app).get('/v1/customers').query({ email: 'P3@EXAMPLE.com' }).set('Authorization', `Bearer ${acct.secret}`);
      expect(res.body.data.map((c: { email: string }) => c.email)).to.deep.equal(['p3@example.com']);
    });

    it('filters by created range', async () => {
      const future = Math.floor(Date.now() / 1000) + 3600;
      const none = await request(own.app).get('/v1/customers').query({ 'created[gte]': future }).set('Authorization', `Bearer ${acct.secret}`);
      expect(none.status).to.equal(200);
      expect(none.body.data).to.have.length(0);
      const all = await request(own.app).get('/v1/customers').query({ 'created[lt]': future, limit: 100 }).set('Authorization', `Bearer ${acct.secret}`);
      expect(all.body.data).to.have.length(7);
    });

    it('defaults to 20 items and rejects limit 0 and 101', async () => {
      const res = await request(own.app).get('/v1/customers').set('Authorization', `Bearer ${acct.secret}`);
      expect(res.body.data).to.have.length(7);
      for (const limit of [0, 101]) {
        expectProblem(await request(own.app).get('/v1/customers').query({ limit }).set('Authorization', `Bearer ${acct.secret}`), 400, 'validation_failed');
      }
    });

    it('rejects a forged cursor with 400 invalid_cursor', async () => {
      const forged = Buffer.from(JSON.stringify({ l: 'api_keys', t: new Date().toISOString(), i: 'key_x' })).toString('base64url');
      for (const cursor of [forged, 'bm90LWpzb24', 'eyJsIjoiY3VzdG9tZXJzIiwidCI6Im5vdC1hLWRhdGUiLCJpIjoiY3VzX3gifQ']) {
        expectProblem(await request(own.app).get('/v1/customers').query({ cursor }).set('Authorization', `Bearer ${acct.secret}`), 400, 'invalid_cursor');
      }
    });
  });
});
