/**
 * What every table of one run shares: the run's id, the progress lines on stderr (stdout is kept for
 * the tables), and the order the targets are measured in, so that every table meets the machine's
 * drift the same way.
 */
import os from 'node:os';
import { randomBase62 } from '../../src/platform/ids.js';
import type { RunResult } from './targets.js';
import { int, ms } from './report.js';

// Every idempotency key and Redis counter of this run starts with it, so no run can meet what an
// earlier one left behind.
export const RUN_ID = randomBase62(10);

const startedAt = Date.now();
export function progress(line: string): void {
  process.stderr.write(`[${String(Math.round((Date.now() - startedAt) / 1000)).padStart(3)} s] ${line}\n`);
}

/** One table's measured runs: each target's, one per round, and the order they ran in. */
export interface Rounds<Id extends string> {
  readonly results: Map<Id, RunResult[]>;
  readonly orders: Id[][];
  /** The load average when the table's first run started. */
  readonly loadBefore: number[];
}

/**
 * Runs every target `rounds` times, in alternating direction: forward, then backward, and so on,
 * which puts every target early and late in a round alike, so slow drift (heat, other work on the
 * machine) does not favour whichever runs first. Each target gets a warm-up run before its first.
 */
export async function inRounds<T extends { readonly id: string }>(
  targets: readonly T[],
  rounds: number,
  run: (target: T, warmUp: boolean) => Promise<RunResult>,
): Promise<Rounds<T['id']>> {
  const loadBefore = os.loadavg();
  const results = new Map<T['id'], RunResult[]>(targets.map((t) => [t.id, []]));
  const orders: T['id'][][] = [];
  const warmed = new Set<T['id']>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    orders.push(order.map((t) => t.id));
    for (const target of order) {
      if (!warmed.has(target.id)) {
        await run(target, true);
        warmed.add(target.id);
      }
      const result = await run(target, false);
      results.get(target.id)!.push(result);
      const failures = result.non2xx + result.errors + result.timeouts > 0 ? `; ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts` : '';
      progress(`round ${round + 1}/${rounds} ${target.id}: ${int(result.reqPerS)} req/s, p50 ${ms(result.p50Ms)} ms, p99 ${ms(result.p99Ms)} ms${failures}`);
    }
  }
  return { results, orders, loadBefore };
}
