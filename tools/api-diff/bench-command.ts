/**
 * `make bench-api-diff` (`npm run -s api:diff:bench-command -- [--runs N]`): how long the break
 * gate's whole command takes, from the process being started to its exit, as the gate runs it
 * (`node tools/api-diff/dist/cli.js <base> <revision>`), next to Node's own start-up (`node -e ""`,
 * the floor no command goes under). Rows: this repo's spec against itself, against the spec at HEAD
 * (`git-ref:path`) and against a copy with a few deterministic edits (bench-mutations.ts); and
 * GitHub's REST description (`api.github.com.json`, 12 MB, from the npm package @octokit/openapi,
 * fetched once with `npm pack` into .cache/, which git ignores) against itself and against a copy
 * with a few edits. The two sides of the first two rows have the same bytes, which the command
 * notices before comparing (cli-start.ts); the edited copies show what a comparison costs.
 *
 * The command is built from the current source first (scripts/api-diff-fresh.sh). Each row runs N
 * times (default 9) after one unmeasured run, the rows interleaved round by round (forward in odd
 * rounds, backward in even ones) so that other work on the machine falls on all of them alike; wall
 * time is `process.hrtime.bigint()` around `spawnSync`, output through pipes. Peak RSS comes from
 * GNU time (`/usr/bin/time -f %M`) on the unmeasured run, when it is there. Each row is held to its
 * budget (300 ms on this repo's spec, 2 s on the large one) in the table; nothing asserts a time. A
 * run that exits with another status than the row expects stops the benchmark with status 1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { mutate } from './bench-mutations.js';
import type { JsonObject } from './src/json.js';
import { parseText } from './src/parse.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = 'tools/api-diff/dist/cli.js';
const SPEC = 'spec/openapi.yaml';
const OCTOKIT = '@octokit/openapi@23.0.2';
const CACHE = path.join('.cache', 'api-diff', OCTOKIT.replace(/[@/]/g, '-').replace(/^-/, ''));
const LARGE = path.join(CACHE, 'package/generated/api.github.com.json');
const LARGE_EDITED = path.join(CACHE, 'api.github.com.edited.json');
const SPEC_EDITED = path.join('.cache', 'api-diff', 'openapi.edited.yaml');
const EDITS = 10;
const SEED = 42;
const TIME = '/usr/bin/time';
// A run that takes this long has hung; the benchmark stops rather than wait on it.
const TIMEOUT_MS = 120_000;

interface Row {
  readonly label: string;
  /** The arguments after `node`. */
  readonly args: readonly string[];
  readonly expectedStatus: number;
  readonly budgetMs?: number;
}

class BenchFailure extends Error {}

function progress(message: string): void {
  console.error(`[bench-api-diff] ${message}`);
}

