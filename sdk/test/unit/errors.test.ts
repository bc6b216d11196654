/**
 * The error classes: one per status through the one factory, `instanceof` along the whole chain,
 * and the fields a caller reads (status, code, problem, requestId, headers).
 */
import { expect } from 'chai';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  errorClassForStatus,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RemitError,
  UnprocessableEntityError,
} from '../../src/index.js';
import { rejectionOf, testClient } from '../helpers/client.js';
import { problem, startFaultServer, type FaultServer } from '../helpers/fault-server.js';

const BY_STATUS: [number, string, typeof APIError][] = [
  [400, 'validation_failed', BadRequestError],
  [401, 'invalid_api_key', AuthenticationError],
  [403, 'insufficient_scope', PermissionDeniedError],
  [404, 'resource_not_found', NotFoundError],
  [409, 'payment_not_capturable', ConflictError],
  [422, 'amount_exceeds_refundable', UnprocessableEntityError],
  [429, 'rate_limited', RateLimitError],
  [500, 'internal_error', InternalServerError],
  [502, 'internal_error', InternalServerError],
  [503, 'processor_unavailable', InternalServerError],
  [504, 'internal_error', InternalServerError],
  [405, 'method_not_allowed', APIError],
  [413, 'payload_too_large', APIError],
  [415, 'unsupported_media_type', APIError],
  [418, 'teapot', APIError],
];

describe('SDK errors', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer();
  });
  after(() => server.close());

  describe('the status → class factory', () => {
    for (const [status, code, ErrorClass] of BY_STATUS) {
      it(`${status} → ${ErrorClass.name}, an APIError and a RemitError and an Error`, async () => {
        server.script(problem(status, code, { 'request-id': `req_${status}`, 'retry-after': '1' }));
        const err = await rejectionOf(testClient(server.url, { maxRetries: 0 }).customers.retrieve('cus_1'));
        expect(err).to.be.instanceOf(ErrorClass);
        expect(err).to.be.instanceOf(APIError);
        expect(err).to.be.instanceOf(RemitError);
        expect(err).to.be.instanceOf(Error);
        expect(Object.getPrototypeOf(err)).to.equal(ErrorClass.prototype);
        const apiError = err as APIError;
        expect(apiError.name).to.equal(ErrorClass.name);
        expect(apiError.status).to.equal(status);
        expect(apiError.code).to.equal(code);
        expect(apiError.requestId).to.equal(`req_${status}`);
        expect(apiError.headers.get('retry-after')).to.equal('1');
        expect(apiError.problem).to.include({ status, code, detail: `scripted ${code}` });
        expect(apiError.message).to.equal(`${status} ${code}: scripted ${code}`);
        expect(errorClassForStatus(status)).to.equal(ErrorClass);
      });
    }

    it('does not confuse sibling classes', () => {
      const notFound = APIError.generate({ status: 404, body: undefined, headers: new Headers() });
      expect(notFound).not.to.be.instanceOf(ConflictError);
      expect(notFound).not.to.be.instanceOf(InternalServerError);
      expect(new RateLimitError({ status: 429, body: undefined, headers: new Headers() })).not.to.be.instanceOf(NotFoundError);
    });
  });

  describe('fields', () => {
    it("takes the request id from the Request-Id header, else from the problem's request_id", () => {
      const body = { type: 'about:blank', title: 'No such resource', status: 404, code: 'resource_not_found', request_id: 'req_in_body' };
      expect(APIError.generate({ status: 404, body, headers: new Headers({ 'request-id': 'req_in_header' }) }).requestId).to.equal('req_in_header');
      expect(APIError.generate({ status: 404, body, headers: new Headers() }).requestId).to.equal('req_in_body');
      expect(APIError.generate({ status: 404, body: undefined, headers: new Headers() }).requestId).to.equal(null);
    });

    it('keeps every validation problem of a 400', async () => {
      server.script(problem(400, 'validation_failed', {}, { errors: [{ path: '/body/email', message: 'must match format "email"' }] }));
      const err = (await rejectionOf(testClient(server.url).customers.create({ email: 'nope' }))) as BadRequestError;
      expect(err.problem?.errors).to.deep.equal([{ path: '/body/email', message: 'must match format "email"' }]);
    });

    it('copes with a body that is not a problem (a proxy page, or nothing)', async () => {
      server.script({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad gateway</html>' });
      const html = (await rejectionOf(testClient(server.url, { maxRetries: 0 }).customers.list())) as InternalServerError;
      expect(html).to.be.instanceOf(InternalServerError);
      expect(html.code).to.equal(undefined);
      expect(html.problem).to.equal(undefined);
      expect(html.message).to.equal('502 <html>Bad gateway</html>');

      server.script({ status: 404 });
      const empty = (await rejectionOf(testClient(server.url).customers.retrieve('cus_1'))) as NotFoundError;
      expect(empty).to.be.instanceOf(NotFoundError);
      expect(empty.message).to.match(/^404 /);
    });

    it('accepts codes the SDK does not know yet, classed by status', async () => {
      server.script(problem(409, 'payment_locked_by_dispute'));
      const err = (await rejectionOf(testClient(server.url).payments.capture('pay_1'))) as ConflictError;
      expect(err).to.be.instanceOf(ConflictError);
      expect(err.code).to.equal('payment_locked_by_dispute');
      expect(server.requests, 'an unknown 409 code is not retried').to.have.length(1);
    });
  });

  describe('errors without an answer', () => {
    it('keeps instanceof and name on the connection and abort errors', () => {
      const timeout = new APIConnectionTimeoutError();
      expect(timeout).to.be.instanceOf(APIConnectionTimeoutError).and.instanceOf(APIConnectionError).and.instanceOf(RemitError).and.instanceOf(Error);
      expect(timeout).not.to.be.instanceOf(APIError);
      expect(timeout.name).to.equal('APIConnectionTimeoutError');
      const abort = new APIUserAbortError();
      expect(abort).to.be.instanceOf(RemitError);
      expect(abort).not.to.be.instanceOf(APIConnectionError);
      expect(abort.name).to.equal('APIUserAbortError');
      expect(new APIConnectionError({ cause: new Error('ECONNRESET') }).cause).to.be.instanceOf(Error);
    });
  });
});
