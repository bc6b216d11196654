/**
 * The deprecation policy: when removing something deprecated breaks clients, and when a change to
 * a deprecation or its sunset date does.
 *
 * Deprecation is the promise that lets an API remove an operation or parameter without breaking
 * anyone who listened: removal is fine once the thing was deprecated and its sunset date (the
 * `x-sunset` extension oasdiff reads, an RFC 3339 date or date-time, or an HTTP-date as in RFC
 * 8594's Sunset header) has passed, or when it was deprecated with no date. Removal before the
 * date breaks the promise, so it breaks clients.
 *
 * The promise is only worth the notice it gives, so changes to it are judged too: a sunset date
 * moved earlier, or deleted, breaks the plan clients made against it; a date that is set (on a
 * deprecation, or afterwards) must be at least the minimum notice after the comparison time; a
 * date nobody can read gives no notice; and a deprecation without a date is a warning, since the
 * thing may then be removed at any time.
 */
export type Removal = 'without-deprecation' | 'before-sunset' | 'with-deprecation';

export interface RemovalVerdict {
  readonly removal: Removal;
  /** Why, in words, for the message. */
  readonly reason: string;
}

/** The fewest days after the comparison time a new or changed sunset date may be, unless the caller sets it. */
export const DEFAULT_MIN_SUNSET_NOTICE_DAYS = 90;

const DAY_MS = 86_400_000;

const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2})))?$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// IMF-fixdate, the form an HTTP-date is sent in (RFC 9110 section 5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
const HTTP_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTHS.join('|')}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);

/**
 * The UTC instant of a calendar date and time, or undefined when a field is out of range
 * (2025-02-30, 24:00). A leap second (:60) is read as the second before it.
 */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number | undefined {
  const time = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  const date = new Date(time);
  const valid = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second <= 60;
  return valid ? time : undefined;
}

/**
 * The instant a sunset date names, in milliseconds, or undefined when it cannot be read. Only the
 * two documented forms are read, and strictly: an RFC 3339 date (midnight UTC) or date-time with
 * its offset, or an HTTP-date. A date-time without an offset, or `01/02/2026`, would mean different
 * instants on different machines or to different readers, so it is a date nobody can read.
 */
export function parseSunset(text: string): number | undefined {
  const rfc = RFC_3339.exec(text);
  if (rfc) {
    const [, year, month, day, hour, minute, second, fraction, zone, sign, offsetHours, offsetMinutes] = rfc;
    const time = utc(Number(year), Number(month), Number(day), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0));
    if (time === undefined) return undefined;
    if (zone === undefined || zone.toUpperCase() === 'Z') return time + Math.trunc(Number(fraction ?? 0) * 1000);
    if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
    const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (sign === '-' ? -1 : 1);
    return time + Math.trunc(Number(fraction ?? 0) * 1000) - offset;
  }
  const http = HTTP_DATE.exec(text);
  if (http) {
    const [, day, month, year, hour, minute, second] = http;
    return utc(Number(year), MONTHS.indexOf(month as string) + 1, Number(day), Number(hour), Number(minute), Number(second));
  }
  return undefined;
}

export function judgeRemoval(deprecated: boolean, sunset: string | undefined, now: Date): RemovalVerdict {
  if (!deprecated) return { removal: 'without-deprecation', reason: 'it was not deprecated' };
  if (sunset === undefined) return { removal: 'with-deprecation', reason: 'it was deprecated, with no sunset date' };
  const date = parseSunset(sunset);
  // A date nobody can read is a date nobody can say has passed.
  if (date === undefined) return { removal: 'before-sunset', reason: `its sunset date ${JSON.stringify(sunset)} cannot be read` };
  if (now.getTime() < date) return { removal: 'before-sunset', reason: `it was deprecated, but its sunset date ${sunset} has not passed` };
  return { removal: 'with-deprecation', reason: `it was deprecated and its sunset date ${sunset} has passed` };
}

/** Whether an operation or a parameter is deprecated, and its sunset date as written. */
export interface Deprecation {
  readonly deprecated: boolean;
  readonly sunset?: string;
}

export interface SunsetPolicy {
  /** The comparison time: notice is counted from here. */
  readonly now: Date;
  /** The fewest days a new or changed sunset date may be after `now`; 0 turns the check off. */
  readonly minNoticeDays: number;
}

