/**
 * The validation-attack table: what the customer read costs one client while another sends
 * `POST /v1/api_keys` bodies of 32,000 integers where two enum strings are allowed, with request
 * collections bounded (the spec as is) and without (the spec before). The victim's latency counts
 * the requests a run ended on, because under the unbounded attack most of its requests are those.
 */
import type { ChildProcess } from 'node:child_process';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { runOn, startServer } from './children.js';
import { customerTarget, readAnswer, runGet, type Target } from './customer-read.js';
import { ATTACK_RATE_PER_S, ATTACKERS, DATABASE_URL, DURATION_S, knobsSet, LOG_LEVEL, ROUNDS, VICTIM_CONNECTIONS, WARMUP_S } from './knobs.js';
import {
  autocannonLine,
  checkLines,
  failuresCheck,
  int,
  loadAverageLine,
  machine,
  median,
  mediansOf,
  ms,
  orderLines,
  ratio,
  roundsLine,
  roundTable,
  statusList,
  statusTotals,
  storageLine,
  sum,
  type Check,
  type Table,
} from './report.js';
import { inRounds, progress, type Rounds } from './run.js';
import { ATTACK_BASELINE, ATTACK_ITEMS, ATTACK_PATH, ATTACK_TARGETS, attackBody, BENCH_QUOTA, type AttackTargetId, type LoadRequest, type RunResult } from './targets.js';

// The attackers start this long before the victim's run and stop this long after it, so the whole
// of every measured second is under attack.
export const ATTACK_LEAD_S = 1;
// Without the bound, an answer (the attackers' or the victim's) can wait seconds behind the
// attackers' other requests; a timeout would end the wait the table is there to show.
const ATTACK_TIMEOUT_S = 60;
// Every answer to an attack must be a small 400: a problem document lists at most 10 errors.
const ATTACK_ANSWER_LIMIT_BYTES = 4096;
// After a run the server may still be validating what the attackers sent before they were cut off.
const SETTLE_TIMEOUT_MS = 120_000;
const ATTACK_BODY = attackBody();
// The knobs that shape this table, for the command that repeats it.
const REPRODUCE_KNOBS = ['BENCH_DURATION_S', 'BENCH_WARMUP_S', 'BENCH_ROUNDS', 'BENCH_ATTACKERS', 'BENCH_ATTACK_RATE', 'BENCH_ATTACK_VICTIM_CONNECTIONS', 'BENCH_LOG_LEVEL'] as const;

export interface AttackTarget extends Target<AttackTargetId> {
  readonly child: ChildProcess;
  readonly attackUrl: string;
  readonly attackHeaders: Record<string, string>;
  /** Every victim run, warm-up included, as autocannon reported it, for the checks. */
  readonly runs: RunResult[];
  /** The measured victim runs as autocannon reported them, one per round (the results map has them with the waits' latency). */
  readonly measuredVictims: RunResult[];
  /** Every attack run, warm-up included, for the checks. */
  readonly attackRuns: RunResult[];
  /** The measured attack runs, one per round, for the table. */
  readonly measuredAttacks: RunResult[];
  /** The answer to one attack body sent before any load (targets with attackers). */
  attackProbe: { status: number; bytes: number; code: unknown; errorCount: unknown; detail: unknown } | null;
}

export async function startAttackTarget(id: AttackTargetId, databaseUrl: string | undefined): Promise<AttackTarget> {
  // Limits on, as deployed, at quotas no run can use up: nobody's request is refused with 429.
  const server = await startServer(id, databaseUrl, { mode: 'memory' });
  if (!server.attackerHeaders) throw new Error(`server ${id} did not seed the attackers' account`);
  return {
    ...customerTarget(id, server),
    child: server.child,
    attackUrl: `${server.origin}${ATTACK_PATH}`,
    attackHeaders: { ...server.attackerHeaders, 'content-type': 'application/json' },
    runs: [],
    measuredVictims: [],
    attackRuns: [],
    measuredAttacks: [],
    attackProbe: null,
  };
}

/** One attack body before any load: it must be refused with a 400, or the row would measure something else. */
export async function probeAttack(target: AttackTarget): Promise<void> {
  const res = await fetch(target.attackUrl, {
    method: 'POST',
    headers: target.attackHeaders,
    body: ATTACK_BODY,
    signal: AbortSignal.timeout(SETTLE_TIMEOUT_MS),
  });
  const { text, body } = await readAnswer<{ code: unknown; error_count: unknown; detail: unknown }>(res);
  if (res.status !== 400 || body.code !== 'validation_failed') {
    throw new Error(`${target.id}: POST ${target.attackUrl} with the attack body answered ${res.status}: ${text.slice(0, 500)}`);
  }
  target.attackProbe = { status: res.status, bytes: Buffer.byteLength(text), code: body.code, errorCount: body.error_count, detail: body.detail };
}

