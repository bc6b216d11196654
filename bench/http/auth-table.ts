/**
 * The auth table: what the credential costs the customer read through the full app as deployed
 * (response validation off, logs at info, rate limits in Redis when it answers): the account's API
 * key, verified once and then taken from the verified-key cache, against an OAuth access token, an
 * ES256 JWT whose signature, `kid`, issuer, audience and expiry are checked in memory on every
 * request, measured in the same alternating rounds; req/s, latency, the server's CPU per request,
 * and the ratios OAuth ÷ API key.
 *
 * A row loaded with a credential other than its label's, or an OAuth row whose token expired
 * before its last run (every answer a 401), would measure something else: the checks under the
 * table say so and fail the benchmark.
 */
import type { ChildProcess } from 'node:child_process';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { askServer, startServer } from './children.js';
import { customerTarget, runGet, type Target } from './customer-read.js';
import { CONNECTIONS, DATABASE_URL, DURATION_S, knobsSet, ROUNDS, WARMUP_S } from './knobs.js';
import { redisLimitsOf, tableLimits, type TableLimits } from './redis.js';
import {
  autocannonLine,
  checkLines,
  failuresCheck,
  int,
  loadAverageLine,
  machine,
  median,
  medianRow,
  mediansOf,
  ratio,
  roundLines,
  roundsLine,
  roundTable,
  storageLine,
  type Check,
  type Table,
} from './report.js';
import { inRounds, type Rounds } from './run.js';
import { AUTH_BASELINE, AUTH_TARGETS, BENCH_QUOTA, type AuthTargetId, type CpuUsage, type RateLimitMode, type RunResult } from './targets.js';

// The knobs that shape the table, for the command that repeats it.
const REPRODUCE_KNOBS = ['BENCH_DURATION_S', 'BENCH_WARMUP_S', 'BENCH_CONNECTIONS', 'BENCH_ROUNDS'] as const;
// A compact JWS: three base64url segments. API keys are `sk_…`.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AuthTarget extends Target<AuthTargetId> {
  readonly child: ChildProcess;
  /** Every run, warm-up included, for the checks. */
  readonly runs: RunResult[];
  /** The server's CPU milliseconds per answered request, one per measured run. */
  readonly cpuMsPerRequest: number[];
  /** The OAuth row's token: when it expires (ms since the epoch). */
  readonly credentialExpiresAt: number | undefined;
  /** When the row's last run ended (ms since the epoch), for the expiry check. */
  lastRunEndedAt: number;
}

export type AuthLimits = TableLimits;

/** The rows count in Redis as a deployment does, or all in memory when Redis does not answer. */
export function authLimits(wanted: readonly AuthTargetId[]): Promise<AuthLimits> {
  return tableLimits('auth', wanted, `every policy at ${int(BENCH_QUOTA.points)} per ${BENCH_QUOTA.windowS} s (none refused)`);
}

export async function startAuthTarget(id: AuthTargetId, databaseUrl: string | undefined, limits: AuthLimits): Promise<AuthTarget> {
  // Production defaults, as the hot-path table's `hot-path` row: response validation off, a log line per request.
  const mode: RateLimitMode = limits.redis ? redisLimitsOf(id) : { mode: 'memory' };
  const server = await startServer(id, databaseUrl, mode, { validateResponses: false, logLevel: 'info' });
  return {
    ...customerTarget(id, server),
    child: server.child,
    runs: [],
    cpuMsPerRequest: [],
    credentialExpiresAt: server.credentialExpiresAt,
    lastRunEndedAt: 0,
  };
}

async function cpuOf(target: AuthTarget): Promise<CpuUsage> {
  return (await askServer(target.child, 'cpu', `CPU time of ${target.id}`)).cpu;
}

const bearerOf = (target: AuthTarget) => /^Bearer (.+)$/.exec(target.headers.authorization ?? '')?.[1] ?? '';

/**
 * The load carried the row's own credential: a JWT for the OAuth row, still valid when its last
 * run ended; an API key for the other.
 */
function credentialCheck(target: AuthTarget): Check {
  const credential = bearerOf(target);
  if (AUTH_TARGETS[target.id].credential === 'api_key') {
    return {
      ok: credential.startsWith('sk_'),
      line: `${target.id}: loaded with the account's API key`,
      detail: `the load's Authorization header carried ${credential.startsWith('sk_') ? 'an `sk_` key' : 'something else'}`,
    };
  }
  const expiresAt = target.credentialExpiresAt;
  const marginS = expiresAt === undefined ? Number.NaN : Math.floor((expiresAt - target.lastRunEndedAt) / 1000);
  return {
    ok: JWT_SHAPE.test(credential) && marginS > 0,
    line: `${target.id}: loaded with an OAuth access token that outlived its last run`,
    detail:
      `the load's Authorization header carried ${JWT_SHAPE.test(credential) ? `a JWT of ${int(credential.length)} characters` : 'no JWT'}; ` +
      (expiresAt === undefined
        ? 'the server reported no expiry'
        : marginS > 0
          ? `it expires ${marginS} s after the last run ended`
          : `it expired ${-marginS} s before the last run ended`),
  };
}

