/**
 * What every request leaves behind, written once when its response is done (or its connection
 * closed first): one log line, and the request's metrics.
 *
 * The log line holds the request id, the method as sent (HEAD stays HEAD, though served as GET),
 * the path with the names of its query parameters but not their values, which may be personal
 * data (`?email=…`), the status, the time taken, and what the stages found out on the way: the
 * operation, the calling account, the problem code, the client's retry count, what the request's
 * idempotency key did and whether the answer was a replay. A 503 is a warning, any other 5xx an
 * error; the cause of a 5xx is logged by the problem handler, keyed by the same request id. No
 * header, credential or body is ever in it, and the logger's redaction stays on for everything else.
 *
 * The stages report through `res.locals` (`observed(res)`), so the one `close` listener here is all
 * a request costs: no per-request child logger, no second listener for the metrics.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger.js';
import { statusClass, type IdempotencyOutcome, type Metrics } from '../metrics.js';
import type { PolicyName } from '../rate-limit.js';
import type { Principal } from './handlers.js';
import { matchedOperationId } from './matched.js';

/** What the stages of a request learn about it, for its log line and its metrics. */
export interface Observed {
  /** The operation, when it is not found from the validator's match (the pages' files: `static`). */
  operation?: string;
  /** The problem code of an error answer. */
  code?: string;
  /** The quotas that refused a 429. */
  rateLimitedBy?: readonly PolicyName[];
  /** What the request's idempotency key did. */
  idempotency?: IdempotencyOutcome;
}

/** The request's record, for the stages to fill in. */
export function observed(res: Response): Observed {
  return ((res.locals.observed as Observed | undefined) ??= {});
}

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

/** The methods counted under their own name; anything else is `other`, so the label stays bounded. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The client's attempt number from `Remit-Retry-Count` (0 for a first attempt or none sent); null when malformed. */
export function retryCountOf(req: Request): number | null {
  // A string as sent, or the number the validator coerced it to once the operation was matched.
  const value: unknown = req.headers['remit-retry-count'];
  if (value === undefined) return 0;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 999 ? value : null;
  return typeof value === 'string' && /^[0-9]{1,3}$/.test(value) ? Number(value) : null;
}

function accountOf(res: Response): string | null {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) return null;
  return principal.kind === 'api_key' || principal.kind === 'oauth' ? principal.accountId : principal.kind === 'admin' ? 'admin' : null;
}

/** The value of `Idempotent-Replayed`, for operations that send it. */
function replayedOf(res: Response): boolean | null {
  const value = res.getHeader('idempotent-replayed');
  return value === undefined ? null : value === 'true';
}

export function observe(log: Logger, metrics?: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    // Read now: the routers below rewrite HEAD to GET and strip mount prefixes from the URL.
    const method = req.method;
    const url = req.originalUrl;
    metrics?.httpInFlight.inc();
    res.once('close', () => {
      const elapsedMs = performance.now() - started;
      const status = res.statusCode;
      const seen = (res.locals.observed as Observed | undefined) ?? {};
      const operation = matchedOperationId(req) ?? seen.operation ?? 'unmatched';
      const retryCount = retryCountOf(req);
      if (metrics) {
        metrics.httpInFlight.dec();
        metrics.httpRequests.inc({ operation, method: METHODS.has(method) ? method : 'other', status_class: statusClass(status), code: seen.code ?? '' });
        metrics.httpDuration.observe({ operation }, elapsedMs / 1000);
        if (retryCount) metrics.httpRetried.inc({ operation });
        if (status === 429) for (const policy of seen.rateLimitedBy ?? []) metrics.rateLimited.inc({ policy });
      }
      const level = status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';
      if (!log.isLevelEnabled(level)) return;
      const line = {
        req: { id: res.locals.requestId as string, method, url: withoutQueryValues(url) },
        res: { statusCode: status },
        responseTime: Math.round(elapsedMs),
        operationId: operation,
        account: accountOf(res),
        code: seen.code ?? null,
        retryCount,
        idempotency: seen.idempotency ?? null,
        replayed: replayedOf(res),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      log[level](line, res.writableFinished ? 'request completed' : 'request aborted');
    });
    next();
  };
}
