/**
 * `npm run api:diff:bench -- [spec …] [--mutations N] [--runs N] [--seed N]`: how long api-diff
 * takes on real documents. For each spec (the repo's own by default) it times loading, a diff
 * against an identical copy, against a copy with one edit and against a copy with N deterministic
 * edits (bench-mutations.ts), and prints a table of medians. Wall-clock numbers belong here, never
 * in tests.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { mutate } from './bench-mutations.js';
import { diff, loadSpec, summarize, type OpenApiDocument } from './src/index.js';
import { isObject } from './src/json.js';
import { HTTP_METHODS } from './src/operations.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Options {
  specs: string[];
  mutations: number;
  runs: number;
  seed: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { specs: [], mutations: 50, runs: 7, seed: 42 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const number = () => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} takes a whole number`);
      return value;
    };
    if (arg === '--mutations') options.mutations = number();
    else if (arg === '--runs') options.runs = Math.max(1, number());
    else if (arg === '--seed') options.seed = number();
    else options.specs.push(arg);
  }
  if (options.specs.length === 0) options.specs.push(path.join(ROOT, 'spec/openapi.yaml'));
  return options;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function time<T>(runs: number, work: () => T): { ms: number; result: T } {
  let result = work(); // warm-up: JIT and caches, not counted
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = work();
    samples.push(performance.now() - start);
  }
  return { ms: median(samples), result };
}

function shape(doc: OpenApiDocument): string {
  const paths = isObject(doc.paths) ? Object.values(doc.paths) : [];
  let operations = 0;
  for (const item of paths) if (isObject(item)) operations += HTTP_METHODS.filter((method) => method in item).length;
  const schemas = isObject(doc.components) && isObject(doc.components.schemas) ? Object.keys(doc.components.schemas).length : 0;
  return `OpenAPI ${doc.openapi}, ${paths.length} paths, ${operations} operations, ${schemas} schemas`;
}

const options = parseOptions(process.argv.slice(2));
const rows: string[] = ['| spec | revision | findings (breaking / warning / info) | diff median ms |', '|---|---|---|--:|'];
for (const spec of options.specs) {
  const bytes = statSync(spec).size;
  const load = time(options.runs, () => loadSpec(spec));
  const base = load.result;
  const name = path.basename(spec);
  console.log(`${name}: ${(bytes / 1024 / 1024).toFixed(2)} MB, ${shape(base)}; load (read + parse + $ref check) median ${load.ms.toFixed(0)} ms`);

  const variants: [string, OpenApiDocument][] = [['identical copy', structuredClone(base)]];
  for (const [count, breakingFirst] of [[1, false], [1, true], [options.mutations, false]] as const) {
    const revision = structuredClone(base);
    const applied = mutate(revision, count, options.seed, breakingFirst);
    const kinds = (breaking: boolean) => [...new Set(applied.filter((m) => m.breaking === breaking).map((m) => m.kind))].join(', ');
    const breaking = applied.filter((m) => m.breaking).length;
    const label = count === 1 ? `1 edit: ${applied[0]?.kind ?? 'none applied'}` : `${applied.length} edits: ${applied.length - breaking} additive (${kinds(false)}), ${breaking} breaking (${kinds(true)})`;
    variants.push([label, revision]);
  }
  for (const [label, revision] of variants) {
    const run = time(options.runs, () => diff(base, revision));
    const counts = summarize(run.result);
    rows.push(`| ${name} | ${label} | ${counts.total} (${counts.breaking} / ${counts.warning} / ${counts.info}) | ${run.ms.toFixed(1)} |`);
  }
}
console.log(`\nmedian of ${options.runs} runs after one warm-up; seed ${options.seed}; Node ${process.version}\n`);
console.log(rows.join('\n'));
