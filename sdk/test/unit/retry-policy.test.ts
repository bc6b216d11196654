/**
 * The retry policy as pure functions: which outcomes are retried, in which order the rules apply,
 * and how long each wait is — the server's word first, capped; otherwise jittered backoff.
 */
import { expect } from 'chai';
import {
  backoffMs,
  MAX_SERVER_DELAY_MS,
  parseRateLimitResetMs,
  parseRetryAfterMs,
  retryDelayMs,
  isRepeatable,
  shouldRetry,
  type AttemptOutcome,
} from '../../src/internal/retry.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const response = (status: number, code?: string): AttemptOutcome => ({ kind: 'response', status, code });

describe('SDK retry policy: shouldRetry', () => {
  it('retries a call that is not safe to repeat only on 429 and 408, never on no answer or a 5xx', () => {
    const once = (outcome: Parameters<typeof shouldRetry>[0]) => shouldRetry(outcome, 0, 2, false);
    expect(once({ kind: 'response', status: 429 })).to.equal(true);
    expect(once({ kind: 'response', status: 408 })).to.equal(true);
    for (const status of [500, 502, 503]) expect(once({ kind: 'response', status }), String(status)).to.equal(false);
    expect(once({ kind: 'connection-error' })).to.equal(false);
    expect(once({ kind: 'timeout' })).to.equal(false);
    expect(shouldRetry({ kind: 'response', status: 429 }, 2, 2, false), 'still bounded by maxRetries').to.equal(false);
  });

  it('calls a POST repeatable only when the API deduplicates it by Idempotency-Key', () => {
    expect(isRepeatable({ method: 'POST', headerParams: ['Idempotency-Key'] })).to.equal(true);
    expect(isRepeatable({ method: 'POST', headerParams: [] })).to.equal(false);
    for (const method of ['GET', 'PATCH', 'DELETE']) expect(isRepeatable({ method, headerParams: [] }), method).to.equal(true);
  });

  const retried: [string, AttemptOutcome][] = [
    ['a connection error', { kind: 'connection-error' }],
    ['a timeout', { kind: 'timeout' }],
    ['408', response(408)],
    ['409 idempotency_in_flight', response(409, 'idempotency_in_flight')],
    ['429', response(429, 'rate_limited')],
    ['500', response(500, 'internal_error')],
    ['502 without a body', response(502)],
    ['503', response(503, 'processor_unavailable')],
    ['504', response(504)],
  ];
  for (const [name, outcome] of retried) {
    it(`retries ${name} while retries remain, and not once they are used up`, () => {
      expect(shouldRetry(outcome, 0, 2)).to.equal(true);
      expect(shouldRetry(outcome, 1, 2)).to.equal(true);
      expect(shouldRetry(outcome, 2, 2)).to.equal(false);
      expect(shouldRetry(outcome, 0, 0), 'maxRetries 0 turns retries off').to.equal(false);
    });
  }

  const notRetried: [string, AttemptOutcome][] = [
    ['400', response(400, 'validation_failed')],
    ['401', response(401, 'invalid_api_key')],
    ['403', response(403, 'insufficient_scope')],
    ['404', response(404, 'resource_not_found')],
    ['405', response(405, 'method_not_allowed')],
    ['409 payment_not_capturable', response(409, 'payment_not_capturable')],
    ['409 without a code', response(409)],
    ['413', response(413, 'payload_too_large')],
    ['415', response(415, 'unsupported_media_type')],
    ['422', response(422, 'idempotency_key_reused')],
    ['an abort', { kind: 'aborted' }],
  ];
  for (const [name, outcome] of notRetried) {
    it(`never retries ${name}`, () => {
      expect(shouldRetry(outcome, 0, 10)).to.equal(false);
    });
  }
});

