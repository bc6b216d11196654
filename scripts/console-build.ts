/**
 * Builds the console (console/, Preact + Vite) into generated/console/, which is committed so that
 * `npm install && npm start` serves it without a build step. Run by `make generate`; `--check`
 * builds into a scratch directory and fails, naming the files, when what is committed — what the
 * API serves — differs from what the source builds (`make generated-fresh`).
 *
 * Usage: tsx scripts/console-build.ts [--check]
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';

const ROOT = path.resolve(import.meta.dirname, '..');
export const CONSOLE_SOURCE = path.join(ROOT, 'console');
export const CONSOLE_OUT = path.join(ROOT, 'generated/console');

export async function buildConsole(outDir: string): Promise<void> {
  await build({ configFile: path.join(CONSOLE_SOURCE, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full).split(path.sep).join('/'), await readFile(full));
  }
  return files;
}

/** The differences between two builds, as lines a person can act on; empty when they are equal. */
export async function compareBuilds(committed: string, fresh: string): Promise<string[]> {
  const [a, b] = await Promise.all([filesOf(committed), filesOf(fresh)]);
  const problems: string[] = [];
  for (const [name, content] of b) {
    const old = a.get(name);
    if (old === undefined) problems.push(`missing: generated/console/${name}`);
    else if (!old.equals(content)) problems.push(`stale: generated/console/${name}`);
  }
  for (const name of a.keys()) if (!b.has(name)) problems.push(`left over: generated/console/${name}`);
  return problems.sort();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  if (!values.check) {
    await buildConsole(CONSOLE_OUT);
    return;
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'remit-console-'));
  try {
    await buildConsole(scratch);
    const problems = await compareBuilds(CONSOLE_OUT, scratch);
    if (problems.length > 0) {
      console.error(`generated/console/ does not match console/: run \`make generate\` and commit the result.\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
