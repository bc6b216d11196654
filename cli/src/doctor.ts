/**
 * `remit doctor`: whether this machine can use the API with the profile in use, one check per
 * line, each failure with what is wrong and how to fix it. The checks: the base URL reaches a
 * Remit API; this machine's clock agrees with the API's; credentials are configured, are accepted,
 * and hold which scopes. No secret is ever printed: an API key is identified by its id, an OAuth
 * client by its client id.
 *
 * Doctor is bounded in time (about 6 s), whatever the base URL points at: a closed port, a host
 * that drops packets, or a server that accepts connections and never answers.
 */
import { APIConnectionError, APIError, APIUserAbortError, type ApiKey, type Remit } from '@remit/sdk';
import type { CliContext, Style } from './context.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { describeNetworkError } from './listen-forward.js';

/** The whole run's budget, in milliseconds. */
export const DOCTOR_BUDGET_MS = 6_000;
/** How long `GET /health` may take. */
export const HEALTH_TIMEOUT_MS = 5_000;
/** The least time a check after a slow one is given, so it can still answer. */
const MIN_CHECK_MS = 250;
/** Clock differences, in milliseconds: a warning beyond the first, a failure beyond the second. */
export const CLOCK_WARN_MS = 5_000;
export const CLOCK_FAIL_MS = 60_000;

type Mark = 'ok' | 'warn' | 'fail' | 'skip';
/** What a failure means for the exit code: the configuration (1), a refusal by the API (2), or no usable answer (3). */
type FailureKind = 'configuration' | 'refused' | 'unreachable';

/** One check's outcome, as printed. */
export interface CheckResult {
  readonly check: 'api' | 'clock' | 'credentials' | 'access' | 'scopes';
  readonly mark: Mark;
  readonly message: string;
  /** For a failure or a warning: what to do about it. */
  readonly fix?: string;
  readonly kind?: FailureKind;
}

const KIND_EXIT: Readonly<Record<FailureKind, ExitCode>> = { configuration: EXIT.usage, refused: EXIT.refused, unreachable: EXIT.unavailable };
const MARKS: Readonly<Record<Mark, readonly [string, Style]>> = { ok: ['ok', 'green'], warn: ['warn', 'yellow'], fail: ['FAIL', 'red'], skip: ['skip', 'dim'] };

/** What `GET /health` answered, for the clock check. */
interface HealthAnswer {
  readonly date: string | null;
  /** Local time halfway through the request, in milliseconds. */
  readonly localMs: number;
}

/** Whether the credentials were accepted, and what a refusal was. */
type Access = { readonly accepted: true } | { readonly accepted: false; readonly status: number | undefined };

/**
 * Runs every check, printing one line each (`--json`: one document), and returns 0 when none
 * failed (warnings allowed), else the EXIT code of the first failure's kind.
 */
export async function doctor(ctx: CliContext): Promise<ExitCode> {
  const deadline = Date.now() + DOCTOR_BUDGET_MS;
  const results: CheckResult[] = [];
  const record = (result: CheckResult) => {
    results.push(result);
    if (!ctx.out.json) ctx.out.data(formatLine(ctx, result));
  };

  const { result: api, answer } = await checkApi(ctx, deadline);
  record(api);
  record(checkClock(answer));
  const credentials = checkCredentials(ctx);
  record(credentials);
  const usable = api.mark === 'ok' && credentials.mark !== 'fail';
  const access = usable ? await checkAccess(ctx, deadline) : undefined;
  const notChecked = api.mark === 'ok' ? 'not checked: no usable credentials.' : 'not checked: the API check failed.';
  record(access?.result ?? skipped('access', notChecked));
  record(access === undefined ? skipped('scopes', notChecked) : await checkScopes(ctx, access.access, deadline));

  const firstFailure = results.find((result) => result.mark === 'fail');
  report(ctx, results, firstFailure === undefined);
  return firstFailure === undefined ? EXIT.ok : KIND_EXIT[firstFailure.kind ?? 'configuration'];
}

function formatLine(ctx: CliContext, result: CheckResult): string {
  const [label, style] = MARKS[result.mark];
  const fix = result.fix === undefined ? '' : ` Fix: ${result.fix}`;
  return `${ctx.out.paint(style, label.padEnd(4))}  ${result.check}: ${result.message}${fix}`;
}

