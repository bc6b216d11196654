/**
 * The HTTP server the API listens with, its timeouts set on purpose rather than left at Node's
 * defaults (a client may take 60 s to send its headers and 300 s to send a request):
 * - `headersTimeout`: the request line and headers must arrive within it (slowloris);
 * - `requestTimeout`: the whole request, body included, must arrive within it — a 64 KiB body
 *   needs nowhere near it;
 * - `keepAliveTimeout`: an idle kept-alive connection is closed after it; longer than a load
 *   balancer's idle timeout (commonly 60 s), so the balancer, not Remit, closes idle connections
 *   and never sends a request on one Remit has just closed.
 * Node checks the first two every `connectionsCheckingInterval`, which is set to a fraction of
 * them so they hold to within about a second.
 */
import { createServer, type RequestListener, type Server } from 'node:http';

export interface ServerTimeouts {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export function createApiServer(app: RequestListener, timeouts: ServerTimeouts): Server {
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeouts.headersTimeoutMs / 4))),
    },
    app,
  );
  return server;
}
