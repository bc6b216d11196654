/**
 * The SDK's errors against what the server really sends, and a contract test that keeps the two
 * from drifting: every error status any operation documents in spec/openapi.yaml, and every code
 * in the server's catalogue, maps to the SDK class expected for it.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorCatalogue } from '../../../src/platform/errors.js';
import {
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  errorClassForStatus,
  GoneError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
  type APIErrorClass,
} from '../../src/index.js';
import { RETRYABLE_CONFLICT_CODES, shouldRetry } from '../../src/internal/retry.js';
import { recordingFetch, startApi, type RunningApi } from '../helpers/api.js';
import { rejectionOf } from '../helpers/client.js';

const SPEC = path.resolve(import.meta.dirname, '../../../spec/openapi.yaml');

/** The class a status must map to. 5xx are InternalServerError; the statuses in GENERIC are plain APIError. */
const EXPECTED_CLASS: Readonly<Record<number, APIErrorClass>> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};
/** Statuses the SDK documents as the generic APIError: requests its types and serialisation already prevent. */
const GENERIC = new Set([405, 413, 415]);

function expectedClass(status: number): APIErrorClass | undefined {
  if (status >= 500) return InternalServerError;
  return EXPECTED_CLASS[status] ?? (GENERIC.has(status) ? APIError : undefined);
}

