/**
 * Listens an app on a real socket (127.0.0.1, a free port), for tests whose requests must really
 * overlap: supertest would serialise nothing, but it also hides whether the server copes with many
 * open connections at once.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  /** e.g. `http://127.0.0.1:54321`, without a trailing slash. */
  readonly url: string;
  /** Stops listening and ends every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

export async function listen(app: RequestListener): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export interface JsonReply {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** One JSON request over a real socket; the body is parsed whatever the status. */
export async function sendJson(
  url: string,
  options: { method?: string; secret: string; key?: string; body?: unknown; signal?: AbortSignal },
): Promise<JsonReply> {
  const headers: Record<string, string> = { Authorization: `Bearer ${options.secret}` };
  if (options.key !== undefined) headers['Idempotency-Key'] = options.key;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method: options.method ?? 'POST',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}

/** How many replies had each status, e.g. `{ 201: 5, 429: 15 }`. */
export function countStatuses(replies: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of replies) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
