/**
 * The two streams. Data goes to stdout, anything meant for a person (progress, notices, errors)
 * to stderr, so `remit … --json | jq` always reads clean JSON. Colour only on a terminal, never
 * with `NO_COLOR` (https://no-color.org) or `--no-color`; progress lines only when stderr is one.
 */
import type { Output, Style } from './context.js';

interface Stream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface OutputOptions {
  readonly stdout: Stream;
  readonly stderr: Stream;
  readonly json: boolean;
  /** `--no-color`. */
  readonly noColor: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

export function createOutput(options: OutputOptions): Output {
  const { stdout, stderr, json } = options;
  const interactive = stdout.isTTY === true;
  const noColorEnv = options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '';
  const color = interactive && stderr.isTTY === true && !options.noColor && !noColorEnv && options.env.TERM !== 'dumb';
  const progressShown = stderr.isTTY === true;
  let progressing = false;
  const clearProgress = () => {
    if (!progressing) return;
    stderr.write('\r\x1b[2K');
    progressing = false;
  };
  return {
    interactive,
    color,
    json,
    columns: interactive ? stdout.columns : undefined,
    data(line) {
      clearProgress();
      stdout.write(`${line}\n`);
    },
    message(line) {
      clearProgress();
      stderr.write(`${line}\n`);
    },
    progress(line) {
      if (!progressShown) return;
      if (line === undefined) return clearProgress();
      stderr.write(`\r\x1b[2K${line}`);
      progressing = true;
    },
    paint(style, text) {
      if (!color) return text;
      const [open, close] = CODES[style];
      return `\x1b[${open}m${text}\x1b[${close}m`;
    },
  };
}
