/**
 * Whether removing something deprecated breaks clients. Deprecation is the promise that lets an
 * API remove an operation or parameter without breaking anyone who listened: removal is fine once
 * the thing was deprecated and its sunset date (the `x-sunset` extension oasdiff reads, RFC 3339
 * or an HTTP-date as in RFC 8594's Sunset header) has passed, or when it was deprecated with no
 * date. Removal before the date breaks the promise, so it breaks clients.
 */
export type Removal = 'without-deprecation' | 'before-sunset' | 'with-deprecation';

export interface RemovalVerdict {
  readonly removal: Removal;
  /** Why, in words, for the message. */
  readonly reason: string;
}

export function judgeRemoval(deprecated: boolean, sunset: string | undefined, now: Date): RemovalVerdict {
  if (!deprecated) return { removal: 'without-deprecation', reason: 'it was not deprecated' };
  if (sunset === undefined) return { removal: 'with-deprecation', reason: 'it was deprecated, with no sunset date' };
  const date = Date.parse(sunset);
  // A date nobody can read is a date nobody can say has passed.
  if (Number.isNaN(date)) return { removal: 'before-sunset', reason: `its sunset date ${JSON.stringify(sunset)} cannot be read` };
  if (now.getTime() < date) return { removal: 'before-sunset', reason: `it was deprecated, but its sunset date ${sunset} has not passed` };
  return { removal: 'with-deprecation', reason: `it was deprecated and its sunset date ${sunset} has passed` };
}
