/**
 * The webhook retry schedule (src/webhooks/schedule.ts) as pure functions: each step waits its
 * scheduled delay moved by at most ±10 %, with exact bounds at random 0 and 1; the schedule ends
 * after its last entry; a Retry-After replaces the step's delay, floored at 1 s and capped at 10 h,
 * without jitter and without extending the schedule; and every kind of attempt outcome gets its verdict.
 */
import { expect } from 'chai';
import { nextAttemptAt, RETRY_SCHEDULE_MS, SCHEDULE_TOTAL_MS, verdictOf } from '../../src/webhooks/schedule.js';
import type { SendOutcome } from '../../src/webhooks/send.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const fixed = (value: number) => () => value;

/** [attemptsMade, earliest delay, latest delay]: the schedule's step after each attempt, ±10 %. */
const STEPS: [number, number, number][] = [
  [1, 4_500, 5_500],
  [2, 270_000, 330_000],
  [3, 1_620_000, 1_980_000],
  [4, 6_480_000, 7_920_000],
  [5, 16_200_000, 19_800_000],
  [6, 32_400_000, 39_600_000],
  [7, 32_400_000, 39_600_000],
];

function answered(status: number, retryAfterMs: number | null = null): SendOutcome {
  return { status, retryAfterMs, body: null, latencyMs: 12, error: null };
}

function unanswered(error: 'timeout' | 'connection_failed' | 'address_not_allowed'): SendOutcome {
  return { status: null, retryAfterMs: null, body: null, latencyMs: 12, error };
}

describe('webhook retry schedule', () => {
  it('is Svix’s: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, about 27.6 h in all', () => {
    expect(RETRY_SCHEDULE_MS).to.deep.equal([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(SCHEDULE_TOTAL_MS).to.equal(27 * 3_600_000 + 35 * 60_000 + 5_000);
  });

  describe('nextAttemptAt', () => {
    for (const [attemptsMade, earliest, latest] of STEPS) {
      it(`after attempt ${attemptsMade}, waits between ${earliest} and ${latest} ms (random 0 and 1), exactly the step at 0.5`, () => {
        const at = (random: number) => nextAttemptAt({ attemptsMade, retryAfterMs: null, now: NOW, random: fixed(random) });
        expect(at(0)).to.equal(NOW + earliest);
        expect(at(1)).to.equal(NOW + latest);
        expect(at(0.5)).to.equal(NOW + RETRY_SCHEDULE_MS[attemptsMade]!);
      });
    }

    it('spreads waits uniformly across the ±10 % band', () => {
      const delays = [0.1, 0.25, 0.75, 0.9].map((r) => nextAttemptAt({ attemptsMade: 1, retryAfterMs: null, now: NOW, random: fixed(r) })! - NOW);
      expect(delays).to.deep.equal([4_600, 4_750, 5_250, 5_400]);
    });

    it('returns null once the last entry has been used, so the delivery fails after 8 attempts', () => {
      expect(nextAttemptAt({ attemptsMade: 7, retryAfterMs: null, now: NOW, random: fixed(0.5) })).to.equal(NOW + 36_000_000);
      expect(nextAttemptAt({ attemptsMade: 8, retryAfterMs: null, now: NOW, random: fixed(0.5) })).to.equal(null);
      expect(nextAttemptAt({ attemptsMade: 9, retryAfterMs: null, now: NOW, random: fixed(0.5) })).to.equal(null);
    });

    it('lets a Retry-After replace the scheduled delay, without jitter', () => {
      for (const random of [0, 0.5, 1]) {
        // Step 3 would wait 30 min; the receiver asks for 2 min.
        expect(nextAttemptAt({ attemptsMade: 3, retryAfterMs: 120_000, now: NOW, random: fixed(random) })).to.equal(NOW + 120_000);
        // Step 1 would wait 5 s; the receiver asks for an hour.
        expect(nextAttemptAt({ attemptsMade: 1, retryAfterMs: 3_600_000, now: NOW, random: fixed(random) })).to.equal(NOW + 3_600_000);
      }
    });

    it('caps a Retry-After at 10 h', () => {
      expect(nextAttemptAt({ attemptsMade: 2, retryAfterMs: 48 * 3_600_000, now: NOW, random: fixed(0.5) })).to.equal(NOW + 36_000_000);
    });

    it('waits at least 1 s whatever the Retry-After, 0 included', () => {
      expect(nextAttemptAt({ attemptsMade: 2, retryAfterMs: 0, now: NOW, random: fixed(0.5) })).to.equal(NOW + 1_000);
      expect(nextAttemptAt({ attemptsMade: 2, retryAfterMs: 250, now: NOW, random: fixed(0.5) })).to.equal(NOW + 1_000);
    });

    it('counts an attempt answered with Retry-After toward the schedule, which still ends after its last entry', () => {
      expect(nextAttemptAt({ attemptsMade: 8, retryAfterMs: 5_000, now: NOW, random: fixed(0.5) })).to.equal(null);
    });

    it('follows a schedule passed in', () => {
      const schedule = [0, 100, 1_000];
      expect(nextAttemptAt({ attemptsMade: 1, retryAfterMs: null, now: NOW, random: fixed(0), schedule })).to.equal(NOW + 90);
      expect(nextAttemptAt({ attemptsMade: 2, retryAfterMs: null, now: NOW, random: fixed(1), schedule })).to.equal(NOW + 1_100);
      expect(nextAttemptAt({ attemptsMade: 3, retryAfterMs: null, now: NOW, random: fixed(0.5), schedule })).to.equal(null);
    });

    it('refuses an attempt count that cannot follow an attempt', () => {
      for (const attemptsMade of [0, -1, 1.5, Number.NaN]) {
        expect(() => nextAttemptAt({ attemptsMade, retryAfterMs: null, now: NOW, random: fixed(0.5) }), String(attemptsMade)).to.throw(RangeError);
      }
    });
  });

  describe('verdictOf', () => {
    it('calls every 2xx delivered', () => {
      for (const status of [200, 201, 202, 204, 299]) expect(verdictOf(answered(status)), String(status)).to.equal('delivered');
    });

    it('calls 410 gone', () => {
      expect(verdictOf(answered(410))).to.equal('gone');
    });

    it('retries redirects, every other 4xx, and 5xx', () => {
      for (const status of [301, 302, 307, 308, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]) {
        expect(verdictOf(answered(status, status === 429 || status === 503 ? 1_000 : null)), String(status)).to.equal('retry');
      }
    });

    it('retries a timeout, a failed connection and a refused address', () => {
      for (const error of ['timeout', 'connection_failed', 'address_not_allowed'] as const) expect(verdictOf(unanswered(error)), error).to.equal('retry');
    });
  });
});
