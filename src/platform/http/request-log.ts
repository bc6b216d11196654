/**
 * One log line per request, written when its response is done (or its connection closed first):
 * the request id, the method as sent (HEAD stays HEAD, though served as GET), the path with the
 * names of its query parameters but not their values, which may be personal data (`?email=…`),
 * the status and the time taken. A 503 is a warning, any other 5xx an error; the cause of a 5xx is
 * logged by the problem handler, keyed by the same request id.
 *
 * One listener and one call to the logger per request: no per-request child logger is built, so a
 * line costs what writing it costs. Credentials are never in it (no headers are logged), and the
 * logger's redaction stays on for everything else.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

/**
 * A request URL as the log keeps it: the path and the names of the query parameters, not their
 * values, which may be personal data (`?email=…` filters a customer list).
 */
export function withoutQueryValues(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const names = url
    .slice(at + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]}=…`);
  return `${url.slice(0, at)}?${names.join('&')}`;
}

export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    // Read now: the routers below rewrite HEAD to GET and strip mount prefixes from the URL.
    const method = req.method;
    const url = req.originalUrl;
    res.once('close', () => {
      const status = res.statusCode;
      const level = status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';
      if (!log.isLevelEnabled(level)) return;
      const line = {
        req: { id: res.locals.requestId as string, method, url: withoutQueryValues(url) },
        res: { statusCode: status },
        responseTime: Math.round(performance.now() - started),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      log[level](line, res.writableFinished ? 'request completed' : 'request aborted');
    });
    next();
  };
}
