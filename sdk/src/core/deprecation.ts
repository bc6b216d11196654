/**
 * Deprecation notices. Every answer of an operation the API has deprecated carries
 *
 *   Deprecation: @1796428800                              (RFC 9745: when it was deprecated)
 *   Sunset: Fri, 31 Dec 2027 00:00:00 GMT                 (RFC 8594: when it stops answering)
 *   Link: </v2/payments/pay_1>; rel="successor-version", </docs#/Payments%20v2>; rel="deprecation"; type="text/html"
 *
 * and the client turns those fields into a `DeprecationNotice` for its `onDeprecation` hook. The
 * parsers here never throw: a value they cannot read becomes `undefined`.
 */

/** What an answer of a deprecated operation said about it, with what the SDK knows of the operation. */
export interface DeprecationNotice {
  /** The operation called, e.g. `createPayment`. */
  readonly operationId: string;
  /** Its HTTP method, e.g. `POST`. */
  readonly method: string;
  /** Its path template, e.g. `/v1/payments/{id}`. */
  readonly path: string;
  /** The status of the answer that carried the notice (a `410` once the operation is past its sunset). */
  readonly status: number;
  /** When the operation was deprecated (the `Deprecation` field); `undefined` when unreadable. */
  readonly deprecation: Date | undefined;
  /** When it stops answering (the `Sunset` field); `undefined` when absent or unreadable. */
  readonly sunset: Date | undefined;
  /** What to use instead. */
  readonly successor: {
    /** The target of the `rel="successor-version"` link, as the API sent it (e.g. `/v2/payments/pay_1`). */
    readonly url: string | undefined;
    /** The successor's operationId (e.g. `createPaymentV2`), when this version of the SDK knows it. */
    readonly operationId: string | undefined;
    /** The method that calls it, from the client (e.g. `v2.payments.create`), when the SDK has one. */
    readonly call: string | undefined;
  };
  /** The target of the `rel="deprecation"` link: the page that explains the move. */
  readonly link: string | undefined;
  /** The fields as they came. */
  readonly headers: { readonly deprecation: string; readonly sunset: string | null; readonly link: string | null };
}

/** Called with every answer that carries `Deprecation`. */
export type DeprecationHandler = (notice: DeprecationNotice) => void;

/**
 * `Deprecation: @1796428800` (RFC 9745, a structured-field date in seconds since the epoch). Also
 * reads an HTTP-date, which earlier drafts of the field used. `undefined` for anything else.
 */
export function parseDeprecationDate(value: string | null): Date | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  const seconds = /^@(-?\d{1,15})$/.exec(trimmed);
  if (seconds) return validDate(Number(seconds[1]) * 1000);
  return parseHttpDate(trimmed);
}

/** `Sunset: Fri, 31 Dec 2027 00:00:00 GMT` (RFC 8594, an HTTP-date). `undefined` when absent or unreadable. */
export function parseSunsetDate(value: string | null): Date | undefined {
  return value === null ? undefined : parseHttpDate(value.trim());
}

/** One link of a `Link` field (RFC 8288). */
export interface LinkValue {
  /** The target, as sent between `<` and `>`. */
  readonly target: string;
  /** Its relation types, lower-cased (`rel="a b"` is two). */
  readonly rels: readonly string[];
}

/** The links of a `Link` field; a part that is not a link is skipped. */
export function parseLinkHeader(value: string | null): LinkValue[] {
  if (value === null) return [];
  const links: LinkValue[] = [];
  // A link starts with `<`: split before each one, so a comma inside a target or a quoted value
  // that is not followed by `<` stays where it is.
  for (const part of value.split(/,\s*(?=<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (!match) continue;
    const rels: string[] = [];
    for (const param of match[2]!.split(';')) {
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'rel') continue;
      const raw = param.slice(eq + 1).trim().replace(/,\s*$/, '');
      const unquoted = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
      rels.push(...unquoted.toLowerCase().split(/\s+/).filter((r) => r !== ''));
    }
    links.push({ target: match[1]!.trim(), rels });
  }
  return links;
}

/** The target of the first link with relation `rel`. */
export function linkTarget(links: readonly LinkValue[], rel: string): string | undefined {
  return links.find((l) => l.rels.includes(rel))?.target;
}

function parseHttpDate(value: string): Date | undefined {
  // An HTTP-date always names its day or month; without a letter it is not one.
  return /[A-Za-z]/.test(value) ? validDate(Date.parse(value)) : undefined;
}

function validDate(ms: number): Date | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