function report(ctx: CliContext, results: readonly CheckResult[], ok: boolean): void {
  if (ctx.out.json) {
    const checks = results.map(({ check, mark, message, fix }) => ({ check, status: mark, message, ...(fix === undefined ? {} : { fix }) }));
    ctx.out.data(JSON.stringify({ ok, checks }, null, 2));
    return;
  }
  const failed = results.filter((result) => result.mark === 'fail').length;
  const warned = results.filter((result) => result.mark === 'warn').length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (failed > 0) ctx.out.data(`${plural(failed, 'check')} failed.`);
  else ctx.out.data(warned > 0 ? `No check failed; ${plural(warned, 'warning')}.` : 'Everything looks good.');
}

function skipped(check: CheckResult['check'], message: string): CheckResult {
  return { check, mark: 'skip', message };
}

function failed(check: CheckResult['check'], kind: FailureKind, message: string, fix: string): CheckResult {
  return { check, mark: 'fail', kind, message, fix };
}

/** A signal for one request: the user's Ctrl-C, or `ms` elapsed. */
function timeLimit(ctx: CliContext, ms: number): AbortSignal {
  return AbortSignal.any([ctx.signal, AbortSignal.timeout(ms)]);
}

/**
 * The profile's client, without retries, every request of it ending when `signal` aborts: the
 * requests for an OAuth access token too, which a call's own signal only stops waiting for.
 */
function boundedClient(ctx: CliContext, signal: AbortSignal, timeoutMs: number): Remit {
  const fetchWithin = (url: string, init: RequestInit) => fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, signal]) : signal });
  return ctx.client().withOptions({ maxRetries: 0, timeout: timeoutMs, fetch: fetchWithin });
}

function remaining(deadline: number): number {
  return Math.max(MIN_CHECK_MS, deadline - Date.now());
}

/** A duration for messages, in seconds: `5 s`, `1.2 s`. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** (a) The base URL parses, and `GET /health` answers as Remit's does. */
async function checkApi(ctx: CliContext, deadline: number): Promise<{ result: CheckResult; answer?: HealthAnswer }> {
  let url: URL;
  try {
    url = new URL(`${ctx.baseURL}/health`);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { result: failed('api', 'configuration', `the base URL "${ctx.baseURL}" is not an http(s) URL.`, 'pass --base-url, set REMIT_BASE_URL, or save it with `remit config set --base-url https://api.example.com`.') };
  }
  const timeoutMs = Math.min(HEALTH_TIMEOUT_MS, remaining(deadline));
  const started = Date.now();
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: timeLimit(ctx, timeoutMs) });
    body = await response.text();
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { result: unreachable(ctx.baseURL, error, timeoutMs) };
  }
  const elapsed = Date.now() - started;
  const answer = { date: response.headers.get('date'), localMs: started + elapsed / 2 };
  return { result: healthVerdict(ctx.baseURL, response, body, elapsed), answer };
}

function unreachable(baseURL: string, error: unknown, timeoutMs: number): CheckResult {
  const timedOut = (error as Error).name === 'TimeoutError';
  const reason = timedOut ? `no answer within ${seconds(timeoutMs)}` : describeNetworkError((error as Error).cause ?? error);
  return failed('api', 'unreachable', `${baseURL} cannot be reached: ${reason}.`, 'start the API, or point the base URL at the address it listens on (and check any firewall or VPN in between).');
}

function healthVerdict(baseURL: string, response: Response, body: string, elapsedMs: number): CheckResult {
  const { status } = response;
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    return failed('api', 'configuration', `GET ${baseURL}/health answered ${status}, a redirect${location ? ` to ${location}` : ''}.`, 'use the address it redirects to as the base URL.');
  }
  if (status >= 500) {
    return failed('api', 'unreachable', `GET ${baseURL}/health answered ${status}: the API is failing.`, 'check the API\'s logs, or try again once it has recovered.');
  }
  if (status === 200 && isRemitHealth(body)) return { check: 'api', mark: 'ok', message: `Remit answers at ${baseURL} (GET /health in ${elapsedMs} ms).` };
  const type = response.headers.get('content-type')?.split(';')[0];
  return failed(
    'api',
    'configuration',
    `something answers at ${baseURL}, but it is not Remit (GET /health answered ${status}${type ? ` ${type}` : ''}, not {"status":"ok"}).`,
    'point the base URL at the Remit API itself (its root, without a path).',
  );
}

function isRemitHealth(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null && (parsed as { status?: unknown }).status === 'ok';
  } catch {
    return false;
  }
}

