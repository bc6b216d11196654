/**
 * One webhook delivery attempt (src/webhooks/send.ts) against real receivers on 127.0.0.1: the
 * exact bytes and headers arrive; statuses come back as they are (a redirect is never followed);
 * Retry-After is read on 429 and 503 only, as seconds or an HTTP-date; a receiver that never
 * answers, or never finishes its body, is cut off at the timeout and its connection closed; a huge
 * body is cut at the byte limit and the connection closed; refused connections and failed TLS are
 * `connection_failed`; and with private targets not allowed, neither an IP literal nor a name
 * resolving to loopback is ever connected to.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import { WebhookSender, type SendOutcome } from '../../src/webhooks/send.js';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Receiver {
  readonly port: number;
  /** e.g. `http://127.0.0.1:54321`, without a trailing slash. */
  readonly url: string;
  readonly received: Received[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Resolves once every connection accepted so far has been closed. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const receivers: Receiver[] = [];
const senders: WebhookSender[] = [];

async function receiver(handle: Handler): Promise<Receiver> {
  const received: Received[] = [];
  const closed: Promise<void>[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      handle(req, res, body);
    });
  });
  // Long enough that a closed idle connection can only be the sender's doing.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => closed.push(new Promise((resolve) => socket.once('close', () => resolve()))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const r: Receiver = {
    port,
    url: `http://127.0.0.1:${port}`,
    received,
    connections: () => closed.length,
    allClosed: async () => {
      await Promise.all(closed);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  receivers.push(r);
  return r;
}

function sender(options: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {}): WebhookSender {
  const s = new WebhookSender({ timeoutMs: 5_000, allowPrivate: true, ...options });
  senders.push(s);
  return s;
}

const EVENT = { url: '', body: '{"type":"payment.succeeded","data":{"name":"Zoë","amount":"12 €"}}', headers: { 'webhook-id': 'msg_1' } };

function answered(outcome: SendOutcome): { status: number | null; retryAfterMs: number | null; body: string | null; error: string | null } {
  const { status, retryAfterMs, body, error } = outcome;
  return { status, retryAfterMs, body, error };
}

