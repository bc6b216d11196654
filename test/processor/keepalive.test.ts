/**
 * Idle gRPC channels and servers that police PINGs. gRPC Core servers (Go's and Java's behave
 * alike) allow by default one PING per 5 minutes without data, and none at all on a connection
 * without calls (`grpc.keepalive_permit_without_calls` 0); past `grpc.http2.max_ping_strikes` (2)
 * offences they send GOAWAY ENHANCE_YOUR_CALM `too_many_pings` and close the connection, failing
 * whatever was on it. @grpc/grpc-js as a server does not enforce this, so the server here is a
 * node:http2 server that serves ProcessorService over gRPC with Connect's handler and applies
 * Core's rule itself, counting every PING it receives.
 *
 * The adapter must keep its channel through idle spells: it pings only while calls are in flight,
 * plus once before reusing a channel idle longer than its interval. A client that pings idle
 * connections is killed by the same server, which shows the test can tell the two apart.
 */
import { once } from 'node:events';
import { constants as http2, createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createClient } from '@connectrpc/connect';
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { expect } from 'chai';
import { ChargeStatus, ProcessorService } from '../../generated/processor/processor_pb.js';
import { createProcessorClient, type ProcessorClient } from '../../src/processor/client.js';

/** gRPC Core's server defaults for PINGs (doc/keepalive.md in grpc/grpc). */
const CORE_POLICY = {
  permitWithoutCalls: false,
  minPingIntervalWithoutDataMs: 300_000,
  /** What Core allows on a connection without calls when permitWithoutCalls is false: 2 hours. */
  idleIntervalMs: 7_200_000,
  maxPingStrikes: 2,
};

interface PolicingServer {
  readonly url: string;
  /** Connections opened. */
  sessions: number;
  /** PINGs received, and of those, how many arrived on a connection without calls. */
  pings: number;
  idlePings: number;
  /** GOAWAY frames sent, with their debug data. */
  readonly goaways: string[];
  close(): Promise<void>;
}

