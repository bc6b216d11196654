/**
 * Conditional reads (RFC 9110 §13): every resource and list page carries a strong ETag of the bytes
 * sent, `If-None-Match` naming it is a bodiless `304`, anything that changes what the client would
 * see changes the tag, and a `304` counts against the read quota like a `200` (docs: the spec's
 * IfNoneMatch parameter). Both ways of sending are covered: with response validation (development,
 * test) and without (production's default).
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { loadSpec, operationsOf } from '../src/platform/spec.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';

const ETAG = /^"[A-Za-z0-9_-]{22}"$/;

/** What the server must send: the first 128 bits of SHA-256 over the body's bytes, base64url. */
function expectedEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

for (const validateResponses of [true, false]) {
  describe(`conditional reads (response validation ${validateResponses ? 'on' : 'off'})`, () => {
    let t: TestApp;
    let account: TestAccount;
    const auth = () => ({ Authorization: `Bearer ${account.secret}` });
    const paths: Record<string, string> = {};

    before(async () => {
      t = await createTestApp({ validateResponses });
      account = await t.createAccount();
      const post = async (path: string, body: object) => {
        const res = await request(t.app).post(path).set(auth()).set('Idempotency-Key', `${path}-${Math.random()}`).send(body);
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return res.body as { id: string };
      };
      const customer = await post('/v1/customers', { email: 'etag@example.com', name: 'Ada' });
      const payment = await post('/v1/payments', { amount: 1500, currency: 'EUR', customer: customer.id });
      const refund = await post('/v1/refunds', { payment: payment.id, amount: 500 });
      const events = await request(t.app).get('/v1/events?limit=1').set(auth());
      const client = await request(t.app).post('/v1/oauth_clients').set(auth()).send({ scopes: ['read'] });
      expect(client.status).to.equal(201);
      const endpoint = await post('/v1/webhook_endpoints', { url: 'http://127.0.0.1:9/hooks', enabled_events: ['*'] });
      await t.services.webhookRelay.fanOut();
      const replay = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(auth()).send({ since: 0, until: 1 });
      expect(replay.status).to.equal(202);
      const now = Math.floor(Date.now() / 1000);
      const run = await request(t.app).post('/v1/reconciliations').set(auth()).send({ window_start: now - 60, window_end: now });
      expect(run.status).to.equal(202);
      Object.assign(paths, {
        retrieveReconciliation: `/v1/reconciliations/${(run.body as { id: string }).id}`,
        listReconciliationDiscrepancies: `/v1/reconciliations/${(run.body as { id: string }).id}/discrepancies`,
        listApiKeys: '/v1/api_keys',
        listOAuthClients: '/v1/oauth_clients',
        listCustomers: '/v1/customers?limit=5',
        retrieveCustomer: `/v1/customers/${customer.id}`,
        listPayments: '/v1/payments',
        retrievePayment: `/v1/payments/${payment.id}`,
        listRefunds: `/v1/refunds?payment=${payment.id}`,
        retrieveRefund: `/v1/refunds/${refund.id}`,
        listEvents: '/v1/events?limit=3',
        retrieveEvent: `/v1/events/${(events.body.data[0] as { id: string }).id}`,
        listPaymentsV2: '/v2/payments',
        retrievePaymentV2: `/v2/payments/${payment.id}`,
        listRefundsV2: `/v2/refunds?payment=${payment.id}`,
        retrieveRefundV2: `/v2/refunds/${refund.id}`,
        listWebhookEndpoints: '/v1/webhook_endpoints',
        retrieveWebhookEndpoint: `/v1/webhook_endpoints/${endpoint.id}`,
        listWebhookDeliveries: `/v1/webhook_endpoints/${endpoint.id}/deliveries`,
        retrieveWebhookReplay: `/v1/webhook_endpoints/${endpoint.id}/replays/${(replay.body as { id: string }).id}`,
      });
    });
    after(() => t.close());

    it('covers every operation the spec answers with 304, and only GETs', () => {
      const conditional = operationsOf<{ responses?: Record<string, unknown> }>(loadSpec())
        .filter((op) => op.operation.responses?.['304'] !== undefined)
        .map((op) => `${op.method.toUpperCase()} ${op.operationId}`);
      expect(conditional.sort()).to.deep.equal(Object.keys(paths).map((id) => `GET ${id}`).sort());
    });

    it('gives every resource and list page a strong ETag of the bytes sent, and 304 to If-None-Match naming it', async () => {
      for (const [operationId, path] of Object.entries(paths)) {
        const first = await request(t.app).get(path).set(auth());
        expect(first.status, `${operationId}: ${first.text}`).to.equal(200);
        expect(first.headers.etag, operationId).to.match(ETAG);
        expect(first.headers.etag, operationId).to.equal(expectedEtag(first.text));

        const again = await request(t.app).get(path).set(auth());
        expect(again.text, `${operationId}: nothing changed in between`).to.equal(first.text);
        expect(again.headers.etag, `${operationId}: same bytes, same tag`).to.equal(first.headers.etag);

        const notModified = await request(t.app).get(path).set(auth()).set('If-None-Match', first.headers.etag as string);
        expect(notModified.status, operationId).to.equal(304);
        expect(notModified.text, operationId).to.equal('');
        expect(notModified.headers.etag, operationId).to.equal(first.headers.etag);
        expect(notModified.headers['request-id'], operationId).to.match(/^req_/);
        expect(notModified.headers['content-type'], operationId).to.equal(undefined);
      }
    });

    it('compares as RFC 9110 §13.1.2 says: a list, `*`, and weak comparison; anything else is a 200 with the body', async () => {
      const path = paths.retrieveCustomer!;
      const { headers, text } = await request(t.app).get(path).set(auth());
      const etag = headers.etag as string;
      const other = '"AAAAAAAAAAAAAAAAAAAAAA"';
      for (const header of [`${other}, ${etag}`, `${other},${etag} , "x"`, '*', `W/${etag}`]) {
        const res = await request(t.app).get(path).set(auth()).set('If-None-Match', header);
        expect(res.status, header).to.equal(304);
      }
      for (const header of [other, etag.slice(1, -1), `${etag.slice(0, -2)}"`, '']) {
        const res = await request(t.app).get(path).set(auth()).set('If-None-Match', header);
        expect(res.status, header).to.equal(200);
        expect(res.text, header).to.equal(text);
      }
    });

    it('changes the tag when what the client would see changes, on the resource and on the page that lists it', async () => {
      const item = await request(t.app).get(paths.retrieveCustomer!).set(auth());
      const page = await request(t.app).get(paths.listCustomers!).set(auth());
      const updated = await request(t.app).patch(paths.retrieveCustomer!).set(auth()).send({ name: `Ada ${Math.random()}` });
      expect(updated.status).to.equal(200);

      const itemAfter = await request(t.app).get(paths.retrieveCustomer!).set(auth()).set('If-None-Match', item.headers.etag as string);
      expect(itemAfter.status).to.equal(200);
      expect(itemAfter.body.name).to.equal(updated.body.name);
      expect(itemAfter.headers.etag).to.not.equal(item.headers.etag);
      const pageAfter = await request(t.app).get(paths.listCustomers!).set(auth()).set('If-None-Match', page.headers.etag as string);
      expect(pageAfter.status).to.equal(200);
      expect(pageAfter.headers.etag).to.not.equal(page.headers.etag);

      // A new item on the page changes the page's tag, not the item's.
      const itemTag = itemAfter.headers.etag as string;
      await request(t.app).post('/v1/customers').set(auth()).send({ email: 'another@example.com' }).expect(201);
      const pageNew = await request(t.app).get(paths.listCustomers!).set(auth()).set('If-None-Match', pageAfter.headers.etag as string);
      expect(pageNew.status).to.equal(200);
      expect(pageNew.body.data.map((c: { email: string }) => c.email)).to.include('another@example.com');
      const itemSame = await request(t.app).get(paths.retrieveCustomer!).set(auth()).set('If-None-Match', itemTag);
      expect(itemSame.status).to.equal(304);
    });

    it('answers HEAD with If-None-Match as GET: 304', async () => {
      const { headers } = await request(t.app).get(paths.retrievePayment!).set(auth());
      const res = await request(t.app).head(paths.retrievePayment!).set(auth()).set('If-None-Match', headers.etag as string);
      expect(res.status).to.equal(304);
      expect(res.headers.etag).to.equal(headers.etag);
    });

    it('refuses an If-None-Match longer than its bound or with control characters, with a 400 problem', async () => {
      for (const header of [`"${'a'.repeat(1100)}"`, '"abc"\t"def"']) {
        const res = await request(t.app).get(paths.retrieveCustomer!).set(auth()).set('If-None-Match', header);
        expect(res.status, header.slice(0, 20)).to.equal(400);
        expect(res.body.code).to.equal('validation_failed');
        expect(res.body.detail).to.include('if-none-match');
      }
    });

    it('gives no ETag and no 304 to other operations, a failed read among them', async () => {
      const missing = await request(t.app).get('/v1/customers/cus_doesnotexist000000000').set(auth()).set('If-None-Match', '*');
      expect(missing.status).to.equal(404);
      expect(missing.headers.etag).to.equal(undefined);
      const created = await request(t.app).post('/v1/customers').set(auth()).set('If-None-Match', '*').send({ email: 'x@example.com' });
      expect(created.status).to.equal(201);
      expect(created.headers.etag).to.equal(undefined);
    });
  });
}

describe('a 304 and the read quota', () => {
  let t: TestApp;
  after(() => t?.close());

  it('counts a 304 like a 200: the quota runs down through 304s and the next read is a 429', async () => {
    t = await createTestApp({ rateLimits: { policies: { read: { points: 4, windowS: 60 } } } });
    const account = await t.createAccount();
    const auth = { Authorization: `Bearer ${account.secret}` };
    const created = await request(t.app).post('/v1/customers').set(auth).send({ email: 'quota@example.com' }).expect(201);
    const path = `/v1/customers/${created.body.id as string}`;

    const first = await request(t.app).get(path).set(auth);
    expect(first.status).to.equal(200);
    expect(first.headers.ratelimit).to.match(/^"read";r=3;/);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(t.app).get(path).set(auth).set('If-None-Match', first.headers.etag as string);
      expect(res.status).to.equal(304);
      remaining.push((res.headers.ratelimit as string).split(';')[1]!);
    }
    expect(remaining).to.deep.equal(['r=2', 'r=1', 'r=0']);
    const refused = await request(t.app).get(path).set(auth).set('If-None-Match', first.headers.etag as string);
    expect(refused.status).to.equal(429);
    expect(refused.body.code).to.equal('rate_limited');
  });
});
