/**
 * `make bench-cli`: how long the `remit` command takes from being started to having exited, for
 * what a user types most often and expects at once (`--version`, `--help`, an operation's help),
 * next to Node's own start-up (`node -e ""`, the floor no command can go under) and to loading the
 * CLI's modules without running a command (`import only`). Together the rows show how a start-up
 * splits between Node, module loading and the command itself.
 *
 * The SDK and the CLI are built first (`npm run -s sdk:build`, `npm run -s cli:build`), so the
 * figures are those of the current source. Each command is a fresh `node` process (this process's
 * executable, the repository as its working directory), timed with `process.hrtime.bigint()` around
 * `spawnSync`: spawn, start-up, the command, output through a pipe, exit. Every command runs twice
 * unmeasured, then BENCH_RUNS times measured, the commands interleaved round by round (forward in
 * odd rounds, backward in even ones) so that other work on the machine falls on every row alike.
 *
 * Nothing about time is asserted. A run that exits with anything but 0, or a `--version` that
 * prints anything but cli/package.json's version, stops the benchmark with status 1: its time
 * would be that of an error. Results on stdout, progress on stderr. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { knob, readKnobs } from '../scripts/harness/knobs.js';
import { ROOT } from '../scripts/harness/process.js';
import { configOrExit } from '../src/platform/config.js';
import { loadAverageLine, machine, median, ratio } from './http/report.js';

const { BENCH_RUNS: RUNS } = configOrExit(() => readKnobs({ BENCH_RUNS: knob.int(1, 1_000, 20) }));
const WARMUP_RUNS = 2;
// A start-up that takes this long has hung; the benchmark stops rather than wait on it.
const TIMEOUT_MS = 60_000;

const CLI_ENTRY = 'cli/bin/remit.js';
const CLI_MODULE = path.join(ROOT, 'cli/dist/main.js');
const CLI_VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'cli/package.json'), 'utf8')) as { version: string }).version;

interface Command {
  readonly id: string;
  /** The arguments after `node`. */
  readonly args: readonly string[];
  readonly what: string;
  /** Checks a run's stdout; returns what is wrong with it, or undefined. */
  readonly checkStdout?: (stdout: string) => string | undefined;
}

const BASELINE = 'node -e ""';
const IMPORT_ONLY = 'import only';

const COMMANDS: readonly Command[] = [
  { id: BASELINE, args: ['-e', ''], what: "Node's own start-up and exit: the floor" },
  {
    id: IMPORT_ONLY,
    // `-e` is CommonJS unless told otherwise; as a module, the top-level await keeps the import in
    // the measured time without any command line being parsed (the module does not run `main`).
    args: ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(CLI_MODULE).href)})`],
    what: 'cli/dist/main.js and everything it imports (commander, the SDK, the generated operation table), loaded; no command run',
  },
  {
    id: 'remit --version',
    args: [CLI_ENTRY, '--version'],
    what: 'the version, from the loaded program',
    checkStdout: (stdout) => (stdout.trim() === CLI_VERSION ? undefined : `printed ${JSON.stringify(stdout.trim())}, not cli/package.json's version ${JSON.stringify(CLI_VERSION)}`),
  },
  { id: 'remit --help', args: [CLI_ENTRY, '--help'], what: 'the top-level help: every command group listed' },
  {
    id: 'remit v2 payments create --help',
    args: [CLI_ENTRY, 'v2', 'payments', 'create', '--help'],
    what: "an operation's help: its entry in the generated operation table found and its options built",
  },
];

const started = performance.now();

function progress(message: string): void {
  console.error(`[cli-startup ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

/** Stops the benchmark: something it measures or builds did not do what it should. */
class BenchFailure extends Error {}

/** The shell-like line a reader can paste to run a command by hand from the repository's root. */
function commandLine(args: readonly string[]): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
  return ['node', ...args].map(quote).join(' ');
}

function build(script: string): void {
  progress(`npm run -s ${script}`);
  const t0 = performance.now();
  // The build's own output goes to stderr with the progress, so stdout holds the table alone.
  const result = spawnSync('npm', ['run', '-s', script], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.error) throw new BenchFailure(`npm run -s ${script} could not be started: ${result.error.message}`);
  if (result.status !== 0) throw new BenchFailure(`npm run -s ${script} failed (exit ${result.status ?? result.signal}); its output is above`);
  progress(`npm run -s ${script}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** One run of a command: its wall time in ms, spawn to exit; anything but a clean run throws. */
function runOnce(command: Command): number {
  const t0 = process.hrtime.bigint();
  const result = spawnSync(process.execPath, command.args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const tail = (text: string) => text.trim().split('\n').slice(-20).join('\n');
  if (result.error) throw new BenchFailure(`${commandLine(command.args)}: ${result.error.message}${result.stderr ? `\n${tail(result.stderr)}` : ''}`);
  if (result.status !== 0) {
    throw new BenchFailure(`${commandLine(command.args)} exited with ${result.status ?? `signal ${result.signal}`}${result.stderr ? `; its stderr ends:\n${tail(result.stderr)}` : ' and nothing on stderr'}`);
  }
  const wrong = command.checkStdout?.(result.stdout);
  if (wrong) throw new BenchFailure(`${commandLine(command.args)} ${wrong}`);
  return elapsedMs;
}

/** Nearest rank: with 20 runs, the 18th fastest. */
function p90(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.9) - 1)]!;
}

