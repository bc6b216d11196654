/**
 * The exit code a failure maps to: a refusal that sending again as it is will not change (2),
 * and everything that says "later" or leaves the outcome unknown (3): a 5xx, no answer, and the
 * two refusals the API's retry contract calls retryable, 429 and 409 `idempotency_in_flight`.
 */
import { expect } from 'chai';
import { APIConnectionError, APIError, APIUserAbortError } from '@remit/sdk';
import { EXIT } from '../../cli/src/exit-codes.js';
import { exitCodeOf, outcomeUnknown } from '../../cli/src/failure.js';

const answer = (status: number, code: string) =>
  APIError.generate({ status, headers: new Headers({ 'content-type': 'application/problem+json' }), body: { type: `/problems/${code}`, title: code, status, code, request_id: 'req_1' } });

describe('remit exit codes by failure', () => {
  const cases: [string, unknown, number][] = [
    ['404 resource_not_found', answer(404, 'resource_not_found'), EXIT.refused],
    ['400 validation_failed', answer(400, 'validation_failed'), EXIT.refused],
    ['409 payment_not_capturable', answer(409, 'payment_not_capturable'), EXIT.refused],
    ['422 idempotency_key_reused', answer(422, 'idempotency_key_reused'), EXIT.refused],
    ['409 idempotency_in_flight', answer(409, 'idempotency_in_flight'), EXIT.unavailable],
    ['429 rate_limited', answer(429, 'rate_limited'), EXIT.unavailable],
    ['503 processor_unavailable', answer(503, 'processor_unavailable'), EXIT.unavailable],
    ['no answer', new APIConnectionError({ message: 'Connection error: ECONNREFUSED' }), EXIT.unavailable],
  ];
  for (const [what, error, code] of cases) {
    it(`exits ${code} on ${what}`, () => {
      expect(exitCodeOf(error)).to.equal(code);
      expect(outcomeUnknown(error)).to.equal(code === EXIT.unavailable);
    });
  }

  it('counts an interrupted call as one whose outcome is unknown', () => {
    expect(outcomeUnknown(new APIUserAbortError())).to.equal(true);
  });
});
