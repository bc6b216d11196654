/**
 * The report: the three runs side by side, what each sent and got, what the books say afterwards,
 * the alerts, and the checks that decide the exit status. It is Markdown, so that a run can stand
 * in the documentation as it was printed.
 */
import os from 'node:os';
import { chargesOf, type Books, type Drain, type Ledger } from './books.js';
import type { AlertHistory } from './alerts.js';
import { STORM_ALERT } from './alerts.js';
import type { ClientKind, StormResult } from './clients.js';
import type { Knobs, RunName } from './knobs.js';
import { API_SETTINGS } from './setup.js';
import { statusClass, STATUS_CLASSES, type Timeline } from './timeline.js';

export const int = (n: number) => Math.round(n).toLocaleString('en-US');

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v < 10 ? v.toFixed(1) : int(v));

/** What each run is: who the clients are, and whether the quotas are on. */
export const RUNS: Record<RunName, { readonly title: string; readonly clients: ClientKind; readonly limits: boolean; readonly summary: string }> = {
  before: {
    title: 'before',
    clients: 'naive',
    limits: false,
    summary: 'naive clients (a fresh Idempotency-Key on every attempt, retries at once, Retry-After ignored); rate limits off',
  },
  'limits-only': { title: 'limits only', clients: 'naive', limits: true, summary: 'the same naive clients; the write quota on' },
  after: {
    title: 'after',
    clients: 'sdk',
    limits: true,
    summary: 'clients on @remit/sdk (one key per payment, Retry-After and RateLimit honoured, backoff with jitter); the write quota on',
  },
};

export interface Check {
  readonly ok: boolean;
  /** Whether a failure fails the command; the others are what the run is expected to show. */
  readonly required: boolean;
  readonly line: string;
}

/** Everything one run produced. */
export interface RunOutcome {
  readonly name: RunName;
  readonly result: StormResult;
  readonly drained: Drain;
  readonly books: Books;
  readonly ledger: Ledger;
  readonly died: string[];
  /** By alert name; undefined when no Prometheus watched the run. */
  readonly alerts: Map<string, AlertHistory> | undefined;
  readonly timeline: Timeline;
  readonly rateLimitBanner: string;
  readonly instances: number;
  readonly checks: Check[];
}

/** The numbers the table and the checks share. */
export function figures(run: RunOutcome) {
  const { result, books, ledger } = run;
  const answered = result.attempts.filter((a) => typeof a.outcome === 'number');
  const byClass = Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0])) as Record<(typeof STATUS_CLASSES)[number], number>;
  for (const a of result.attempts) byClass[statusClass(a.outcome)]++;
  const rateLimited = result.attempts.filter((a) => a.outcome === 429);
  const unavailable = result.attempts.filter((a) => a.outcome === 503);
  const started = result.logicals.filter((l) => l.outcome !== 'not_started');
  const { stormCharges, chargedKeys } = chargesOf(books, ledger);
  const succeededKeys = new Set(result.logicals.filter((l) => l.outcome === 'succeeded').map((l) => l.key));
  const perInstance = Array.from({ length: run.instances }, (_, i) => result.attempts.filter((a) => a.instance === i).length);
  return {
    requests: result.attempts.length,
    byClass,
    perLogical: started.length > 0 ? result.attempts.length / started.length : undefined,
    latencies: answered.map((a) => a.endMs - a.startMs),
    replayed: result.attempts.filter((a) => a.replayed && a.outcome === 201).length,
    retryAfterOn429: rateLimited.filter((a) => a.retryAfter).length,
    rateLimitHeadersOn429: rateLimited.filter((a) => a.rateLimitHeaders).length,
    rateLimited: rateLimited.length,
    retryAfterOn503: unavailable.filter((a) => a.retryAfter).length,
    unavailable: unavailable.length,
    attempted: started.length,
    succeeded: result.logicals.filter((l) => l.outcome === 'succeeded').length,
    unfinished: result.logicals.filter((l) => l.outcome === 'unfinished').length,
    refused: result.logicals.filter((l) => l.outcome === 'refused').length,
    notStarted: result.logicals.length - started.length,
    charges: stormCharges.length,
    chargedLogical: chargedKeys.size,
    duplicates: stormCharges.length - chargedKeys.size,
    chargedUnbeknown: [...chargedKeys].filter((k) => k === null || !succeededKeys.has(k)).length,
    rows: books.payments.length,
    stillProcessing: books.payments.filter((p) => p.status === 'processing').length,
    perInstance,
  };
}

