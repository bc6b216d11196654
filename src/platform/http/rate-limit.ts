/**
 * Rate limits at the HTTP edge, in two places:
 *
 * - Before any credential is looked up, a client address that has failed authentication too
 *   often is refused from this process's memory (`auth` policy), so a flood of bad keys never
 *   reaches the database. Failed attempts are what is counted; a client with valid keys is not.
 * - After authentication, each request is counted against its principal's budget: `read` (GET) or
 *   `write` (anything else) per API key, `admin` for the admin token, `ops` per client address for
 *   the unauthenticated operational endpoints.
 *
 * Every counted response carries `RateLimit-Policy` and `RateLimit` in the syntax of the IETF
 * httpapi ratelimit-headers draft (draft-ietf-httpapi-ratelimit-headers-09 §3, §4):
 *   RateLimit-Policy: "write";q=200;w=10
 *   RateLimit: "write";r=0;t=7
 * and a refusal is a 429 `rate_limited` problem with `Retry-After` in seconds (RFC 9110 §10.2.3).
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.js';
import type { Decision, PolicyName, RateLimits } from '../rate-limit.js';
import type { Principal } from './handlers.js';

const WINDOW_WORDS: ReadonlyArray<[number, string]> = [
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

function describeWindow(windowS: number): string {
  const [unit, word] = WINDOW_WORDS.find(([u]) => windowS % u === 0)!;
  const n = windowS / unit;
  return n === 1 ? word : `${n} ${word}s`;
}

export function rateLimitHeaders(decision: Decision): Record<string, string> {
  return {
    'RateLimit-Policy': `"${decision.policy}";q=${decision.quota.points};w=${decision.quota.windowS}`,
    RateLimit: `"${decision.policy}";r=${decision.remaining};t=${decision.resetS}`,
  };
}

/** What ran out, in the words of the 429's detail. */
const BUDGETS: Record<PolicyName, (points: number, window: string) => string> = {
  read: (n, w) => `This API key has used its ${n} read requests per ${w}`,
  write: (n, w) => `This API key has used its ${n} write requests per ${w}`,
  admin: (n, w) => `The admin token has used its ${n} requests per ${w}`,
  ops: (n, w) => `This address has used its ${n} requests per ${w}`,
  auth: (n, w) => `This address has failed authentication ${n} times in a ${w}`,
};

function tooManyRequests(decision: Decision, reason?: string): AppError {
  const retryAfterS = Math.max(1, decision.resetS);
  const budget = reason ?? BUDGETS[decision.policy](decision.quota.points, describeWindow(decision.quota.windowS));
  return new AppError('rate_limited', `${budget}. Retry after ${retryAfterS} second${retryAfterS === 1 ? '' : 's'}.`, {
    headers: { ...rateLimitHeaders(decision), 'Retry-After': String(retryAfterS) },
  });
}

/**
 * The address a client's per-address limits are counted under: `req.ip` (which honours the
 * app's `trust proxy` setting), IPv4-mapped IPv6 as IPv4, and IPv6 by its /64 — a single host is
 * routinely given a whole /64, and counting per address would let it rotate past any limit.
 */
export function clientAddress(req: Request): string {
  const raw = req.ip ?? req.socket.remoteAddress ?? '';
  if (!ipaddr.isValid(raw)) return raw || 'unknown';
  const addr = ipaddr.process(raw);
  if (addr.kind() === 'ipv4') return addr.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/64`).toString()}/64`;
}

function apply(res: Response, decision: Decision): void {
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
}

/** The authentication guard's hooks (see `authenticate`). */
export interface AuthThrottle {
  /**
   * Admits a credential check from this client's address, or throws 429 when the address is known
   * to have failed too often or already has its allowance of checks in flight. No I/O. The caller
   * must call the returned function when the check is over.
   */
  admit(req: Request): Promise<() => void>;
  /** Counts a failed authentication; the 401 that follows carries the `auth` policy's fields. */
  failed(req: Request, res: Response): Promise<void>;
}

/**
 * Failures are counted once a lookup has failed, so a flood sent all at once could otherwise pass
 * the check together before the first failure is counted. Each process therefore also caps the
 * credential checks in flight per address at the failure allowance: a lookup takes about a
 * millisecond, so a legitimate client never has that many at once, and a flood of bad keys reaches
 * the database at most twice the allowance per process.
 */
export function authThrottle(limits: RateLimits): AuthThrottle {
  const quota = limits.quota('auth');
  const inFlight = new Map<string, number>();
  return {
    async admit(req) {
      const address = clientAddress(req);
      const refused = await limits.refusedLocally('auth', address);
      if (refused) throw tooManyRequests(refused);
      const current = inFlight.get(address) ?? 0;
      if (current >= quota.points) {
        throw tooManyRequests({ policy: 'auth', quota, allowed: false, remaining: 0, resetS: 1, shared: false }, `This address has ${current} authentications in progress at once`);
      }
      inFlight.set(address, current + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (inFlight.get(address) ?? 1) - 1;
        if (left <= 0) inFlight.delete(address);
        else inFlight.set(address, left);
      };
    },
    async failed(req, res) {
      apply(res, await limits.consume('auth', clientAddress(req)));
    },
  };
}

function policyFor(principal: Principal, method: string, req: Request): [PolicyName, string] {
  switch (principal.kind) {
    case 'api_key':
      return [method === 'GET' || method === 'HEAD' ? 'read' : 'write', principal.keyId];
    case 'admin':
      return ['admin', 'admin'];
    case 'anonymous':
      return ['ops', clientAddress(req)];
  }
}

/** Counts the request against its principal's budget; runs right after authentication. */
export function limitRequests(limits: RateLimits): RequestHandler {
  return async (req, res, next) => {
    const [policy, subject] = policyFor((res.locals.principal as Principal | undefined) ?? { kind: 'anonymous' }, req.method, req);
    const decision = await limits.consume(policy, subject);
    if (!decision.allowed) throw tooManyRequests(decision);
    apply(res, decision);
    next();
  };
}

/**
 * For answers no operation counted: a path or method the spec does not have (404, 405), and the
 * reference page's static assets. They are counted against the address's `ops` budget, in this
 * process's memory like every `ops` decision, so they carry the rate-limit fields every response
 * promises and a scan of unknown paths is throttled like any other anonymous traffic.
 */
export function limitAnonymous(limits: RateLimits): RequestHandler {
  return async (req, res, next) => {
    const decision = await limits.consume('ops', clientAddress(req));
    if (!decision.allowed) throw tooManyRequests(decision);
    apply(res, decision);
    next();
  };
}

/** The error-path twin of `limitAnonymous`: counts an error answer that nothing has counted yet. */
export function limitUncountedErrors(limits: RateLimits): ErrorRequestHandler {
  return async (err, req, res, next) => {
    if (res.headersSent || res.hasHeader('RateLimit')) return next(err);
    const decision = await limits.consume('ops', clientAddress(req));
    if (!decision.allowed) return next(tooManyRequests(decision));
    apply(res, decision);
    next(err);
  };
}
