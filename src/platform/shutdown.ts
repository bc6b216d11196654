/**
 * Graceful shutdown: on SIGTERM the process first reports not-ready (so a load balancer stops
 * sending traffic), stops accepting connections, lets in-flight requests finish, then closes the
 * pools. A deadline bounds the whole thing so a stuck request cannot keep the process alive.
 */
import type { Server } from 'node:http';
import type { Logger } from './logger.js';

export class Lifecycle {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  startDraining(): void {
    this.#draining = true;
  }
}

export interface ShutdownOptions {
  readonly server: Server;
  readonly lifecycle: Lifecycle;
  readonly log: Logger;
  readonly timeoutMs: number;
  /** Releases dependencies (database pools, clients) once no request is running. */
  readonly close: () => Promise<void>;
}

/** Drains and closes; resolves true when every request finished before the deadline. */
export async function shutdown({ server, lifecycle, log, timeoutMs, close }: ShutdownOptions): Promise<boolean> {
  lifecycle.startDraining();
  log.info({ timeoutMs }, 'shutting down: draining in-flight requests');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections with no request in flight would hold close() open; in-flight ones
  // get `Connection: close` on their response and end after it.
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([closed.then(() => 'drained' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.warn('shutdown deadline reached: closing remaining connections');
    server.closeAllConnections();
  }
  await close();
  log.info({ outcome }, 'shutdown complete');
  return outcome === 'drained';
}

/**
 * On the first SIGTERM or SIGINT, runs `stop` once and exits: 0 when it resolves true, 1 when it
 * resolves false (a deadline was missed) or fails. Later signals are ignored while it runs.
 */
export function exitOnSignal(log: Logger, stop: () => Promise<boolean>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    stop()
      .then((clean) => process.exit(clean ? 0 : 1))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
