/**
 * A stand-in for an external card processor: spec/processor.proto served over gRPC (HTTP/2) and
 * the Connect protocol (JSON over HTTP/1.1) on one port, with its own idempotency keys and charge
 * state machine, plus injectable latency, errors, dropped calls and hangs, so the API's processor
 * adapter can be exercised against the failures a real network produces, over either protocol.
 * The report (`ListTransactions`) in JSON is written here rather than by Connect, so that its
 * 64-bit integers are numbers and its drift settings can change it; its handler is the one gRPC
 * calls.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { create, fromJson } from '@bufbuild/protobuf';
import { Code, ConnectError, createContextValues, createHandlerContext } from '@connectrpc/connect';
import { codeToHttpStatus, errorToJson, parseTimeout } from '@connectrpc/connect/protocol-connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { ListTransactionsRequestSchema, ListTransactionsResponseSchema, ProcessorService, ReportDrift, type ListTransactionsRequest } from '../../../generated/processor/processor_pb.js';
import type { Logger } from '../../platform/logger.js';
import { FaultInjector, type FaultSettings, type FaultSettingsPatch } from './faults.js';
import { Ledger, type LedgerSnapshot } from './ledger.js';
import { previousTransaction, reportJson } from './report.js';
import { createServices, rawRequestKey, registerServices } from './service.js';

export type { FaultSettings, FaultSettingsPatch } from './faults.js';
export { FaultSettingsError } from './faults.js';
export type { Charge, Refund, LedgerSnapshot, Operation, ReportCall, SimulatorStats, Transaction } from './ledger.js';

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

const REPORT = ProcessorService.method.listTransactions;
const REPORT_PATH = `/${ProcessorService.typeName}/${REPORT.name}`;
/** A report request is a few fields; a body beyond this is not one. */
const REPORT_BODY_MAX = 64 * 1024;

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/** A unary call of the report in the Connect protocol's JSON, uncompressed: the form written by hand. */
function isReportJson(req: NodeRequest): boolean {
  return (
    req.method === 'POST' &&
    (req.url ?? '').split('?', 1)[0] === REPORT_PATH &&
    /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '') &&
    (req.headers['content-encoding'] ?? 'identity') === 'identity'
  );
}

/** The request's headers as Fetch's `Headers`, without HTTP/2's pseudo-headers. */
function headersOf(req: NodeRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function readBody(req: NodeRequest): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > REPORT_BODY_MAX) throw new ConnectError(`The request is larger than ${REPORT_BODY_MAX} bytes.`, Code.InvalidArgument);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

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
  const services = createServices({ ledger, faults, controlTokenHash: createHash('sha256').update(controlToken).digest(), reset, sleep, ...(log ? { log } : {}) });
  const handler = connectNodeAdapter({
    routes: (router) => registerServices(router, services),
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
    if (isReportJson(req)) {
      serveReportJson(req, res).catch((err: unknown) => {
        log?.error({ err }, 'report answer failed');
        if (!res.headersSent) send(res, 500, JSON.stringify({ code: 'internal', message: 'The report could not be answered.' }));
        else res.destroy();
      });
      return;
    }
    handler(req as never, res as never);
  }

  /**
   * The report in the Connect protocol's JSON: decoded as Connect would, answered by the same
   * handler as over gRPC (its throttle, latency and faults included), and written with 64-bit
   * integers as numbers and the drift in force. Errors are the Connect protocol's JSON errors.
   */
  async function serveReportJson(req: NodeRequest, res: NodeResponse): Promise<void> {
    let request: ListTransactionsRequest;
    let timeoutMs: number | undefined;
    try {
      const timeout = parseTimeout(headersOf(req).get('connect-timeout-ms'), Number.MAX_SAFE_INTEGER);
      if (timeout.error) throw timeout.error;
      timeoutMs = timeout.timeoutMs;
      const text = await readBody(req);
      try {
        request = fromJson(ListTransactionsRequestSchema, JSON.parse(text) as never, { ignoreUnknownFields: true });
      } catch (err) {
        throw new ConnectError(`The request is not a ListTransactionsRequest in JSON: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument);
      }
    } catch (err) {
      const error = ConnectError.from(err, Code.InvalidArgument);
      sendJson(res, codeToHttpStatus(error.code), new Headers(error.metadata), errorToJson(error, undefined));
      return;
    }

    // The caller leaving ends the call as it does one Connect serves.
    const left = new AbortController();
    res.once('close', () => {
      if (!res.writableEnded) left.abort();
    });
    const ctx = createHandlerContext({
      service: ProcessorService,
      method: REPORT,
      protocolName: 'connect',
      requestMethod: 'POST',
      url: `http://${req.headers.host ?? 'localhost'}${req.url ?? REPORT_PATH}`,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      requestSignal: left.signal,
      requestHeader: headersOf(req),
      contextValues: createContextValues().set(rawRequestKey, req),
    });
    try {
      const page = create(ListTransactionsResponseSchema, await services.processor.listTransactions!(request, ctx));
      const drift = faults.settings.reportDrift;
      const previous = drift === ReportDrift.REPEATED_ITEM ? previousTransaction(ledger, request) : undefined;
      sendJson(res, 200, ctx.responseHeader, reportJson(page, drift, previous));
    } catch (err) {
      const error = ConnectError.from(err);
      error.metadata.forEach((value, name) => ctx.responseHeader.set(name, value));
      sendJson(res, codeToHttpStatus(error.code), ctx.responseHeader, errorToJson(error, undefined));
    } finally {
      ctx.abort();
    }
  }

  function sendJson(res: NodeResponse, status: number, headers: Headers, body: unknown): void {
    // A dropped call's stream or connection is gone: there is no one to answer.
    const out = res as ServerResponse;
    const transport = 'stream' in res ? res.stream : out.socket;
    if (out.writableEnded || out.destroyed || !transport || transport.destroyed) return;
    const text = JSON.stringify(body);
    out.writeHead(status, { ...Object.fromEntries(headers), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    out.end(text);
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
