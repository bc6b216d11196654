/**
 * OAuth client credentials through the whole client, against a fake `fetch` that plays both the
 * token endpoint and the API: one token request however many calls wait for it, a token replaced
 * before it expires (on a clock the test moves), a refused token replaced once and the call sent
 * again with the same Idempotency-Key, token endpoint refusals and outages, the Basic credentials
 * on the wire, and the secret and the tokens kept out of sight.
 */
import { expect } from 'chai';
import { inspect } from 'node:util';
import { APIUserAbortError, AuthenticationError, BadRequestError, InternalServerError, Remit, RemitError, type ClientOptions, type Fetch } from '../../src/index.js';
import { runtimeHooks, type RuntimeHooks } from '../../src/internal/runtime.js';
import { TOKEN_REFRESH_MARGIN_MS } from '../../src/internal/token-source.js';
import { FAKE_NOW_MS, rejectionOf, TEST_API_KEY } from '../helpers/client.js';

const BASE_URL = 'http://remit.test';
const CLIENT_ID = 'cli_0123456789';
const CLIENT_SECRET = 'cs_live_abcdef_0123456789';
const CUSTOMER = { id: 'cus_1', object: 'customer', email: 'a@example.com', name: null, phone: null, description: null, metadata: {}, created: 1_700_000_000 };

interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  readonly body: string;
}

/** A scripted answer of the token endpoint; `issue` hands out the next token. */
type TokenStep = { readonly status: number; readonly headers?: Record<string, string>; readonly body: unknown } | 'issue';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function problemBody(status: number, code: string) {
  return { type: `https://remit.dev/problems/${code}`, title: code, status, detail: `scripted ${code}`, code, request_id: 'req_1' };
}

const refusedToken = () =>
  json(401, problemBody(401, 'invalid_token'), {
    'content-type': 'application/problem+json',
    'www-authenticate': 'Bearer realm="remit", error="invalid_token", error_description="The access token is signed by a key that is no longer published."',
  });

/**
 * The token endpoint and the API in one `fetch`. Tokens are `tok_1`, `tok_2`, … in order of issue;
 * the API accepts the ones in `accepted` (every issued token until the test withdraws it) and
 * answers others 401 `invalid_token`. Answers come after a few milliseconds, in varying order, so
 * concurrent calls really overlap.
 */
class FakeRemit {
  readonly exchanges: Exchange[] = [];
  readonly accepted = new Set<string>();
  tokenSteps: TokenStep[] = [];
  expiresIn = 600;
  /** Called while a token request is being answered (e.g. to move the clock). */
  onTokenRequest: () => void = () => undefined;
  /** Milliseconds before the answer to the n-th exchange (from 0): a few, at random, by default. */
  delayMs: (exchange: Exchange, n: number) => number = () => 1 + Math.floor(Math.random() * 5);
  #issued = 0;

  get tokenRequests(): Exchange[] {
    return this.exchanges.filter((e) => e.path === '/oauth/token');
  }

  get apiRequests(): Exchange[] {
    return this.exchanges.filter((e) => e.path !== '/oauth/token');
  }

  readonly fetch: Fetch = async (url, init) => {
    const exchange = { method: init.method ?? 'GET', path: new URL(url).pathname, headers: new Headers(init.headers), body: typeof init.body === 'string' ? init.body : '' };
    this.exchanges.push(exchange);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs(exchange, this.exchanges.length - 1)));
    if (exchange.path === '/oauth/token') {
      this.onTokenRequest();
      const step = this.tokenSteps.shift() ?? 'issue';
      if (step !== 'issue') return json(step.status, step.body, step.headers);
      this.#issued += 1;
      const token = `tok_${this.#issued}`;
      this.accepted.add(token);
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: this.expiresIn, scope: 'read write' }, { 'cache-control': 'no-store' });
    }
    const token = exchange.headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
    if (!this.accepted.has(token)) return refusedToken();
    return json(exchange.method === 'POST' ? 201 : 200, exchange.method === 'GET' && exchange.path === '/v1/customers' ? { object: 'list', data: [CUSTOMER], has_more: false, next_cursor: null } : CUSTOMER);
  };
}

