/**
 * A run as it happened, second by second: the answers the clients got, by status, the calls the
 * processor received, and the charges it made against the logical payments it charged. The
 * processor's call count is sampled once a second through its control API while the run lasts;
 * the charges carry their own times in the ledger.
 */
import type { ProjectProcess } from '../harness/process.js';
import { readLedger, type Books, type Ledger } from './books.js';
import type { AttemptOutcome, AttemptRecord } from './clients.js';

const SAMPLE_MS = 1_000;

/** The classes a timeline and the report count answers in, in the order they are stacked. */
export const STATUS_CLASSES = ['2xx', '409', '429', '503', 'other 5xx', 'other 4xx', 'no answer'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export function statusClass(o: AttemptOutcome): StatusClass {
  if (typeof o !== 'number') return 'no answer';
  if (o >= 200 && o < 300) return '2xx';
  if (o === 409 || o === 429 || o === 503) return String(o) as StatusClass;
  return o >= 500 ? 'other 5xx' : 'other 4xx';
}

export interface ProcessorSample {
  readonly atMs: number;
  readonly requests: number;
}

/** Samples the simulator's request count once a second until `stop()`. */
export function sampleProcessor(simulator: ProjectProcess, began: number): { stop(): Promise<ProcessorSample[]> } {
  const samples: ProcessorSample[] = [{ atMs: 0, requests: 0 }];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      try {
        const ledger = await readLedger(simulator);
        samples.push({ atMs: Date.now() - began, requests: ledger.stats.requests });
      } catch {
        // A missed sample: the next one counts the calls since the last.
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** One second of a run. `charges` and `logicalCharged` are cumulative. */
export interface Second {
  readonly t: number;
  readonly answers: Record<StatusClass, number>;
  readonly processorCalls: number;
  readonly charges: number;
  readonly logicalCharged: number;
}

export interface Timeline {
  readonly seconds: Second[];
  /** When the storm ended and the drain began, in seconds from the start. */
  readonly stormEndS: number;
}

/**
 * Bins a run by the second: answers by when they came (or when the client stopped waiting),
 * processor calls by sample, charges by their ledger time.
 */
export function timelineOf(attempts: AttemptRecord[], samples: ProcessorSample[], ledger: Ledger, books: Books, began: number, stormEndMs: number): Timeline {
  const rows = new Map(books.payments.map((p) => [p.id, p.storm_key]));
  const charges = ledger.charges
    .filter((c) => rows.has(c.idempotencyKey))
    .map((c) => ({ atMs: Number(c.createdUnixMs) - began, logical: rows.get(c.idempotencyKey) }))
    .sort((a, b) => a.atMs - b.atMs);
  // A loop, not Math.max(...all): a storm of a hundred thousand attempts is more arguments than a call takes.
  let lastMs = stormEndMs;
  for (const ms of [attempts.map((a) => a.endMs), samples.map((s) => s.atMs), charges.map((c) => c.atMs)].flat()) if (ms > lastMs) lastMs = ms;
  const n = Math.max(1, Math.ceil(lastMs / 1000));
  const seconds = Array.from({ length: n }, (_, t) => ({
    t,
    answers: Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0])) as Record<StatusClass, number>,
    processorCalls: 0,
    charges: 0,
    logicalCharged: 0,
  }));
  const at = (ms: number) => seconds[Math.min(n - 1, Math.max(0, Math.floor(ms / 1000)))]!;
  for (const a of attempts) at(a.endMs).answers[statusClass(a.outcome)]++;
  // A sample's increase is spread over the seconds since the one before it.
  for (let i = 1; i < samples.length; i++) {
    const from = samples[i - 1]!;
    const to = samples[i]!;
    const first = Math.floor(from.atMs / 1000);
    const last = Math.max(first, Math.floor(to.atMs / 1000) - 1);
    const per = (to.requests - from.requests) / (last - first + 1);
    for (let s = first; s <= last; s++) if (s < n) seconds[s]!.processorCalls += per;
  }
  const seen = new Set<string | null | undefined>();
  let i = 0;
  for (const second of seconds) {
    while (i < charges.length && charges[i]!.atMs < (second.t + 1) * 1000) seen.add(charges[i++]!.logical);
    second.charges = i;
    second.logicalCharged = seen.size;
  }
  return { seconds, stormEndS: stormEndMs / 1000 };
}