/** Waits until the server answers the victim's read again: what the attackers left queued is done. */
async function settle(target: AttackTarget): Promise<number> {
  const started = Date.now();
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(SETTLE_TIMEOUT_MS) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${target.id}: GET ${target.url} answered ${res.status} after the run`);
  return Date.now() - started;
}

/**
 * One round's run of an attack target: the attackers (if the row has them) from the second load
 * process, the victim from the first, started ATTACK_LEAD_S after the attackers and ending
 * ATTACK_LEAD_S before them. Failures are counted and reported with the table, not thrown.
 */
async function runAttack(load: ChildProcess, attackLoad: ChildProcess | undefined, target: AttackTarget, durationS: number, warmUp: boolean): Promise<RunResult> {
  let attack: Promise<RunResult> | undefined;
  if (ATTACK_TARGETS[target.id].attackers) {
    if (!attackLoad) throw new Error(`${target.id}: no load process for the attackers`);
    const request: LoadRequest = {
      type: 'run',
      url: target.attackUrl,
      method: 'POST',
      headers: target.attackHeaders,
      body: ATTACK_BODY,
      keys: { mode: 'none' },
      connections: ATTACKERS,
      ...(ATTACK_RATE_PER_S > 0 ? { ratePerS: ATTACK_RATE_PER_S } : {}),
      durationS: durationS + 2 * ATTACK_LEAD_S,
      timeoutS: ATTACK_TIMEOUT_S,
      recordAnswers: true,
    };
    attack = runOn(attackLoad, request, `attackers on ${target.id}`, ATTACK_TIMEOUT_S * 1000);
    // Awaited after the victim's run; should that run fail first, this one's failure is not the news.
    attack.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, ATTACK_LEAD_S * 1000));
  }
  const victim = await runGet(load, target, durationS, { connections: VICTIM_CONNECTIONS, timeoutS: ATTACK_TIMEOUT_S, waits: true });
  target.runs.push(victim);
  if (!warmUp) target.measuredVictims.push(victim);
  if (attack) {
    const r = await attack;
    target.attackRuns.push(r);
    if (!warmUp) target.measuredAttacks.push(r);
    const settledMs = await settle(target);
    progress(
      `${target.id}${warmUp ? ' warm-up' : ''} attackers: ${int(r.requests)} answered, p50 ${ms(r.p50Ms)} ms, p99 ${ms(r.p99Ms)} ms, ` +
        `${int(answerBytesMedian(r))} bytes (median); server answering the victim again ${settledMs} ms after the run`,
    );
  }
  // The victim's latency counts the requests the run ended on, at their wait so far (load.ts,
  // waitsOf): under the unbounded attack most of its requests are those, and autocannon's own
  // percentiles, which count answers only, would describe the few that got through.
  if (!victim.waits) throw new Error(`load on ${target.id} did not report the victim's waits`);
  return { ...victim, p50Ms: victim.waits.p50Ms, p99Ms: victim.waits.p99Ms };
}

