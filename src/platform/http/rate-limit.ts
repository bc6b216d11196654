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
import { matchedOperationId } from './matched.js';
import { observed } from './observe.js';

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

/** Both fields for the quotas a request was counted in, one list item per quota (draft §3, §4). */
export function rateLimitHeaders(decisions: readonly Decision[]): Record<string, string> {
  return {
    'RateLimit-Policy': decisions.map((d) => `"${d.policy}";q=${d.quota.points};w=${d.quota.windowS}`).join(', '),
    RateLimit: decisions.map((d) => `"${d.policy}";r=${d.remaining};t=${d.resetS}`).join(', '),
  };
}

/** What ran out, in the words of the 429's detail; `holder` names the credential (`API key`, `OAuth client`). */
const BUDGETS: Record<PolicyName, (points: number, window: string, holder: string) => string> = {
  read: (n, w, holder) => `This ${holder} has used its ${n} read requests per ${w}`,
  write: (n, w, holder) => `This ${holder} has used its ${n} write requests per ${w}`,
  account_read: (n, w) => `This account has used its ${n} read requests per ${w}, across all its keys and clients`,
  account_write: (n, w) => `This account has used its ${n} write requests per ${w}, across all its keys and clients`,
  admin: (n, w) => `The admin token has used its ${n} requests per ${w}`,
  ops: (n, w) => `This address has used its ${n} requests per ${w}`,
  auth: (n, w) => `This address has failed authentication ${n} times in a ${w}`,
  token: (n, w) => `This address has asked for ${n} access tokens per ${w}`,
};

/**
 * The 429 for a request one or more of whose quotas refused it (`decisions` are all the quotas it
 * was counted in). It may be retried once every refusing quota has reset.
 */