/** (b) This machine's clock against the `Date` of the health answer. */
function checkClock(answer: HealthAnswer | undefined): CheckResult {
  if (answer === undefined) return skipped('clock', 'not checked: the API check failed.');
  const serverMs = answer.date === null ? NaN : Date.parse(answer.date);
  if (Number.isNaN(serverMs)) return { check: 'clock', mark: 'warn', message: 'not checked: the API\'s answer has no usable Date header.' };
  // `Date` has whole seconds, truncated: the API's clock was somewhere in the second after it.
  const offsetMs = answer.localMs - (serverMs + 500);
  const distance = Math.abs(offsetMs);
  const side = `this machine's clock is ${seconds(distance)} ${offsetMs > 0 ? 'ahead of' : 'behind'} the API's`;
  const fix = 'turn on automatic time sync (NTP): access tokens allow 60 s of difference, webhook signatures 300 s.';
  if (distance > CLOCK_FAIL_MS) return failed('clock', 'configuration', `${side}: timestamps checked against it are refused.`, fix);
  if (distance > CLOCK_WARN_MS) return { check: 'clock', mark: 'warn', message: `${side}.`, fix };
  return { check: 'clock', mark: 'ok', message: `within ${seconds(Math.max(1000, Math.ceil(distance / 1000) * 1000))} of the API's.` };
}

/** (c) Credentials are configured; where they come from. */
function checkCredentials(ctx: CliContext): CheckResult {
  const credentials = ctx.credentials;
  if (credentials.kind === 'none') {
    return failed('credentials', 'configuration', 'none are configured.', 'pass --api-key, set REMIT_API_KEY (or REMIT_CLIENT_ID and REMIT_CLIENT_SECRET), or save them with `remit config set --api-key -`.');
  }
  if (credentials.kind === 'oauth') return { check: 'credentials', mark: 'ok', message: `OAuth client ${credentials.clientId}, from ${credentials.source}.` };
  if (!/^sk_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/.test(credentials.apiKey)) {
    return { check: 'credentials', mark: 'warn', message: `the API key from ${credentials.source} does not look like a Remit key (sk_…).`, fix: 'copy the whole secret shown when the key was created.' };
  }
  return { check: 'credentials', mark: 'ok', message: `an API key, from ${credentials.source}.` };
}

/** (d) A read with the credentials: whether the API accepts them. */
async function checkAccess(ctx: CliContext, deadline: number): Promise<{ result: CheckResult; access: Access }> {
  const timeoutMs = remaining(deadline);
  const signal = timeLimit(ctx, timeoutMs);
  let client: Remit;
  try {
    client = boundedClient(ctx, signal, timeoutMs);
  } catch (error) {
    return { result: failed('access', 'configuration', `the credentials cannot be used: ${(error as Error).message}`, 'correct the credentials in the profile or on the command line.'), access: { accepted: false, status: undefined } };
  }
  try {
    await client.apiKeys.list({ limit: 1 }, { signal });
    return { result: { check: 'access', mark: 'ok', message: 'the API accepts the credentials (a read succeeded).' }, access: { accepted: true } };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { result: accessFailure(ctx, error, timeoutMs), access: { accepted: false, status: error instanceof APIError ? error.status : undefined } };
  }
}

function accessFailure(ctx: CliContext, error: unknown, timeoutMs: number): CheckResult {
  const oauth = ctx.credentials.kind === 'oauth';
  if (error instanceof APIError) {
    if (error.status === 401 && oauth) {
      return failed('access', 'refused', `the token endpoint refused the OAuth client (${error.message}): it is revoked, or its secret is wrong or expired.`, 'rotate the client\'s secret (or create a new client) and save the new one in the profile.');
    }
    if (error.status === 401) return failed('access', 'refused', `the API refused the API key (${error.message}): it is revoked or mistyped.`, 'create a new key (POST /v1/api_keys) and use its secret.');
    if (error.status === 403) return failed('access', 'refused', `the credentials lack the read scope (${error.message}).`, `use ${oauth ? 'a client or scope' : 'a key'} with read: most commands need it.`);
    if (error.status === 400 && oauth) return failed('access', 'refused', `the token endpoint refused the request (${error.message}).`, 'ask only for scopes the OAuth client holds.');
    if (error.status < 500) return failed('access', 'refused', `the API refused a read (${error.message}).`, 'check the credentials and the API\'s version.');
    return failed('access', 'unreachable', `the API failed a read (${error.message}).`, 'check the API\'s logs, or try again once it has recovered.');
  }
  if (error instanceof APIConnectionError || error instanceof APIUserAbortError) {
    const reason = error instanceof APIUserAbortError ? `no answer within ${seconds(timeoutMs)}` : error.message;
    return failed('access', 'unreachable', `a read got no answer (${reason}).`, 'check that the API is up and reachable, then run doctor again.');
  }
  throw error;
}

