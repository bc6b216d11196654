/** Reading `Retry-After`, wherever Remit is the client: the webhook sender, the processor's report. */

/**
 * `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT` (RFC 9110 §10.2.3), as ms
 * from `nowMs`, never negative; `null` when absent or neither form.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  // delay-seconds = 1*DIGIT
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day or month (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and
  // asctime forms a recipient must accept, all of which Date.parse reads); without a letter it is neither.
  const at = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
