/**
 * The debug log against a scripted server: one record and one line per attempt (API calls, token
 * requests and calls by method and path alike) with the status, the duration, the request id and
 * the retry that follows; `REMIT_LOG=debug` writing to `console.error` when no logger is given; a
 * throwing logger changing nothing; and no API key, client secret or access token in any of it.
 */
import { expect } from 'chai';
import { AuthenticationError, InternalServerError, NotFoundError, Remit, RemitError, type AttemptRecord, type ClientOptions, type Logger } from '../../src/index.js';
import { runtimeHooks } from '../../src/internal/runtime.js';
import { fakeRuntime, rejectionOf, TEST_API_KEY, testClient, type FakeRuntime } from '../helpers/client.js';
import { problem, startFaultServer, type FaultServer } from '../helpers/fault-server.js';

const CUSTOMER = { id: 'cus_1', object: 'customer', email: 'a@example.com', name: null, phone: null, description: null, metadata: {}, created: 1_700_000_000 };
const LIST = { object: 'list', data: [CUSTOMER], has_more: false, next_cursor: null };
const CLIENT_ID = 'cli_0123456789';
const CLIENT_SECRET = 'cs_live_secret_do_not_log_0123456789';

/** A token endpoint's answer issuing `token`. */
const issue = (token: string) => ({ status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 600, scope: 'read write' } });
const refusedToken = problem(401, 'invalid_token', { 'www-authenticate': 'Bearer realm="remit", error="invalid_token"' });

/** A logger that keeps every line and record it is given. */
function recordingLogger(): Logger & { readonly lines: string[]; readonly records: AttemptRecord[] } {
  const lines: string[] = [];
  const records: AttemptRecord[] = [];
  return {
    lines,
    records,
    debug(message, record) {
      lines.push(message);
      records.push(record);
    },
  };
}

/** A client with OAuth client credentials on `baseURL`, with the fake runtime. */
function oauthClient(baseURL: string, options: Partial<ClientOptions> = {}, runtime: FakeRuntime = fakeRuntime()): Remit {
  const withHooks = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, ...options, [runtimeHooks]: runtime.hooks };
  return new Remit(withHooks as ClientOptions);
}

/** Sets `REMIT_LOG` to `value` (unsets it for undefined); the function returned puts it back as it was. */
function setRemitLog(value: string | undefined): () => void {
  // eslint-disable-next-line no-restricted-properties -- the variable under test is the SDK's own, read from the environment
  const env = process.env;
  const before = env.REMIT_LOG;
  const set = (v: string | undefined) => {
    if (v === undefined) delete env.REMIT_LOG;
    else env.REMIT_LOG = v;
  };
  set(value);
  return () => set(before);
}

/** A client made while `REMIT_LOG` is `value`. */
function clientMadeWith(value: string | undefined, make: () => Remit): Remit {
  const restore = setRemitLog(value);
  try {
    return make();
  } finally {
    restore();
  }
}

/** Runs `fn` with `console.error` replaced by a recorder, and returns what it was called with. */
async function consoleErrorOf(fn: () => Promise<unknown>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    calls.push(args);
  };
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return calls;
}

/** Runs `fn` while `globalThis.process` is `replacement`, then puts the real one back (synchronous only). */
function withProcess<T>(replacement: unknown, fn: () => T): T {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'process')!;
  Object.defineProperty(globalThis, 'process', { value: replacement, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    Object.defineProperty(globalThis, 'process', descriptor);
  }
}

