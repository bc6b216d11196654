/**
 * When a webhook delivery is attempted again, as pure functions of what the last attempt produced:
 * the clock and the randomness are passed in, so every rule is tested without a network or a timer.
 *
 * The schedule is the one Svix documents. The Standard Webhooks specification ("Deliverability and
 * reliability") recommends the same shape: backoff that grows roughly exponentially, random jitter,
 * and an example schedule whose first seven steps are these (it goes on to 14, 20 and 24 h). Ours
 * stops after about a day, long enough to ride out a deploy or an outage overnight; receivers that
 * know one of those providers already know what to expect.
 */
import type { SendOutcome } from './send.js';

/**
 * Delay before each attempt of a delivery: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h (8 attempts in total, about 27.6 h from the first to the last before jitter). Entry `i` is
 * the wait after attempt `i` failed before attempt `i + 1`; entry 0 is the first attempt, made at
 * fan-out.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** From the first attempt to the last when every step waits its scheduled delay (99 305 000 ms, 27 h 35 min 5 s). */
export const SCHEDULE_TOTAL_MS: number = RETRY_SCHEDULE_MS.reduce((sum, ms) => sum + ms, 0);

/** A scheduled delay is moved by up to this share of itself, earlier or later. */
export const RETRY_JITTER_RATIO = 0.1;

/** The shortest wait a `Retry-After` may ask for: `Retry-After: 0` must not mean "hammer me". */
export const RETRY_AFTER_MIN_MS = 1_000;

/** The longest wait a `Retry-After` may ask for: the schedule's own longest step. */
export const RETRY_AFTER_MAX_MS = 36_000_000;

/** What an attempt means for its delivery: done, never again (the endpoint is gone), or try later. */
export type AttemptVerdict = 'delivered' | 'gone' | 'retry';

/**
 * 2xx is delivered (Standard Webhooks, "Delivery success and failure"). 410 Gone says the endpoint
 * is gone for good (RFC 9110 §15.5.11), and Standard Webhooks asks the sender to stop: retrying is
 * pointless. Everything else is retried: a 3xx (never followed, so the registered URL stays the one
 * called; the receiver should update it), any other 4xx (often a deploy in progress or a bug fixed
 * within the schedule), a 5xx, and no answer at all.
 */
export function verdictOf(outcome: SendOutcome): AttemptVerdict {
  if (outcome.error !== null) return 'retry';
  if (outcome.status >= 200 && outcome.status < 300) return 'delivered';
  if (outcome.status === 410) return 'gone';
  return 'retry';
}

/**
 * The epoch-ms time of the next attempt, or `null` when the schedule is exhausted (the delivery has
 * then failed).
 *
 * `attemptsMade` counts the attempts in the current schedule, including the one just made, so the
 * next attempt waits `schedule[attemptsMade]`.
 *
 * The scheduled delay is moved by up to ±10 %, uniformly: every delivery to a receiver that was
 * down failed at about the same moment, and without a spread they would all come back in the
 * same instant and knock it over again as it recovers.
 *
 * A `Retry-After` (429 or 503, RFC 9110 §10.2.3, already in ms) replaces the scheduled delay for
 * this step rather than adding to it: the receiver is saying when it will be ready, and waiting
 * the schedule on top would delay a recovered receiver by hours. It is taken as given, without
 * jitter (the receiver chose the spread, if any), but at least 1 s so a `Retry-After: 0` loop is
 * not a tight one, and at most 10 h so a receiver cannot park a delivery for days. The attempt
 * still counts toward the schedule and the schedule still ends after its last entry, so a receiver
 * cannot keep a delivery alive forever; the price is that one answering `Retry-After: 1` to every
 * attempt uses up the schedule in seconds rather than a day.
 *
 * @param random a number in [0, 1], e.g. `Math.random`; 0 is the earliest, 1 the latest
 */
export function nextAttemptAt(input: {
  readonly attemptsMade: number;
  readonly retryAfterMs: number | null;
  readonly now: number;
  readonly random: () => number;
  readonly schedule?: readonly number[];
}): number | null {
  const schedule = input.schedule ?? RETRY_SCHEDULE_MS;
  const { attemptsMade } = input;
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) throw new RangeError(`attemptsMade must be an integer of at least 1, not ${attemptsMade}`);

  // Out of attempts: a Retry-After does not extend the schedule.
  const scheduled = schedule[attemptsMade];
  if (scheduled === undefined) return null;

  // The receiver's word replaces the scheduled delay, bounded both ways, without jitter.
  if (input.retryAfterMs !== null) {
    return input.now + Math.min(Math.max(input.retryAfterMs, RETRY_AFTER_MIN_MS), RETRY_AFTER_MAX_MS);
  }

  // Uniform in [-10 %, +10 %] of the step; whole milliseconds so the time is stored exactly.
  const jitter = scheduled * RETRY_JITTER_RATIO * (2 * input.random() - 1);
  return input.now + Math.round(scheduled + jitter);
}