function parseRuns(argv: readonly string[]): number {
  const at = argv.indexOf('--runs');
  if (at === -1) return 9;
  const runs = Number(argv[at + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new BenchFailure(`--runs takes a whole number of runs, 1 or more, not ${JSON.stringify(argv[at + 1] ?? '')}`);
  return runs;
}

/** The shell-like line a reader can paste to run a command by hand from the repository's root. */
function commandLine(args: readonly string[]): string {
  const quote = (arg: string) => (/^[\w@%+=:,./~-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
  return ['node', ...args].map(quote).join(' ');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function sh(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new BenchFailure(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}); its output is above`);
}

/** GitHub's description, fetched from the npm registry into the cache once. */
function largeSpec(): void {
  if (existsSync(path.join(ROOT, LARGE))) return;
  const cache = path.join(ROOT, CACHE);
  mkdirSync(cache, { recursive: true });
  progress(`fetching ${OCTOKIT} into ${CACHE} (npm pack)`);
  const packed = JSON.parse(execFileSync('npm', ['pack', OCTOKIT, '--json', '--pack-destination', cache], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { filename: string }[];
  const tarball = path.join(cache, path.basename(packed[0]?.filename ?? ''));
  sh('tar', ['xzf', tarball, '-C', cache, 'package/generated/api.github.com.json']);
  rmSync(tarball);
}

/** A copy of a spec with a few edits, additive and breaking in turn (the same every time), written as JSON or YAML. */
function editedCopy(from: string, to: string): string {
  const doc = parseText(readFileSync(path.join(ROOT, from), 'utf8')) as JsonObject;
  const applied = mutate(doc, EDITS, SEED);
  mkdirSync(path.dirname(path.join(ROOT, to)), { recursive: true });
  writeFileSync(path.join(ROOT, to), to.endsWith('.json') ? JSON.stringify(doc) : stringify(doc, { lineWidth: 0 }));
  const breaking = applied.filter((m) => m.breaking).length;
  return `${path.basename(to)}: ${applied.length} edits (${applied.length - breaking} additive, ${breaking} breaking: ${[...new Set(applied.map((m) => m.kind))].join(', ')}; seed ${SEED})`;
}

/** One run: wall time in ms from spawn to exit, or peak RSS in MB when `measureRss`; a wrong exit status throws. */
function runOnce(row: Row, measureRss: boolean): { ms: number; rssMb?: number } {
  const rssFile = path.join(os.tmpdir(), `api-diff-bench-rss-${process.pid}`);
  const [command, args] = measureRss ? [TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...row.args]] : [process.execPath, row.args];
  const t0 = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (result.error) throw new BenchFailure(`${commandLine(row.args)}: ${result.error.message}`);
  if (result.status !== row.expectedStatus) {
    const tail = result.stderr.trim().split('\n').slice(-10).join('\n');
    throw new BenchFailure(`${commandLine(row.args)} exited with ${result.status ?? `signal ${result.signal}`}, not ${row.expectedStatus}${tail ? `; its stderr ends:\n${tail}` : ''}`);
  }
  if (!measureRss) return { ms };
  const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  rmSync(rssFile, { force: true });
  return { ms, rssMb: Number.isFinite(kb) ? kb / 1024 : undefined };
}

/** Whether GNU time is there to report peak RSS. */
function hasGnuTime(): boolean {
  if (!existsSync(TIME)) return false;
  return spawnSync(TIME, ['-f', '%M', process.execPath, '-e', ''], { encoding: 'utf8' }).status === 0;
}

function main(): void {
  const runs = parseRuns(process.argv.slice(2));
  progress('building the command from the current source when it is stale (scripts/api-diff-fresh.sh)');
  sh('bash', ['scripts/api-diff-fresh.sh']);
  largeSpec();
  progress('writing the edited copies');
  const edits = [editedCopy(SPEC, SPEC_EDITED), editedCopy(LARGE, LARGE_EDITED)];

  const rows: Row[] = [
    { label: 'node -e "" (Node start-up and exit: the floor)', args: ['-e', ''], expectedStatus: 0 },
    { label: `${SPEC} against itself`, args: [BIN, SPEC, SPEC], expectedStatus: 0, budgetMs: 300 },
    { label: `${SPEC} against the spec at HEAD (git-ref:path)`, args: [BIN, `HEAD:${SPEC}`, SPEC], expectedStatus: 0, budgetMs: 300 },
    { label: `${SPEC} against a copy with ${EDITS} edits (a comparison; no budget set)`, args: [BIN, SPEC, SPEC_EDITED], expectedStatus: 1 },
    { label: 'api.github.com.json (12 MB) against itself', args: [BIN, LARGE, LARGE], expectedStatus: 0, budgetMs: 2000 },
    { label: `api.github.com.json against a copy with ${EDITS} edits`, args: [BIN, LARGE, LARGE_EDITED], expectedStatus: 1, budgetMs: 2000 },
  ];

  const rss = hasGnuTime();
  progress(`one unmeasured run of each row${rss ? ', under GNU time for the peak RSS' : ''}`);
  const peak = new Map<Row, number | undefined>();
  for (const row of rows) peak.set(row, runOnce(row, rss).rssMb);

  progress(`measuring: ${runs} rounds, each row once per round`);
  const loadBefore = os.loadavg();
  const times = new Map<Row, number[]>(rows.map((row) => [row, []]));
  for (let round = 1; round <= runs; round++) {
    for (const row of round % 2 === 1 ? rows : [...rows].reverse()) times.get(row)?.push(runOnce(row, false).ms);
  }
  const loadAfter = os.loadavg();

  const baseline = median(times.get(rows[0] as Row) ?? []);
  const cpus = os.cpus();
  const load = (avg: number[]) => avg.map((n) => n.toFixed(2)).join(' / ');
  const out: string[] = [
    `# api-diff, the whole command — ${new Date().toISOString()}`,
    '',
    `- Machine: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'})`,
    `- Load average (1/5/15 min) before the first measured run: ${load(loadBefore)}; after the last: ${load(loadAfter)}`,
    `- ${runs} measured runs per row after one unmeasured run, rows interleaved; wall time from spawn to exit; the repository's root as working directory`,
    `- The edited copies: ${edits.join('; ')}`,
    '',
    `| command | median ms | min ms | max ms | median ÷ node | ${rss ? 'peak RSS MB | ' : ''}budget | verdict |`,
    `|---|--:|--:|--:|--:|${rss ? '--:|' : ''}--:|---|`,
  ];
  for (const row of rows) {
    const samples = times.get(row) ?? [];
    const m = median(samples);
    const verdict = row.budgetMs === undefined ? '—' : m <= row.budgetMs ? 'within' : '**over**';
    const memory = rss ? ` ${peak.get(row)?.toFixed(0) ?? '?'} |` : '';
    out.push(`| \`${commandLine(row.args)}\` | ${m.toFixed(0)} | ${Math.min(...samples).toFixed(0)} | ${Math.max(...samples).toFixed(0)} | ${row === rows[0] ? '1.0' : (m / baseline).toFixed(1)} |${memory} ${row.budgetMs === undefined ? '—' : `${row.budgetMs} ms`} | ${verdict} |`);
  }
  out.push('', 'Rows:', '', ...rows.map((row) => `- \`${commandLine(row.args)}\`: ${row.label}`));
  console.log(out.join('\n'));
}

try {
  main();
} catch (error) {
  if (error instanceof BenchFailure) console.error(`\nbench-api-diff FAILED: ${error.message}`);
  else console.error('bench-api-diff failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
}
