/**
 * The command line up to the point where the comparison itself is needed: the arguments, the help,
 * the base loaded, and the revision found to be the same bytes (then nothing changed). What is
 * left, the revision loaded and compared or the rule catalogue printed, is a function of the
 * comparison engine (cli-engine.ts), which the command loads only then: most of the code's loading
 * time is the engine's. cli-run.ts runs both parts in one call; cli.ts, the command, loads the
 * engine when the first part asks for it.
 *
 *   api-diff <base> <revision> [--format text|json|markdown] [--fail-on breaking|warning]
 *            [--min-sunset-notice-days N]
 *
 * Exit status: 0 when nothing reaches the fail level, 1 when something does, 2 when the command
 * cannot give a verdict (bad arguments, an input unreadable, not parseable, not OpenAPI 3, or with
 * a `$ref` that cannot be followed or bundled).
 */
import type * as EngineModule from './cli-engine.js';
import { FORMATS, formatFindings, type Format } from './format.js';
import { levelRank, type Finding } from './finding.js';
import { loadSources, sameInputs, type Loaded } from './load.js';
import type { Level } from './rules.js';
import { SpecError } from './spec-error.js';
import { DEFAULT_MIN_SUNSET_NOTICE_DAYS } from './sunset.js';

export const EXIT_PASS = 0;
export const EXIT_FAIL = 1;
export const EXIT_ERROR = 2;

const FAIL_LEVELS: readonly Level[] = ['breaking', 'warning'];

export const USAGE = `usage: api-diff <base> <revision> [--format text|json|markdown] [--fail-on breaking|warning]
                [--min-sunset-notice-days N]
       api-diff --rules

  <base>, <revision>        a file (YAML or JSON), or git-ref:path (e.g. origin/main:spec/openapi.yaml)
  --format                  text (default), json ({ summary, findings }) or markdown (a PR comment)
  --fail-on                 exit 1 when a finding is at this level or above (default: breaking)
  --min-sunset-notice-days  the fewest days from now a new or changed x-sunset date may be
                            (default: ${DEFAULT_MIN_SUNSET_NOTICE_DAYS}; 0: no minimum)
  --rules                   print the rule catalogue as a markdown table

exit status: 0 nothing at or above the fail level, 1 something is, 2 an input could not be read
`;

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  /** The time sunset dates are compared with; now by default. */
  readonly now?: Date;
}

interface Options {
  readonly sources: string[];
  format: Format;
  failOn: Level;
  minSunsetNoticeDays: number;
  rules: boolean;
  help: boolean;
}

function parseArguments(argv: readonly string[]): Options | string {
  const options: Options = { sources: [], format: 'text', failOn: 'breaking', minSunsetNoticeDays: DEFAULT_MIN_SUNSET_NOTICE_DAYS, rules: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--help' || flag === '-h') options.help = true;
    else if (flag === '--rules') options.rules = true;
    else if (flag === '--format') {
      const format = value();
      if (!FORMATS.includes(format as Format)) return `--format must be one of ${FORMATS.join(', ')}, not ${JSON.stringify(format ?? '')}`;
      options.format = format as Format;
    } else if (flag === '--fail-on') {
      const level = value();
      if (!FAIL_LEVELS.includes(level as Level)) return `--fail-on must be one of ${FAIL_LEVELS.join(', ')}, not ${JSON.stringify(level ?? '')}`;
      options.failOn = level as Level;
    } else if (flag === '--min-sunset-notice-days') {
      const days = value();
      if (days === undefined || !/^\d+$/.test(days) || !Number.isSafeInteger(Number(days))) return `--min-sunset-notice-days must be a whole number of days, 0 or more, not ${JSON.stringify(days ?? '')}`;
      options.minSunsetNoticeDays = Number(days);
    } else if (flag.startsWith('-') && flag !== '-') return `unknown option ${flag}`;
    else options.sources.push(arg);
  }
  return options;
}

export type Engine = typeof EngineModule;

/** The exit status, or the rest of the run, given the comparison engine. */
export function startCli(argv: readonly string[], io: CliIo): number | ((engine: Engine) => number) {
  const options = parseArguments(argv);
  if (typeof options === 'string') {
    io.err(`api-diff: ${options}\n${USAGE}`);
    return EXIT_ERROR;
  }
  if (options.help) {
    io.out(USAGE);
    return EXIT_PASS;
  }
  if (options.rules) {
    return (engine) => {
      io.out(engine.formatRuleTable());
      return EXIT_PASS;
    };
  }
  if (options.sources.length !== 2) {
    io.err(`api-diff: expected a base and a revision, got ${options.sources.length} argument(s)\n${USAGE}`);
    return EXIT_ERROR;
  }
  const [baseSource, revisionSource] = options.sources as [string, string];

  const load = (side: 'base' | 'revision', source: string): Loaded | undefined => {
    try {
      return loadSources(source, { cwd: io.cwd });
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      io.err(`api-diff: cannot use the ${side} (${source}): ${error.message}\n`);
      return undefined;
    }
  };
  const base = load('base', baseSource);
  if (!base) return EXIT_ERROR;
  const report = (findings: readonly Finding[]): number => {
    io.out(formatFindings(findings, options.format, { base: baseSource, revision: revisionSource }));
    const threshold = levelRank(options.failOn);
    return findings.some((f) => levelRank(f.level) <= threshold) ? EXIT_FAIL : EXIT_PASS;
  };
  // The same bytes on both sides (the gate on a change that leaves the spec alone) make equal
  // documents: nothing changed, so there is nothing to compare, and the revision is not parsed again.
  if (sameInputs(base, revisionSource, { cwd: io.cwd })) return report([]);
  return (engine) => {
    const revision = load('revision', revisionSource);
    if (!revision) return EXIT_ERROR;
    return report(engine.diff(base.document, revision.document, { now: io.now, minSunsetNoticeDays: options.minSunsetNoticeDays }));
  };
}