const fixed = (n: number) => n.toFixed(1);
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(1)}`;

function main(): void {
  build('sdk:build');
  build('cli:build');

  progress(`warm-up: ${WARMUP_RUNS} unmeasured runs of each of ${COMMANDS.length} commands`);
  for (let i = 0; i < WARMUP_RUNS; i++) for (const command of COMMANDS) runOnce(command);

  progress(`measuring: ${RUNS} rounds, each command once per round`);
  const loadBefore = os.loadavg();
  const times = new Map<string, number[]>(COMMANDS.map((c) => [c.id, []]));
  for (let round = 1; round <= RUNS; round++) {
    const order = round % 2 === 1 ? COMMANDS : [...COMMANDS].reverse();
    for (const command of order) times.get(command.id)!.push(runOnce(command));
    if (round % 5 === 0 || round === RUNS) progress(`round ${round} of ${RUNS} done`);
  }

  const medianOf = (id: string) => median(times.get(id)!);
  const base = medianOf(BASELINE);
  const loaded = medianOf(IMPORT_ONLY);
  const out: string[] = [];
  const print = (line = '') => out.push(line);
  print(`# CLI start-up — ${new Date().toISOString()}`);
  print();
  print(`- Machine: ${machine()}`);
  print(loadAverageLine(loadBefore, 'measured run'));
  print(
    `- Runs: ${RUNS} measured per command after ${WARMUP_RUNS} unmeasured, commands interleaved round by round (forward in odd rounds, backward in even ones); wall time from spawn to exit (\`process.hrtime.bigint()\` around \`spawnSync\`, output through pipes), the repository's root as working directory; the SDK and CLI built from the current source first`,
  );
  print(`- remit ${CLI_VERSION} (\`--version\` printed it in every run; every run exited 0)`);
  print();
  print(`| command | runs | median ms | p90 ms | min ms | median vs \`${BASELINE}\` | over \`${BASELINE}\` ms |`);
  print('|---|--:|--:|--:|--:|--:|--:|');
  for (const command of COMMANDS) {
    const runs = times.get(command.id)!;
    const m = median(runs);
    print(`| \`${command.id}\` | ${runs.length} | ${fixed(m)} | ${fixed(p90(runs))} | ${fixed(Math.min(...runs))} | ${ratio(m, base)} | ${command.id === BASELINE ? '—' : signed(m - base)} |`);
  }
  print();
  print(`Ratio: a command's median ÷ the median of \`${BASELINE}\` in the same rounds; the last column is the difference, the start-up that is the CLI's own rather than Node's.`);
  print();
  print(`Where each remit command's median goes (Node: \`${BASELINE}\`; loading: \`${IMPORT_ONLY}\` − Node; the command: the rest):`);
  print();
  for (const command of COMMANDS.filter((c) => c.id !== BASELINE && c.id !== IMPORT_ONLY)) {
    const m = medianOf(command.id);
    print(`- \`${command.id}\`: ${fixed(m)} ms = Node ${fixed(base)} + loading ${signed(loaded - base).replace(/^\+/, '')} + the command ${signed(m - loaded).replace(/^\+/, '')}`);
  }
  print();
  print(`The commands, as run from the repository's root (${ROOT}):`);
  print();
  for (const command of COMMANDS) print(`- \`${command.id}\`: \`${commandLine(command.args)}\`: ${command.what}`);
  print();
  print(`Total run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  console.log(out.join('\n'));
}

try {
  main();
} catch (err) {
  const bar = '!'.repeat(100);
  if (err instanceof BenchFailure) console.error(`\n${bar}\nCLI START-UP BENCHMARK FAILED:\n${err.message}\n${bar}`);
  else console.error('CLI start-up benchmark failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
}