export function runChecks(run: Omit<RunOutcome, 'checks'>): Check[] {
  const f = figures({ ...run, checks: [] });
  const after = run.name === 'after';
  const { rows } = chargesOf(run.books, run.ledger);
  const conflicting = run.result.logicals.filter((l) => l.paymentIds.size > 1).length;
  const unknownAnswers = run.result.logicals.filter((l) => [...l.paymentIds].some((id) => rows.get(id)?.storm_key !== l.key)).length;
  return [
    { ok: run.died.length === 0, required: true, line: `every process stayed up until it was stopped${run.died.length > 0 ? `: ${run.died.join('; ')}` : ''}` },
    { ok: f.byClass['other 5xx'] === 0, required: true, line: `no 5xx other than 503: ${int(f.byClass['other 5xx'])} in ${int(f.requests)} requests` },
    { ok: f.retryAfterOn429 === f.rateLimited, required: true, line: `every 429 carries Retry-After: ${int(f.retryAfterOn429)} of ${int(f.rateLimited)}` },
    { ok: f.rateLimitHeadersOn429 === f.rateLimited, required: true, line: `every 429 carries RateLimit and RateLimit-Policy: ${int(f.rateLimitHeadersOn429)} of ${int(f.rateLimited)}` },
    { ok: f.duplicates === 0, required: after, line: `no duplicate charges: ${int(f.charges)} charges for ${int(f.chargedLogical)} distinct logical payments` },
    {
      ok: f.rows === f.chargedLogical,
      required: after,
      line:
        `payment rows = distinct logical payments charged: ${int(f.rows)} rows, ${int(f.chargedLogical)} charged` +
        (f.stillProcessing > 0 ? ` (${int(f.stillProcessing)} still processing: the completer did not finish them within STORM_DRAIN_S)` : ''),
    },
    { ok: conflicting === 0 && unknownAnswers === 0, required: true, line: `every 201 for a logical payment named the same payment, which the database holds for it: ${int(conflicting)} conflicting, ${int(unknownAnswers)} unknown` },
  ];
}

function alertCell(alerts: Map<string, AlertHistory> | undefined, name: string): string {
  if (!alerts) return 'not watched';
  const h = alerts.get(name);
  if (!h || h.state === 'inactive') return 'inactive';
  const s = (v: number | undefined) => (v === undefined ? '' : ` at ${(v / 1000).toFixed(0)} s`);
  return h.state === 'firing' ? `**firing**${s(h.firingAtMs)} (pending${s(h.pendingAtMs)})` : `pending${s(h.pendingAtMs)}`;
}

function otherAlerts(alerts: Map<string, AlertHistory> | undefined): string {
  if (!alerts) return 'not watched';
  const others = [...alerts].filter(([name, h]) => name !== STORM_ALERT && h.state !== 'inactive');
  return others.length === 0 ? 'none' : others.map(([name, h]) => `${name} ${h.state}`).join(', ');
}

export interface ReportContext {
  readonly knobs: Knobs;
  readonly command: string;
  readonly storageLabel: string;
  readonly notes: string[];
  readonly alertsWhyNot: string | undefined;
  readonly date: string;
}

