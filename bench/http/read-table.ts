/**
 * The read table: what one `GET /v1/customers/{id}` costs through Remit, next to bare node:http and
 * Express sending the same JSON, and whether the validators' cost grows with the size of the spec.
 * Unlike the other tables it stops at the first failed request: a run with failures would measure
 * error handling, not the route.
 */
import type { ChildProcess } from 'node:child_process';
import { loadSpec } from '../../src/platform/spec.js';
import { startServer } from './children.js';
import { customerTarget, runGet, type Target } from './customer-read.js';
import { CONNECTIONS, DURATION_S, LOG_LEVEL, PAD_RESOURCES, ROUNDS, WARMUP_S } from './knobs.js';
import { autocannonLine, loadAverageLine, machine, medianRow, mediansOf, ratio, roundLines, storageLine } from './report.js';
import { inRounds, type Rounds } from './run.js';
import { padSpec, pathCount, TARGETS, type RunResult, type TargetId } from './targets.js';

export async function startReadTarget(id: TargetId, databaseUrl: string | undefined): Promise<Target> {
  return customerTarget(id, await startServer(id, databaseUrl));
}

/** A read-table run: one with any failure stops the benchmark. */
async function runLoad(load: ChildProcess, target: Target, durationS: number): Promise<RunResult> {
  const r = await runGet(load, target, durationS);
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
    throw new Error(`${target.id}: ${r.non2xx} non-2xx responses, ${r.errors} errors, ${r.timeouts} timeouts in ${r.requests} requests`);
  }
  return r;
}

/** Measures the read targets, already probed, and returns the table. */
export async function readTable(load: ChildProcess, targets: Target[]): Promise<string> {
  const rounds = await inRounds(targets, ROUNDS, (target, warmUp) => runLoad(load, target, warmUp ? WARMUP_S : DURATION_S));
  return readReport(targets, rounds);
}

function readReport(targets: Target[], rounds: Rounds<TargetId>): string {
  const realPaths = pathCount(loadSpec());
  const paddedPaths = pathCount(padSpec(loadSpec(), PAD_RESOURCES));
  const bodySizes = [...new Set(targets.map((t) => t.bodyBytes))];
  const medians = mediansOf(targets, rounds.results);
  const vs = (id: TargetId, base: TargetId) => ratio(medians.get(id)!.reqPerS, medians.get(base)?.reqPerS);

  const lines = [
    '## HTTP benchmark: GET /v1/customers/{id}',
    '',
    autocannonLine('Load', CONNECTIONS, DURATION_S),
    `- Rounds: ${ROUNDS}, targets in alternating order (forward, then backward, …); each figure is the median over the rounds`,
    `- Storage for the full-app rows: ${storageLine()}`,
    `- Spec: spec/openapi.yaml has ${realPaths} paths as is; the padded copy has ${paddedPaths} (${PAD_RESOURCES} synthetic resources \`/v1/bench_pad_NNN\` and \`/v1/bench_pad_NNN/{id}\`, sorted ahead of /v1/customers)`,
    `- Every row with validators validates requests and responses; app log level: ${LOG_LEVEL}; each server in its own process on 127.0.0.1`,
    `- Response body: ${bodySizes.join(' / ')} bytes${bodySizes.length === 1 ? ' from every target' : ''}; latency resolution: 1 ms (autocannon)`,
    `- Machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'run'),
    '',
    '| target | req/s (median) | p50 ms | p99 ms | ratio vs bare Express (req/s) | ratio vs node:http |',
    '|---|--:|--:|--:|--:|--:|',
    ...targets.map((t) => medianRow(t.id, TARGETS[t.id].label, medians.get(t.id)!, vs(t.id, 'express'), vs(t.id, 'node-http'))),
    '',
    ...roundLines(targets, rounds, ROUNDS),
  ];
  return lines.join('\n');
}
