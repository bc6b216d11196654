/**
 * Versions and deprecation against a scripted server: the `v2` namespaces send to `/v2/…` with
 * the v2 bodies and page like v1; an answer that carries `Deprecation` reaches the `onDeprecation`
 * hook with its fields parsed (or, without a hook, warns once per operation per process);
 * malformed fields never fail a call; an answer without `Deprecation` reaches nothing; and a `410`
 * after the sunset is a `GoneError`, never retried.
 */
import { expect } from 'chai';
import {
  APIError,
  ConflictError,
  GoneError,
  parseDeprecationDate,
  parseLinkHeader,
  parseSunsetDate,
  Remit,
  type DeprecationNotice,
} from '../../src/index.js';
import { resetDeprecationWarnings } from '../../src/internal/deprecation.js';
import { fakeRuntime, rejectionOf, TEST_API_KEY, testClient } from '../helpers/client.js';
import { problem, startFaultServer, type FaultServer } from '../helpers/fault-server.js';

/** What the API sends on every answer of a deprecated v1 payments operation. */
const DEPRECATED = {
  deprecation: '@1796342400', // 2026-12-04T00:00:00Z
  sunset: 'Fri, 31 Dec 2027 00:00:00 GMT',
  link: '</v2/payments>; rel="successor-version", </docs#/Payments%20v2>; rel="deprecation"; type="text/html"',
};
const DEPRECATED_AT = new Date(Date.UTC(2026, 11, 4));
const SUNSET = new Date(Date.UTC(2027, 11, 31));

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
const PAYMENT_V2 = {
  id: 'pay_1',
  object: 'payment',
  amount: { value: 2_500, currency: 'EUR' },
  amount_captured: { value: 0, currency: 'EUR' },
  amount_refunded: { value: 0, currency: 'EUR' },
  status: 'authorized',
  capture_method: 'manual',
  customer: null,
  description: null,
  statement_descriptor: null,
  metadata: {},
  failure: null,
  created: 1_700_000_000,
};