describe('SDK debug log (scripted server)', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer();
  });
  after(() => server.close());

  describe('the record and the line of an attempt', () => {
    it('gives the method, path with query, status, duration and request id of a call answered at once', async () => {
      server.script({ status: 200, body: LIST, delayMs: 40 });
      const logger = recordingLogger();
      await testClient(server.url, { logger }).customers.list({ limit: 3 });

      expect(logger.records).to.have.length(1);
      const [record] = logger.records;
      const { durationMs, ...rest } = record!;
      expect(rest).to.deep.equal({ method: 'GET', path: '/v1/customers?limit=3', attempt: 1, status: 200, requestId: 'req_fault_1' });
      expect(Number.isInteger(durationMs), 'whole milliseconds').to.equal(true);
      expect(durationMs).to.be.within(39, 5_000);
      expect(logger.lines).to.deep.equal([`remit: GET /v1/customers?limit=3 200 in ${durationMs} ms (attempt 1, request req_fault_1)`]);
    });

    it('logs once per attempt of a retried call: each status or failure, the reason of the retry and the wait that follows', async () => {
      server.script(
        problem(503, 'service_unavailable', { 'retry-after': '2' }),
        { drop: true },
        problem(409, 'idempotency_in_flight', { 'retry-after': '1' }),
        problem(429, 'rate_limited', { ratelimit: '"write";r=0;t=3' }),
        problem(500, 'internal_error'),
        { status: 201, body: CUSTOMER },
      );
      const logger = recordingLogger();
      const runtime = fakeRuntime();
      await testClient(server.url, { logger, maxRetries: 5 }, runtime).customers.create({ email: 'a@example.com' });

      expect(server.requests).to.have.length(6);
      const records = logger.records.map(({ durationMs: _d, error: _e, ...rest }) => rest);
      expect(records).to.deep.equal([
        { method: 'POST', path: '/v1/customers', attempt: 1, status: 503, requestId: 'req_fault_1', retry: { reason: '503 (Retry-After)', waitMs: 2_000 } },
        { method: 'POST', path: '/v1/customers', attempt: 2, status: null, requestId: null, retry: { reason: 'connection error', waitMs: 1_000 } },
        { method: 'POST', path: '/v1/customers', attempt: 3, status: 409, requestId: 'req_fault_3', retry: { reason: '409 idempotency_in_flight (Retry-After)', waitMs: 1_000 } },
        { method: 'POST', path: '/v1/customers', attempt: 4, status: 429, requestId: 'req_fault_4', retry: { reason: '429 (RateLimit)', waitMs: 3_000 } },
        { method: 'POST', path: '/v1/customers', attempt: 5, status: 500, requestId: 'req_fault_5', retry: { reason: '500', waitMs: 8_000 } },
        { method: 'POST', path: '/v1/customers', attempt: 6, status: 201, requestId: 'req_fault_6' },
      ]);
      expect(logger.records.map((r) => r.retry?.waitMs).slice(0, 5), 'the waits logged are the waits made').to.deep.equal(runtime.sleeps);
      // Only the attempt without an answer says why.
      expect(logger.records.map((r) => typeof r.error)).to.deep.equal(['undefined', 'string', 'undefined', 'undefined', 'undefined', 'undefined']);
      const dropped = logger.records[1]!;
      expect(dropped.error).to.not.equal('');
      expect(logger.lines[0]).to.equal(`remit: POST /v1/customers 503 in ${logger.records[0]!.durationMs} ms (attempt 1, request req_fault_1); retrying in 2000 ms: 503 (Retry-After)`);
      expect(logger.lines[1]).to.equal(`remit: POST /v1/customers failed in ${dropped.durationMs} ms (attempt 2): ${dropped.error}; retrying in 1000 ms: connection error`);
      expect(logger.lines[5]).to.equal(`remit: POST /v1/customers 201 in ${logger.records[5]!.durationMs} ms (attempt 6, request req_fault_6)`);
    });

    it('says timeout for an attempt that ran past the timeout, and logs the last attempt of a failed call without a retry', async () => {
      server.script({ hang: true });
      const logger = recordingLogger();
      const err = await rejectionOf(testClient(server.url, { logger, timeout: 60, maxRetries: 1 }).customers.retrieve('cus_1'));
      expect((err as Error).name).to.equal('APIConnectionTimeoutError');

      expect(logger.records.map(({ durationMs: _d, ...rest }) => rest)).to.deep.equal([
        { method: 'GET', path: '/v1/customers/cus_1', attempt: 1, status: null, requestId: null, error: 'timeout', retry: { reason: 'timeout', waitMs: 500 } },
        { method: 'GET', path: '/v1/customers/cus_1', attempt: 2, status: null, requestId: null, error: 'timeout' },
      ]);
      expect(logger.records.every((r) => r.durationMs >= 55)).to.equal(true);
      expect(logger.lines[1]).to.equal(`remit: GET /v1/customers/cus_1 failed in ${logger.records[1]!.durationMs} ms (attempt 2): timeout`);
    });

    it('logs a refusal that is not retried once, with its status and request id', async () => {
      server.script(problem(404, 'resource_not_found'));
      const logger = recordingLogger();
      const err = await rejectionOf(testClient(server.url, { logger }).customers.retrieve('cus_404'));
      expect(err).to.be.instanceOf(NotFoundError);
      expect(logger.lines).to.deep.equal([`remit: GET /v1/customers/cus_404 404 in ${logger.records[0]!.durationMs} ms (attempt 1, request req_fault_1)`]);
      expect(logger.records[0]).to.not.have.property('retry');
    });

    it('logs the attempts of a call by method and path like any other', async () => {
      server.script(problem(503, 'service_unavailable'), { status: 200, headers: { 'content-type': 'text/plain' }, body: '# HELP up 1' });
      const logger = recordingLogger();
      const text = await testClient(server.url, { logger }).request({ method: 'GET', path: '/metrics', authenticate: false });
      expect(text).to.equal('# HELP up 1');
      expect(logger.records.map((r) => [r.method, r.path, r.attempt, r.status, r.retry?.reason])).to.deep.equal([
        ['GET', '/metrics', 1, 503, '503'],
        ['GET', '/metrics', 2, 200, undefined],
      ]);
    });

    it('is kept by withOptions', async () => {
      server.script({ status: 200, body: CUSTOMER });
      const logger = recordingLogger();
      await testClient(server.url, { logger }).withOptions({ maxRetries: 0 }).customers.retrieve('cus_1');
      expect(logger.records.map((r) => r.path)).to.deep.equal(['/v1/customers/cus_1']);
    });
  });

  describe('OAuth client credentials', () => {
    it('logs the token request attempts, then the call', async () => {
      server.script(problem(503, 'service_unavailable', { 'retry-after': '1' }), issue('tok_logged_1'), { status: 200, body: CUSTOMER });
      const logger = recordingLogger();
      await oauthClient(server.url, { logger }).customers.retrieve('cus_1');

      expect(server.requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal(['POST /oauth/token', 'POST /oauth/token', 'GET /v1/customers/cus_1']);
      expect(logger.records.map(({ durationMs: _d, ...rest }) => rest)).to.deep.equal([
        { method: 'POST', path: '/oauth/token', attempt: 1, status: 503, requestId: 'req_fault_1', retry: { reason: '503 (Retry-After)', waitMs: 1_000 } },
        { method: 'POST', path: '/oauth/token', attempt: 2, status: 200, requestId: 'req_fault_2' },
        { method: 'GET', path: '/v1/customers/cus_1', attempt: 1, status: 200, requestId: 'req_fault_3' },
      ]);
    });

    it('logs the resend after a refused access token with its reason, and a second refusal without one', async () => {
      server.script(issue('tok_logged_1'), refusedToken, issue('tok_logged_2'), { status: 200, body: CUSTOMER });
      const logger = recordingLogger();
      await oauthClient(server.url, { logger }).customers.create({ email: 'a@example.com' });
      expect(logger.records.map((r) => [r.path, r.attempt, r.status, r.retry])).to.deep.equal([
        ['/oauth/token', 1, 200, undefined],
        ['/v1/customers', 1, 401, { reason: 'access token refused', waitMs: 0 }],
        ['/oauth/token', 1, 200, undefined],
        ['/v1/customers', 2, 200, undefined],
      ]);
      expect(logger.lines[1]).to.match(/^remit: POST \/v1\/customers 401 in \d+ ms \(attempt 1, request req_fault_2\); retrying in 0 ms: access token refused$/);

      server.script(issue('tok_logged_3'), refusedToken, issue('tok_logged_4'), refusedToken);
      const again = recordingLogger();
      const err = await rejectionOf(oauthClient(server.url, { logger: again }).customers.list());
      expect(err).to.be.instanceOf(AuthenticationError);
      expect(again.records.map((r) => [r.path, r.attempt, r.status, r.retry?.reason])).to.deep.equal([
        ['/oauth/token', 1, 200, undefined],
        ['/v1/customers', 1, 401, 'access token refused'],
        ['/oauth/token', 1, 200, undefined],
        ['/v1/customers', 2, 401, undefined],
      ]);
    });
  });

  describe('secrets', () => {
    it('never logs the API key, the client secret or an access token, though each was sent', async () => {
      const logger = recordingLogger();
      server.script(problem(500, 'internal_error'), problem(401, 'invalid_api_key'));
      await rejectionOf(testClient(server.url, { logger }).customers.create({ email: 'a@example.com' }));
      const sentKey = server.requests.map((r) => r.headers.authorization);

      server.script(
        problem(429, 'rate_limited', { 'retry-after': '1' }),
        issue('tok_secret_first_0123456789'),
        refusedToken,
        issue('tok_secret_second_0123456789'),
        { status: 200, body: LIST },
      );
      const client = oauthClient(server.url, { logger });
      await client.customers.list();
      const sentOAuth = server.requests.map((r) => `${r.headers.authorization} ${r.body}`);

      const shown = [...logger.lines, JSON.stringify(logger.records)].join('\n');
      const basic = `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`;
      // The secrets were on the wire: the check below would see them if the log took them.
      expect(sentKey).to.include(`Bearer ${TEST_API_KEY}`);
      expect(sentOAuth.join('\n')).to.include(basic).and.to.include('Bearer tok_secret_first_0123456789').and.to.include('Bearer tok_secret_second_0123456789');
      expect(logger.records).to.have.length(2 + 5);
      for (const secret of [TEST_API_KEY, CLIENT_SECRET, btoa(`${CLIENT_ID}:${CLIENT_SECRET}`), 'tok_secret_first', 'tok_secret_second', 'Bearer', 'Basic']) {
        expect(shown, secret).to.not.include(secret);
      }
    });

    it('keeps the credentials of a URL a connection error quotes out of the reason', async () => {
      const logger = recordingLogger();
      const fetch = () => Promise.reject(new TypeError('Request cannot be constructed from a URL that includes credentials: http://user:hunter2@remit.test/v1/customers'));
      const err = await rejectionOf(testClient('http://remit.test', { logger, fetch, maxRetries: 0 }).customers.list());
      expect((err as Error).name).to.equal('APIConnectionError');
      expect(logger.records[0]!.error).to.equal('Request cannot be constructed from a URL that includes credentials: http://remit.test/v1/customers');
      expect(logger.lines.join('\n')).to.not.include('hunter2');
    });
  });

  describe('REMIT_LOG=debug', () => {
    it('writes one line per attempt with console.error when the client is given no logger', async () => {
      server.script(problem(503, 'service_unavailable', { 'retry-after': '1' }), { status: 200, body: CUSTOMER });
      const remit = clientMadeWith('debug', () => testClient(server.url));
      const calls = await consoleErrorOf(() => remit.customers.retrieve('cus_1'));
      expect(calls).to.have.length(2);
      expect(calls.map((args) => args.length)).to.deep.equal([1, 1]);
      expect(calls[0]![0]).to.match(/^remit: GET \/v1\/customers\/cus_1 503 in \d+ ms \(attempt 1, request req_fault_1\); retrying in 1000 ms: 503 \(Retry-After\)$/);
      expect(calls[1]![0]).to.match(/^remit: GET \/v1\/customers\/cus_1 200 in \d+ ms \(attempt 2, request req_fault_2\)$/);
    });

    it('is read when the client is made: set later, or unset after, it changes nothing for that client', async () => {
      server.script({ status: 200, body: CUSTOMER });
      const quiet = clientMadeWith(undefined, () => testClient(server.url));
      const verbose = clientMadeWith('debug', () => testClient(server.url));
      let restore = setRemitLog('debug');
      const calls = await consoleErrorOf(() => quiet.customers.retrieve('cus_1')).finally(restore);
      expect(calls, 'made without REMIT_LOG').to.deep.equal([]);
      restore = setRemitLog(undefined);
      const later = await consoleErrorOf(() => verbose.customers.retrieve('cus_1')).finally(restore);
      expect(later, 'made with REMIT_LOG=debug').to.have.length(1);
    });

    it('logs nothing when REMIT_LOG is unset or any other value', async () => {
      server.script({ status: 200, body: CUSTOMER });
      for (const value of [undefined, '', 'info', 'DEBUG', 'debug ', '1']) {
        const remit = clientMadeWith(value, () => testClient(server.url));
        const calls = await consoleErrorOf(() => remit.customers.retrieve('cus_1'));
        expect(calls, String(value)).to.deep.equal([]);
      }
      expect(server.requests, 'the calls were made').to.have.length(6);
    });

    it('gives the lines to the logger option instead of console.error', async () => {
      server.script({ status: 200, body: CUSTOMER });
      const logger = recordingLogger();
      const remit = clientMadeWith('debug', () => testClient(server.url, { logger }));
      const calls = await consoleErrorOf(() => remit.customers.retrieve('cus_1'));
      expect(calls).to.deep.equal([]);
      expect(logger.lines).to.have.length(1);
    });

    it('logs nothing in a runtime without process or whose environment cannot be read, and makes the client all the same', async () => {
      server.script({ status: 200, body: CUSTOMER });
      const unreadable = { env: new Proxy({}, { get: () => { throw new Error('PermissionDenied: env access'); } }) };
      for (const replacement of [undefined, {}, unreadable]) {
        const remit = clientMadeWith('debug', () => withProcess(replacement, () => testClient(server.url)));
        const calls = await consoleErrorOf(() => remit.customers.retrieve('cus_1'));
        expect(calls).to.deep.equal([]);
      }
      expect(server.requests).to.have.length(3);
    });
  });

  describe('a logger that fails', () => {
    const throwing: Logger = {
      debug() {
        throw new Error('the log is full');
      },
    };

    it('changes nothing: the retries, the result and the error are those of a client without it', async () => {
      server.script(problem(503, 'service_unavailable'), { status: 201, body: CUSTOMER });
      const customer = await testClient(server.url, { logger: throwing }).customers.create({ email: 'a@example.com' });
      expect(customer).to.deep.equal(CUSTOMER);
      expect(server.requests).to.have.length(2);

      server.script(problem(500, 'internal_error'));
      const err = await rejectionOf(testClient(server.url, { logger: throwing }).customers.retrieve('cus_1'));
      expect(err).to.be.instanceOf(InternalServerError);
      expect(server.requests).to.have.length(3);

      server.script(issue('tok_1'), { status: 200, body: CUSTOMER });
      expect(await oauthClient(server.url, { logger: throwing }).customers.retrieve('cus_1')).to.deep.equal(CUSTOMER);
    });

    it('is refused when the client is made unless it is an object with a debug method', () => {
      for (const logger of [null, 'debug', () => undefined, {}, { debug: 'yes' }, { info: () => undefined }]) {
        expect(() => new Remit({ apiKey: TEST_API_KEY, logger: logger as never }), String(logger)).to.throw(RemitError, /logger must be an object with a debug method/);
      }
      expect(() => new Remit({ apiKey: TEST_API_KEY, logger: { debug: () => undefined } })).to.not.throw();
      expect(() => new Remit({ apiKey: TEST_API_KEY, logger: console })).to.not.throw();
    });
  });
});