/** Checks an error is `ErrorClass` with the status, code and request id of the problem the server sent. */
function expectServerError(err: unknown, ErrorClass: APIErrorClass, status: number, code: string): void {
  expect(err).to.be.instanceOf(ErrorClass);
  const e = err as APIError;
  expect(Object.getPrototypeOf(e)).to.equal(ErrorClass.prototype);
  expect(e.status).to.equal(status);
  expect(e.code).to.equal(code);
  expect(e.requestId).to.match(/^req_/);
  expect(e.problem?.request_id, 'the header and the body name the same request').to.equal(e.requestId);
  expect(e.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(e.message).to.equal(`${status} ${code}: ${e.problem?.detail ?? e.problem?.title}`);
}

describe('SDK errors against the API', function () {
  this.timeout(60_000);

  describe('what the server really sends', () => {
    let api: RunningApi;
    before(async () => {
      api = await startApi();
    });
    after(() => api?.close());

    it('400 validation_failed, with every field problem', async () => {
      const err = await rejectionOf(api.client().customers.create({ email: 'not-an-email' }));
      expectServerError(err, BadRequestError, 400, 'validation_failed');
      expect((err as APIError).problem?.errors?.map((e) => e.path)).to.deep.equal(['/body/email']);
    });

    it('400 invalid_cursor', async () => {
      const err = await rejectionOf(api.client().customers.list({ cursor: 'forged' }));
      expectServerError(err, BadRequestError, 400, 'invalid_cursor');
    });

    it('401 invalid_api_key, with WWW-Authenticate, not retried', async () => {
      const recorder = recordingFetch();
      const err = await rejectionOf(api.client({ apiKey: 'sk_unknown_key', fetch: recorder.fetch }).payments.list());
      expectServerError(err, AuthenticationError, 401, 'invalid_api_key');
      expect((err as APIError).headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(recorder.attempts).to.have.length(1);
    });

    it('403 insufficient_scope for a read-only key writing', async () => {
      const key = await api.t.createKey(api.account, ['read']);
      const err = await rejectionOf(api.client({ apiKey: key.secret }).customers.create({ email: 'r@example.com' }));
      expectServerError(err, PermissionDeniedError, 403, 'insufficient_scope');
    });

    it('404 resource_not_found', async () => {
      const err = await rejectionOf(api.client().payments.retrieve('pay_doesnotexist'));
      expectServerError(err, NotFoundError, 404, 'resource_not_found');
    });

    it('409 payment_not_capturable, not retried', async () => {
      const recorder = recordingFetch();
      const remit = api.client({ fetch: recorder.fetch });
      const payment = await remit.payments.create({ amount: 2_000, currency: 'EUR' });
      const err = await rejectionOf(remit.payments.capture(payment.id));
      expectServerError(err, ConflictError, 409, 'payment_not_capturable');
      expect(recorder.attempts.map((a) => a.status)).to.deep.equal([201, 409]);
    });

    it('422 idempotency_key_reused and amount_exceeds_refundable', async () => {
      const remit = api.client();
      const payment = await remit.payments.create({ amount: 3_000, currency: 'EUR' }, { idempotencyKey: 'sdk-errors-1' });
      const reused = await rejectionOf(remit.payments.create({ amount: 3_001, currency: 'EUR' }, { idempotencyKey: 'sdk-errors-1' }));
      expectServerError(reused, UnprocessableEntityError, 422, 'idempotency_key_reused');
      const tooMuch = await rejectionOf(remit.refunds.create({ payment: payment.id, amount: 3_001 }));
      expectServerError(tooMuch, UnprocessableEntityError, 422, 'amount_exceeds_refundable');
    });

    it('422 referenced_resource_not_found', async () => {
      const err = await rejectionOf(api.client().payments.create({ amount: 1_000, currency: 'EUR', customer: 'cus_nobody' }));
      expectServerError(err, UnprocessableEntityError, 422, 'referenced_resource_not_found');
    });
  });

  describe('429 from a real quota', () => {
    let api: RunningApi;
    before(async () => {
      api = await startApi({ rateLimits: { policies: { write: { points: 2, windowS: 60 } } } });
    });
    after(() => api?.close());

    it('is a RateLimitError with rate_limited, Retry-After and the RateLimit fields, after the allowed retries', async () => {
      const recorder = recordingFetch();
      const remit = api.client({ fetch: recorder.fetch, maxRetries: 0 });
      await remit.customers.create({ email: 'one@example.com' });
      await remit.customers.create({ email: 'two@example.com' });
      const err = await rejectionOf(remit.customers.create({ email: 'three@example.com' }));
      expectServerError(err, RateLimitError, 429, 'rate_limited');
      const e = err as RateLimitError;
      expect(Number(e.headers.get('retry-after'))).to.be.within(1, 60);
      // The key's quota, then its account's (every key's request counts in both).
      expect(e.headers.get('ratelimit')).to.match(/^"write";r=0;t=\d+, "account_write";r=\d+;t=\d+$/);
      expect(e.headers.get('ratelimit-policy')).to.match(/^"write";q=2;w=60, "account_write";q=\d+;w=\d+$/);
      expect(recorder.attempts.map((a) => a.status)).to.deep.equal([201, 201, 429]);
    });
  });

  describe('the contract: spec statuses and the catalogue against the SDK classes', () => {
    it('maps every error status any operation documents to its class (or the documented generic APIError)', async () => {
      type Responses = Record<string, unknown>;
      const spec = parseYaml(await readFile(SPEC, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string; responses?: Responses }>> };
      const documented = new Map<number, string[]>();
      for (const [route, item] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (typeof op !== 'object' || op === null || !op.responses) continue;
          for (const key of Object.keys(op.responses)) {
            const status = Number(key);
            expect(Number.isInteger(status), `${method.toUpperCase()} ${route} documents response "${key}"; the SDK maps only numeric statuses`).to.equal(true);
            if (status >= 400) documented.set(status, [...(documented.get(status) ?? []), op.operationId ?? `${method} ${route}`]);
          }
        }
      }
      expect(documented.size).to.be.greaterThan(5);
      for (const [status, ops] of documented) {
        const expected = expectedClass(status);
        expect(expected, `status ${status} (documented by ${ops.join(', ')}) has no SDK class: add one to core/errors.ts or document it as generic`).not.to.equal(undefined);
        expect(errorClassForStatus(status), `status ${status}`).to.equal(expected);
        const err = APIError.generate({ status, body: { status, code: 'x', title: 't', type: 'about:blank', request_id: 'req_x' }, headers: new Headers() });
        expect(Object.getPrototypeOf(err), `status ${status}`).to.equal(expected!.prototype);
      }
    });

    it('maps every code of the server catalogue, by its status, to the expected class', () => {
      for (const [code, { status }] of Object.entries(errorCatalogue)) {
        const expected = expectedClass(status);
        expect(expected, `${code} (${status}) has no SDK class`).not.to.equal(undefined);
        const err = APIError.generate({ status, body: { status, code, title: 't', type: 'about:blank', request_id: 'req_x' }, headers: new Headers() });
        expect(err, code).to.be.instanceOf(expected!);
        expect(err.code).to.equal(code);
      }
    });

    it('retries exactly the catalogue codes the spec calls retryable: 409 idempotency_in_flight, 429, 5xx', () => {
      for (const code of RETRYABLE_CONFLICT_CODES) {
        expect(errorCatalogue, `the SDK retries 409 ${code}; the server must still send it`).to.have.property(code);
        expect(errorCatalogue[code as keyof typeof errorCatalogue].status).to.equal(409);
      }
      const retried = Object.entries(errorCatalogue)
        .filter(([code, { status }]) => shouldRetry({ kind: 'response', status, code }, 0, 1))
        .map(([code]) => code)
        .sort();
      expect(retried).to.deep.equal(['idempotency_in_flight', 'internal_error', 'processor_unavailable', 'rate_limited', 'service_unavailable']);
    });
  });
});
