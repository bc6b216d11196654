/**
 * Verifying webhook deliveries. Remit signs every delivery per Standard Webhooks
 * (https://www.standardwebhooks.com):
 *
 *   webhook-id: evt_…                       the event's id, the same on every retry and replay
 *   webhook-timestamp: 1767225600           when this attempt was signed, in seconds
 *   webhook-signature: v1,<b64> [v1,<b64>]  HMAC-SHA256 of `${id}.${timestamp}.${body}`, one per active secret
 *
 * with the key the base64 after the `whsec_` prefix of the endpoint's secret. Only WebCrypto and
 * atob/btoa are used, so this runs in browsers and edge runtimes as well as Node; that makes it async.
 */
import type { components } from '../generated/schema.js';
import { RemitError } from './errors.js';

/** A delivered event, as `verify` returns it: `type` and `api_version` say which shape it is. */
export type WebhookEvent = components['schemas']['PaymentWebhook'] | components['schemas']['RefundWebhook'];

/** How far `webhook-timestamp` may be from the receiver's clock, either way: the spec's 5 minutes. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';
// The spec's WebhookTimestampHeader: whole seconds, nothing else (parseInt would read "12abc" as 12).
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
// Canonical padded base64 only, so one secret has exactly one spelling.
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// WebCrypto's key type, named through the global so it compiles with Node's types as with the DOM's.
type HmacKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface WebhookVerifyOptions {
  /** Seconds `webhook-timestamp` may be behind or ahead of `now`. Default 300. */
  readonly toleranceSeconds?: number;
  /** The receiver's clock, in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

export interface WebhookSignInput {
  /** The `webhook-id`: the event's id. */
  readonly id: string;
  /** The `webhook-timestamp`, in seconds since the epoch. Default now. */
  readonly timestamp?: number;
  /** The exact body to send. */
  readonly body: string | Uint8Array;
  /** One secret per signature to include (two imitate a rotation's overlap). */
  readonly secret: string | readonly string[];
}

/**
 * The three headers of a signed delivery, ready for `fetch`, supertest's `.set()` or `verify`. A
 * type literal rather than an interface, so it is assignable to `Record<string, string>`.
 */
export type WebhookSignedHeaders = {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
};

export type WebhookVerificationErrorCode =
  | 'invalid_headers'
  | 'no_matching_signature'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_secret'
  | 'invalid_json';

/** A delivery that must not be acted on. `code` says why; each code has its own class. */
export class WebhookVerificationError extends RemitError {
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `invalid_headers`: `webhook-id`, `webhook-timestamp` or `webhook-signature` is missing, empty, repeated or unreadable. */
export class WebhookHeadersError extends WebhookVerificationError {
  constructor(message: string) {
    super('invalid_headers', message);
  }
}

/** `no_matching_signature`: no signature in `webhook-signature` is the body's under any of the secrets. */
export class WebhookSignatureError extends WebhookVerificationError {
  constructor() {
    super('no_matching_signature', 'No signature in webhook-signature matches the body under the given secret(s): a wrong secret, or a body changed after it was signed (keep the raw bytes; do not re-serialise parsed JSON).');
  }
}

/**
 * A genuine delivery (its signature matched) signed outside the tolerance: a captured delivery
 * replayed, or a receiver whose clock is off. `timestamp` and `now` are in seconds.
 */
export abstract class WebhookTimestampError extends WebhookVerificationError {
  readonly timestamp: number;
  readonly now: number;