describe('webhook sender (WebhookSender.send)', () => {
  afterEach(async () => {
    for (const s of senders.splice(0)) s.close();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  describe('what the receiver gets', () => {
    it('POSTs the exact body bytes with a JSON content type, the user agent and the given headers', async () => {
      const r = await receiver((_req, res) => res.writeHead(200).end('ok'));
      const outcome = await sender().send({ ...EVENT, url: `${r.url}/hooks/in?tenant=7`, headers: { 'webhook-id': 'msg_1', 'Content-Type': 'text/plain' } });

      expect(answered(outcome)).to.deep.equal({ status: 200, retryAfterMs: null, body: 'ok', error: null });
      expect(Number.isInteger(outcome.latencyMs) && outcome.latencyMs >= 0, String(outcome.latencyMs)).to.equal(true);
      expect(r.received).to.have.length(1);
      const [got] = r.received;
      expect(got?.method).to.equal('POST');
      expect(got?.url).to.equal('/hooks/in?tenant=7');
      expect(got?.body.equals(Buffer.from(EVENT.body, 'utf8'))).to.equal(true);
      expect(got?.headers['content-type']).to.equal('application/json');
      expect(got?.headers['content-length']).to.equal(String(Buffer.byteLength(EVENT.body)));
      expect(got?.headers['user-agent']).to.equal('Remit-Webhooks/1');
      expect(got?.headers['webhook-id']).to.equal('msg_1');
    });

    it('reuses one kept-alive connection across attempts, and close() ends it', async function () {
      this.timeout(5_000);
      const r = await receiver((_req, res) => res.writeHead(204).end());
      const s = sender();
      await s.send({ ...EVENT, url: r.url });
      await s.send({ ...EVENT, url: r.url });
      expect([r.received.length, r.connections()]).to.deep.equal([2, 1]);

      s.close();
      await r.allClosed();
    });
  });

  describe('answers', () => {
    it('keeps the status of a receiver that hangs up in the middle of its body, with the part it sent', async () => {
      const r = await receiver((_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('accepted, but', () => res.socket?.destroy());
      });
      expect(answered(await sender().send({ ...EVENT, url: r.url }))).to.deep.equal({ status: 200, retryAfterMs: null, body: 'accepted, but', error: null });
    });

    it('reports an empty body as null', async () => {
      const r = await receiver((_req, res) => res.writeHead(204).end());
      expect(answered(await sender().send({ ...EVENT, url: r.url }))).to.deep.equal({ status: 204, retryAfterMs: null, body: null, error: null });
    });

    it('returns a redirect as its status and never calls its target', async () => {
      const target = await receiver((_req, res) => res.writeHead(200).end('moved here'));
      const r = await receiver((_req, res) => res.writeHead(302, { location: `${target.url}/elsewhere` }).end('see elsewhere'));
      const outcome = await sender().send({ ...EVENT, url: r.url });
      expect(answered(outcome)).to.deep.equal({ status: 302, retryAfterMs: null, body: 'see elsewhere', error: null });
      expect(target.received).to.have.length(0);
    });

    it('returns 410 Gone', async () => {
      const r = await receiver((_req, res) => res.writeHead(410).end('endpoint removed'));
      expect(answered(await sender().send({ ...EVENT, url: r.url }))).to.deep.equal({ status: 410, retryAfterMs: null, body: 'endpoint removed', error: null });
    });

    it('reads a 429’s Retry-After in seconds', async () => {
      const r = await receiver((_req, res) => res.writeHead(429, { 'retry-after': '120' }).end());
      expect(answered(await sender().send({ ...EVENT, url: r.url }))).to.deep.equal({ status: 429, retryAfterMs: 120_000, body: null, error: null });
    });

    it('reads a 429’s Retry-After as an HTTP-date, from the sender’s clock, never negative', async () => {
      const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
      const dates = [new Date(NOW + 90_000).toUTCString(), new Date(NOW - 90_000).toUTCString()];
      const r = await receiver((_req, res) => res.writeHead(429, { 'retry-after': dates.shift() }).end());
      const s = sender({ now: () => NOW });
      expect((await s.send({ ...EVENT, url: r.url })).retryAfterMs).to.equal(90_000);
      expect((await s.send({ ...EVENT, url: r.url })).retryAfterMs).to.equal(0);
    });

    it('reads a 503’s Retry-After', async () => {
      const r = await receiver((_req, res) => res.writeHead(503, { 'retry-after': '5' }).end('maintenance'));
      expect(answered(await sender().send({ ...EVENT, url: r.url }))).to.deep.equal({ status: 503, retryAfterMs: 5_000, body: 'maintenance', error: null });
    });

    it('ignores Retry-After on other statuses, and when it is neither seconds nor a date', async () => {
      const answers: [number, string][] = [
        [500, '5'],
        [301, '5'],
        [429, 'soon'],
        [503, '-5'],
        [429, '1.5'],
      ];
      const r = await receiver((_req, res) => {
        const [status, retryAfter] = answers[r.received.length - 1]!;
        res.writeHead(status, { 'retry-after': retryAfter }).end();
      });
      const s = sender();
      for (const [status, retryAfter] of answers) {
        const outcome = await s.send({ ...EVENT, url: r.url });
        expect([outcome.status, outcome.retryAfterMs], `${status} Retry-After: ${retryAfter}`).to.deep.equal([status, null]);
      }
    });
  });

  describe('receivers that take too much', () => {
    it('times out a receiver that never answers, and closes its connection', async function () {
      this.timeout(5_000);
      const r = await receiver(() => undefined);
      const outcome = await sender({ timeoutMs: 200 }).send({ ...EVENT, url: r.url });
      expect(answered(outcome)).to.deep.equal({ status: null, retryAfterMs: null, body: null, error: 'timeout' });
      expect(r.received).to.have.length(1);
      await r.allClosed();
    });

    it('times out a receiver that never finishes its body, and closes its connection', async function () {
      this.timeout(5_000);
      const r = await receiver((_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('only part of it');
      });
      const outcome = await sender({ timeoutMs: 200 }).send({ ...EVENT, url: r.url });
      expect(answered(outcome)).to.deep.equal({ status: null, retryAfterMs: null, body: null, error: 'timeout' });
      await r.allClosed();
    });

    it('reads at most 1024 bytes of a 1 MB body, without waiting for the rest, and closes the connection', async function () {
      this.timeout(5_000);
      // 1 MB written and never ended: a sender reading to the end would time out instead.
      const r = await receiver((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a'.repeat(1024 * 1024));
      });
      const outcome = await sender({ timeoutMs: 30_000 }).send({ ...EVENT, url: r.url });
      expect(answered(outcome)).to.deep.equal({ status: 200, retryAfterMs: null, body: 'a'.repeat(1024), error: null });
      await r.allClosed();
    });

    it('drops a multi-byte character cut at the limit rather than failing on it', async () => {
      // 400 euro signs are 1 200 bytes; the 1 024th byte is inside the 342nd.
      const r = await receiver((_req, res) => res.writeHead(500).end('€'.repeat(400)));
      const outcome = await sender().send({ ...EVENT, url: r.url });
      expect(answered(outcome)).to.deep.equal({ status: 500, retryAfterMs: null, body: '€'.repeat(341), error: null });
    });

    it('keeps the byte limit it is given, and replaces NUL, which the database cannot store', async () => {
      const r = await receiver((_req, res) => res.writeHead(400).end('bad\u0000input, and much more'));
      const outcome = await sender({ maxResponseBytes: 9 }).send({ ...EVENT, url: r.url });
      expect(outcome.body).to.equal('bad\uFFFDinput');
    });
  });

  describe('connections that fail', () => {
    it('reports a refused connection as connection_failed', async () => {
      const r = await receiver(() => undefined);
      await r.close();
      const outcome = await sender().send({ ...EVENT, url: r.url });
      expect(answered(outcome)).to.deep.equal({ status: null, retryAfterMs: null, body: null, error: 'connection_failed' });
    });

    it('reports a failed TLS handshake as connection_failed', async () => {
      const r = await receiver((_req, res) => res.writeHead(200).end());
      const outcome = await sender().send({ ...EVENT, url: `https://127.0.0.1:${r.port}/` });
      expect(outcome.error).to.equal('connection_failed');
      expect(r.received).to.have.length(0);
    });

    it('reports what cannot be sent at all as connection_failed rather than throwing', async () => {
      const s = sender();
      expect((await s.send({ ...EVENT, url: 'not a url' })).error).to.equal('connection_failed');
      expect((await s.send({ ...EVENT, url: 'ftp://127.0.0.1/' })).error).to.equal('connection_failed');
      const r = await receiver((_req, res) => res.writeHead(200).end());
      expect((await s.send({ ...EVENT, url: r.url, headers: { 'webhook-id': 'msg_1\r\nx-injected: 1' } })).error).to.equal('connection_failed');
      expect(r.received).to.have.length(0);
    });
  });

  describe('private targets not allowed', () => {
    it('refuses an IP literal on loopback before connecting', async () => {
      const r = await receiver((_req, res) => res.writeHead(200).end());
      const s = sender({ allowPrivate: false });
      for (const url of [r.url, `http://[::1]:${r.port}/`, `http://[::ffff:127.0.0.1]:${r.port}/`]) {
        expect(answered(await s.send({ ...EVENT, url })), url).to.deep.equal({ status: null, retryAfterMs: null, body: null, error: 'address_not_allowed' });
      }
      expect(r.connections()).to.equal(0);
    });

    it('refuses a name resolving to loopback at connect time, through the guarded lookup', async () => {
      const r = await receiver((_req, res) => res.writeHead(200).end());
      const outcome = await sender({ allowPrivate: false }).send({ ...EVENT, url: `http://localhost:${r.port}/` });
      expect(answered(outcome)).to.deep.equal({ status: null, retryAfterMs: null, body: null, error: 'address_not_allowed' });
      expect(r.connections()).to.equal(0);
    });

    it('reaches the same name when private targets are allowed', async () => {
      const r = await receiver((_req, res) => res.writeHead(200).end());
      const outcome = await sender({ allowPrivate: true }).send({ ...EVENT, url: `http://localhost:${r.port}/` });
      expect(outcome.status).to.equal(200);
      expect(r.received).to.have.length(1);
    });
  });
});