/** The median body size of one run's answers, from its histogram of sizes. */
function answerBytesMedian(run: RunResult): number {
  const sizes = Object.entries(run.answers?.bytes ?? {})
    .map(([size, n]) => [Number(size), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = sum(sizes, ([, n]) => n);
  if (total === 0) return Number.NaN;
  // The lower median: the size of the answer at rank ceil(total / 2).
  let seen = 0;
  for (const [size, n] of sizes) {
    seen += n;
    if (seen * 2 >= total) return size;
  }
  return Number.NaN;
}

/** Every attack answered a 400 with a small body: the bound holds, and no attacker was refused otherwise (429). */
function attackAnswersCheck(target: AttackTarget): Check {
  const runs = target.attackRuns;
  const answered = sum(runs, (r) => r.requests);
  const statuses = statusTotals(runs);
  const not400 = sum([...statuses].filter(([status]) => status !== '400'), ([, n]) => n);
  const errors = sum(runs, (r) => r.errors);
  const timeouts = sum(runs, (r) => r.timeouts);
  const sizes = runs.flatMap((r) => Object.keys(r.answers?.bytes ?? {}).map(Number));
  const largest = sizes.length > 0 ? Math.max(...sizes) : Number.NaN;
  const tooLarge = sum(runs, (r) => sum(Object.entries(r.answers?.bytes ?? {}), ([size, n]) => (Number(size) >= ATTACK_ANSWER_LIMIT_BYTES ? n : 0)));
  const recorded = sum(runs, (r) => sum(Object.values(r.answers?.bytes ?? {}), (n) => n));
  return {
    ok: answered > 0 && not400 === 0 && errors === 0 && timeouts === 0 && tooLarge === 0 && recorded === answered,
    line: `${target.id}: ${int(answered)} attacks answered, ${not400 === 0 ? 'every one 400' : `${not400} not 400`}; largest answer ${int(largest)} bytes (limit ${int(ATTACK_ANSWER_LIMIT_BYTES)})`,
    detail:
      `statuses ${statusList(statuses) || 'none'}; ${errors} errors, ${timeouts} timeouts (${ATTACK_TIMEOUT_S} s); ${tooLarge} answers of ${int(ATTACK_ANSWER_LIMIT_BYTES)} bytes or more; ` +
      `${runs.length} runs, warm-up included (requests cut off when a run ended are not answers)`,
  };
}

/**
 * The probe's answer shows the row measures what it says: with the bound, the walk refused the body
 * at `scopes` (one error); without it, the validator reported on every item.
 */
function attackProbeCheck(target: AttackTarget): Check {
  const probe = target.attackProbe;
  const bounded = ATTACK_TARGETS[target.id].spec === 'as-is';
  const errorCount = typeof probe?.errorCount === 'number' ? probe.errorCount : Number.NaN;
  return {
    ok: probe !== null && probe.bytes < ATTACK_ANSWER_LIMIT_BYTES && (bounded ? errorCount === 1 : errorCount >= ATTACK_ITEMS),
    line: bounded
      ? `${target.id}: the body was refused at its bound, before the validator: error_count ${int(errorCount)} (expected 1)`
      : `${target.id}: the validator walked every item: error_count ${int(errorCount)} (expected at least ${int(ATTACK_ITEMS)})`,
    detail: `the probe's answer: ${probe?.status ?? 'none'} ${String(probe?.code)}, ${int(probe?.bytes ?? Number.NaN)} bytes, detail ${JSON.stringify(probe?.detail)}`,
  };
}

/** The command that measures this table alone with the knobs this run was given. */
function attackCommand(targets: readonly AttackTarget[]): string {
  const database = DATABASE_URL ? [`DATABASE_URL=${withoutPassword(DATABASE_URL)}`] : [];
  return [...database, ...knobsSet(REPRODUCE_KNOBS), `BENCH_TARGETS=${targets.map((t) => t.id).join(',')}`, 'make bench'].join(' ');
}

/** Measures the attack targets, already probed, and returns the table with its checks. */
export async function attackTable(load: ChildProcess, attackLoad: ChildProcess | undefined, targets: AttackTarget[]): Promise<Table> {
  const rounds = await inRounds(targets, ROUNDS, (target, warmUp) => runAttack(load, attackLoad, target, warmUp ? WARMUP_S : DURATION_S, warmUp));
  const checks: Check[] = [];
  for (const target of targets) {
    checks.push(failuresCheck(target));
    if (ATTACK_TARGETS[target.id].attackers) checks.push(attackProbeCheck(target), attackAnswersCheck(target));
  }
  return { text: attackReport(targets, rounds, checks), checks };
}

function attackReport(targets: AttackTarget[], rounds: Rounds<AttackTargetId>, checks: Check[]): string {
  const medians = mediansOf(targets, rounds.results);
  const baseline = medians.get(ATTACK_BASELINE);
  // Milliseconds to a tenth while they are few, whole (with separators) once they are seconds.
  const lat = (n: number) => (n >= 100 ? int(n) : ms(n));
  const attackMedians = (t: AttackTarget) =>
    t.measuredAttacks.length === 0
      ? undefined
      : {
          answered: median(t.measuredAttacks.map((r) => r.requests)),
          bytes: median(t.measuredAttacks.map(answerBytesMedian)),
          p50Ms: median(t.measuredAttacks.map((r) => r.p50Ms)),
          p99Ms: median(t.measuredAttacks.map((r) => r.p99Ms)),
        };

  const lines = [
    `## Validation-attack benchmark: GET /v1/customers/{id} (account A) while account B sends POST ${ATTACK_PATH} with ${int(ATTACK_ITEMS)} integers in \`scopes\``,
    '',
    `- Reproduce: \`${attackCommand(targets)}\``,
    autocannonLine('Victim', VICTIM_CONNECTIONS, DURATION_S),
    `- Attackers (\`attack-bounded\`, \`attack-unbounded\`): autocannon 9 in a second process of its own, ${ATTACKERS} connections, ` +
      `${ATTACK_RATE_PER_S > 0 ? `${ATTACK_RATE_PER_S} requests per second in all (BENCH_ATTACK_RATE; one key's default write quota is 20/s)` : 'sending back to back (BENCH_ATTACK_RATE=0)'}, pipelining 1, ` +
      `each request \`{"scopes":[0,1,…,9,0,1,…]}\` (${int(ATTACK_ITEMS)} one-digit integers where at most 2 enum strings are allowed; ${int(Buffer.byteLength(ATTACK_BODY))} bytes) ` +
      `with account B's key; they start ${ATTACK_LEAD_S} s before each victim run and stop ${ATTACK_LEAD_S} s after it (warm-up included); request timeout ${ATTACK_TIMEOUT_S} s; ` +
      'after each run the next waits until the server answers the victim again',
    roundsLine(ROUNDS),
    `- Storage: ${storageLine()}`,
    '- Each target is the full app (createApp, request and response validation) with two accounts seeded through the admin API, ' +
      `rate limits counted in memory at ${int(BENCH_QUOTA.points)} requests per ${BENCH_QUOTA.windowS} s for every policy: nobody is refused`,
    '- `attack-none` and `attack-bounded` run on the spec as is (ApiKeyCreateRequest.scopes has `maxItems: 2`); `attack-unbounded` on a copy without that ' +
      '`maxItems`, the spec before request collections were bounded, so the validator (allErrors) reports on every item',
    `- App log level: ${LOG_LEVEL}; machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'attack run'),
  ];
  if (targets.length === 0) return lines.join('\n');
  lines.push(
    '',
    `| target | victim req/s (median) | victim p50 ms | victim p99 ms | victim p99 vs \`${ATTACK_BASELINE}\` | victim req/s vs \`${ATTACK_BASELINE}\` | ` +
      'attacks answered per run (median) | attack answer bytes (median) | attack answer ms, p50 / p99 (median) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const a = attackMedians(t);
      return (
        `| \`${t.id}\` ${ATTACK_TARGETS[t.id].label} | ${int(m.reqPerS)} | ${lat(m.p50Ms)} | ${lat(m.p99Ms)} | ${ratio(m.p99Ms, baseline?.p99Ms)} | ` +
        `${ratio(m.reqPerS, baseline?.reqPerS)} | ` +
        `${a ? int(a.answered) : '–'} | ${a ? int(a.bytes) : '–'} | ${a ? `${lat(a.p50Ms)} / ${lat(a.p99Ms)}` : '–'} |`
      );
    }),
    '',
    `The victim's p50 and p99 count every answered request at the time autocannon measured, and the request each of its ${VICTIM_CONNECTIONS} ` +
      'connections was waiting on when the run ended at how long it had waited by then; autocannon alone counts only the answered ones.',
    '',
    "Per round, the victim (req/s, p50 ms, p99 ms; autocannon's p50 / p99 of the answered requests alone; requests answered; the longest wait the run ended on):",
    '',
    ...roundTable(
      ROUNDS,
      targets.map((t) => [
        t.id,
        rounds.results.get(t.id)!.map((r, i) => {
          const answeredOnly = t.measuredVictims[i]!;
          return (
            `${int(r.reqPerS)} req/s, ${lat(r.p50Ms)}, ${lat(r.p99Ms)}; ` +
            `${r.requests > 0 ? `${lat(answeredOnly.p50Ms)} / ${lat(answeredOnly.p99Ms)}` : 'none answered'}; ${int(r.requests)}; ${lat(r.waits?.longestWaitMs ?? Number.NaN)}`
          );
        }),
      ]),
    ),
    '',
    ...orderLines(rounds.orders),
    '',
    'Per round, the attackers (answered, p50 ms, p99 ms, median answer bytes):',
    '',
    ...roundTable(
      ROUNDS,
      targets
        .filter((t) => t.measuredAttacks.length > 0)
        .map((t) => [t.id, t.measuredAttacks.map((r) => `${int(r.requests)}, ${lat(r.p50Ms)}, ${lat(r.p99Ms)}, ${int(answerBytesMedian(r))}`)]),
    ),
    '',
    ...checkLines('Checks, after the last run:', checks),
  );
  return lines.join('\n');
}