  constructor(code: 'timestamp_too_old' | 'timestamp_too_new', message: string, timestamp: number, now: number) {
    super(code, message);
    this.timestamp = timestamp;
    this.now = now;
  }
}

/** `timestamp_too_old`: signed more than the tolerance before `now`. */
export class WebhookTimestampTooOldError extends WebhookTimestampError {
  constructor(timestamp: number, now: number, toleranceSeconds: number) {
    super('timestamp_too_old', `webhook-timestamp ${timestamp} is ${now - timestamp} s before now (${now}); the tolerance is ${toleranceSeconds} s.`, timestamp, now);
  }
}

/** `timestamp_too_new`: signed more than the tolerance after `now`. */
export class WebhookTimestampTooNewError extends WebhookTimestampError {
  constructor(timestamp: number, now: number, toleranceSeconds: number) {
    super('timestamp_too_new', `webhook-timestamp ${timestamp} is ${timestamp - now} s after now (${now}); the tolerance is ${toleranceSeconds} s.`, timestamp, now);
  }
}

/** `invalid_secret`: a secret is not `whsec_` and base64, or none was given. The receiver's configuration, not the delivery. */
export class WebhookSecretError extends WebhookVerificationError {
  constructor(message: string) {
    super('invalid_secret', message);
  }
}

/** `invalid_json`: the signature matched but the body is not JSON (or not UTF-8). */
export class WebhookBodyError extends WebhookVerificationError {
  constructor(cause: unknown) {
    super('invalid_json', 'The webhook body is signed but is not JSON.', { cause });
  }
}

/**
 * The event in `rawBody`, once its signature and timestamp check out; throws a
 * `WebhookVerificationError` otherwise. `rawBody` must be the bytes as received: parsing and
 * re-serialising JSON changes them and the signature no longer matches. Any one of `secret`
 * (several during a rotation) may have signed it.
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  options: WebhookVerifyOptions = {},
): Promise<WebhookEvent> {
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new RemitError('toleranceSeconds must be a non-negative number of seconds.');
  }
  // The secrets first: a misconfigured receiver should hear about it on its first delivery, whatever that delivery holds.
  const keys = await importKeys(secret);
  const body = bodyBytes(rawBody);

  const id = singleHeader(headers, 'webhook-id');
  const timestampText = singleHeader(headers, 'webhook-timestamp');
  const signatures = headerValues(headers, 'webhook-signature').join(' ').split(/\s+/).filter((s) => s !== '');
  if (signatures.length === 0) throw new WebhookHeadersError('The webhook-signature header is missing or empty.');
  if (!TIMESTAMP_PATTERN.test(timestampText)) throw new WebhookHeadersError('The webhook-timestamp header is not whole seconds since the epoch.');

  // The signature before the timestamp (as Stripe does): a timestamp error then always concerns a
  // delivery Remit really signed, so it means a replay or a skewed clock, never a forgery.
  const content = signedContent(id, timestampText, body);
  // Compared as base64 text, not decoded: a non-canonical spelling of the right bytes is refused,
  // as Standard Webhooks' own library refuses it, and nothing a sender wrote is decoded.
  const expected = await Promise.all(keys.map(async (key) => ascii(base64Encode(await hmac(key, content)))));
  const matched = signatures.some((entry) => {
    const comma = entry.indexOf(',');
    // Other versions (e.g. Standard Webhooks' asymmetric `v1a`) may sit alongside; only `v1` is ours.
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) return false;
    const given = ascii(entry.slice(comma + 1));
    return expected.some((mac) => timingSafeEqual(given, mac));
  });
  if (!matched) throw new WebhookSignatureError();

  const timestamp = Number(timestampText);
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  if (now - timestamp > toleranceSeconds) throw new WebhookTimestampTooOldError(timestamp, now, toleranceSeconds);
  if (timestamp - now > toleranceSeconds) throw new WebhookTimestampTooNewError(timestamp, now, toleranceSeconds);

  try {
    const text = typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: true }).decode(body);
    // Not validated against the schema, like every answer the SDK returns: a newer API may add fields or types.
    return JSON.parse(text) as WebhookEvent;
  } catch (err) {
    throw new WebhookBodyError(err);
  }
}

/**
 * The headers Remit would send with `body`: for a receiver's own tests, which can then post a
 * delivery its handler verifies as real.
 */
export async function signWebhook(input: WebhookSignInput): Promise<WebhookSignedHeaders> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RemitError('timestamp must be whole seconds since the epoch.');
  if (typeof input.id !== 'string' || input.id === '') throw new RemitError('id must be a non-empty string (the event id).');
  const keys = await importKeys(input.secret);
  const content = signedContent(input.id, String(timestamp), bodyBytes(input.body));
  const signatures = await Promise.all(keys.map(async (key) => `${SIGNATURE_VERSION},${base64Encode(await hmac(key, content))}`));
  return { 'webhook-id': input.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatures.join(' ') };
}

/** `remit.webhooks` and the `webhooks` export: the same functions, which need no client. */
export interface Webhooks {
  readonly verify: typeof verifyWebhook;
  readonly sign: typeof signWebhook;
}

export const webhooks: Webhooks = Object.freeze({ verify: verifyWebhook, sign: signWebhook });

async function importKeys(secret: string | readonly string[]): Promise<HmacKey[]> {
  const secrets: readonly unknown[] = typeof secret === 'string' ? [secret] : Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) throw new WebhookSecretError('No webhook secret given.');
  const subtle = globalThis.crypto?.subtle;
  // Browsers hide WebCrypto outside secure contexts (plain http pages).
  if (subtle === undefined) throw new RemitError('WebCrypto (globalThis.crypto.subtle) is not available in this runtime.');
  return Promise.all(
    secrets.map((s, i) => {
      const key = typeof s === 'string' && s.startsWith(SECRET_PREFIX) ? base64Decode(s.slice(SECRET_PREFIX.length)) : undefined;
      if (key === undefined || key.length === 0) {
        // Never the secret itself in the message: it ends up in logs.
        const which = secrets.length > 1 ? `Webhook secret #${i + 1}` : 'The webhook secret';
        throw new WebhookSecretError(`${which} is missing, or is not "whsec_" followed by base64 (check for a missing prefix, a truncated copy or surrounding whitespace).`);
      }
      return subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    }),
  );
}

async function hmac(key: HmacKey, content: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, content));
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  // The body's bytes as they came, never decoded and re-encoded: a lone invalid UTF-8 byte would change.
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return content;
}

function bodyBytes(rawBody: unknown): Uint8Array {
  if (typeof rawBody === 'string') return new TextEncoder().encode(rawBody);
  // Any byte view (Node's Buffer included), from any realm.
  if (ArrayBuffer.isView(rawBody) && (rawBody as Uint8Array).BYTES_PER_ELEMENT === 1) {
    return new Uint8Array(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  }
  throw new RemitError(
    'The webhook body must be the raw body as received (a string or bytes), not parsed JSON: with Express, use express.raw({ type: "application/json" }) on the webhook route.',
  );
}

/** Every value of header `name`, whatever the case of its key. */
function headerValues(headers: WebhookHeaders, name: string): string[] {
  if (typeof (headers as Headers).get === 'function') {
    const value = (headers as Headers).get(name);
    return value === null ? [] : [value];
  }
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    values.push(...(typeof value === 'string' ? [value] : value));
  }
  return values;
}

function singleHeader(headers: WebhookHeaders, name: string): string {
  const values = headerValues(headers, name).filter((v) => v !== '');
  if (values.length === 0) throw new WebhookHeadersError(`The ${name} header is missing or empty.`);
  if (values.length > 1) throw new WebhookHeadersError(`The ${name} header was sent more than once.`);
  return values[0]!;
}

/**
 * Compares in time that depends only on the lengths (public: a SHA-256 signature is always 44
 * characters), so a forger learns nothing from how long a wrong guess took to refuse.
 */
function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function base64Encode(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64Decode(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64_PATTERN.test(text)) return undefined;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
