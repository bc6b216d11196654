/**
 * A scripted HTTP server on 127.0.0.1 for the SDK's unit tests: each request gets the next step of
 * the script (a status with headers and a body, after an optional delay; a hang; a dropped
 * connection), and the last step repeats once the script runs out. Every request is recorded, so
 * a test counts attempts and reads the headers each one carried.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Step =
  | {
      readonly status: number;
      readonly headers?: Record<string, string>;
      /** An object is sent as JSON; a string as it is. */
      readonly body?: unknown;
      /** Wait this long before answering. */
      readonly delayMs?: number;
    }
  /** Read the request, then never answer (until the server closes). */
  | { readonly hang: true }
  /** Read the request, then destroy the connection without a byte of answer. */
  | { readonly drop: true }
  /** Send the status line, the headers and part of the body, then destroy the connection. */
  | { readonly dropMidBody: true }
  /** Send the status line, the headers and part of the body, then nothing more (until the server closes). */
  | { readonly stallMidBody: true };

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export interface FaultServer {
  /** e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Replaces the script and forgets the requests recorded so far. */
  script(...steps: Step[]): void;
  close(): Promise<void>;
}

/** A problem+json answer as the API sends it. */
export function problem(status: number, code: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Step {
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: { type: `https://remit.dev/problems/${code}`, title: code, status, detail: `scripted ${code}`, code, request_id: 'req_from_body', ...extra },
  };
}

export async function startFaultServer(): Promise<FaultServer> {
  let steps: Step[] = [{ status: 200, body: {} }];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let served = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const step = steps[Math.min(requests.length - 1, steps.length - 1)]!;
      served += 1;
      if ('hang' in step) {
        hanging.add(res);
        return;
      }
      if ('drop' in step) {
        req.socket.destroy();
        return;
      }
      if ('dropMidBody' in step || 'stallMidBody' in step) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":');
        if ('dropMidBody' in step) setTimeout(() => req.socket.destroy(), 5);
        else hanging.add(res);
        return;
      }
      const send = () => {
        const body = step.body === undefined ? '' : typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
        res.writeHead(step.status, {
          'request-id': `req_fault_${served}`,
          ...(typeof step.body === 'object' ? { 'content-type': 'application/json' } : {}),
          ...step.headers,
        });
        res.end(body);
      };
      if (step.delayMs) setTimeout(send, step.delayMs);
      else send();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(...next) {
      if (next.length === 0) throw new Error('a script needs at least one step');
      steps = next;
      requests.length = 0;
      served = 0;
    },
    close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
