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
  if (format === 'json') return destination ? pino(options, destination) : pino(options);
  // In this thread rather than as a transport worker: a development server's log volume is small,
  // and lines stay in order with the start-up banner.
  return pino(options, PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, destination }));
}
