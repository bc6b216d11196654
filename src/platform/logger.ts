import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * Logs on stdout: JSON lines for machines (the default wherever stdout is not a terminal, and in
 * production), or one readable line per event for a person at a terminal (`LOG_FORMAT=pretty`).
 * Credentials never reach a log line: the auth header and any secret are redacted in both formats.
 */
export function createLogger(level: string, format: LogFormat = 'json', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'remit' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.secret', '*.adminToken'],
      censor: '[redacted]',
    },
  };
  // Asynchronous on stdout: a line is handed to the kernel in the background, and lines logged while
  // a write is in flight go out together in the next one, so a busy server does not make one
  // blocking write per request on its event loop. What is still buffered is flushed when the
  // process exits (pino does this for its own destinations), including after a fatal error.
  if (format === 'json') return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
  // In this thread rather than as a transport worker: a development server's log volume is small,
  // and lines stay in order with the start-up banner.
  return pino(options, PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, destination }));
}
