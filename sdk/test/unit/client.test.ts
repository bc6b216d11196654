/**
 * The client against a scripted server: options and their defaults, what each request carries
 * (method, URL, query, headers, body), the raw response on request, answers with fields and enum
 * values the SDK does not know, and pages followed with the filters of the first call.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, Page, Remit, RemitError, VERSION } from '../../src/index.js';
import { rejectionOf, TEST_API_KEY, testClient } from '../helpers/client.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';

const PAYMENT = {
  id: 'pay_1',
  object: 'payment',
  amount: 2_500,
  currency: 'EUR',
  status: 'succeeded',
  capture_method: 'automatic',
  customer: null,
  description: null,
  metadata: {},
  amount_captured: 2_500,
  amount_refunded: 0,
  failure_code: null,
  failure_message: null,
  created: 1_700_000_000,
};

function listPage(ids: string[], nextCursor: string | null) {
  return { status: 200, body: { object: 'list', data: ids.map((id) => ({ ...PAYMENT, id })), has_more: nextCursor !== null, next_cursor: nextCursor } };
}

describe('SDK client (scripted server)', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer();
  });
  after(() => server.close());

  describe('options', () => {
    it('requires an apiKey', () => {
      expect(() => new Remit({} as never)).to.throw(RemitError, /apiKey/);
      expect(() => new Remit({ apiKey: '' })).to.throw(RemitError, /apiKey/);
    });

    it('defaults to 127.0.0.1:8080, 2 retries and 60 s per attempt', () => {
      const remit = new Remit({ apiKey: TEST_API_KEY });
      expect([remit.baseURL, remit.maxRetries, remit.timeout]).to.deep.equal([DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS]);
      expect([DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS]).to.deep.equal(['http://127.0.0.1:8080', 2, 60_000]);
    });

    it('withOptions derives a client with some options changed', () => {
      const remit = new Remit({ apiKey: TEST_API_KEY, baseURL: 'http://127.0.0.1:9/' });
      const patient = remit.withOptions({ maxRetries: 7 });
      expect([patient.baseURL, patient.maxRetries]).to.deep.equal(['http://127.0.0.1:9', 7]);
      expect(remit.maxRetries).to.equal(2);
    });

    it('sends through the fetch it is given', async () => {
      const seen: string[] = [];
      server.script({ status: 200, body: PAYMENT });
      const remit = new Remit({
        apiKey: TEST_API_KEY,
        baseURL: server.url,
        fetch: (url, init) => {
          seen.push(`${init.method} ${url}`);
          return fetch(url, init);
        },
      });
      await remit.payments.retrieve('pay_1');
      expect(seen).to.deep.equal([`GET ${server.url}/v1/payments/pay_1`]);
    });

    it('has the version of its package.json', async () => {
      const pkg = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
      expect(VERSION).to.equal(pkg.version);
    });
  });

  describe('requests', () => {
    it('sends method, path, JSON body and headers', async () => {
      server.script({ status: 201, body: PAYMENT });
      await testClient(server.url, { defaultHeaders: { 'X-Trace': 'client' } }).payments.create(
        { amount: 2_500, currency: 'EUR', metadata: { order: '42' } },
        { headers: { 'X-Call': 'call' } },
      );
      const [req] = server.requests;
      expect(req!.method).to.equal('POST');
      expect(req!.url).to.equal('/v1/payments');
      expect(JSON.parse(req!.body)).to.deep.equal({ amount: 2_500, currency: 'EUR', metadata: { order: '42' } });
      expect(req!.headers).to.include({
        authorization: `Bearer ${TEST_API_KEY}`,
        accept: 'application/json',
        'content-type': 'application/json',
        'user-agent': `remit-sdk-node/${VERSION}`,
        'x-trace': 'client',
        'x-call': 'call',
      });
    });

    it('sends no body and no Content-Type when the operation has none', async () => {
      server.script({ status: 200, body: PAYMENT });
      await testClient(server.url).payments.capture('pay_1');
      expect(server.requests[0]!.body).to.equal('');
      expect(server.requests[0]!.headers['content-type']).to.equal(undefined);
      expect(server.requests[0]!.url).to.equal('/v1/payments/pay_1/capture');
    });

    it('encodes path parameters, and refuses an empty one before sending', async () => {
      server.script({ status: 404 });
      await rejectionOf(testClient(server.url).customers.retrieve('cus_1/../../admin'));
      expect(server.requests[0]!.url).to.equal('/v1/customers/cus_1%2F..%2F..%2Fadmin');

      server.script({ status: 200, body: {} });
      const err = await rejectionOf(testClient(server.url).customers.retrieve(''));
      expect(err).to.be.instanceOf(RemitError);
      expect((err as Error).message).to.match(/`id`/);
      expect(server.requests, 'GET /v1/customers/ would have been the list').to.have.length(0);
    });

    it('encodes filters, deepObject ranges included, and leaves out undefined ones', async () => {
      server.script(listPage([], null));
      await testClient(server.url).payments.list({ status: 'succeeded', customer: undefined, limit: 5, created: { gte: 100, lt: 200 } });
      const url = new URL(server.requests[0]!.url, server.url);
      expect(url.pathname).to.equal('/v1/payments');
      expect([...url.searchParams]).to.deep.equal([
        ['status', 'succeeded'],
        ['limit', '5'],
        ['created[gte]', '100'],
        ['created[lt]', '200'],
      ]);
    });
  });

  describe('answers', () => {
    it('gives the raw response and the request id with withResponse()', async () => {
      server.script({ status: 200, headers: { 'request-id': 'req_abc', 'ratelimit': '"read";r=9;t=3' }, body: PAYMENT });
      const { data, response, requestId } = await testClient(server.url).payments.retrieve('pay_1').withResponse();
      expect(data.id).to.equal('pay_1');
      expect(requestId).to.equal('req_abc');
      expect(response.status).to.equal(200);
      expect(response.headers.get('ratelimit')).to.equal('"read";r=9;t=3');
    });

    it('is a promise: then, catch, finally and Promise.all work on a call', async () => {
      server.script({ status: 200, body: PAYMENT });
      const client = testClient(server.url);
      const call: Promise<{ id: string }> = client.payments.retrieve('pay_1');
      const [a, b] = await Promise.all([call, client.payments.retrieve('pay_1').then((p) => p.amount)]);
      expect([a.id, b]).to.deep.equal(['pay_1', 2_500]);
      let finished = false;
      await client.payments.retrieve('pay_1').finally(() => (finished = true));
      expect(finished).to.equal(true);
    });

    it('passes through fields and enum values the spec does not have yet', async () => {
      server.script({ status: 200, body: { ...PAYMENT, status: 'disputed', risk_score: 17, metadata: { a: 'b' } } });
      const payment = await testClient(server.url).payments.retrieve('pay_1');
      expect(payment.status as string).to.equal('disputed');
      expect((payment as unknown as { risk_score: number }).risk_score).to.equal(17);
      expect(payment.customer, 'null as the spec types it').to.equal(null);
    });

    it('fails with a RemitError when a success body is not JSON', async () => {
      server.script({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
      const err = await rejectionOf(testClient(server.url).payments.retrieve('pay_1'));
      expect(err).to.be.instanceOf(RemitError);
      expect((err as Error).message).to.match(/not JSON/);
    });
  });

  describe('pages', () => {
    it('awaits to one page, with data, has_more, next_cursor and hasNextPage()', async () => {
      server.script(listPage(['pay_3', 'pay_2'], 'c1'));
      const page = await testClient(server.url).payments.list({ limit: 2 });
      expect(page).to.be.instanceOf(Page);
      expect(page.data.map((p) => p.id)).to.deep.equal(['pay_3', 'pay_2']);
      expect([page.object, page.has_more, page.next_cursor, page.hasNextPage()]).to.deep.equal(['list', true, 'c1', true]);
      expect(server.requests).to.have.length(1);
    });

    it('walks every item of every page with for await on the call, sending the same filters and each next_cursor', async () => {
      server.script(listPage(['pay_5', 'pay_4'], 'c1'), listPage(['pay_3', 'pay_2'], 'c2'), listPage(['pay_1'], null));
      const ids: string[] = [];
      for await (const payment of testClient(server.url).payments.list({ status: 'succeeded', limit: 2 })) ids.push(payment.id);
      expect(ids).to.deep.equal(['pay_5', 'pay_4', 'pay_3', 'pay_2', 'pay_1']);
      const queries = server.requests.map((r) => Object.fromEntries(new URL(r.url, server.url).searchParams));
      expect(queries).to.deep.equal([
        { status: 'succeeded', limit: '2' },
        { status: 'succeeded', limit: '2', cursor: 'c1' },
        { status: 'succeeded', limit: '2', cursor: 'c2' },
      ]);
    });

    it('fetches the next page only when the current one is used up', async () => {
      server.script(listPage(['pay_5', 'pay_4'], 'c1'), listPage(['pay_3'], null));
      for await (const payment of testClient(server.url).payments.list()) {
        expect(payment.id).to.equal('pay_5');
        break;
      }
      expect(server.requests).to.have.length(1);
    });

    it('gets the next page with getNextPage(), and refuses one after the last', async () => {
      server.script(listPage(['pay_2'], 'c1'), listPage(['pay_1'], null));
      const first = await testClient(server.url).payments.list({ limit: 1 });
      const second = await first.getNextPage();
      expect(second.data.map((p) => p.id)).to.deep.equal(['pay_1']);
      expect(second.hasNextPage()).to.equal(false);
      expect(await rejectionOf(second.getNextPage())).to.be.instanceOf(RemitError);
      const pages: number[] = [];
      for await (const page of first.iterPages()) pages.push(page.data.length);
      expect(pages).to.deep.equal([1, 1]);
    });

    it('retries a failed page like any call, with the same cursor', async () => {
      server.script(listPage(['pay_2'], 'c1'), { status: 503, body: { status: 503, code: 'service_unavailable' } }, listPage(['pay_1'], null));
      const ids: string[] = [];
      for await (const p of testClient(server.url).payments.list()) ids.push(p.id);
      expect(ids).to.deep.equal(['pay_2', 'pay_1']);
      expect(server.requests.map((r) => new URL(r.url, server.url).searchParams.get('cursor'))).to.deep.equal([null, 'c1', 'c1']);
    });
  });
});