/** The setting, the comparison table, then `afterTable` (the plots, in the docs), then each run's checks. */
export function report(ctx: ReportContext, runs: RunOutcome[], afterTable: string[] = []): string {
  const { knobs } = ctx;
  const cpus = os.cpus();
  const f = runs.map(figures);
  const row = (label: string, value: (x: ReturnType<typeof figures>, run: RunOutcome) => string) => `| ${label} | ${f.map((x, i) => value(x, runs[i]!)).join(' | ')} |`;
  const of = (part: number, whole: number) => (whole === 0 ? '–' : `${int(part)} of ${int(whole)}`);
  const faultPct = (knobs.faultRate * 100) / 3;
  const lines = [
    `One run of \`${ctx.command}\`, on ${ctx.date}. Exit status: ${runs.some((r) => r.checks.some((c) => c.required && !c.ok)) ? '1 (a required check failed)' : '0'}.`,
    '',
    ...ctx.notes.map((n) => `- NOTE: ${n}`),
    `- Storage: ${ctx.storageLabel}; ${runs[0]?.instances ?? 0} API process${runs[0]?.instances === 1 ? '' : 'es'} per run, started afresh for each run with its own account.`,
    `- Rate limits: RATE_LIMIT_WRITE=${knobs.writeQuota} per API key, RATE_LIMIT_INSTANCES=${runs[0]?.instances ?? 0}, in ${runs
      .filter((r) => RUNS[r.name].limits)
      .map((r) => RUNS[r.name].title)
      .join(' and ') || 'no run'}: ${runs.find((r) => RUNS[r.name].limits)?.rateLimitBanner ?? 'not started'}.`,
    `- Clients: ${knobs.clients} × ${knobs.paymentsPerClient} logical payments (\`POST /v2/payments\`), each attempt given ${int(knobs.attemptTimeoutMs)} ms, attempts alternating between the API processes; ` +
      `a payment is given up after ${knobs.maxAttempts} attempts or ${knobs.giveUpS} s, and none is started after ${knobs.durationS} s.`,
    `- Processor: the simulator in its own process, started afresh for each run with the same seed (${knobs.seed}); faults on ${(knobs.faultRate * 100).toFixed(0)} % of its requests ` +
      `(errors, drops and hangs, ${faultPct.toFixed(1)} % each, before or after the charge is applied). API adapter: PROCESSOR_TIMEOUT_MS=${API_SETTINGS.PROCESSOR_TIMEOUT_MS}, PROCESSOR_MAX_RETRIES=${API_SETTINGS.PROCESSOR_MAX_RETRIES}.`,
    `- After each storm the faults are switched off and the completer (IDEMPOTENCY_LEASE_MS=${API_SETTINGS.IDEMPOTENCY_LEASE_MS}) has up to ${knobs.drainS} s to finish what was left \`processing\`; then the processes are stopped and the books counted.`,
    `- Alerts: ${ctx.alertsWhyNot ? `not watched (${ctx.alertsWhyNot})` : "a Prometheus of the run's own scraping both API processes every second with ops/prometheus/rules/remit.yml; the highest state each alert reached from the storm's start to the drain's end"}.`,
    `- Machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs; load average at the end ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ')}.`,
    '',
    `| | ${runs.map((r) => `**${RUNS[r.name].title}**`).join(' | ')} |`,
    `|---|${runs.map(() => '--:').join('|')}|`,
    row('clients', (_, r) => (RUNS[r.name].clients === 'naive' ? 'naive' : 'SDK')),
    row('rate limits', (_, r) => (RUNS[r.name].limits ? `${knobs.writeQuota} writes per key` : 'off')),
    row('requests sent', (x) => int(x.requests)),
    row('requests per logical payment', (x) => (x.perLogical === undefined ? 'n/a' : x.perLogical.toFixed(1))),
    row('2xx (of which replayed: `Idempotent-Replayed: true`)', (x) => `${int(x.byClass['2xx'])} (${int(x.replayed)})`),
    row('409 (idempotency_in_flight)', (x) => int(x.byClass['409'])),
    row('429', (x) => int(x.byClass['429'])),
    row('503', (x) => int(x.byClass['503'])),
    row('**other 5xx** (must be 0)', (x) => int(x.byClass['other 5xx'])),
    row('other 4xx', (x) => int(x.byClass['other 4xx'])),
    row('no answer (client timeout or connection error)', (x) => int(x.byClass['no answer'])),
    row('latency p50 / p99 ms, answered requests', (x) => `${ms(percentile(x.latencies, 50))} / ${ms(percentile(x.latencies, 99))}`),
    row('logical payments attempted', (x) => int(x.attempted)),
    row('… a 201 reached the client', (x) => int(x.succeeded)),
    row('… the client gave up (unfinished)', (x) => int(x.unfinished)),
    row('… refused for good', (x) => int(x.refused)),
    row('processor: requests (replays)', (_, r) => `${int(r.ledger.stats.requests)} (${int(r.ledger.stats.replays)})`),
    row('processor: faults (error, drop, hang)', (_, r) => `${int(r.ledger.stats.faults.error)}, ${int(r.ledger.stats.faults.drop)}, ${int(r.ledger.stats.faults.timeout)}`),
    row('charges', (x) => int(x.charges)),
    row('distinct logical payments charged', (x) => int(x.chargedLogical)),
    row('**duplicate charges** (charges − distinct logical payments charged)', (x) => `**${int(x.duplicates)}**`),
    row('logical payments charged although their client gave up', (x) => int(x.chargedUnbeknown)),
    row('payment rows', (x) => int(x.rows)),
    row('payments left unfinished (rows still `processing` after the drain)', (x) => int(x.stillProcessing)),
    row(`${STORM_ALERT} (highest state, from the storm's start)`, (_, r) => alertCell(r.alerts, STORM_ALERT)),
    row('other alerts pending or firing', (_, r) => otherAlerts(r.alerts)),
    row('429s with Retry-After, RateLimit and RateLimit-Policy', (x) => of(Math.min(x.retryAfterOn429, x.rateLimitHeadersOn429), x.rateLimited)),
    row('503s with Retry-After', (x) => of(x.retryAfterOn503, x.unavailable)),
    row('requests per API process', (x) => x.perInstance.map(int).join(' / ')),
    row('storm, then drain (s)', (_, r) => `${(r.result.elapsedMs / 1000).toFixed(1)}, ${(r.drained.elapsedMs / 1000).toFixed(1)}`),
    '',
    ...afterTable,
    ...runs.flatMap((r) => [
      `Checks, ${RUNS[r.name].title} (${RUNS[r.name].summary}):`,
      '',
      ...r.checks.map((c) => `- ${c.ok ? 'ok' : c.required ? 'FAILED' : 'not met, as expected without the guardrails'}: ${c.line}`),
      '',
    ]),
  ];
  return lines.join('\n').trimEnd();
}