describe('SDK retry policy: retryDelayMs', () => {
  const delay = (headers: Record<string, string>, retriesDone = 0, random = 0) =>
    retryDelayMs({ headers: new Headers(headers), retriesDone, nowMs: NOW, random });

  it('waits Retry-After seconds', () => {
    expect(delay({ 'retry-after': '3' })).to.equal(3_000);
    expect(delay({ 'retry-after': '0' })).to.equal(0);
  });

  it('waits until a Retry-After HTTP-date, and not at all for a date in the past', () => {
    expect(delay({ 'retry-after': new Date(NOW + 7_000).toUTCString() })).to.equal(7_000);
    expect(delay({ 'retry-after': new Date(NOW - 7_000).toUTCString() })).to.equal(0);
  });

  it('spreads a server-given wait a little later, never earlier: up to a fifth, at most a second', () => {
    expect(delay({ 'retry-after': '3' }, 0, 0.5)).to.equal(3_300);
    expect(delay({ 'retry-after': '3' }, 0, 0.999_999)).to.be.within(3_000, 3_600);
    expect(delay({ 'retry-after': '30' }, 0, 0.999_999)).to.be.within(30_000, 31_000);
    expect(delay({ ratelimit: '"write";r=0;t=1' }, 0, 0.999_999)).to.be.within(1_000, 1_200);
    expect(delay({ 'retry-after': '0' }, 0, 0.999_999)).to.equal(0);
  });

  it("waits the RateLimit field's reset t when the quota has nothing left", () => {
    expect(delay({ ratelimit: '"write";r=0;t=7' })).to.equal(7_000);
  });

  it('ignores the RateLimit reset while the quota has requests left', () => {
    expect(delay({ ratelimit: '"write";r=3;t=7' }, 0, 0)).to.equal(backoffMs(0, 0));
  });

  it('takes the longest reset among several exhausted policies', () => {
    expect(delay({ ratelimit: '"read";r=0;t=2, "write";r=0;t=9, "ops";r=5;t=30' })).to.equal(9_000);
  });

  it('takes the longer of Retry-After and the RateLimit reset (a retry before the reset is refused again)', () => {
    expect(delay({ 'retry-after': '1', ratelimit: '"write";r=0;t=6' })).to.equal(6_000);
    expect(delay({ 'retry-after': '8', ratelimit: '"write";r=0;t=6' })).to.equal(8_000);
  });

  it('caps what the server asks for at 60 s', () => {
    expect(MAX_SERVER_DELAY_MS).to.equal(60_000);
    expect(delay({ 'retry-after': '3600' })).to.equal(60_000);
    expect(delay({ 'retry-after': new Date(NOW + 86_400_000).toUTCString() })).to.equal(60_000);
    expect(delay({ ratelimit: '"write";r=0;t=900' })).to.equal(60_000);
  });

  it('falls back to backoff when the headers are absent or unreadable', () => {
    expect(delay({}, 2, 0)).to.equal(2_000);
    expect(delay({ 'retry-after': 'soon' }, 2, 0)).to.equal(2_000);
    expect(delay({ ratelimit: 'garbage' }, 2, 0)).to.equal(2_000);
    expect(retryDelayMs({ retriesDone: 1, nowMs: NOW, random: 0 }), 'no response at all').to.equal(1_000);
  });

  it('backs off exponentially from 0.5 s to an 8 s cap, jitter taking at most a quarter off', () => {
    const bases = [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000];
    bases.forEach((base, retriesDone) => {
      expect(backoffMs(retriesDone, 0), `retry ${retriesDone + 1}, no jitter`).to.equal(base);
      const lowest = backoffMs(retriesDone, 0.999_999);
      expect(lowest, `retry ${retriesDone + 1}, most jitter`).to.be.within(base * 0.75, base);
      expect(lowest).to.be.below(base * 0.7501);
      for (const r of [0.1, 0.37, 0.5, 0.83]) expect(backoffMs(retriesDone, r)).to.be.within(base * 0.75, base);
    });
  });

  it('parses the header forms on their own', () => {
    expect(parseRetryAfterMs(null, NOW)).to.equal(undefined);
    expect(parseRetryAfterMs(' 2 ', NOW)).to.equal(2_000);
    expect(parseRetryAfterMs('1.5', NOW)).to.equal(1_500);
    expect(parseRetryAfterMs('-1', NOW)).to.equal(undefined);
    expect(parseRateLimitResetMs(null)).to.equal(undefined);
    expect(parseRateLimitResetMs('"write";t=7')).to.equal(undefined);
    expect(parseRateLimitResetMs('"write";r=0;t=0')).to.equal(0);
  });
});
