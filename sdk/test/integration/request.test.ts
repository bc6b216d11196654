/**
 * `remit.request`: operations by method and path against the real API, through the same transport
 * as the resource methods. Operations that take no credentials, an operator's admin operation with
 * the caller's own Authorization, answers that are HTML or text, a payment whose lost answer is
 * replayed under the same Idempotency-Key, typed errors, deprecation notices, and a form-encoded
 * token request; and the mistakes it refuses before sending anything.
 */
import { expect } from 'chai';
import { ADMIN_TOKEN } from '../../../test/helpers/app.js';
import {
  APIConnectionError,
  APIPromise,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  ReadCache,
  Remit,
  RemitError,
  type AccountCreated,
  type Customer,
  type CustomerList,
  type DeprecationNotice,
  type Event,
  type Fetch,
  type Payment,
} from '../../src/index.js';
import { startApi, type RunningApi } from '../helpers/api.js';
import { rejectionOf } from '../helpers/client.js';

interface Exchange {
  readonly method: string;
  /** The path with its query. */
  readonly path: string;
  readonly headers: Headers;
  readonly body: string | undefined;
  status: number | null;
}

/** A `fetch` that keeps every attempt's method, path, headers, body and status. */
function wire(options: { loseAnswer?: (exchange: Exchange, n: number) => boolean } = {}): { fetch: Fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  return {
    exchanges,
    async fetch(url, init) {
      const target = new URL(url);
      const exchange: Exchange = {
        method: init.method ?? 'GET',
        path: `${target.pathname}${target.search}`,
        headers: new Headers(init.headers),
        body: typeof init.body === 'string' ? init.body : undefined,
        status: null,
      };
      exchanges.push(exchange);
      const response = await fetch(url, init);
      exchange.status = response.status;
      if (options.loseAnswer?.(exchange, exchanges.length - 1)) {
        // The API has done the work; its answer never reaches the client.
        await response.arrayBuffer();
        throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      }
      return response;
    },
  };
}

type TokenResponse = { access_token: string; token_type: string; expires_in: number; scope: string };

