/**
 * What the run last heard about each quota: every answer carries `RateLimit` (`r` left, `t` seconds
 * to the window's reset) for the quotas it was counted in. A wait step reads it to decide whether
 * the next collection would find a quota spent, and how long until it is not.
 */
import { parseRateLimitFields } from './rate-limit-fields.js';

interface Reading {
  readonly remaining: number;
  /** When the window resets, on this run's clock (ms). */
  readonly resetsAtMs: number;
}

/**
 * `t` is whole seconds rounded up by the server, so waiting it out from when the answer arrived
 * already lands past the reset; the margin covers the answer's time in transit.
 */
const RESET_MARGIN_MS = 250;

export class QuotaTracker {
  readonly #readings = new Map<string, Reading>();

  constructor(private readonly now: () => number) {}

  observe(headers: Headers): void {
    const fields = parseRateLimitFields(null, headers.get('ratelimit'));
    const at = this.now();
    for (const [policy, { r, t }] of Object.entries(fields)) {
      if (r === undefined || t === undefined) continue;
      this.#readings.set(policy, { remaining: r, resetsAtMs: at + t * 1000 + RESET_MARGIN_MS });
    }
  }

  /**
   * How long to wait before `policy` has at least `minRemaining` left: 0 when the last answer said
   * it has, or when its window has reset since, or when no answer has reported it.
   */
  waitMs(policy: string, minRemaining: number): { waitMs: number; remaining?: number } {
    const reading = this.#readings.get(policy);
    if (!reading) return { waitMs: 0 };
    const left = reading.resetsAtMs - this.now();
    if (reading.remaining >= minRemaining || left <= 0) return { waitMs: 0, remaining: reading.remaining };
    return { waitMs: left, remaining: reading.remaining };
  }
}
