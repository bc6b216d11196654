/**
 * The retry storm's arithmetic and its evidence, without running a storm (`make storm` does that):
 * duplicate charges counted from the ledger and the payment rows, not from what clients saw; which
 * checks fail the command in which run; a run binned by the second; the plot drawn; and the report
 * committed in docs/storm.md holding what the docs say it shows, with its plots beside it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { expect } from 'chai';
import { ChargeSchema } from '../../generated/processor/processor_pb.js';
import type { Books, Ledger } from '../../scripts/storm/books.js';
import type { AttemptRecord, Logical } from '../../scripts/storm/clients.js';
import type { RunName } from '../../scripts/storm/knobs.js';
import { plotTimeline } from '../../scripts/storm/plot.js';
import { figures, runChecks, RUNS, type RunOutcome } from '../../scripts/storm/report.js';
import { timelineOf } from '../../scripts/storm/timeline.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BEGAN = 1_700_000_000_000;

const attempt = (startMs: number, endMs: number, outcome: AttemptRecord['outcome'], extra: Partial<AttemptRecord> = {}): AttemptRecord => ({
  startMs,
  endMs,
  outcome,
  instance: 0,
  retryAfter: outcome === 429 || outcome === 503,
  rateLimitHeaders: outcome === 429,
  replayed: false,
  ...extra,
});
const logical = (key: string, outcome: Logical['outcome'], ids: string[] = []): Logical => ({ key, attempts: 1, outcome, paymentIds: new Set(ids) });
const charge = (paymentId: string, atMs: number) => create(ChargeSchema, { id: `ch_${paymentId}`, idempotencyKey: paymentId, createdUnixMs: BigInt(BEGAN + atMs) });

/**
 * Three logical payments. `a` was made twice (a naive client's timed-out attempt and its retry
 * under a fresh key), `b` once, `c` once although its client gave up. Plus a charge the ledger
 * holds for no payment of the run.
 */
function naiveRun(name: RunName = 'before'): Omit<RunOutcome, 'checks'> {
  const books: Books = {
    payments: [
      { id: 'pay_a1', status: 'succeeded', storm_key: 'a' },
      { id: 'pay_a2', status: 'succeeded', storm_key: 'a' },
      { id: 'pay_b', status: 'succeeded', storm_key: 'b' },
      { id: 'pay_c', status: 'succeeded', storm_key: 'c' },
    ],
    keys: 4,
    unfinishedKeys: 0,
  };
  const ledger: Ledger = {
    charges: [charge('pay_a1', 400), charge('pay_a2', 1_300), charge('pay_b', 1_500), charge('pay_c', 3_200), charge('pay_elsewhere', 100)],
    stats: { requests: 6, replays: 0, faults: { error: 0, timeout: 1, drop: 0 } },
  };
  const result = {
    kind: 'naive' as const,
    attempts: [attempt(0, 1_000, 'timeout'), attempt(1_000, 1_400, 201), attempt(0, 1_600, 201), attempt(100, 200, 503), attempt(200, 250, 429), attempt(250, 2_100, 'connection')],
    logicals: [logical('a', 'succeeded', ['pay_a2']), logical('b', 'succeeded', ['pay_b']), logical('c', 'unfinished')],
    samples: [],
    elapsedMs: 2_500,
  };
  const timeline = timelineOf(result.attempts, [{ atMs: 0, requests: 0 }, { atMs: 1_000, requests: 4 }, { atMs: 2_000, requests: 6 }], ledger, books, BEGAN, 2_500);
  return { name, result, drained: { processingAtEnd: true, processingAfter: false, elapsedMs: 900 }, books, ledger, died: [], alerts: undefined, timeline, rateLimitBanner: 'off', instances: 1 };
}