describe('SDK versions and deprecation (scripted server)', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer();
  });
  after(() => server.close());
  beforeEach(() => resetDeprecationWarnings());
  after(() => resetDeprecationWarnings());

  describe('client.v2', () => {
    it('sends v2 calls to /v2 with the v2 bodies, under the v1 method names', async () => {
      server.script({ status: 201, body: PAYMENT_V2 }, { status: 200, body: { ...PAYMENT_V2, status: 'succeeded' } }, { status: 201, body: { id: 're_1' } });
      const remit = testClient(server.url);
      const created = await remit.v2.payments.create({ amount: { value: 2_500, currency: 'EUR' }, capture_method: 'manual' });
      expect(created.amount).to.deep.equal({ value: 2_500, currency: 'EUR' });
      expect(created.status).to.equal('authorized');
      await remit.v2.payments.capture(created.id);
      await remit.v2.refunds.create({ payment: created.id, amount: { value: 500, currency: 'EUR' } });
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal(['POST /v2/payments', 'POST /v2/payments/pay_1/capture', 'POST /v2/refunds']);
      expect(JSON.parse(server.requests[0]!.body)).to.deep.equal({ amount: { value: 2_500, currency: 'EUR' }, capture_method: 'manual' });
      expect(server.requests.every((r) => typeof r.headers['idempotency-key'] === 'string')).to.equal(true);
    });

    it('walks every page of client.v2.payments.list() with the same filters', async () => {
      const page = (ids: string[], next: string | null) => ({
        status: 200,
        body: { object: 'list', data: ids.map((id) => ({ ...PAYMENT_V2, id })), has_more: next !== null, next_cursor: next },
      });
      server.script(page(['pay_3', 'pay_2'], 'c1'), page(['pay_1'], null));
      const ids: string[] = [];
      for await (const p of testClient(server.url).v2.payments.list({ status: 'authorized', limit: 2 })) ids.push(p.id);
      expect(ids).to.deep.equal(['pay_3', 'pay_2', 'pay_1']);
      expect(server.requests.map((r) => r.url)).to.deep.equal(['/v2/payments?status=authorized&limit=2', '/v2/payments?status=authorized&limit=2&cursor=c1']);
    });

    it('keeps v1 where it was: client.payments still calls /v1', async () => {
      server.script({ status: 200, body: PAYMENT });
      await testClient(server.url, { onDeprecation: () => {} }).payments.retrieve('pay_1');
      expect(server.requests[0]!.url).to.equal('/v1/payments/pay_1');
      expect(testClient(server.url).payments).not.to.have.property('createV2');
    });
  });

  describe('the onDeprecation hook', () => {
    it('gets every deprecated answer, with the fields parsed and the successor from the operation table', async () => {
      server.script({ status: 201, headers: DEPRECATED, body: PAYMENT });
      const notices: DeprecationNotice[] = [];
      const remit = testClient(server.url, { onDeprecation: (n) => notices.push(n) });
      await remit.payments.create({ amount: 2_500, currency: 'EUR' });
      await remit.payments.create({ amount: 2_500, currency: 'EUR' });
      expect(notices).to.have.length(2);
      expect(notices[0]).to.deep.equal({
        operationId: 'createPayment',
        method: 'POST',
        path: '/v1/payments',
        status: 201,
        deprecation: DEPRECATED_AT,
        sunset: SUNSET,
        successor: { url: '/v2/payments', operationId: 'createPaymentV2', call: 'v2.payments.create' },
        link: '/docs#/Payments%20v2',
        headers: DEPRECATED,
      });
    });

    it('fires once per call, from its last answer, when the call was retried', async () => {
      server.script({ ...problem(503, 'service_unavailable', DEPRECATED) }, { status: 200, headers: DEPRECATED, body: PAYMENT });
      const notices: DeprecationNotice[] = [];
      await testClient(server.url, { onDeprecation: (n) => notices.push(n) }).payments.retrieve('pay_1');
      expect(server.requests).to.have.length(2);
      expect(notices.map((n) => [n.operationId, n.status, n.path])).to.deep.equal([['retrievePayment', 200, '/v1/payments/{id}']]);
    });

    it('fires on an error answer too, and the call still fails with its error', async () => {
      server.script(problem(409, 'payment_not_capturable', DEPRECATED));
      const notices: DeprecationNotice[] = [];
      const err = await rejectionOf(testClient(server.url, { onDeprecation: (n) => notices.push(n) }).payments.capture('pay_1'));
      expect(err).to.be.instanceOf(ConflictError);
      expect(notices.map((n) => [n.operationId, n.status])).to.deep.equal([['capturePayment', 409]]);
    });

    it('is not called for an answer without Deprecation', async () => {
      server.script({ status: 200, body: PAYMENT });
      const notices: DeprecationNotice[] = [];
      const runtime = fakeRuntime();
      const remit = testClient(server.url, { onDeprecation: (n) => notices.push(n) }, runtime);
      await remit.payments.retrieve('pay_1');
      server.script({ status: 200, body: PAYMENT_V2 });
      await remit.v2.payments.retrieve('pay_1');
      expect(notices).to.deep.equal([]);
      const quiet = fakeRuntime();
      await testClient(server.url, {}, quiet).v2.payments.retrieve('pay_1');
      expect(quiet.warnings, 'nor does the default warning fire').to.deep.equal([]);
    });

    it('tolerates malformed fields: the call succeeds and the unreadable values are undefined', async () => {
      const notices: DeprecationNotice[] = [];
      const remit = testClient(server.url, { onDeprecation: (n) => notices.push(n) });
      const malformed: Record<string, string>[] = [
        { deprecation: 'true', sunset: 'soon', link: 'not a link' },
        { deprecation: '@', sunset: '2027', link: '<>; rel=' },
        { deprecation: '@99999999999999999999', sunset: '', link: '</v2/x>; rel="successor-version' },
        { deprecation: '', link: ',,,;;;<' },
      ];
      for (const headers of malformed) {
        server.script({ status: 200, headers, body: PAYMENT });
        expect((await remit.payments.retrieve('pay_1')).id).to.equal('pay_1');
      }
      expect(notices).to.have.length(malformed.length);
      for (const n of notices) {
        expect([n.deprecation, n.sunset, n.link], JSON.stringify(n.headers)).to.deep.equal([undefined, undefined, undefined]);
        expect(n.successor.operationId, 'still known from the operation table').to.equal('retrievePaymentV2');
      }
      // An empty target, and a relation with an unterminated quote, name no successor.
      expect(notices.map((n) => n.successor.url)).to.deep.equal([undefined, undefined, undefined, undefined]);
    });

    it('reads an HTTP-date Deprecation, as earlier drafts of the field sent', async () => {
      server.script({ status: 200, headers: { ...DEPRECATED, deprecation: 'Fri, 04 Dec 2026 00:00:00 GMT' }, body: PAYMENT });
      const notices: DeprecationNotice[] = [];
      await testClient(server.url, { onDeprecation: (n) => notices.push(n) }).payments.retrieve('pay_1');
      expect(notices[0]!.deprecation).to.deep.equal(DEPRECATED_AT);
    });

    it('does not let a hook that throws change the outcome of the call', async () => {
      server.script({ status: 201, headers: DEPRECATED, body: PAYMENT });
      const runtime = fakeRuntime();
      const remit = testClient(server.url, { onDeprecation: () => { throw new Error('deprecated calls are banned here'); } }, runtime);
      expect((await remit.payments.create({ amount: 2_500, currency: 'EUR' })).id).to.equal('pay_1');
      expect(runtime.warnings).to.have.length(1);
      expect(runtime.warnings[0]).to.match(/onDeprecation hook threw for createPayment.*deprecated calls are banned here/);
    });

    it('must be a function', () => {
      expect(() => testClient(server.url, { onDeprecation: 'warn' as never })).to.throw(/onDeprecation must be a function/);
    });
  });

  describe('without a hook', () => {
    it('warns once per operation per process, naming the sunset date and the successor', async () => {
      server.script({ status: 200, headers: DEPRECATED, body: PAYMENT });
      const runtime = fakeRuntime();
      const first = testClient(server.url, {}, runtime);
      await first.payments.retrieve('pay_1');
      await first.payments.retrieve('pay_2');
      // Another client in the same process: the operation was already warned about.
      await testClient(server.url, {}, runtime).payments.retrieve('pay_3');
      await first.withOptions({ maxRetries: 0 }).payments.retrieve('pay_4');
      expect(runtime.warnings).to.have.length(1);
      expect(runtime.warnings[0]).to.equal(
        'Remit: retrievePayment (GET /v1/payments/{id}) is deprecated and stops answering on 2027-12-31 (its Sunset); ' +
          'use client.v2.payments.retrieve() (retrievePaymentV2, /v2/payments) instead. See /docs#/Payments%20v2. ' +
          'Pass onDeprecation to the client to handle or silence this warning.',
      );

      // Another operation warns once too.
      await first.payments.list();
      await first.payments.list();
      expect(runtime.warnings).to.have.length(2);
      expect(runtime.warnings[1]).to.match(/^Remit: listPayments .* 2027-12-31 .*client\.v2\.payments\.list\(\)/);
    });

    it('warns again after the memory is reset (a fresh process)', async () => {
      server.script({ status: 200, headers: DEPRECATED, body: PAYMENT });
      const runtime = fakeRuntime();
      await testClient(server.url, {}, runtime).payments.retrieve('pay_1');
      resetDeprecationWarnings();
      await testClient(server.url, {}, runtime).payments.retrieve('pay_1');
      expect(runtime.warnings).to.have.length(2);
    });

    it('is silenced by onDeprecation: () => {}', async () => {
      server.script({ status: 200, headers: DEPRECATED, body: PAYMENT });
      const runtime = fakeRuntime();
      await testClient(server.url, { onDeprecation: () => {} }, runtime).payments.retrieve('pay_1');
      expect(runtime.warnings).to.deep.equal([]);
    });

    it('falls back to the sunset of the spec when the answer has no readable Sunset, and never throws', async () => {
      server.script({ status: 200, headers: { deprecation: 'garbage', sunset: 'later', link: '<<<' }, body: PAYMENT });
      const runtime = fakeRuntime();
      expect((await testClient(server.url, {}, runtime).payments.retrieve('pay_1')).id).to.equal('pay_1');
      expect(runtime.warnings).to.have.length(1);
      expect(runtime.warnings[0]).to.match(/stops answering on 2027-12-31 .*client\.v2\.payments\.retrieve\(\) \(retrievePaymentV2\) instead\. Pass/);
    });

    it('warns with console.warn by default', async () => {
      server.script({ status: 200, headers: DEPRECATED, body: PAYMENT });
      const printed: unknown[][] = [];
      const original = console.warn;
      console.warn = (...args: unknown[]) => void printed.push(args);
      try {
        await new Remit({ apiKey: TEST_API_KEY, baseURL: server.url }).payments.retrieve('pay_1');
      } finally {
        console.warn = original;
      }
      expect(printed).to.have.length(1);
      expect(String(printed[0]![0])).to.match(/^Remit: retrievePayment .* 2027-12-31/);
    });
  });

  describe('410 after the sunset', () => {
    it('is a GoneError with the successor and the sunset, after one attempt', async () => {
      server.script(problem(410, 'api_version_sunset', DEPRECATED));
      const notices: DeprecationNotice[] = [];
      const runtime = fakeRuntime();
      const err = await rejectionOf(testClient(server.url, { maxRetries: 5, onDeprecation: (n) => notices.push(n) }, runtime).payments.create({ amount: 1, currency: 'EUR' }));
      expect(err).to.be.instanceOf(GoneError).and.instanceOf(APIError);
      const gone = err as GoneError;
      expect([gone.status, gone.code, gone.successor, gone.sunset]).to.deep.equal([410, 'api_version_sunset', '/v2/payments', SUNSET]);
      expect(server.requests).to.have.length(1);
      expect(runtime.sleeps).to.deep.equal([]);
      expect(notices.map((n) => n.status)).to.deep.equal([410]);
    });

    it('is a GoneError even without the deprecation fields', async () => {
      server.script(problem(410, 'api_version_sunset'));
      const err = await rejectionOf(testClient(server.url).payments.retrieve('pay_1'));
      expect(err).to.be.instanceOf(GoneError);
      expect([(err as GoneError).successor, (err as GoneError).sunset]).to.deep.equal([undefined, undefined]);
      expect(server.requests).to.have.length(1);
    });
  });

  describe('the parsers', () => {
    it('read RFC 9745 dates, RFC 8594 HTTP-dates and RFC 8288 links', () => {
      expect(parseDeprecationDate('@1796342400')).to.deep.equal(DEPRECATED_AT);
      expect(parseDeprecationDate(' @0 ')).to.deep.equal(new Date(0));
      for (const bad of [null, '', '@', '@1.5', '@1e9', '1796342400', 'true', '@99999999999999']) expect(parseDeprecationDate(bad), String(bad)).to.equal(undefined);
      expect(parseSunsetDate('Fri, 31 Dec 2027 00:00:00 GMT')).to.deep.equal(SUNSET);
      for (const bad of [null, '', '2027', 'never']) expect(parseSunsetDate(bad), String(bad)).to.equal(undefined);
      expect(parseLinkHeader('</a>; rel="successor-version", <https://x.test/b?c=1,2>; rel="deprecation alternate"; type="text/html", <c>')).to.deep.equal([
        { target: '/a', rels: ['successor-version'] },
        { target: 'https://x.test/b?c=1,2', rels: ['deprecation', 'alternate'] },
        { target: 'c', rels: [] },
      ]);
      expect(parseLinkHeader('</a>; REL=Successor-Version')).to.deep.equal([{ target: '/a', rels: ['successor-version'] }]);
      for (const bad of [null, '', 'nonsense', ',,,', '<unclosed']) expect(parseLinkHeader(bad), String(bad)).to.deep.equal([]);
    });
  });
});
