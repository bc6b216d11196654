/**
 * A stand-in for an external card processor: spec/processor.proto served over gRPC (HTTP/2) and
 * the Connect protocol (JSON over HTTP/1.1) on one port, with its own idempotency keys and charge
 * state machine, plus injectable latency, errors, dropped calls and hangs, so the API's processor
 * adapter can be exercised against the failures a real network produces, over either protocol.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from '../../platform/logger.js';
import { FaultInjector, type FaultSettings, type FaultSettingsPatch } from './faults.js';
import { Ledger, type LedgerSnapshot } from './ledger.js';
import { rawRequestKey, registerServices } from './service.js';

export type { FaultSettings, FaultSettingsPatch } from './faults.js';
export { FaultSettingsError } from './faults.js';
export type { Charge, Refund, LedgerSnapshot, Operation, SimulatorStats } from './ledger.js';

export interface ProcessorSimulator {
  /** Where the simulator listens, e.g. `http://127.0.0.1:54321`: gRPC and the Connect protocol alike. */
  readonly url: string;
  /** The bearer token `SimulatorControlService` requires. */
  readonly controlToken: string;
  /** The same as `SimulatorControlService.GetLedger`. */
  ledger(): LedgerSnapshot;
  /** Merges into the current settings and returns them in full; throws FaultSettingsError when invalid. */
  setFaults(f: FaultSettingsPatch): FaultSettings;
  /** Clears the ledger, the stats and the idempotency records, and restores the default fault settings. */
  reset(): void;
  /** Stops listening and ends every connection, hanging calls included. */
  close(): Promise<void>;
}

export interface SimulatorOptions {
  port?: number;
  /** Loopback unless told otherwise: the simulator is a development tool, not a network service. */
  host?: string;
  /** The token of `SimulatorControlService` (every charge, faults, reset); generated when absent. */
  controlToken?: string;
  faults?: FaultSettingsPatch;
  log?: Logger;
}

/** The first bytes of every HTTP/2 connection without TLS (RFC 9113 §3.4): how one port serves both. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export async function startProcessorSimulator(options: SimulatorOptions = {}): Promise<ProcessorSimulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const ledger = new Ledger();
  const faults = new FaultInjector(options.faults);

  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  const waits = new Set<() => void>();

  /** Waits `ms`, or less when `signal` aborts or the simulator closes. */
  function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waits.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waits.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  const controlToken = options.controlToken ?? randomBytes(24).toString('hex');
  const handler = connectNodeAdapter({
    routes: (router) =>
      registerServices(router, { ledger, faults, controlTokenHash: createHash('sha256').update(controlToken).digest(), reset, sleep, ...(log ? { log } : {}) }),
    contextValues: (req) => createContextValues().set(rawRequestKey, req),
    // A field added to the contract must not break a caller that sends it to an older simulator:
    // in JSON as in binary, unknown fields are skipped, not refused.
    jsonOptions: { ignoreUnknownFields: true },
    // Binary and JSON, gRPC, gRPC-Web and Connect: every protocol Connect serves, from one handler set.
    fallback: (req, res) => notFound(req as IncomingMessage, res as ServerResponse),
  });

  /** `GET /health` outside the contract, for health checks: no token, never faulted. */
  function route(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      send(res, 200, req.method === 'HEAD' ? '' : '{"status":"ok"}');
      return;
    }
    handler(req as never, res as never);
  }

  function notFound(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    send(res, 404, JSON.stringify({ code: 'unimplemented', message: `No route for ${req.method ?? ''} ${req.url ?? ''}.` }));
  }

  function send(res: ServerResponse | Http2ServerResponse, status: number, body: string): void {
    // The two response classes share these methods, not a type that TypeScript can call them through.
    const out = res as ServerResponse;
    out.writeHead(status, { 'content-type': 'application/json' });
    out.end(body);
  }

  const http1 = createHttpServer(route);
  // No limit on streams per connection beyond Node's default: one gRPC channel carries every call.
  const http2Server = createHttp2Server(route);
  http2Server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  // One port for both: a connection that opens with the HTTP/2 preface is HTTP/2 with prior
  // knowledge (gRPC without TLS); anything else is HTTP/1.1.
  const server: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Read until the bytes either leave the preface or complete it: a first chunk of `P` could
    // still be `POST`. Whatever was read goes back for the server that takes the connection.
    let head = Buffer.alloc(0);
    const sniff = () => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) head = Buffer.concat([head, chunk]);
      const seen = head.subarray(0, HTTP2_PREFACE.length);
      const onPreface = HTTP2_PREFACE.subarray(0, seen.length).equals(seen);
      if (onPreface && seen.length < HTTP2_PREFACE.length) return; // undecided: wait for more
      socket.off('readable', sniff);
      socket.off('end', ended);
      socket.unshift(head);
      (onPreface ? http2Server : http1).emit('connection', socket);
    };
    const ended = () => socket.destroy();
    socket.on('readable', sniff);
    socket.once('end', ended);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;

  function reset(): void {
    ledger.reset();
    faults.reset();
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      for (const done of [...waits]) done();
      server.close(() => resolve());
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });
    return closing;
  }

  return {
    url,
    controlToken,
    ledger: () => ledger.snapshot(),
    setFaults: (f) => faults.update(f),
    reset,
    close,
  };
}