/** Runtime hooks with a clock the test moves, waits that are recorded and over at once, no jitter. */
function clock() {
  let now = FAKE_NOW_MS;
  const sleeps: number[] = [];
  const hooks: RuntimeHooks = {
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    now: () => now,
    random: () => 0,
    warn: () => undefined,
  };
  return {
    hooks,
    sleeps,
    advance(ms: number) {
      now += ms;
    },
  };
}

function oauthClient(fake: FakeRemit, options: Partial<ClientOptions> = {}, hooks: RuntimeHooks = clock().hooks): Remit {
  const withHooks = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: BASE_URL, fetch: fake.fetch, ...options, [runtimeHooks]: hooks };
  return new Remit(withHooks as ClientOptions);
}

const bearer = (e: Exchange) => e.headers.get('authorization');

describe('SDK OAuth client credentials (fake fetch)', () => {
  describe('one token for many calls', () => {
    it('sends exactly one token request for 50 concurrent calls on a cold client, and every call carries its token', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? remit.customers.retrieve('cus_1') : remit.customers.create({ email: 'a@example.com' }))));
      expect(results.map((c) => c.id)).to.deep.equal(Array<string>(50).fill('cus_1'));
      expect(fake.tokenRequests).to.have.length(1);
      expect(fake.apiRequests).to.have.length(50);
      expect(new Set(fake.apiRequests.map(bearer))).to.deep.equal(new Set(['Bearer tok_1']));
    });

    it('keeps the token for later calls while it is fresh', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      for (let i = 0; i < 5; i++) await remit.customers.list();
      expect(fake.tokenRequests).to.have.length(1);
    });
  });

  describe('refresh ahead of expiry', () => {
    it(`replaces a 10-minute token ${TOKEN_REFRESH_MARGIN_MS / 1000} s before it expires, with one request for the calls then`, async () => {
      const fake = new FakeRemit();
      const time = clock();
      const remit = oauthClient(fake, {}, time.hooks);
      await remit.customers.retrieve('cus_1');
      time.advance(600_000 - TOKEN_REFRESH_MARGIN_MS - 1);
      await remit.customers.retrieve('cus_1');
      expect(fake.tokenRequests, 'still fresh a millisecond before the margin').to.have.length(1);

      time.advance(1);
      await Promise.all(Array.from({ length: 10 }, () => remit.customers.retrieve('cus_1')));
      expect(fake.tokenRequests).to.have.length(2);
      expect(fake.apiRequests.slice(-10).map(bearer)).to.deep.equal(Array<string>(10).fill('Bearer tok_2'));
    });

    it('replaces a short-lived token once half its life is left', async () => {
      const fake = new FakeRemit();
      fake.expiresIn = 30;
      const time = clock();
      const remit = oauthClient(fake, {}, time.hooks);
      await remit.customers.retrieve('cus_1');
      time.advance(14_999);
      await remit.customers.retrieve('cus_1');
      expect(fake.tokenRequests).to.have.length(1);
      time.advance(1);
      await remit.customers.retrieve('cus_1');
      expect(fake.tokenRequests).to.have.length(2);
      expect(bearer(fake.apiRequests.at(-1)!)).to.equal('Bearer tok_2');
    });

    it('keeps using the token while it is valid when the refresh fails, and fails the calls once it has expired', async () => {
      const fake = new FakeRemit();
      const time = clock();
      const remit = oauthClient(fake, { maxRetries: 0 }, time.hooks);
      await remit.customers.retrieve('cus_1');
      const outage = { status: 503, headers: { 'content-type': 'application/problem+json' }, body: problemBody(503, 'service_unavailable') };
      fake.tokenSteps = [outage, outage];

      time.advance(600_000 - 1);
      expect((await remit.customers.retrieve('cus_1')).id).to.equal('cus_1');
      expect(bearer(fake.apiRequests.at(-1)!)).to.equal('Bearer tok_1');
      time.advance(1);
      const err = await rejectionOf(remit.customers.retrieve('cus_1'));
      expect(err).to.be.instanceOf(InternalServerError);
      expect(fake.tokenRequests).to.have.length(3);
      expect(fake.apiRequests).to.have.length(2);
    });

    it('counts the life from when the token was asked for, on the local clock, not from its arrival', async () => {
      const fake = new FakeRemit();
      const time = clock();
      // The token request takes 5 s: the token may have been issued at any moment of those.
      fake.onTokenRequest = () => time.advance(5_000);
      const remit = oauthClient(fake, {}, time.hooks);
      await remit.customers.retrieve('cus_1');
      fake.onTokenRequest = () => undefined;
      time.advance(600_000 - TOKEN_REFRESH_MARGIN_MS - 5_000);
      await remit.customers.retrieve('cus_1');
      expect(fake.tokenRequests).to.have.length(2);
    });
  });

  describe('a token the API refuses', () => {
    it('fetches one new token and sends the call again once, with the same Idempotency-Key, outside maxRetries', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake, { maxRetries: 0 });
      await remit.customers.list();
      fake.accepted.delete('tok_1');

      const customer = await remit.customers.create({ email: 'a@example.com' });
      expect(customer.id).to.equal('cus_1');
      expect(fake.tokenRequests).to.have.length(2);
      const creates = fake.apiRequests.filter((e) => e.method === 'POST');
      expect(creates.map(bearer)).to.deep.equal(['Bearer tok_1', 'Bearer tok_2']);
      const keys = creates.map((e) => e.headers.get('idempotency-key'));
      expect(keys[0]).to.be.a('string');
      expect(keys[1]).to.equal(keys[0]);
      expect(creates.map((e) => e.headers.get('remit-retry-count')), 'the resend is counted as a send').to.deep.equal(['0', '1']);
      expect(creates.map((e) => e.body)).to.deep.equal([JSON.stringify({ email: 'a@example.com' }), JSON.stringify({ email: 'a@example.com' })]);
    });

    it('refreshes once for ten concurrent calls refused with the same stale token', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      await remit.customers.list();
      fake.accepted.delete('tok_1');
      // The refusals arrive over 30 ms, most of them after the new token: those must not drop it.
      fake.delayMs = (e, n) => (e.path === '/oauth/token' ? 1 : 3 * (n % 11));

      const customers = await Promise.all(Array.from({ length: 10 }, () => remit.customers.create({ email: 'a@example.com' })));
      expect(customers).to.have.length(10);
      expect(fake.tokenRequests).to.have.length(2);
      const creates = fake.apiRequests.filter((e) => e.method === 'POST');
      expect(creates.map(bearer).sort()).to.deep.equal([...Array<string>(10).fill('Bearer tok_1'), ...Array<string>(10).fill('Bearer tok_2')]);
      const sendsPerKey = new Map<string, number>();
      for (const e of creates) sendsPerKey.set(e.headers.get('idempotency-key')!, (sendsPerKey.get(e.headers.get('idempotency-key')!) ?? 0) + 1);
      expect([...sendsPerKey.values()], 'each call sent twice under its own key').to.deep.equal(Array<number>(10).fill(2));
    });

    it('ends the call with AuthenticationError when the new token is refused too, and sends nothing more', async () => {
      const fake = new FakeRemit();
      // The client was revoked: the API refuses every token, new ones included.
      const revoked: Fetch = async (url, init) => {
        const response = await fake.fetch(url, init);
        return new URL(url).pathname === '/oauth/token' ? response : refusedToken();
      };
      const err = await rejectionOf(oauthClient(fake, { fetch: revoked }).customers.create({ email: 'a@example.com' }));
      expect(err).to.be.instanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).to.equal('invalid_token');
      expect(fake.apiRequests).to.have.length(2);
      expect(fake.tokenRequests).to.have.length(2);
    });

    it('does not refresh on a 401 whose challenge names no invalid token', async () => {
      const fake = new FakeRemit();
      const noError: Fetch = async (url, init) => {
        const response = await fake.fetch(url, init);
        if (new URL(url).pathname === '/oauth/token') return response;
        return json(401, problemBody(401, 'authentication_required'), { 'www-authenticate': 'Bearer realm="remit", error_description="not error=\\"invalid_token\\""' });
      };
      const err = await rejectionOf(oauthClient(fake, { fetch: noError }).customers.list());
      expect(err).to.be.instanceOf(AuthenticationError);
      expect(fake.apiRequests).to.have.length(1);
      expect(fake.tokenRequests).to.have.length(1);
    });

    it('leaves API keys as they were: a refused key is one attempt and no token request', async () => {
      const fake = new FakeRemit();
      const remit = new Remit({ apiKey: TEST_API_KEY, baseURL: BASE_URL, fetch: fake.fetch, [runtimeHooks]: clock().hooks } as ClientOptions);
      const err = await rejectionOf(remit.customers.create({ email: 'a@example.com' }));
      expect(err).to.be.instanceOf(AuthenticationError);
      expect(fake.exchanges.map((e) => [e.path, bearer(e)])).to.deep.equal([['/v1/customers', `Bearer ${TEST_API_KEY}`]]);
    });
  });

  describe('the token endpoint', () => {
    it('refuses unknown client credentials with AuthenticationError (invalid_client), not retried, and no call is sent', async () => {
      const fake = new FakeRemit();
      fake.tokenSteps = [{ status: 401, headers: { 'www-authenticate': 'Basic realm="remit"' }, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } }];
      const err = await rejectionOf(oauthClient(fake).customers.list());
      expect(err).to.be.instanceOf(AuthenticationError);
      expect(err).to.include({ status: 401, code: 'invalid_client' });
      expect((err as Error).message).to.equal('401 invalid_client: Client authentication failed.');
      expect((err as AuthenticationError).oauthError).to.deep.equal({ error: 'invalid_client', error_description: 'Client authentication failed.' });
      expect(fake.tokenRequests).to.have.length(1);
      expect(fake.apiRequests).to.have.length(0);
    });

    it('refuses a scope the client lacks with BadRequestError (invalid_scope), not retried', async () => {
      const fake = new FakeRemit();
      fake.tokenSteps = [{ status: 400, body: { error: 'invalid_scope', error_description: 'The client does not hold the scope write.' } }];
      const err = await rejectionOf(oauthClient(fake, { scope: ['write'] }).customers.list());
      expect(err).to.be.instanceOf(BadRequestError);
      expect(err).to.include({ status: 400, code: 'invalid_scope' });
      expect(fake.tokenRequests).to.have.length(1);
    });

    it('retries a 503 after its Retry-After, then a 429, then gets the token', async () => {
      const fake = new FakeRemit();
      const time = clock();
      fake.tokenSteps = [
        { status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '3' }, body: problemBody(503, 'service_unavailable') },
        { status: 429, headers: { 'content-type': 'application/problem+json', 'retry-after': '2' }, body: problemBody(429, 'rate_limited') },
      ];
      const remit = oauthClient(fake, {}, time.hooks);
      const pages = await Promise.all([remit.customers.list(), remit.customers.list()]);
      expect(pages.map((p) => p.data.length)).to.deep.equal([1, 1]);
      expect(fake.tokenRequests.map((e) => e.headers.get('remit-retry-count'))).to.deep.equal(['0', '1', '2']);
      expect(time.sleeps).to.deep.equal([3_000, 2_000]);
      expect(fake.apiRequests.map(bearer)).to.deep.equal(['Bearer tok_1', 'Bearer tok_1']);
    });

    it('fails the waiting calls after the retries, and asks again on the next call', async () => {
      const fake = new FakeRemit();
      const outage = { status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '1' }, body: problemBody(503, 'service_unavailable') };
      fake.tokenSteps = [outage, outage];
      const remit = oauthClient(fake, { maxRetries: 1 });
      const errors = await Promise.all([rejectionOf(remit.customers.list()), rejectionOf(remit.customers.list())]);
      for (const err of errors) expect(err).to.be.instanceOf(InternalServerError);
      expect(fake.tokenRequests).to.have.length(2);
      expect((await remit.customers.list()).data).to.have.length(1);
      expect(fake.tokenRequests).to.have.length(3);
    });

    it('ends only the aborted caller’s wait; the others get the token', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      const controller = new AbortController();
      const aborted = rejectionOf(remit.customers.list(undefined, { signal: controller.signal }));
      const other = remit.customers.list();
      controller.abort();
      expect(await aborted).to.be.instanceOf(APIUserAbortError);
      expect((await other).data).to.have.length(1);
      expect(fake.tokenRequests).to.have.length(1);
    });

    it('sends the client id and secret form-encoded in Basic credentials (RFC 6749 §2.3.1), and the grant and scope as a form', async () => {
      const fake = new FakeRemit();
      const clientId = 'cli_odd:id é';
      const clientSecret = 'cs_a:b+c%d e/f=g&h';
      await oauthClient(fake, { clientId, clientSecret, scope: ['read', 'write'] }).customers.list();

      const [request] = fake.tokenRequests;
      expect(request!.method).to.equal('POST');
      expect(request!.headers.get('content-type')).to.equal('application/x-www-form-urlencoded');
      const basic = request!.headers.get('authorization')!;
      expect(basic).to.match(/^Basic [A-Za-z0-9+/]+=*$/);
      const pair = atob(basic.slice('Basic '.length));
      expect(pair.split(':'), 'one colon: the parts carry theirs encoded').to.have.length(2);
      const [id, secret] = pair.split(':').map((part) => new URLSearchParams(`v=${part}`).get('v'));
      expect([id, secret]).to.deep.equal([clientId, clientSecret]);
      expect(pair).to.equal(`${'cli_odd%3Aid+%C3%A9'}:${'cs_a%3Ab%2Bc%25d+e%2Ff%3Dg%26h'}`);

      const form = new URLSearchParams(request!.body);
      expect([...form.entries()]).to.deep.equal([
        ['grant_type', 'client_credentials'],
        ['scope', 'read write'],
      ]);
      expect(fake.apiRequests.map(bearer)).to.deep.equal(['Bearer tok_1']);
    });

    it('asks for every scope of the client when no scope is given', async () => {
      const fake = new FakeRemit();
      await oauthClient(fake).customers.list();
      expect(fake.tokenRequests[0]!.body).to.equal('grant_type=client_credentials');
    });

    it('refuses a token answer that is not a Bearer token with an expiry, without quoting it', async () => {
      for (const body of [{ access_token: 'tok_secret_x', token_type: 'mac', expires_in: 60 }, { access_token: 'tok_secret_x', token_type: 'Bearer' }, { token_type: 'Bearer', expires_in: 60 }]) {
        const fake = new FakeRemit();
        fake.tokenSteps = [{ status: 200, body }];
        const err = await rejectionOf(oauthClient(fake).customers.list());
        expect(err).to.be.instanceOf(RemitError);
        expect((err as Error).message).not.to.include('tok_secret_x');
        expect(fake.apiRequests).to.have.length(0);
      }
    });
  });

  describe('options', () => {
    const expectRefused = (options: unknown, pattern: RegExp) => {
      let err: unknown;
      try {
        new Remit(options as ClientOptions);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(options)).to.be.instanceOf(RemitError);
      expect((err as Error).message).to.match(pattern);
      expect((err as Error).message).not.to.include(CLIENT_SECRET);
    };

    it('takes exactly one of an apiKey and a clientId with a clientSecret, each a non-empty string', () => {
      expectRefused({}, /apiKey.*clientId/);
      expectRefused({ apiKey: TEST_API_KEY, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, /not both/);
      expectRefused({ apiKey: TEST_API_KEY, scope: ['read'] }, /not both/);
      expectRefused({ clientId: CLIENT_ID }, /clientSecret/);
      expectRefused({ clientSecret: CLIENT_SECRET }, /clientId/);
      expectRefused({ clientId: '', clientSecret: CLIENT_SECRET }, /clientId/);
      expectRefused({ clientId: CLIENT_ID, clientSecret: '' }, /clientSecret/);
      expectRefused({ clientId: 42, clientSecret: CLIENT_SECRET }, /clientId/);
      expectRefused({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scope: [] }, /scope/);
      expectRefused({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scope: 'read write' }, /scope/);
      expectRefused({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scope: ['read write'] }, /scope/);
      expect(new Remit({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }).baseURL).to.equal('http://127.0.0.1:8080');
    });

    it('keeps the secret and the token out of the client’s properties, its inspection and its errors', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      await remit.customers.list();
      // Every later token is refused too (a revoked client), then the token endpoint refuses the client.
      fake.accepted.clear();
      const refuseAll: Fetch = async (url, init) => {
        const response = await fake.fetch(url, init);
        return new URL(url).pathname === '/oauth/token' ? response : refusedToken();
      };
      const refused = await rejectionOf(remit.withOptions({ fetch: refuseAll }).customers.list());
      fake.tokenSteps = [{ status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } }];
      const unknown = await rejectionOf(remit.withOptions({ timeout: 1_000, scope: ['read'] }).customers.list());
      expect(refused).to.be.instanceOf(AuthenticationError);
      expect(unknown).to.be.instanceOf(AuthenticationError);

      const shown = [JSON.stringify(remit), inspect(remit, { showHidden: true, depth: Infinity, getters: true }), Object.keys(remit).join(','), ...[refused, unknown].flatMap((err) => [String(err), inspect(err, { showHidden: true, depth: Infinity })])].join('\n');
      expect(shown).not.to.include(CLIENT_SECRET);
      expect(shown).not.to.include(btoa(`${CLIENT_ID}:${CLIENT_SECRET}`));
      for (const token of ['tok_1', 'tok_2', 'tok_3']) expect(shown).not.to.include(token);
    });
  });

  describe('withOptions', () => {
    it('shares the token with a derived client of the same grant, baseURL and fetch', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      await remit.customers.list();
      const patient = remit.withOptions({ maxRetries: 5, timeout: 5_000 });
      await patient.customers.list();
      expect(patient.maxRetries).to.equal(5);
      expect(fake.tokenRequests).to.have.length(1);
      expect(fake.apiRequests.map(bearer)).to.deep.equal(['Bearer tok_1', 'Bearer tok_1']);
    });

    it('gets a token of its own for another scope or another fetch', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      await remit.customers.list();
      await remit.withOptions({ scope: ['read'] }).customers.list();
      await remit.withOptions({ fetch: (url, init) => fake.fetch(url, init) }).customers.list();
      expect(fake.tokenRequests).to.have.length(3);
      expect(new URLSearchParams(fake.tokenRequests[1]!.body).get('scope')).to.equal('read');
    });

    it('swaps the credentials as a whole: an apiKey replaces the client credentials, and the reverse', async () => {
      const fake = new FakeRemit();
      const remit = oauthClient(fake);
      await remit.withOptions({ apiKey: TEST_API_KEY }).customers.retrieve('cus_1').catch(() => undefined);
      expect(fake.exchanges.map((e) => bearer(e))).to.deep.equal([`Bearer ${TEST_API_KEY}`]);
      const keyClient = new Remit({ apiKey: TEST_API_KEY, baseURL: BASE_URL, fetch: fake.fetch });
      await keyClient.withOptions({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }).customers.list();
      expect(fake.tokenRequests).to.have.length(1);
      expect(bearer(fake.apiRequests.at(-1)!)).to.equal('Bearer tok_1');
    });
  });
});
