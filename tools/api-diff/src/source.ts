/**
 * Where a document's text comes from: a file, or `git-ref:path` read with `git show` (so the base
 * of a comparison can be any commit, branch or tag without checking it out). A path that exists on
 * disk wins, so a file whose name contains a colon is still a file.
 *
 * The text comes with where it was found, so the files a document's `$ref`s name are read the same
 * way: from disk next to a file, or from the same commit next to a `git-ref:path`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SpecError } from './spec-error.js';

// node:child_process (and what it loads) is loaded when git is first needed, not by every run.
const requireModule = createRequire(import.meta.url);
function execFileSync(...args: Parameters<typeof import('node:child_process').execFileSync>): Buffer {
  return (requireModule('node:child_process') as typeof import('node:child_process')).execFileSync(...args) as Buffer;
}

// Large public specs are tens of megabytes; git show must not cut them off.
const MAX_GIT_OUTPUT_BYTES = 512 * 1024 * 1024;

/** A file on disk (an absolute path), or a file in a commit (a path from the repository's root). */
export type Place =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'git'; readonly ref: string; readonly path: string; readonly cwd: string };

export interface SourceBytes {
  /** The document as read, not yet decoded: two sources are the same document when these are equal. */
  readonly bytes: Buffer;
  /** Where it was read, so that the files its `$ref`s name are read from the same place. */
  readonly place: Place;
}

export function readSource(source: string, cwd: string): string {
  return decode(openSource(source, cwd).bytes);
}

/** Bytes as UTF-8 text (a malformed sequence becomes U+FFFD, as in readFileSync(file, 'utf8')). */
export function decode(bytes: Buffer): string {
  // Decoding a Buffer read whole is markedly faster than readFileSync(file, 'utf8') on large files.
  return bytes.toString('utf8');
}

export function openSource(source: string, cwd: string): SourceBytes {
  const file = path.resolve(cwd, source);
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new SpecError(source, `${source} is a directory, not a document`);
    try {
      return { bytes: readFileSync(file), place: { kind: 'file', file } };
    } catch (error) {
      throw new SpecError(source, `cannot read ${source}: ${(error as Error).message}`);
    }
  }
  const colon = source.indexOf(':');
  if (colon <= 0 || colon === source.length - 1) throw new SpecError(source, `no such file: ${source}`);
  let bytes: Buffer;
  try {
    bytes = gitShow(source, cwd);
  } catch (error) {
    throw new SpecError(source, `no such file, and git cannot show ${source}${gitReason(error)}`);
  }
  const ref = source.slice(0, colon);
  return { bytes, place: { kind: 'git', ref, path: repositoryPath(source.slice(colon + 1), cwd), cwd } };
}

/** The bytes of `repoPath` (from the repository's root) at `ref`; throws git's error when it has none. */
export function readGitFile(ref: string, repoPath: string, cwd: string): Buffer {
  return gitShow(`${ref}:${repoPath}`, cwd);
}

/** The first line of what git said when it failed, as `: <line>`, or nothing. */
export function gitReason(error: unknown): string {
  const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
  return stderr ? `: ${stderr.split('\n')[0]}` : '';
}

function gitShow(object: string, cwd: string): Buffer {
  return execFileSync('git', ['show', object], { cwd, maxBuffer: MAX_GIT_OUTPUT_BYTES, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The path of `ref:<given>` from the repository's root, as git reads it: from the root, unless it
 * starts with `./` or `../` (then from the working directory).
 */
function repositoryPath(given: string, cwd: string): string {
  if (!given.startsWith('./') && !given.startsWith('../')) return path.posix.normalize(given);
  const prefix = execFileSync('git', ['rev-parse', '--show-prefix'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8').trim();
  return path.posix.normalize(path.posix.join(prefix, given));
}
