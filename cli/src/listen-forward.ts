/**
 * One forwarded event: the delivery Remit itself would send to a `v1` webhook endpoint (the same
 * body, the same headers, signed per Standard Webhooks), POSTed once to the local URL. As in
 * production, one timeout covers the whole attempt, redirects are not followed and nothing is
 * retried; unlike production, any address may be the target: it is the developer's own machine.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { webhooks, type Event, type PaymentWebhookV1, type RefundWebhookV1 } from '@remit/sdk';

/** How long one forward may take: connecting, sending and waiting for the status line. */
export const FORWARD_TIMEOUT_MS = 10_000;
/** The `user-agent` Remit's webhook sender identifies itself with. */
export const WEBHOOK_USER_AGENT = 'Remit-Webhooks/1';

/** What came of one forward: the receiver's status, or why there was none. */
export type ForwardOutcome = { readonly status: number; readonly error?: undefined } | { readonly status: null; readonly error: string };

/**
 * The event as a `v1` endpoint receives it: the event from `GET /v1/events` with `api_version`,
 * its keys in the order Remit writes them, so the JSON is byte for byte what production sends.
 */
export function webhookPayload(event: Event): PaymentWebhookV1 | RefundWebhookV1 {
  const common = { id: event.id, object: event.object, created: event.created, request: event.request, api_version: 'v1' as const };
  if (event.type.startsWith('payment.')) {
    const payment = event.data.object as PaymentWebhookV1['data']['object'];
    // Events written before payments had a statement descriptor lack the field; deliveries show it as null.
    const object = { ...payment, statement_descriptor: payment.statement_descriptor ?? null };
    return { ...common, type: event.type as PaymentWebhookV1['type'], data: { object, sequence: event.data.sequence } };
  }
  const refund = event.data.object as RefundWebhookV1['data']['object'];
  return { ...common, type: event.type as RefundWebhookV1['type'], data: { object: refund, sequence: event.data.sequence } };
}

/** Sends deliveries to one URL over kept-alive connections; `close` ends them. */
export class Forwarder {
  readonly url: URL;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent | HttpsAgent;

  constructor(url: URL, secret: string, timeoutMs = FORWARD_TIMEOUT_MS) {
    this.url = url;
    this.#secret = secret;
    this.#timeoutMs = timeoutMs;
    this.#agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  /**
   * Signs `body` now and POSTs it once, to its end or its timeout: stopping `listen` lets it finish,
   * so what the receiver got is recorded as sent. Never throws: a failure is an outcome.
   */
  async forward(id: string, body: string): Promise<ForwardOutcome> {
    const signed = await webhooks.sign({ id, body, secret: this.#secret });
    const bytes = Buffer.from(body, 'utf8');
    const headers = {
      ...signed,
      'content-type': 'application/json',
      'content-length': String(bytes.length),
      'user-agent': WEBHOOK_USER_AGENT,
    };
    return this.#post(bytes, headers);
  }

  /** Ends the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  #post(bytes: Buffer, headers: Record<string, string>): Promise<ForwardOutcome> {
    const target = this.url;
    const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const options = { hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'POST', headers, agent: this.#agent };
    return new Promise<ForwardOutcome>((resolve) => {
      let req: ClientRequest | undefined;
      let settled = false;
      const settle = (outcome: ForwardOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const fail = (error: string) => {
        if (settled) return;
        settle({ status: null, error });
        req?.destroy();
      };
      const timer = setTimeout(() => fail(`timed out after ${this.#timeoutMs / 1000} s`), this.#timeoutMs);
      const onResponse = (res: IncomingMessage) => {
        // Only the status matters; the body is read and dropped so the connection can serve the next event.
        res.resume();
        res.on('error', () => undefined);
        settle({ status: res.statusCode ?? 0 });
      };
      try {
        req = target.protocol === 'https:' ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
      } catch (error) {
        return fail(describeNetworkError(error));
      }
      req.on('error', (error) => fail(describeNetworkError(error)));
      req.end(bytes);
    });
  }
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A network failure in a few words, e.g. `connection refused`. */
export function describeNetworkError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code !== undefined && NETWORK_ERRORS[code] !== undefined) return NETWORK_ERRORS[code];
  // AggregateError: every address of the name failed (IPv6 and IPv4 of `localhost`); the first says why.
  const first = (error as { errors?: unknown[] }).errors?.[0];
  if (first !== undefined) return describeNetworkError(first);
  return code !== undefined ? `${message} (${code})` : String(message ?? error);
}
