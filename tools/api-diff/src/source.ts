/**
 * Where a document's text comes from: a file, or `git-ref:path` read with `git show` (so the base
 * of a comparison can be any commit, branch or tag without checking it out). A path that exists on
 * disk wins, so a file whose name contains a colon is still a file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SpecError } from './spec-error.js';

// Large public specs are tens of megabytes; git show must not cut them off.
const MAX_GIT_OUTPUT_BYTES = 512 * 1024 * 1024;

export function readSource(source: string, cwd: string): string {
  const file = path.resolve(cwd, source);
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new SpecError(source, `${source} is a directory, not a document`);
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new SpecError(source, `cannot read ${source}: ${(error as Error).message}`);
    }
  }
  const colon = source.indexOf(':');
  if (colon <= 0 || colon === source.length - 1) throw new SpecError(source, `no such file: ${source}`);
  try {
    return execFileSync('git', ['show', source], { cwd, encoding: 'utf8', maxBuffer: MAX_GIT_OUTPUT_BYTES, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new SpecError(source, `no such file, and git cannot show ${source}${stderr ? `: ${stderr.split('\n')[0]}` : ''}`);
  }
}
