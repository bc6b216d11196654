/**
 * A webhook receiver on 127.0.0.1, written for the tests: it records every delivery as sent (the
 * raw body, the headers) and answers as the test tells it, attempt by attempt.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { listen } from './http-server.js';

export interface ReceivedDelivery {
  /** The request's path, which tells endpoints sharing a receiver apart. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as it arrived: signatures are over these bytes. */
  readonly body: string;
  /** What the test's clock said when it arrived (ms). */
  readonly at: number;
}

export interface ReceiverReply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Never answer: the sender's timeout must end the attempt. */
  readonly hang?: boolean;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedDelivery[];
  /** How the receiver answers the n-th delivery (0-based); 200 by default. */
  respond: (delivery: ReceivedDelivery, index: number) => ReceiverReply;
  /** The deliveries' ids (`webhook-id`), in arrival order. */
  ids(): string[];
  close(): Promise<void>;
}

export async function startReceiver(options: { now?: () => number } = {}): Promise<WebhookReceiver> {
  const now = options.now ?? Date.now;
  const received: ReceivedDelivery[] = [];
  // Built once the server listens (it needs the URL); the handler reads `respond` off it per request.
  const self: { receiver?: WebhookReceiver } = {};
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delivery = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: now() };
      const index = received.push(delivery) - 1;
      const reply = self.receiver!.respond(delivery, index);
      if (reply.hang) return;
      res.writeHead(reply.status ?? 200, reply.headers);
      res.end(reply.body ?? '');
    });
  });
  self.receiver = {
    url: server.url,
    received,
    respond: () => ({ status: 200 }),
    ids: () => received.map((d) => String(d.headers['webhook-id'])),
    close: () => server.close(),
  };
  return self.receiver;
}
