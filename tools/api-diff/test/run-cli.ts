/** The command run in-process, with what it wrote: the tests' way to call `runCli`. */
import { runCli } from '../src/cli-run.js';
import { NOW } from './build.js';

export interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export function run(cwd: string, ...argv: string[]): Run {
  let out = '';
  let err = '';
  const code = runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd, now: NOW });
  return { code, out, err };
}