/** Measures the auth targets, already probed, and returns the table with its checks. */
export async function authTable(load: ChildProcess, targets: AuthTarget[], limits: AuthLimits): Promise<Table> {
  const rounds = await inRounds(targets, ROUNDS, async (target, warmUp) => {
    const before = await cpuOf(target);
    const result = await runGet(load, target, warmUp ? WARMUP_S : DURATION_S);
    const after = await cpuOf(target);
    target.runs.push(result);
    target.lastRunEndedAt = Date.now();
    if (!warmUp) target.cpuMsPerRequest.push((after.user + after.system - before.user - before.system) / 1000 / Math.max(1, result.requests));
    return result;
  });
  const checks = targets.flatMap((t) => [failuresCheck(t), credentialCheck(t)]);
  return { text: authReport(targets, rounds, checks, limits), checks };
}

/** The command that measures this table alone with the knobs this run was given. */
function authCommand(ids: readonly string[]): string {
  const database = DATABASE_URL ? [`DATABASE_URL=${withoutPassword(DATABASE_URL)}`] : [];
  return [...database, ...knobsSet(REPRODUCE_KNOBS), `BENCH_TARGETS=${ids.join(',')}`, 'make bench'].join(' ');
}

const cpuMs = (n: number) => n.toFixed(3);

function authReport(targets: AuthTarget[], rounds: Rounds<AuthTargetId>, checks: Check[], limits: AuthLimits): string {
  const medians = mediansOf(targets, rounds.results);
  const baseline = medians.get(AUTH_BASELINE);
  const baselineCpu = targets.find((t) => t.id === AUTH_BASELINE)?.cpuMsPerRequest;
  const key = targets.find((t) => AUTH_TARGETS[t.id].credential === 'api_key');
  const token = targets.find((t) => AUTH_TARGETS[t.id].credential === 'oauth');
  // The two runs of a round are adjacent, so their ratio is the least disturbed by drift on the machine.
  const pairRatios = key && token ? rounds.results.get(token.id)!.map((r, i) => r.reqPerS / rounds.results.get(key.id)![i]!.reqPerS) : [];
  const credentials = targets.map((t) => `\`${t.id}\` ${int(bearerOf(t).length)}`).join(', ');
  const lines = [
    '## Auth benchmark: GET /v1/customers/{id} as deployed, API key against OAuth access token',
    '',
    `- Reproduce: \`${authCommand(targets.map((t) => t.id))}\``,
    autocannonLine('Load', CONNECTIONS, DURATION_S),
    roundsLine(ROUNDS),
    `- Storage: ${storageLine()}`,
    `- Both rows: the full app (createApp) with production's defaults as the hot-path table's \`hot-path\` row: ${limits.line}, ` +
      'request validation, response validation off, log level info written to /dev/null; one account, one customer',
    '- Credentials: `auth-api-key` sends the account\'s read+write API key (verified against the database once, then from the verified-key cache); ' +
      '`auth-oauth` sends an access token for an OAuth client of the same account with the same scopes, made through `POST /v1/oauth_clients` and ' +
      '`POST /oauth/token` (client_secret_basic) at start-up: an ES256 JWT (RFC 9068) verified on every request against the key ring in memory, ' +
      `its client looked up in the in-memory set of revoked clients; token lifetime createApp's default (600 s). Bearer credential length in characters: ${credentials}`,
    '- Server CPU per request: the server process\'s user + system CPU time over a measured run (`process.cpuUsage()`, asked over IPC before and after) divided by the responses of that run; median over the rounds',
    `- Machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'auth run'),
    '',
    `| target | req/s (median) | p50 ms | p99 ms | server CPU ms per request | ratio vs \`${AUTH_BASELINE}\` (req/s) | CPU per request vs \`${AUTH_BASELINE}\` |`,
    '|---|--:|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const cpu = median(t.cpuMsPerRequest);
      return medianRow(t.id, AUTH_TARGETS[t.id].label, m, cpuMs(cpu), ratio(m.reqPerS, baseline?.reqPerS), ratio(cpu, baselineCpu ? median(baselineCpu) : undefined));
    }),
    '',
  ];
  if (pairRatios.length > 0) {
    lines.push(`Ratio OAuth ÷ API key (req/s) of each round's two runs: ${pairRatios.map((r) => r.toFixed(3)).join(', ')}; median ${median(pairRatios).toFixed(3)}`, '');
  }
  lines.push(
    ...roundLines(targets, rounds, ROUNDS),
    '',
    'Server CPU ms per request, per round:',
    '',
    ...roundTable(
      ROUNDS,
      targets.map((t) => [t.id, t.cpuMsPerRequest.map(cpuMs)]),
    ),
    '',
    ...checkLines('Checks, after the last run:', checks),
  );
  return lines.join('\n');
}
