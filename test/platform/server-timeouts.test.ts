/**
 * A slow client cannot hold a connection: headers that trickle in past the headers timeout, or a
 * body past the request timeout, get 408 and the connection closed; an idle kept-alive connection
 * is closed after the keep-alive timeout. Measured here with short timeouts (the defaults are 10 s,
 * 30 s and 65 s); the durations are bounds the server must beat, not benchmarks.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createApiServer } from '../../src/platform/http/server.js';
import type { Server } from 'node:http';

/** Writes `parts` with `gapMs` between them and resolves with what the server sent, once it closes. */
function trickle(port: number, parts: string[], gapMs: number): Promise<{ response: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let response = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => (response += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closedAfterMs: Date.now() - started });
    });
    let i = 0;
    const next = () => {
      if (socket.destroyed) return;
      if (i < parts.length) socket.write(parts[i++]!);
      timer = setTimeout(next, gapMs);
    };
    socket.on('connect', next);
    setTimeout(() => reject(new Error('the server never closed the connection')), 10_000).unref();
  });
}

describe('server timeouts', function () {
  this.timeout(20_000);
  let server: Server;
  let port: number;

  before(async () => {
    const app = express();
    app.use(express.json());
    app.all('/echo', (req, res) => res.json({ got: req.body ?? null }));
    // A body cut off by the timeout reaches the error handler as "request aborted": nothing to send.
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.end());
    server = createApiServer(app, { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 1_000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers headers that never finish with 408 and closes, within about the headers timeout', async () => {
    const parts = ['GET /echo HTTP/1.1\r\n', 'Host: x\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: y\r\n`)];
    const { response, closedAfterMs } = await trickle(port, parts, 200);
    expect(response).to.match(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).to.be.below(3_000);
  });

  it('answers a body that never finishes with 408 and closes, within about the request timeout', async () => {
    const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const { response, closedAfterMs } = await trickle(port, [head, ...Array.from({ length: 60 }, () => ' ')], 100);
    expect(response).to.match(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).to.be.below(4_500);
  });

  it('closes an idle kept-alive connection after the keep-alive timeout', async () => {
    const { response, closedAfterMs } = await trickle(port, ['GET /echo HTTP/1.1\r\nHost: x\r\n\r\n'], 60_000);
    expect(response).to.match(/^HTTP\/1\.1 200 /);
    expect(response).to.match(/Keep-Alive: timeout=1/i);
    expect(closedAfterMs).to.be.within(900, 3_000);
  });
});
