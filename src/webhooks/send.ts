/**
 * One webhook delivery attempt over HTTP: a POST to the endpoint's URL and what came of it, as a
 * value, never an exception, so the caller records every attempt the same way and `verdictOf`
 * (schedule.ts) decides what happens next.
 *
 * What a receiver can do to the sender is bounded: one overall timeout covers connecting, waiting
 * for headers and reading the body; at most `maxResponseBytes` of the body are read; redirects are
 * not followed; and unless private targets are allowed, only public addresses are connected to,
 * checked on the address actually used (address.ts).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parseRetryAfterMs } from '../platform/retry-after.js';
import { isIP } from 'node:net';
import { ADDRESS_NOT_ALLOWED, guardedLookup, isPublicAddress } from './address.js';

export interface DeliveryRequest {
  readonly url: string;
  /** The exact JSON the signature was computed over; sent as these UTF-8 bytes. */
  readonly body: string;
  /** e.g. the Standard Webhooks `webhook-id`, `webhook-timestamp`, `webhook-signature`. */
  readonly headers: Readonly<Record<string, string>>;
}

export type SendOutcome =
  | { readonly status: number; readonly retryAfterMs: number | null; readonly body: string | null; readonly latencyMs: number; readonly error: null }
  | {
      readonly status: null;
      readonly retryAfterMs: null;
      readonly body: null;
      readonly latencyMs: number;
      readonly error: 'timeout' | 'connection_failed' | 'address_not_allowed';
    };

export interface WebhookSenderOptions {
  /** The whole attempt: connecting, waiting for the answer and reading its body. */
  readonly timeoutMs: number;
  /** Development only: allow http and targets on private, loopback or otherwise non-public addresses. */
  readonly allowPrivate: boolean;
  /** How much of a response body is read and kept, in bytes; the rest is never read. */
  readonly maxResponseBytes?: number;
  readonly now?: () => number;
}

export const WEBHOOK_USER_AGENT = 'Remit-Webhooks/1';
export const DEFAULT_MAX_RESPONSE_BYTES = 1024;

type Failure = Extract<SendOutcome, { error: string }>['error'];

export class WebhookSender {
  readonly #timeoutMs: number;
  readonly #allowPrivate: boolean;
  readonly #maxResponseBytes: number;
  readonly #now: () => number;
  // Kept alive and reused: a receiver getting many events pays one TCP and TLS handshake, not one per event.
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;

  constructor(options: WebhookSenderOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#allowPrivate = options.allowPrivate;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#now = options.now ?? Date.now;
    const lookup = guardedLookup(options.allowPrivate);
    this.#http = new HttpAgent({ keepAlive: true, lookup });
    this.#https = new HttpsAgent({ keepAlive: true, lookup });
  }

  /** POSTs the request once and reports what happened. Never throws. */
  async send(request: DeliveryRequest): Promise<SendOutcome> {
    const started = this.#now();
    const latencyMs = () => Math.max(0, Math.round(this.#now() - started));
    const failed = (error: Failure): SendOutcome => ({ status: null, retryAfterMs: null, body: null, latencyMs: latencyMs(), error });

    let target: URL;
    try {
      target = new URL(request.url);
    } catch {
      return failed('connection_failed');
    }
    const https = target.protocol === 'https:';
    if (!https && target.protocol !== 'http:') return failed('connection_failed');
    const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    // Node connects to an IP literal without calling `lookup`, so the guard would never see it.
    if (!this.#allowPrivate && isIP(hostname) !== 0 && !isPublicAddress(hostname)) return failed('address_not_allowed');

    const bytes = Buffer.from(request.body, 'utf8');
    const headers: OutgoingHttpHeaders = {
      ...request.headers,
      // Last, so a caller's header of another case cannot contradict the body actually sent.
      'content-type': 'application/json',
      'content-length': bytes.length,
      'user-agent': WEBHOOK_USER_AGENT,
    };

    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      let req: ClientRequest | undefined;
      const settle = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      // Destroying the request also destroys its socket and any response being read: nothing of a
      // slow receiver outlives the attempt.
      const timer = setTimeout(() => {
        settle(failed('timeout'));
        req?.destroy();
      }, this.#timeoutMs);

      // The URL's credentials are deliberately not passed on (no `auth`): the API refuses them anyway.
      const options = { hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'POST', headers };
      const onResponse = (res: IncomingMessage) => this.#read(res, settle, latencyMs);
      try {
        req = https ? httpsRequest({ ...options, agent: this.#https }, onResponse) : httpRequest({ ...options, agent: this.#http }, onResponse);
      } catch {
        // Node validates headers before sending anything (e.g. a control character in a value).
        return settle(failed('connection_failed'));
      }

      req.on('error', (err: NodeJS.ErrnoException) => settle(failed(err.code === ADDRESS_NOT_ALLOWED ? 'address_not_allowed' : 'connection_failed')));
      req.end(bytes);
    });
  }

  /** Destroys the kept-alive connections; the sender must not be used afterwards. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }

  #read(res: IncomingMessage, settle: (outcome: SendOutcome) => void, latencyMs: () => number): void {
    const status = res.statusCode ?? 0;
    // A 503 (RFC 9110 §10.2.3) and a 429 (RFC 6585 §4) are the answers whose Retry-After says when to come back.
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfterMs(res.headers['retry-after'], this.#now()) : null;
    const limit = this.#maxResponseBytes;
    const chunks: Buffer[] = [];
    let size = 0;

    const finish = (truncated: boolean) => {
      settle({ status, retryAfterMs, body: decodeBody(Buffer.concat(chunks, size), truncated), latencyMs: latencyMs(), error: null });
    };

    res.on('data', (chunk: Buffer) => {
      const room = limit - size;
      if (chunk.length <= room) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, room));
      size += room;
      finish(true);
      // Stop reading: the rest of a large body is never buffered, and the connection is not reused.
      res.destroy();
    });
    res.on('end', () => finish(false));
    // The receiver hung up after its status line: the status is its answer; the body is only a hint.
    res.on('close', () => finish(!res.complete));
    res.on('error', () => finish(true));
  }
}

/**
 * The response body as text, `null` when empty. A body cut at the byte limit may end inside a
 * multi-byte character: that partial character is dropped, not thrown on. Invalid UTF-8 becomes
 * U+FFFD, and so does NUL, which PostgreSQL's `text` and `jsonb` cannot store.
 */
function decodeBody(bytes: Buffer, truncated: boolean): string | null {
  if (bytes.length === 0) return null;
  // `stream: true` holds back an incomplete trailing character instead of replacing it.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes, { stream: truncated });
  return text === '' ? null : text.replaceAll('\u0000', '\uFFFD');
}

