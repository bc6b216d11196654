/**
 * One answer as assertions and `save` read it, whether it came through the SDK (a result or a typed
 * error) or through fetch: the status, the headers by lower-case name, the parsed body and the
 * rate-limit fields. A call that got no answer has status null and says why in `error`.
 */
import { parseRateLimitFields, type QuotaFields } from './rate-limit-fields.js';

export interface Exchange {
  readonly status: number | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly ratelimit: Readonly<Record<string, QuotaFields>>;
  /** Why no answer came (a connection error); absent when one did. */
  readonly error?: string;
}

export function answered(status: number, headers: Headers, body: unknown): Exchange {
  return {
    status,
    headers: Object.fromEntries(headers.entries()),
    body,
    ratelimit: parseRateLimitFields(headers.get('ratelimit-policy'), headers.get('ratelimit')),
  };
}

export function unanswered(error: string): Exchange {
  return { status: null, headers: {}, body: undefined, ratelimit: {}, error };
}

/** A body as read by fetch: JSON when it parses, the text otherwise, undefined when empty. */
export function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