/**
 * What a change to a deprecation is, named by the tail of its rule id (`api-…`, `request-parameter-…`;
 * `deprecated` is `endpoint-deprecated` or `request-parameter-deprecated`, and an operation's
 * `sunset-deleted` has no prefix, as in oasdiff).
 */
export type SunsetChange =
  | 'deprecated'
  | 'deprecated-sunset-missing'
  | 'deprecated-sunset-parse'
  | 'sunset-date-too-small'
  | 'sunset-date-changed-too-small'
  | 'sunset-date-moved-earlier'
  | 'sunset-deleted'
  | 'sunset-date-changed';

export interface SunsetVerdict {
  readonly change: SunsetChange;
  /** The sentence for the finding. */
  readonly message: string;
}

/** Whole days from the UTC calendar date of `now` to that of `time`: a bare date is a day, not an instant. */
function noticeDays(time: number, now: Date): number {
  return Math.floor(time / DAY_MS) - Math.floor(now.getTime() / DAY_MS);
}

function distance(days: number): string {
  if (days === 0) return 'today';
  if (days < 0) return days === -1 ? 'a day ago' : `${-days} days ago`;
  return days === 1 ? 'a day away' : `${days} days away`;
}

function tooSoon(time: number, policy: SunsetPolicy): string | undefined {
  const days = noticeDays(time, policy.now);
  if (policy.minNoticeDays === 0 || days >= policy.minNoticeDays) return undefined;
  return `${distance(days)}: less than the ${policy.minNoticeDays} days' notice required`;
}

/**
 * Judges an operation or parameter (`subject`, as the message names it) present on both sides;
 * undefined when neither its deprecation nor its sunset date changed, or the revision does not
 * deprecate it (taking a deprecation back is reported on its own).
 */
export function judgeSunsetChange(subject: string, before: Deprecation, after: Deprecation, policy: SunsetPolicy): SunsetVerdict | undefined {
  if (!after.deprecated) return undefined;
  const next = after.sunset;
  const nextTime = next === undefined ? undefined : parseSunset(next);

  if (!before.deprecated) {
    if (next === undefined) return { change: 'deprecated-sunset-missing', message: `${subject} was deprecated without a sunset date (x-sunset): clients are not told when it goes, and it may be removed at any time` };
    if (nextTime === undefined) return { change: 'deprecated-sunset-parse', message: `${subject} was deprecated with a sunset date that cannot be read, ${JSON.stringify(next)}: it gives clients no notice` };
    const short = tooSoon(nextTime, policy);
    if (short) return { change: 'sunset-date-too-small', message: `${subject} was deprecated with sunset date ${next}, ${short}` };
    return { change: 'deprecated', message: `${subject} was deprecated, with sunset date ${next}` };
  }

  const previous = before.sunset;
  if (previous === next) return undefined;
  const previousTime = previous === undefined ? undefined : parseSunset(previous);

  if (next === undefined) {
    // Without a date it may be removed at once: that takes nothing from clients only when the date had passed.
    if (previousTime !== undefined && previousTime <= policy.now.getTime()) return { change: 'sunset-date-changed', message: `${subject} lost its sunset date ${previous}, which had passed` };
    const shown = previousTime === undefined ? JSON.stringify(previous) : previous;
    return { change: 'sunset-deleted', message: `${subject} lost its sunset date ${shown} but stays deprecated: it may now be removed at any time` };
  }
  const was = previous === undefined ? 'not set' : previousTime === undefined ? `${JSON.stringify(previous)}, which cannot be read` : previous;
  if (nextTime === undefined) return { change: 'deprecated-sunset-parse', message: `the sunset date of ${subject} became ${JSON.stringify(next)}, which cannot be read (it was ${was}): it gives clients no notice` };
  if (nextTime === previousTime) return undefined;

  const what =
    previousTime === undefined
      ? `the sunset date of ${subject} was set to ${next} (${previous === undefined ? 'there was none' : `it was ${was}`})`
      : `the sunset date of ${subject} was moved ${nextTime < previousTime ? 'earlier' : 'later'} from ${previous} to ${next}`;
  const short = tooSoon(nextTime, policy);
  if (short) return { change: 'sunset-date-changed-too-small', message: `${what}, ${short}` };
  if (previousTime !== undefined && nextTime < previousTime && previousTime > policy.now.getTime()) return { change: 'sunset-date-moved-earlier', message: `${what}: clients planned for ${previous}` };
  return { change: 'sunset-date-changed', message: what };
}
