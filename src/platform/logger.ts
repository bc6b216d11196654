import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout. Credentials never reach a log line: the auth header and any secret are redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'remit' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.secret', '*.adminToken'],
      censor: '[redacted]',
    },
  });
}
