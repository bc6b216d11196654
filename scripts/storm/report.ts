/**
 * The report: what the storm sent and got, what the books say afterwards, and the checks that
 * decide the exit status. It is printed as Markdown tables so that a run can be pasted into the
 * documentation as it stands.
 */
import os from 'node:os';
import type { ProjectProcess } from '../harness/process.js';
import type { RunStorage } from '../harness/storage.js';
import { chargesOf, type Books, type Drain, type Ledger } from './books.js';
import { RETRY_AFTER_JITTER_MS, type StormResult, type Tally } from './clients.js';
import type { Knobs } from './knobs.js';
import { API_SETTINGS } from './setup.js';

export const int = (n: number) => Math.round(n).toLocaleString('en-US');

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v < 10 ? v.toFixed(1) : int(v));

export interface Check {
  readonly ok: boolean;
  readonly line: string;
}

interface Setup {
  readonly knobs: Knobs;
  readonly storage: RunStorage;
  readonly apis: ProjectProcess[];
  readonly rateLimitBanner: string;
  readonly notes: string[];
}

export function report(setup: Setup, result: StormResult, drained: Drain, books: Books, ledger: Ledger, checks: Check[]): string {
  const { knobs, storage, apis } = setup;
  const { tallies: t, perInstance } = result;
  const cpus = os.cpus();
  const kinds = ['all', 'patient', 'impatient'] as const;
  const clientsOf = (k: (typeof kinds)[number]) => (k === 'all' ? knobs.clients : result.logicals.filter((l) => l.kind === k).length / knobs.paymentsPerClient);
  const row = (label: string, value: (x: Tally) => string) => `| ${label} | ${kinds.map((k) => value(t[k])).join(' | ')} |`;
  const of = (part: number, whole: number) => `${int(part)} of ${int(whole)}`;

  const { stormCharges, chargedKeys } = chargesOf(books, ledger);
  const byStatus = new Map<string, number>();
  for (const p of books.payments) byStatus.set(p.status, (byStatus.get(p.status) ?? 0) + 1);
  const clientSucceeded = new Set(result.logicals.filter((l) => l.outcome === 'succeeded').map((l) => l.key));
  const finishedForOthers = new Set(books.payments.filter((p) => p.status !== 'processing' && p.storm_key && !clientSucceeded.has(p.storm_key)).map((p) => p.storm_key));
  const faultPct = (knobs.faultRate * 100) / 3;

  const lines = [
    `## Retry storm: POST /v1/payments, ${knobs.clients} clients × ${knobs.paymentsPerClient} payments, ${apis.length} API process${apis.length === 1 ? '' : 'es'}`,
    '',
    ...setup.notes.map((n) => `- NOTE: ${n}`),
    `- Storage: ${storage.label}`,
    `- Rate limits: RATE_LIMIT_WRITE=${knobs.writeQuota} per API key, RATE_LIMIT_INSTANCES=${apis.length}; ${setup.rateLimitBanner}`,
    `- Processor: the simulator in its own process, faults on ${(knobs.faultRate * 100).toFixed(0)} % of its requests ` +
      `(errors, drops and hangs, ${faultPct.toFixed(1)} % each, before or after the charge is applied; seed ${knobs.seed}); ` +
      `API adapter: PROCESSOR_TIMEOUT_MS=${API_SETTINGS.PROCESSOR_TIMEOUT_MS}, PROCESSOR_MAX_RETRIES=${API_SETTINGS.PROCESSOR_MAX_RETRIES}`,
    `- Clients: ${int(clientsOf('impatient'))} of ${knobs.clients} impatient (stop waiting for an answer after ${knobs.impatientTimeoutMs} ms and ` +
      `retry at once, ignoring Retry-After); the others wait up to ${knobs.requestTimeoutMs} ms for an answer, then as Retry-After says ` +
      `plus up to ${RETRY_AFTER_JITTER_MS} ms, or a jittered backoff after a connection error. One Idempotency-Key per logical payment, ` +
      `reused on every retry; ${apis.length > 1 ? 'attempts alternate between the API processes' : 'every attempt to the one API process'}; retried on 429, 409 idempotency_in_flight, 503 and ` +
      `connection errors; a logical payment is given up after ${knobs.maxAttempts} attempts or ${knobs.giveUpS} s`,
    `- Storm: ${(result.elapsedMs / 1000).toFixed(1)} s (at most ${knobs.durationS} s). Then the faults were switched off and the completer ` +
      `(IDEMPOTENCY_LEASE_MS=${API_SETTINGS.IDEMPOTENCY_LEASE_MS}) had up to ${knobs.drainS} s to finish what was left processing: ` +
      `${drained.processingAtEnd} → ${drained.processingAfter} in ${(drained.elapsedMs / 1000).toFixed(1)} s`,
    `- Machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs; load average ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ')}`,
    '',
    '| requests | all clients | patient | impatient |',
    '|---|--:|--:|--:|',
    row('requests sent', (x) => int(x.requests)),
    row('201 created (replayed)', (x) => `${int(x.created)} (${int(x.createdReplayed)})`),
    row('409 idempotency_in_flight', (x) => int(x.inFlight409)),
    row('429 rate_limited', (x) => int(x.rateLimited)),
    row('503', (x) => int(x.unavailable)),
    row('other answers', (x) => int(x.otherAnswers)),
    row('connection errors / client timeouts', (x) => `${int(x.connectionErrors)} / ${int(x.timeouts)}`),
    row('**5xx other than 503** (must be 0)', (x) => int(x.unexpected5xx)),
    row('429s with Retry-After (must be all)', (x) => of(x.retryAfterOn429, x.rateLimited)),
    row('429s with RateLimit and RateLimit-Policy (must be all)', (x) => of(x.rateLimitHeadersOn429, x.rateLimited)),
    row('503s with Retry-After', (x) => of(x.retryAfterOn503, x.unavailable)),
    row('latency p50 / p99 ms, every answer', (x) => `${ms(percentile(x.latenciesMs, 50))} / ${ms(percentile(x.latenciesMs, 99))}`),
    row('latency p50 / p99 ms, 201s', (x) => `${ms(percentile(x.createdLatenciesMs, 50))} / ${ms(percentile(x.createdLatenciesMs, 99))}`),
    `| requests per API process | ${perInstance.map(int).join(' / ')} | | |`,
    '',
    '| logical payments | all clients | patient | impatient |',
    '|---|--:|--:|--:|',
    row('attempted', (x) => int(x.logical - x.notStarted)),
    row('succeeded (a 201 reached the client)', (x) => int(x.succeeded)),
    row('unfinished (the client gave up)', (x) => int(x.unfinished)),
    row('ended by another answer', (x) => int(x.refused)),
    row('not started (storm over)', (x) => int(x.notStarted)),
    row('requests per logical payment', (x) => (x.logical - x.notStarted > 0 ? (x.requests / (x.logical - x.notStarted)).toFixed(1) : 'n/a')),
    '',
    '| the books, after the storm | count |',
    '|---|--:|',
    `| payment rows in the database for the storm's account | ${int(books.payments.length)} (${[...byStatus].map(([s, n]) => `${s} ${int(n)}`).join(', ') || 'none'}) |`,
    `| distinct logical payments among them | ${int(new Set(books.payments.map((p) => p.storm_key)).size)} |`,
    `| of which finished although the client gave up | ${int(finishedForOthers.size)} |`,
    `| idempotency keys (unfinished) | ${int(books.keys)} (${int(books.unfinishedKeys)}) |`,
    `| charges in the processor ledger for the storm's payments | ${int(stormCharges.length)} |`,
    `| distinct logical payments charged | ${int(chargedKeys.size)} |`,
    `| **duplicate charges** (must be 0) | ${int(stormCharges.length - chargedKeys.size)} |`,
    `| charges for no payment of the storm | ${int(ledger.charges.length - stormCharges.length)} |`,
    `| processor: requests / replays / faults (error, drop, hang) | ${int(ledger.stats.requests)} / ${int(ledger.stats.replays)} / ` +
      `${int(ledger.stats.faults.error)}, ${int(ledger.stats.faults.drop)}, ${int(ledger.stats.faults.timeout)} |`,
    '',
    'Checks:',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.line}`),
  ];
  return lines.join('\n');
}

export function runChecks(result: StormResult, books: Books, ledger: Ledger, died: string[]): Check[] {
  const t = result.tallies.all;
  const { rows, stormCharges, chargedKeys } = chargesOf(books, ledger);
  const conflicting = result.logicals.filter((l) => l.paymentIds.size > 1).length;
  const unknownAnswers = result.logicals.filter((l) => [...l.paymentIds].some((id) => rows.get(id)?.storm_key !== l.key)).length;
  const stillProcessing = books.payments.filter((p) => p.status === 'processing').length;
  return [
    { ok: died.length === 0, line: `every process stayed up until it was stopped${died.length > 0 ? `: ${died.join('; ')}` : ''}` },
    { ok: t.unexpected5xx === 0, line: `no 5xx other than 503: ${int(t.unexpected5xx)} in ${int(t.requests)} requests` },
    { ok: t.retryAfterOn429 === t.rateLimited, line: `every 429 carries Retry-After: ${int(t.retryAfterOn429)} of ${int(t.rateLimited)}` },
    { ok: t.rateLimitHeadersOn429 === t.rateLimited, line: `every 429 carries RateLimit and RateLimit-Policy: ${int(t.rateLimitHeadersOn429)} of ${int(t.rateLimited)}` },
    { ok: stormCharges.length === chargedKeys.size, line: `no duplicate charges: ${int(stormCharges.length)} charges for ${int(chargedKeys.size)} distinct logical payments` },
    {
      ok: books.payments.length === chargedKeys.size,
      line:
        `payment rows = distinct logical payments charged: ${int(books.payments.length)} rows, ${int(chargedKeys.size)} charged` +
        (stillProcessing > 0 ? ` (${int(stillProcessing)} still processing: the completer did not finish them within STORM_DRAIN_S)` : ''),
    },
    { ok: conflicting === 0 && unknownAnswers === 0, line: `every 201 for a key named the same payment, which the database holds under that key: ${int(conflicting)} conflicting, ${int(unknownAnswers)} unknown` },
  ];
}