describe('the retry storm report', () => {
  it('counts duplicate charges from the ledger and the rows: charges less the logical payments charged', () => {
    const f = figures({ ...naiveRun(), checks: [] });
    expect(f.charges, 'the charges for the run’s payment rows, not the one for another payment').to.equal(4);
    expect(f.chargedLogical).to.equal(3);
    expect(f.duplicates).to.equal(1);
    expect(f.chargedUnbeknown, 'c was charged although its client gave up').to.equal(1);
    expect(f.byClass).to.deep.include({ '2xx': 2, '503': 1, '429': 1, 'no answer': 2 });
    expect(f.perLogical).to.equal(2);
  });

  it('fails the command on a duplicate charge in the after run only', () => {
    const before = runChecks(naiveRun('before'));
    const after = runChecks(naiveRun('after'));
    const duplicate = (checks: ReturnType<typeof runChecks>) => checks.find((c) => c.line.startsWith('no duplicate charges'))!;
    expect(duplicate(before)).to.include({ ok: false, required: false });
    expect(duplicate(after)).to.include({ ok: false, required: true });
    expect(before.filter((c) => c.required && !c.ok)).to.deep.equal([]);
  });

  it('fails the command on a 5xx other than 503, or a 429 without its headers, in any run', () => {
    const run = naiveRun('before');
    run.result.attempts.push(attempt(300, 310, 500), attempt(310, 320, 429, { retryAfter: false }));
    const failed = runChecks(run).filter((c) => c.required && !c.ok).map((c) => c.line);
    expect(failed).to.have.length(2);
    expect(failed[0]).to.match(/^no 5xx other than 503: 1 in 8 requests/);
    expect(failed[1]).to.match(/^every 429 carries Retry-After: 1 of 2/);
  });

  it('bins a run by the second: answers when they came, processor calls by sample, charges by their ledger time', () => {
    const { timeline } = naiveRun();
    expect(timeline.seconds.map((s) => s.answers['2xx'])).to.deep.equal([0, 2, 0, 0]);
    expect(timeline.seconds.map((s) => s.answers['no answer'])).to.deep.equal([0, 1, 1, 0]);
    expect(timeline.seconds.map((s) => s.processorCalls)).to.deep.equal([4, 2, 0, 0]);
    expect(timeline.seconds.map((s) => s.charges)).to.deep.equal([1, 3, 3, 4]);
    expect(timeline.seconds.map((s) => s.logicalCharged)).to.deep.equal([1, 2, 2, 3]);
    expect(timeline.stormEndS).to.equal(2.5);
  });

  it('bins a storm of 300,000 attempts, more than a function call takes as arguments', () => {
    const attempts = Array.from({ length: 300_000 }, (_, i) => attempt(i % 9_000, (i % 9_000) + 50, 429));
    const { books, ledger } = naiveRun();
    const timeline = timelineOf(attempts, [{ atMs: 0, requests: 0 }], ledger, books, BEGAN, 1_000);
    expect(timeline.seconds).to.have.length(10);
    expect(timeline.seconds.reduce((sum, s) => sum + s.answers['429'], 0)).to.equal(300_000);
  });

  it('draws a run as an SVG with its title, its three panels and every status it saw', async function () {
    this.timeout(20_000);
    const svg = await plotTimeline('before: 1 duplicate charge', ['naive clients.', '6 requests.'], naiveRun().timeline, 5);
    expect(svg).to.match(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const text of ['before: 1 duplicate charge', 'answers per second, by status', 'calls the processor received per second', 'logical payments charged', '2xx', '503', 'no answer']) {
      expect(svg, text).to.include(text);
    }
  });
});

describe('the retry storm evidence in docs/storm.md', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/storm.md'), 'utf8');
  const section = doc.split('<!-- make storm: the measured section begins -->')[1]?.split('<!-- make storm: the measured section ends -->')[0] ?? '';
  const cells = (label: string) => {
    const line = section.split('\n').find((l) => l.startsWith(label ? `| ${label} |` : '| | '));
    expect(line, `the row "${label}"`).to.not.equal(undefined);
    return line!.split('|').slice(2, -1).map((c) => c.trim());
  };

  it('holds one measured report of the three runs, made on PostgreSQL with Redis, that exited 0', () => {
    expect(section).to.match(/^One run of `make storm`, on \d{4}-\d{2}-\d{2}\. Exit status: 0\./m);
    expect(section).to.match(/- Storage: PostgreSQL at /);
    expect(section).to.match(/- Rate limits: .*, in limits only and after: shared through Redis at /);
    expect(section).to.not.match(/NOTE:/);
    expect(cells('')).to.deep.equal(['**before**', '**limits only**', '**after**']);
  });

  it('shows no duplicate charge and no 5xx other than 503 after, and the duplicates before', () => {
    const duplicates = cells('**duplicate charges** (charges − distinct logical payments charged)').map((c) => Number(c.replace(/\*|,/g, '')));
    expect(duplicates[2], 'after').to.equal(0);
    expect(duplicates[0], 'before').to.be.above(0);
    expect(cells('**other 5xx** (must be 0)')).to.deep.equal(['0', '0', '0']);
  });

  it('shows each run’s plot beside the table, and every plot exists', () => {
    for (const run of ['before', 'limits-only', 'after'] as const) {
      const image = `evidence/storm-${run}.svg`;
      expect(section, image).to.include(`](${image})`);
      const svg = readFileSync(path.join(ROOT, 'docs', image), 'utf8');
      expect(svg, image).to.include(`${RUNS[run].title}: `);
    }
  });
});