function tooManyRequests(res: Response, decisions: readonly Decision[], reason?: string, holder = 'API key'): AppError {
  const refused = decisions.filter((d) => !d.allowed);
  observed(res).rateLimitedBy = refused.map((d) => d.policy);
  const retryAfterS = Math.max(1, ...refused.map((d) => d.resetS));
  const first = refused[0] ?? decisions[0]!;
  const budget = reason ?? BUDGETS[first.policy](first.quota.points, describeWindow(first.quota.windowS), holder);
  return new AppError('rate_limited', `${budget}. Retry after ${retryAfterS} second${retryAfterS === 1 ? '' : 's'}.`, {
    headers: { ...rateLimitHeaders(decisions), 'Retry-After': String(retryAfterS) },
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

function apply(res: Response, decisions: readonly Decision[]): void {
  for (const [name, value] of Object.entries(rateLimitHeaders(decisions))) res.setHeader(name, value);
}

/** The authentication guard's hooks (see `authenticate`). */
export interface AuthThrottle {
  /**
   * Admits a check of `credential` from this client's address, or throws 429 when the address is
   * known to have failed too often or already has its allowance of distinct credentials being
   * checked. No I/O. The caller must call the returned function when the check is over.
   */
  admit(req: Request, credential: string): Promise<() => void>;
  /** Counts a failed authentication; the 401 that follows carries the `auth` policy's fields. */
  failed(req: Request, res: Response): Promise<void>;
}

/**
 * Failures are counted once a lookup has failed, so a flood sent all at once could otherwise pass
 * the check together before the first failure is counted. Each process therefore also caps the
 * distinct credentials being checked at once per address at the failure allowance. Requests with
 * the same credential share one lookup (ApiKeyService.verify), so they take one place: fifty
 * connections opening at once with one valid key are not a flood, while a flood of distinct bad
 * keys reaches the database at most twice the allowance per process.
 */
export function authThrottle(limits: RateLimits): AuthThrottle {
  const quota = limits.quota('auth');
  /** Per address: the credentials being checked, with how many requests wait on each. */
  const inFlight = new Map<string, Map<string, number>>();
  return {
    async admit(req, credential) {
      const address = clientAddress(req);
      const refused = await limits.refusedLocally('auth', address);
      if (refused) throw tooManyRequests(req.res!, [refused]);
      const checks = inFlight.get(address) ?? new Map<string, number>();
      if (!checks.has(credential) && checks.size >= quota.points) {
        throw tooManyRequests(req.res!, [{ policy: 'auth', quota, allowed: false, remaining: 0, resetS: 1, shared: false }], `This address has ${checks.size} credentials being checked at once`);
      }
      checks.set(credential, (checks.get(credential) ?? 0) + 1);
      inFlight.set(address, checks);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (checks.get(credential) ?? 1) - 1;
        if (left > 0) checks.set(credential, left);
        else checks.delete(credential);
        if (checks.size === 0 && inFlight.get(address) === checks) inFlight.delete(address);
      };
    },
    async failed(req, res) {
      apply(res, [await limits.consume('auth', clientAddress(req))]);
    },
  };
}

/**
 * The same per-address guard for a client authenticating at the token endpoint, where the
 * credentials arrive in the body: an address that has failed too often is refused before its
 * credentials are looked up, and each failure is counted.
 */
export function clientAuthGuard(limits: RateLimits): (address: string) => { admit(): Promise<void>; failed(): Promise<void> } {
  return (address) => ({
    async admit() {
      const refused = await limits.refusedLocally('auth', address);
      if (!refused) return;
      const retryAfterS = Math.max(1, refused.resetS);
      const budget = BUDGETS.auth(refused.quota.points, describeWindow(refused.quota.windowS), '');
      throw new AppError('rate_limited', `${budget}. Retry after ${retryAfterS} second${retryAfterS === 1 ? '' : 's'}.`, { headers: { 'Retry-After': String(retryAfterS) } });
    },
    async failed() {
      await limits.consume('auth', address);
    },
  });
}

/**
 * The quotas a request is counted in. A key's request counts against the key and against its
 * account: keys are free to create, so without the account's own budget five keys would give an
 * account five times the write quota.
 */
function budgetsFor(principal: Principal, method: string, req: Request, tokenEndpoint: boolean): [PolicyName, string][] {
  switch (principal.kind) {
    case 'api_key':
    case 'oauth': {
      // A key and a client are budgeted alike, each by its own id; the account's budget is shared by both.
      const read = method === 'GET' || method === 'HEAD';
      return [
        [read ? 'read' : 'write', principal.kind === 'api_key' ? principal.keyId : principal.clientId],
        [read ? 'account_read' : 'account_write', principal.accountId],
      ];
    }
    case 'admin':
      return [['admin', 'admin']];
    case 'anonymous':
      // The token endpoint has a budget of its own: fetching tokens does not starve the health checks, nor the reverse.
      return [[tokenEndpoint ? 'token' : 'ops', clientAddress(req)]];
  }
}

/**
 * Counts the request against its principal's budgets (at once); runs right after authentication.
 * `tokenOperations` are the operations counted against the `token` policy (the token endpoint).
 */
export function limitRequests(limits: RateLimits, tokenOperations: ReadonlySet<string> = new Set()): RequestHandler {
  return async (req, res, next) => {
    const operationId = matchedOperationId(req);
    const principal = (res.locals.principal as Principal | undefined) ?? { kind: 'anonymous' };
    const budgets = budgetsFor(principal, req.method, req, operationId !== undefined && tokenOperations.has(operationId));
    const decisions = await Promise.all(budgets.map(([policy, subject]) => limits.consume(policy, subject)));
    if (decisions.some((d) => !d.allowed)) throw tooManyRequests(res, decisions, undefined, principal.kind === 'oauth' ? 'OAuth client' : 'API key');
    apply(res, decisions);
    next();
  };
}

/**
 * For answers no operation counted: a path or method the spec does not have (404, 405), and the
 * pages' static files (the reference page's, the console's). They are counted against the
 * address's `ops` budget, in this process's memory like every `ops` decision, so they carry the
 * rate-limit fields every response promises and a scan of unknown paths is throttled like any
 * other anonymous traffic.
 */
export function limitAnonymous(limits: RateLimits): RequestHandler {
  return async (req, res, next) => {
    const decision = await limits.consume('ops', clientAddress(req));
    if (!decision.allowed) throw tooManyRequests(res, [decision]);
    apply(res, [decision]);
    next();
  };
}

/** The error-path twin of `limitAnonymous`: counts an error answer that nothing has counted yet. */
export function limitUncountedErrors(limits: RateLimits): ErrorRequestHandler {
  return async (err, req, res, next) => {
    if (res.headersSent || res.hasHeader('RateLimit')) return next(err);
    const decision = await limits.consume('ops', clientAddress(req));
    if (!decision.allowed) return next(tooManyRequests(res, [decision]));
    apply(res, [decision]);
    next(err);
  };
}