describe('SDK remit.request against the API', function () {
  this.timeout(60_000);
  let api: RunningApi;

  before(async () => {
    api = await startApi();
  });
  after(() => api?.close());

  describe('credentials', () => {
    it('GET /health without credentials: no Authorization is sent, and the JSON answer is parsed', async () => {
      const recorded = wire();
      const remit = api.client({ fetch: recorded.fetch });
      const health = await remit.request<{ status: string }>({ method: 'GET', path: '/health', authenticate: false });
      expect(health).to.deep.equal({ status: 'ok' });
      await remit.request({ method: 'GET', path: '/health' });
      expect(recorded.exchanges.map((e) => [e.method, e.path, e.status, e.headers.get('authorization')])).to.deep.equal([
        ['GET', '/health', 200, null],
        ['GET', '/health', 200, `Bearer ${api.account.secret}`],
      ]);
    });

    it('POST /admin/accounts with authenticate: false and the operator\'s admin token: the account is made, and its key works', async () => {
      const recorded = wire();
      const remit = api.client({ fetch: recorded.fetch });
      const admin = { method: 'POST', path: '/admin/accounts', authenticate: false } as const;
      const created = await remit.request<AccountCreated>(admin, { body: { name: 'made through request' }, options: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } } });
      expect(created.account).to.include({ name: 'made through request' });
      expect(created.api_key.secret).to.match(/^sk_/);
      expect(recorded.exchanges.map((e) => [e.path, e.status, e.headers.get('authorization'), e.headers.get('content-type')])).to.deep.equal([
        ['/admin/accounts', 201, `Bearer ${ADMIN_TOKEN}`, 'application/json'],
      ]);
      expect(JSON.parse(recorded.exchanges[0]!.body!)).to.deep.equal({ name: 'made through request' });

      const page = await api.client({ apiKey: created.api_key.secret }).customers.list();
      expect(page.data, 'a new account has no customers').to.deep.equal([]);

      // Without the admin token the operation is refused, and the client's own key is not sent in its place.
      const err = await rejectionOf(remit.request(admin, { body: { name: 'nobody' } }));
      expect(err).to.be.instanceOf(AuthenticationError);
      expect(recorded.exchanges.at(-1)!.headers.get('authorization')).to.equal(null);
    });

    it('with OAuth client credentials: requests a token for an authenticated call, none with authenticate: false', async () => {
      const client = await api.client().oauthClients.create({ name: 'request credentials', scopes: ['read'] });
      const recorded = wire();
      const remit = new Remit({ clientId: client.id, clientSecret: client.client_secret, baseURL: api.server.url, fetch: recorded.fetch });

      await remit.request({ method: 'GET', path: '/health', authenticate: false });
      expect(recorded.exchanges.map((e) => [e.path, e.headers.get('authorization')])).to.deep.equal([['/health', null]]);

      const page = await remit.request<CustomerList>({ method: 'GET', path: '/v1/customers' }, { query: { limit: 1 } });
      expect(page.object).to.equal('list');
      expect(recorded.exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).to.deep.equal(['GET /health 200', 'POST /oauth/token 200', 'GET /v1/customers?limit=1 200']);
      expect(recorded.exchanges[2]!.headers.get('authorization')).to.match(/^Bearer ey/);
    });
  });

  describe('answers', () => {
    it('GET /docs answers the HTML page as a string, with the response on withResponse()', async () => {
      const promise = api.client().request({ method: 'GET', path: '/docs', authenticate: false });
      expect(promise).to.be.instanceOf(APIPromise);
      const { data, response, requestId } = await promise.withResponse();
      expect(data).to.be.a('string');
      expect(data as string).to.match(/<html/i);
      expect(response.headers.get('content-type')).to.match(/^text\/html/);
      expect(requestId).to.match(/^req_/);
    });

    it('GET /metrics answers Prometheus text as a string; GET /openapi.json answers parsed JSON', async () => {
      const metrics = await api.client().request({ method: 'GET', path: '/metrics', authenticate: false });
      expect(metrics).to.be.a('string');
      expect(metrics as string).to.match(/^# (HELP|TYPE) /m);
      const spec = await api.client().request<{ openapi: string; paths: object }>({ method: 'GET', path: '/openapi.json', authenticate: false });
      expect(spec.openapi).to.match(/^3\./);
      expect(spec.paths).to.have.property('/v1/payments');
    });

    it('encodes path values and query objects as the resource methods do', async () => {
      const recorded = wire();
      const remit = api.client({ fetch: recorded.fetch });
      const query = { email: "o'neil+a*b@example.com", created: { gte: 0, lt: 4_000_000_000 }, limit: 5 };
      const byRequest = await remit.request<CustomerList>({ method: 'GET', path: '/v1/customers' }, { query });
      const byMethod = await remit.customers.list(query);
      expect(byRequest.data).to.deep.equal(byMethod.data);
      const [viaRequest, viaMethod] = recorded.exchanges.map((e) => e.path);
      expect(viaRequest).to.equal(viaMethod);
      expect(viaRequest).to.equal('/v1/customers?email=o%27neil%2Ba*b%40example.com&created%5Bgte%5D=0&created%5Blt%5D=4000000000&limit=5');

      const err = await rejectionOf(remit.request({ method: 'GET', path: '/v1/customers/{id}' }, { path: { id: 'cus_a/b c' } }));
      expect(recorded.exchanges.at(-1)!.path).to.equal('/v1/customers/cus_a%2Fb%20c');
      // Sent as one segment, the id is refused by its pattern rather than routed elsewhere.
      expect(err).to.be.instanceOf(BadRequestError);
      expect((err as BadRequestError).code).to.equal('validation_failed');
    });

    it('a 404 is a NotFoundError with the problem\'s code and request id (customer made, deleted, then read by request)', async () => {
      const remit = api.client();
      const customer = await remit.request<Customer>({ method: 'POST', path: '/v1/customers', idempotent: true }, { body: { email: 'raw@example.com' } });
      expect(customer).to.include({ object: 'customer', email: 'raw@example.com' });
      const updated = await remit.request<Customer>({ method: 'PATCH', path: '/v1/customers/{id}' }, { path: { id: customer.id }, body: { name: 'Raw' } });
      expect(updated.name).to.equal('Raw');
      const deleted = await remit.request({ method: 'DELETE', path: '/v1/customers/{id}' }, { path: { id: customer.id } });
      expect(deleted).to.deep.equal({ id: customer.id, object: 'customer', deleted: true });

      const err = await rejectionOf(remit.request({ method: 'GET', path: '/v1/customers/{id}' }, { path: { id: customer.id } }));
      expect(err).to.be.instanceOf(NotFoundError);
      const notFound = err as NotFoundError;
      expect([notFound.status, notFound.code]).to.deep.equal([404, 'resource_not_found']);
      expect(notFound.requestId).to.match(/^req_/);
      expect(notFound.problem?.request_id).to.equal(notFound.requestId);
    });

    it('is not served by the read cache, which still serves the resource methods', async () => {
      const recorded = wire();
      const remit = api.client({ fetch: recorded.fetch, readCache: new ReadCache() });
      const customer = await remit.customers.create({ email: 'cached@example.com' });
      const read = { method: 'GET', path: '/v1/customers/{id}' } as const;
      await remit.request(read, { path: { id: customer.id } });
      await remit.request(read, { path: { id: customer.id } });
      await remit.customers.retrieve(customer.id);
      await remit.customers.retrieve(customer.id);
      expect(recorded.exchanges.slice(1).map((e) => [e.status, e.headers.get('if-none-match') === null])).to.deep.equal([
        [200, true],
        [200, true],
        [200, true],
        [304, false],
      ]);
    });
  });

  describe('retries, Idempotency-Keys and deprecation notices', () => {
    it('POST /v1/payments whose answer is lost: sent again with the same Idempotency-Key, and the API replays the payment', async () => {
      const recorded = wire({ loseAnswer: (e, n) => n === 0 && e.path === '/v1/payments' });
      const notices: DeprecationNotice[] = [];
      const remit = api.client({ fetch: recorded.fetch, onDeprecation: (notice) => notices.push(notice) });
      const { data: payment, response } = await remit
        .request<Payment>({ method: 'POST', path: '/v1/payments', idempotent: true }, { body: { amount: 4_242, currency: 'EUR' } })
        .withResponse();

      expect(payment).to.include({ object: 'payment', amount: 4_242, status: 'succeeded' });
      const keys = recorded.exchanges.map((e) => e.headers.get('idempotency-key'));
      expect(recorded.exchanges.map((e) => [e.method, e.path, e.status, e.headers.get('remit-retry-count')])).to.deep.equal([
        ['POST', '/v1/payments', 201, '0'],
        ['POST', '/v1/payments', 201, '1'],
      ]);
      expect(keys[0]).to.match(/^[0-9a-f-]{36}$/);
      expect(keys[1]).to.equal(keys[0]);
      expect(response.headers.get('idempotent-replayed')).to.equal('true');
      const created = await remit.request<{ data: Event[] }>({ method: 'GET', path: '/v1/events' }, { query: { object_id: payment.id, type: 'payment.created' } });
      expect(created.data.map((e) => e.request.idempotency_key), 'one payment, made once').to.deep.equal([keys[0]]);

      // The operation is deprecated: the notice names it by method and path.
      expect(notices.map((n) => [n.operationId, n.method, n.path, n.status])).to.deep.equal([['POST /v1/payments', 'POST', '/v1/payments', 201]]);
      expect(notices[0]!.successor.url).to.match(/^\/v2\/payments/);
      expect(notices[0]!.sunset?.toISOString().slice(0, 10)).to.equal('2027-12-31');
    });

    it('a POST not marked idempotent is not sent again after a lost answer, but still carries an Idempotency-Key', async () => {
      const recorded = wire({ loseAnswer: (e) => e.path === '/v1/payments' });
      const remit = api.client({ fetch: recorded.fetch });
      const err = await rejectionOf(remit.request({ method: 'POST', path: '/v1/payments' }, { body: { amount: 4_343, currency: 'EUR' }, options: { idempotencyKey: 'raw-order-1' } }));
      expect(err).to.be.instanceOf(APIConnectionError);
      expect(recorded.exchanges.map((e) => [e.path, e.headers.get('idempotency-key')])).to.deep.equal([['/v1/payments', 'raw-order-1']]);
    });

    it('a GET sends no Idempotency-Key; a PATCH is retried after a lost answer without being marked idempotent', async () => {
      const recorded = wire({ loseAnswer: (e, n) => n === 1 });
      const remit = api.client({ fetch: recorded.fetch });
      const customer = await remit.request<Customer>({ method: 'POST', path: '/v1/customers' }, { body: { email: 'patched@example.com' } });
      const patched = await remit.request<Customer>({ method: 'PATCH', path: '/v1/customers/{id}' }, { path: { id: customer.id }, body: { name: 'Patched' } });
      expect(patched.name).to.equal('Patched');
      await remit.request({ method: 'GET', path: '/v1/customers/{id}' }, { path: { id: customer.id } });
      expect(recorded.exchanges.map((e) => [e.method, e.status, e.headers.get('idempotency-key') === null])).to.deep.equal([
        ['POST', 201, false],
        ['PATCH', 200, false],
        ['PATCH', 200, false],
        ['GET', 200, true],
      ]);
    });
  });

  describe('POST /oauth/token with a form body', () => {
    it('obtains a token for a client made with oauthClients.create, which then authenticates a call; a wrong secret is invalid_client', async () => {
      const client = await api.client().oauthClients.create({ name: 'request form', scopes: ['read'] });
      const recorded = wire();
      const remit = api.client({ fetch: recorded.fetch });
      const tokenOperation = { method: 'POST', path: '/oauth/token', authenticate: false } as const;
      const token = await remit.request<TokenResponse>(tokenOperation, {
        body: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.client_secret, scope: 'read' },
        bodyEncoding: 'form',
      });
      expect(token.token_type).to.equal('Bearer');
      expect(token.scope).to.equal('read');
      expect(token.expires_in).to.be.a('number').and.above(0);
      const [sent] = recorded.exchanges;
      expect(sent!.headers.get('content-type')).to.equal('application/x-www-form-urlencoded');
      expect(sent!.headers.get('authorization')).to.equal(null);
      expect(new URLSearchParams(sent!.body).get('grant_type')).to.equal('client_credentials');
      expect(new URLSearchParams(sent!.body).get('client_id')).to.equal(client.id);

      const bearer = { headers: { Authorization: `Bearer ${token.access_token}` } };
      const page = await remit.request<CustomerList>({ method: 'GET', path: '/v1/customers', authenticate: false }, { options: bearer });
      expect(page.object).to.equal('list');
      const write = await rejectionOf(remit.request({ method: 'POST', path: '/v1/customers', authenticate: false }, { body: { email: 'x@example.com' }, options: bearer }));
      expect(write, 'a read-only token').to.be.instanceOf(PermissionDeniedError);

      const err = await rejectionOf(remit.request(tokenOperation, { body: { grant_type: 'client_credentials', client_id: client.id, client_secret: 'cs_wrong' }, bodyEncoding: 'form' }));
      expect(err).to.be.instanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).to.equal('invalid_client');
      expect((err as AuthenticationError).oauthError?.error).to.equal('invalid_client');
    });
  });

  describe('mistakes, refused before anything is sent', () => {
    const cases: { name: string; call: (remit: ReturnType<RunningApi['client']>) => PromiseLike<unknown>; message: RegExp }[] = [
      { name: 'an unknown method', call: (r) => r.request({ method: 'HEAD' as never, path: '/health' }), message: /method must be one of GET, POST, PUT, PATCH, DELETE, not HEAD/ },
      { name: 'a path without a leading slash', call: (r) => r.request({ method: 'GET', path: 'health' }), message: /path must be a path template/ },
      { name: 'a full URL as the path', call: (r) => r.request({ method: 'GET', path: 'https://elsewhere.test/health' }), message: /path must be a path template/ },
      { name: 'a query in the path', call: (r) => r.request({ method: 'GET', path: '/v1/customers?limit=1' }), message: /without a query/ },
      { name: 'a missing path value', call: (r) => r.request({ method: 'GET', path: '/v1/customers/{id}' }), message: /`id` must be a non-empty string/ },
      { name: 'a body with a GET', call: (r) => r.request({ method: 'GET', path: '/health' }, { body: {} }), message: /A GET sends no body/ },
      { name: 'a form value that is not a string', call: (r) => r.request({ method: 'POST', path: '/oauth/token' }, { body: { expires: 5 }, bodyEncoding: 'form' }), message: /`expires` is a number/ },
      { name: 'a form body that is not a record', call: (r) => r.request({ method: 'POST', path: '/oauth/token' }, { body: 'a=b', bodyEncoding: 'form' }), message: /flat record of strings/ },
      { name: 'an unknown body encoding', call: (r) => r.request({ method: 'POST', path: '/v1/customers' }, { body: {}, bodyEncoding: 'xml' as never }), message: /bodyEncoding must be/ },
      { name: 'a non-boolean authenticate', call: (r) => r.request({ method: 'GET', path: '/health', authenticate: 'no' as never }), message: /authenticate must be true or false/ },
    ];
    for (const { name, call, message } of cases) {
      it(name, async () => {
        const recorded = wire();
        const remit = api.client({ fetch: recorded.fetch });
        let promise: PromiseLike<unknown> | undefined;
        expect(() => (promise = call(remit)), 'a promise, not a throw').to.not.throw();
        const err = await rejectionOf(promise!);
        expect(err).to.be.instanceOf(RemitError);
        expect((err as Error).message).to.match(message);
        expect(recorded.exchanges).to.deep.equal([]);
      });
    }

    it('quotes no value of a form body in its refusal', async () => {
      const err = await rejectionOf(api.client().request({ method: 'POST', path: '/oauth/token' }, { body: { client_secret: ['cs_never_quoted'] }, bodyEncoding: 'form' }));
      expect((err as Error).message).to.include('client_secret').and.not.include('cs_never_quoted');
    });
  });
});
