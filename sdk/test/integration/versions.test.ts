/**
 * v1 and v2 against the real API: the same payments and refunds through either version (created
 * on one, read, captured, canceled and refunded on the other), the deprecation notices the v1
 * calls bring (sunset 2027-12-31, a `/v2/…` successor) and the v2 calls do not, and, with the
 * app's clock past the sunset, a `GoneError` from v1 after one attempt while v2 keeps answering.
 */
import { expect } from 'chai';
import { GoneError, type DeprecationNotice } from '../../src/index.js';
import { recordingFetch, startApi, type RunningApi } from '../helpers/api.js';
import { rejectionOf } from '../helpers/client.js';

const SUNSET = new Date(Date.UTC(2027, 11, 31));
const DEPRECATED_AT = new Date(Date.UTC(2026, 11, 4));

describe('SDK versions against the API', function () {
  this.timeout(60_000);

  describe('before the sunset', () => {
    let api: RunningApi;
    const notices: DeprecationNotice[] = [];
    before(async () => {
      api = await startApi();
    });
    after(() => api?.close());
    beforeEach(() => {
      notices.length = 0;
    });
    const remit = () => api.client({ onDeprecation: (n) => notices.push(n) });

    it('creates on v1, then retrieves, captures and refunds on v2: the same ids', async () => {
      const created = await remit().payments.create({ amount: 4_000, currency: 'EUR', capture_method: 'manual' });
      expect(created.status).to.equal('requires_capture');
      expect(notices.map((n) => n.operationId)).to.deep.equal(['createPayment']);
      notices.length = 0;

      const v2 = await remit().v2.payments.retrieve(created.id);
      expect(v2).to.include({ id: created.id, status: 'authorized', failure: null });
      expect(v2.amount).to.deep.equal({ value: 4_000, currency: 'EUR' });
      const captured = await remit().v2.payments.capture(created.id);
      expect(captured).to.include({ id: created.id, status: 'succeeded' });
      const refund = await remit().v2.refunds.create({ payment: created.id, amount: { value: 1_000, currency: 'EUR' } });
      expect(refund.payment).to.equal(created.id);
      const walked: string[] = [];
      for await (const p of remit().v2.payments.list({ status: 'succeeded' })) walked.push(p.id);
      expect(walked).to.include(created.id);
      expect(notices, 'v2 calls bring no deprecation notice').to.deep.equal([]);

      // And back on v1: the refund made on v2, the payment's state.
      expect(await remit().refunds.retrieve(refund.id)).to.include({ id: refund.id, payment: created.id, amount: 1_000 });
      expect(await remit().payments.retrieve(created.id)).to.include({ status: 'succeeded', amount_refunded: 1_000 });
      expect(notices.map((n) => n.operationId)).to.deep.equal(['retrieveRefund', 'retrievePayment']);
    });

    it('creates on v2, then retrieves, cancels and lists on v1: the same ids', async () => {
      const created = await remit().v2.payments.create({ amount: { value: 900, currency: 'GBP' }, capture_method: 'manual' });
      expect(created.status).to.equal('authorized');
      const v1 = await remit().payments.retrieve(created.id);
      expect(v1).to.include({ id: created.id, status: 'requires_capture', amount: 900, currency: 'GBP' });
      expect((await remit().payments.cancel(created.id)).status).to.equal('canceled');
      expect((await remit().v2.payments.retrieve(created.id)).status).to.equal('canceled');
      const page = await remit().payments.list({ status: 'canceled' });
      expect(page.data.map((p) => p.id)).to.include(created.id);

      const succeeded = await remit().v2.payments.create({ amount: { value: 2_000, currency: 'EUR' } });
      const refund = await remit().refunds.create({ payment: succeeded.id, amount: 500 });
      expect((await remit().v2.refunds.retrieve(refund.id)).amount).to.deep.equal({ value: 500, currency: 'EUR' });
      expect((await remit().refunds.list({ payment: succeeded.id })).data.map((r) => r.id)).to.deep.equal([refund.id]);
      expect(notices.map((n) => n.operationId)).to.deep.equal(['retrievePayment', 'cancelPayment', 'listPayments', 'createRefund', 'listRefunds']);
    });

    it('gives each v1 call a notice with the sunset 2027-12-31 and its /v2 successor', async () => {
      const created = await remit().payments.create({ amount: 1_200, currency: 'EUR', capture_method: 'manual' });
      await remit().payments.capture(created.id);
      expect(notices).to.have.length(2);
      const [create, capture] = notices;
      expect(create).to.deep.include({ operationId: 'createPayment', method: 'POST', path: '/v1/payments', status: 201, deprecation: DEPRECATED_AT, sunset: SUNSET });
      expect(create!.successor).to.deep.equal({ url: '/v2/payments', operationId: 'createPaymentV2', call: 'v2.payments.create' });
      expect(create!.link).to.equal('/docs#/Payments%20v2');
      expect(capture!.successor).to.deep.equal({ url: `/v2/payments/${created.id}/capture`, operationId: 'capturePaymentV2', call: 'v2.payments.capture' });
      for (const n of notices) {
        expect(n.sunset, n.operationId).to.deep.equal(SUNSET);
        expect(n.successor.url, n.operationId).to.match(/^\/v2\//);
      }
    });
  });

  describe('after the sunset', () => {
    let api: RunningApi;
    before(async () => {
      api = await startApi({ now: () => Date.UTC(2028, 0, 1) });
    });
    after(() => api?.close());

    it('a v1 call is a GoneError (410 api_version_sunset) after one attempt; v2 keeps answering', async () => {
      const recorder = recordingFetch();
      const notices: DeprecationNotice[] = [];
      const remit = api.client({ fetch: recorder.fetch, maxRetries: 3, onDeprecation: (n) => notices.push(n) });
      const err = await rejectionOf(remit.payments.create({ amount: 1_000, currency: 'EUR' }));
      expect(err).to.be.instanceOf(GoneError);
      const gone = err as GoneError;
      expect([gone.status, gone.code, gone.successor, gone.sunset]).to.deep.equal([410, 'api_version_sunset', '/v2/payments', SUNSET]);
      expect(gone.requestId).to.match(/^req_/);
      expect(recorder.attempts.map((a) => a.status)).to.deep.equal([410]);
      expect(notices.map((n) => [n.operationId, n.status])).to.deep.equal([['createPayment', 410]]);

      const payment = await remit.v2.payments.create({ amount: { value: 1_000, currency: 'EUR' } });
      expect(payment.status).to.equal('succeeded');
      expect(await rejectionOf(remit.payments.retrieve(payment.id))).to.be.instanceOf(GoneError);
      expect(notices).to.have.length(2);
    });
  });
});