async function startPolicingServer(): Promise<PolicingServer> {
  const handler = connectNodeAdapter({
    grpc: true,
    connect: false,
    grpcWeb: false,
    routes: (router) =>
      router.service(ProcessorService, {
        createCharge: (req) => ({
          charge: { id: 'ch_keepalive00000000000', amount: req.amount, currency: req.currency, status: ChargeStatus.CAPTURED, amountCaptured: req.amount, idempotencyKey: req.idempotencyKey },
        }),
      }),
  });
  const server: Http2Server = createServer(handler);
  const open = new Set<ServerHttp2Session>();
  const state: PolicingServer = {
    url: '',
    sessions: 0,
    pings: 0,
    idlePings: 0,
    goaways: [],
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  server.on('session', (session: ServerHttp2Session) => {
    state.sessions += 1;
    open.add(session);
    session.once('close', () => open.delete(session));
    let calls = 0;
    let lastPingAt = -Infinity;
    let strikes = 0;
    let killed = false;
    session.on('stream', (stream) => {
      calls += 1;
      stream.once('close', () => {
        calls -= 1;
        // Core forgives a client whenever the server has sent it headers or data.
        lastPingAt = -Infinity;
        strikes = 0;
      });
    });
    session.on('ping', () => {
      if (killed) return;
      state.pings += 1;
      const idle = calls === 0;
      if (idle) state.idlePings += 1;
      const now = Date.now();
      const allowedAfter = lastPingAt + (idle && !CORE_POLICY.permitWithoutCalls ? CORE_POLICY.idleIntervalMs : CORE_POLICY.minPingIntervalWithoutDataMs);
      lastPingAt = now;
      if (now >= allowedAfter) return;
      strikes += 1;
      if (strikes <= CORE_POLICY.maxPingStrikes) return;
      killed = true;
      state.goaways.push('too_many_pings');
      session.goaway(http2.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      session.close();
    });
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `body`, then waits a little, collecting the uncaught errors meanwhile. Connect's
 * Http2SessionManager with `pingIdleConnection` keeps the PING timer of a connection that received
 * GOAWAY, and once Node has destroyed that connection the next tick of the timer throws
 * ERR_HTTP2_INVALID_SESSION outside any call: the misconfigured client below would otherwise fail
 * whichever test runs next. Remit's adapter does not ping idle connections and never meets it.
 */
async function catchingStrayPingErrors(body: () => Promise<void>): Promise<unknown[]> {
  const others = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const caught: unknown[] = [];
  const collect = (err: unknown) => caught.push(err);
  process.on('uncaughtException', collect);
  try {
    await body();
    await sleep(300);
  } finally {
    process.off('uncaughtException', collect);
    for (const listener of others) process.on('uncaughtException', listener);
  }
  return caught;
}
const CHARGE = { amount: 100, currency: 'usd', capture: true };

describe('gRPC keep-alive against a server that enforces PING limits', function () {
  this.timeout(10_000);
  let server: PolicingServer;
  let adapter: ProcessorClient | undefined;

  beforeEach(async () => {
    server = await startPolicingServer();
  });
  afterEach(async () => {
    adapter?.close();
    adapter = undefined;
    await server.close();
  });

  function remitAdapter(grpcKeepaliveMs: number): ProcessorClient {
    adapter = createProcessorClient({ url: server.url, protocol: 'grpc', grpcKeepaliveMs, timeoutMs: 2_000, maxRetries: 0, breakerThreshold: 5, breakerHalfOpenMs: 1_000 });
    return adapter;
  }

  it('keeps the adapter’s one channel, configured as Remit runs it, across idle spells and calls, without a PING', async () => {
    // 10 s is the smallest interval PROCESSOR_GRPC_KEEPALIVE_MS accepts.
    const c = remitAdapter(10_000);
    for (let i = 0; i < 3; i++) {
      if (i > 0) await sleep(1_500);
      const result = await c.createCharge(`pay_idle_${i}`, CHARGE);
      expect(result.ok, JSON.stringify(result)).to.equal(true);
    }
    expect({ sessions: server.sessions, pings: server.pings, goaways: server.goaways }).to.deep.equal({ sessions: 1, pings: 0, goaways: [] });
  });

  it('with an interval far shorter than its idle spells, the adapter pings once before reusing the channel, never while it sits idle', async () => {
    const c = remitAdapter(100);
    await c.createCharge('pay_short_0', CHARGE);
    for (let i = 1; i <= 3; i++) {
      // Six intervals of silence: a client pinging idle connections would send six PINGs here.
      await sleep(600);
      expect(server.pings, `after idle spell ${i}`).to.equal(i - 1);
      const result = await c.createCharge(`pay_short_${i}`, CHARGE);
      expect(result.ok, JSON.stringify(result)).to.equal(true);
    }
    // Each reuse after an idle spell was checked with exactly one PING, which the server accepted.
    expect({ sessions: server.sessions, pings: server.pings, goaways: server.goaways }).to.deep.equal({ sessions: 1, pings: 3, goaways: [] });
  });

  it('kills a client that pings its idle connection every 100 ms: GOAWAY too_many_pings, and its next call needs a new connection', async () => {
    const manager = new Http2SessionManager(server.url, { pingIntervalMs: 100, pingIdleConnection: true, pingTimeoutMs: 1_000 });
    const stray = await catchingStrayPingErrors(async () => {
      try {
        const client = createClient(ProcessorService, createGrpcTransport({ baseUrl: server.url, sessionManager: manager }));
        await client.createCharge({ idempotencyKey: 'pay_noisy_0', amount: 100n, currency: 'usd' });
        for (let i = 0; i < 100 && (server.goaways.length === 0 || manager.state() === 'idle'); i++) await sleep(20);
        expect(server.goaways).to.deep.equal(['too_many_pings']);
        // The first idle PING is allowed; the next three are strikes, and the third strike is too many.
        expect(server.idlePings).to.equal(CORE_POLICY.maxPingStrikes + 2);
        // The client saw it too: its connection ended with the server's reason.
        expect(manager.state()).to.equal('error');
        expect(String(manager.error())).to.match(/ENHANCE_YOUR_CALM.*too_many_pings/);

        const again = await client.createCharge({ idempotencyKey: 'pay_noisy_1', amount: 100n, currency: 'usd' });
        expect(again.charge!.idempotencyKey).to.equal('pay_noisy_1');
        expect(server.sessions).to.equal(2);
      } finally {
        manager.abort();
      }
    });
    expect(stray.map((e) => (e as { code?: unknown }).code).filter((code) => code !== 'ERR_HTTP2_INVALID_SESSION')).to.deep.equal([]);
  });
});
