/**
 * How the tables are written: medians over the rounds, figures rounded one way, the lines that say
 * how the load was made and on what machine, the per-round tables that let a reader check every
 * median, and the checks. Kept in one place so that the four tables say the same thing the same way.
 */
import os from 'node:os';
import { withoutPassword } from '../../scripts/harness/storage.js';
import { DATABASE_URL, DB_POOL_MAX, WARMUP_S } from './knobs.js';
import type { Rounds } from './run.js';
import type { RunResult } from './targets.js';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const ms = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
export const sum = <T>(items: readonly T[], of: (item: T) => number) => items.reduce((total, item) => total + of(item), 0);
export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
/** `value` as a multiple of `base`, or n/a without a base to divide by. */
export const ratio = (value: number, base: number | undefined) => (base ? (value / base).toFixed(2) : 'n/a');

export interface Medians {
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function mediansOf<Id extends string>(targets: readonly { readonly id: Id }[], results: Map<Id, RunResult[]>): Map<Id, Medians> {
  return new Map(
    targets.map((t) => {
      const runs = results.get(t.id)!;
      return [t.id, { reqPerS: median(runs.map((r) => r.reqPerS)), p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)) }];
    }),
  );
}

/** A target's row: its id and label, its medians, then the table's own columns. */
export function medianRow(id: string, label: string, m: Medians, ...columns: string[]): string {
  return `| \`${id}\` ${label} | ${int(m.reqPerS)} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ${columns.join(' | ')} |`;
}

/** The failures of some runs, each kind summed. */
export function failureTotals(runs: readonly RunResult[]): { readonly non2xx: number; readonly errors: number; readonly timeouts: number } {
  return { non2xx: sum(runs, (r) => r.non2xx), errors: sum(runs, (r) => r.errors), timeouts: sum(runs, (r) => r.timeouts) };
}

/** Responses by status over some runs, of the statuses `counted` keeps. */
export function statusTotals(runs: readonly RunResult[], counted: (status: string) => boolean = () => true): Map<string, number> {
  const statuses = new Map<string, number>();
  for (const run of runs) {
    for (const [status, n] of Object.entries(run.statuses)) if (counted(status)) statuses.set(status, (statuses.get(status) ?? 0) + n);
  }
  return statuses;
}

/** `404 ×3, 500 ×1`: empty without any. */
export const statusList = (statuses: Map<string, number>) => [...statuses].map(([status, n]) => `${status} ×${n}`).join(', ');

/** How a table's load was made: `who` is `Load`, or `Victim` where other clients load the server too. */
export function autocannonLine(who: string, connections: number, durationS: number): string {
  return `- ${who}: autocannon 9 in its own process, ${connections} connections, pipelining 1, ${durationS} s per measured run; one ${WARMUP_S} s warm-up per target before its first run`;
}

export const roundsLine = (rounds: number) => `- Rounds: ${rounds}, targets in alternating order; each figure is the median over the rounds`;

export function storageLine(): string {
  if (!DATABASE_URL) return 'embedded PGlite in memory, inside each full-app server process';
  return `PostgreSQL at ${withoutPassword(DATABASE_URL)}, one throwaway schema per full-app server (dropped at the end), pool max ${DB_POOL_MAX}`;
}

export function machine(): string {
  const cpus = os.cpus();
  return `Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'})`;
}

const loadAverage = (avg: number[]) => avg.map((n) => n.toFixed(2)).join(' / ');

/** Other work on the machine shows up in every figure; the load average says how much there was. */
export function loadAverageLine(loadBefore: number[], firstRun: string): string {
  return `- Load average (1/5/15 min) before the first ${firstRun}: ${loadAverage(loadBefore)}; after the last: ${loadAverage(os.loadavg())}`;
}

/** A row per target and a column per round. */
export function roundTable(rounds: number, rows: readonly (readonly [id: string, cells: readonly string[]])[]): string[] {
  return [
    `| target | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(' | ')} |`,
    `|---|${'---|'.repeat(rounds)}`,
    ...rows.map(([id, cells]) => `| \`${id}\` | ${cells.join(' | ')} |`),
  ];
}

export function orderLines(orders: readonly string[][]): string[] {
  return ['Order of the runs:', '', ...orders.map((order, i) => `- round ${i + 1}: ${order.join(' → ')}`)];
}

/** Every round's raw numbers and the order the targets ran in, so the medians can be checked. */
export function roundLines<Id extends string>(targets: readonly { readonly id: Id }[], { results, orders }: Rounds<Id>, rounds: number): string[] {
  return [
    'Per round (req/s, p50 ms, p99 ms, requests):',
    '',
    ...roundTable(
      rounds,
      targets.map((t) => [t.id, results.get(t.id)!.map((r) => `${int(r.reqPerS)} req/s, ${ms(r.p50Ms)}, ${ms(r.p99Ms)}, ${int(r.requests)}`)]),
    ),
    '',
    ...orderLines(orders),
  ];
}

/** Something a table's run must show for its numbers to mean what the table says; a failed one fails the benchmark. */
export interface Check {
  readonly ok: boolean;
  readonly line: string;
  readonly detail: string;
}

/** A table as printed, and the checks it was printed with. */
export interface Table {
  readonly text: string;
  readonly checks: readonly Check[];
}

export const checkText = (c: Check) => `${c.line}\n  ${c.detail}`;

export function checkLines(heading: string, checks: readonly Check[]): string[] {
  return [heading, '', ...checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${checkText(c)}`)];
}

/** The failures any run had: the table shows them, and any at all fails the benchmark. */
export function failuresCheck(target: { readonly id: string; readonly runs: readonly RunResult[] }): Check {
  const { non2xx, errors, timeouts } = failureTotals(target.runs);
  const byStatus = statusList(statusTotals(target.runs, (status) => !status.startsWith('2')));
  return {
    ok: non2xx === 0 && errors === 0 && timeouts === 0,
    line: `${target.id}: ${non2xx} non-2xx${byStatus ? ` (${byStatus})` : ''}, ${errors} errors, ${timeouts} timeouts`,
    detail: `in ${sum(target.runs, (r) => r.requests)} responses over ${target.runs.length} runs, warm-up included`,
  };
}