/** (e) The scopes the credentials hold. */
async function checkScopes(ctx: CliContext, access: Access, deadline: number): Promise<CheckResult> {
  const credentials = ctx.credentials;
  if (credentials.kind === 'none') return skipped('scopes', 'not checked: no credentials.');
  // A key lacking read was accepted, only not for reads: the token endpoint still tells an OAuth client's scopes.
  if (!access.accepted && access.status !== 403) return skipped('scopes', 'not checked: the credentials were not accepted.');
  if (credentials.kind === 'oauth') return oauthScopes(ctx, credentials, deadline);
  if (!access.accepted) return skipped('scopes', 'not checked: a key without read cannot list the account\'s keys.');
  return apiKeyScopes(ctx, credentials.apiKey, deadline);
}

/**
 * The scopes of the key in use, found among the account's keys by what the listing shows of a
 * secret (`redacted_secret`: its prefix and last four characters). Only the key's id is printed.
 */
async function apiKeyScopes(ctx: CliContext, apiKey: string, deadline: number): Promise<CheckResult> {
  const redacted = `${apiKey.slice(0, apiKey.indexOf('_') + 1)}…${apiKey.slice(-4)}`;
  const timeoutMs = remaining(deadline);
  const matches: ApiKey[] = [];
  try {
    const signal = timeLimit(ctx, timeoutMs);
    const keys = boundedClient(ctx, signal, timeoutMs).apiKeys.list({ limit: 100 }, { signal });
    for await (const key of keys) if (key.revoked_at === null && key.redacted_secret === redacted) matches.push(key);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { check: 'scopes', mark: 'warn', message: `the account's keys could not be listed (${(error as Error).message}).` };
  }
  const [only] = matches;
  if (only === undefined) return { check: 'scopes', mark: 'warn', message: 'the key in use is not among the account\'s active keys as listed; its scopes are unknown.' };
  const scopeSets = new Set(matches.map((key) => [...key.scopes].sort().join(', ')));
  if (scopeSets.size > 1) {
    return { check: 'scopes', mark: 'warn', message: `${matches.length} active keys end in the same characters (${matches.map((key) => key.id).join(', ')}); they hold ${[...scopeSets].join(' or ')}.` };
  }
  const name = only.name === null ? '' : ` "${only.name}"`;
  const which = matches.length === 1 ? `key ${only.id}${name}` : `keys ${matches.map((key) => key.id).join(', ')}`;
  return { check: 'scopes', mark: 'ok', message: `${[...only.scopes].join(', ')} (${which}).` };
}

/** The scopes an access token is granted, asked from `POST /oauth/token` with the client's credentials. */
async function oauthScopes(ctx: CliContext, credentials: Extract<CliContext['credentials'], { kind: 'oauth' }>, deadline: number): Promise<CheckResult> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (credentials.scope !== undefined) form.set('scope', credentials.scope.join(' '));
  const timeoutMs = remaining(deadline);
  let response: Response;
  let body: unknown;
  try {
    response = await fetch(`${ctx.baseURL}/oauth/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', authorization: basicCredentials(credentials.clientId, credentials.clientSecret) },
      body: form.toString(),
      redirect: 'manual',
      signal: timeLimit(ctx, timeoutMs),
    });
    body = JSON.parse(await response.text()) as unknown;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${seconds(timeoutMs)}` : error instanceof SyntaxError ? 'the answer is not JSON' : describeNetworkError((error as Error).cause ?? error);
    return failed('scopes', 'unreachable', `the token endpoint could not be asked (${reason}).`, 'check that the API is up and reachable, then run doctor again.');
  }
  return tokenVerdict(response.status, body, credentials.clientId);
}

function tokenVerdict(status: number, body: unknown, clientId: string): CheckResult {
  const { scope, error, error_description: description } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (status === 200 && typeof scope === 'string') return { check: 'scopes', mark: 'ok', message: `${scope.split(' ').join(', ')} (OAuth client ${clientId}).` };
  const why = typeof error === 'string' ? `${error}${typeof description === 'string' ? `: ${description}` : ''}` : `status ${status}`;
  if (status >= 500) return failed('scopes', 'unreachable', `the token endpoint failed (${why}).`, 'check the API\'s logs, or try again once it has recovered.');
  if (error === 'invalid_scope') return failed('scopes', 'refused', `the token endpoint refused the scopes asked for (${why}).`, 'ask only for scopes the OAuth client holds.');
  return failed('scopes', 'refused', `the token endpoint refused the OAuth client (${why}).`, 'rotate the client\'s secret (or create a new client) and save the new one in the profile.');
}

/** `Authorization: Basic …` for an OAuth client (RFC 6749 §2.3.1): id and secret each form-encoded, then joined by `:`. */
function basicCredentials(clientId: string, clientSecret: string): string {
  const formEncode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}
