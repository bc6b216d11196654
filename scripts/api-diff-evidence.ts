/**
 * `make diff-evidence`: the break gate, both ways, captured. Applies an additive change and a
 * breaking change to copies of spec/openapi.yaml, runs the gate on each exactly as CI does
 * (`npm run -s api:diff -- <base> <revision> --fail-on breaking`), and stores the change, the
 * report and the exit status under docs/evidence/. Exits non-zero unless the additive change
 * passes and the breaking one fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, type Document } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..');
const SPEC = 'spec/openapi.yaml';
const OUT_DIR = path.join(ROOT, 'docs/evidence');

interface Scenario {
  readonly name: 'additive' | 'breaking';
  readonly title: string;
  readonly expectedExit: 0 | 1;
  readonly apply: (doc: Document) => void;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'additive',
    title: 'An additive change: a new optional request property, a new response property, a new optional query parameter',
    expectedExit: 0,
    apply(doc) {
      doc.setIn(['components', 'schemas', 'CustomerCreateRequest', 'properties', 'preferred_locale'], doc.createNode({ type: 'string', maxLength: 35 }));
      doc.setIn(['components', 'schemas', 'Customer', 'properties', 'preferred_locale'], doc.createNode({ type: ['string', 'null'], maxLength: 35 }));
      const params = doc.getIn(['paths', '/v1/customers', 'get', 'parameters']) as { add(v: unknown): void };
      params.add(doc.createNode({ name: 'name', in: 'query', required: false, description: 'Only customers with exactly this name.', schema: { type: 'string', maxLength: 200 } }));
    },
  },
  {
    name: 'breaking',
    title: 'A breaking change: a request property becomes required, a currency is no longer accepted, an operation is removed',
    expectedExit: 1,
    apply(doc) {
      const required = doc.getIn(['components', 'schemas', 'CustomerCreateRequest', 'required']) as { add(v: unknown): void };
      required.add('name');
      const currencies = doc.getIn(['components', 'schemas', 'SupportedCurrency', 'enum']) as { items: { value: unknown }[] };
      currencies.items = currencies.items.filter((item) => item.value !== 'JPY');
      doc.deleteIn(['paths', '/v1/events/{id}']);
    },
  },
];

function run(command: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

// `npm run api:diff` runs the compiled command: build it first if its source is newer.
const build = run('bash', ['scripts/api-diff-fresh.sh']);
if (build.status !== 0) throw new Error(`building api-diff failed:\n${build.stderr}`);

const work = mkdtempSync(path.join(os.tmpdir(), 'remit-evidence-'));
let failed = false;
try {
  mkdirSync(OUT_DIR, { recursive: true });
  const original = readFileSync(path.join(ROOT, SPEC), 'utf8');
  const base = path.join(work, 'base.yaml');
  writeFileSync(base, original);

  for (const scenario of SCENARIOS) {
    const doc = parseDocument(original);
    scenario.apply(doc);
    const revision = path.join(work, `${scenario.name}.yaml`);
    writeFileSync(revision, doc.toString({ lineWidth: 0, flowCollectionPadding: false }));

    // The change itself, as a reviewer would see it in the pull request.
    // The temporary files are named after the spec, so the stored outputs do not depend on where
    // the run happened.
    const named = (text: string) =>
      [base, revision].reduce((out, file, i) => {
        const label = `${i === 0 ? 'before' : 'after'}/${SPEC}`;
        return out.replaceAll(file, label).replaceAll(file.replace(/^\//, ''), label);
      }, text);
    const change = named(run('git', ['diff', '--no-index', '--no-color', '--no-prefix', '--unified=1', base, revision]).stdout).replace(/^diff --git .*\n(index .*\n)?/m, '');
    const gate = run('npm', ['run', '-s', 'api:diff', '--', base, revision, '--fail-on', 'breaking']);
    const markdown = run('npm', ['run', '-s', 'api:diff', '--', base, revision, '--format', 'markdown']);
    const ok = gate.status === scenario.expectedExit;
    failed ||= !ok;

    const report = [
      `# ${scenario.title}`,
      '',
      `Reproduce: \`make diff-evidence\` (scripts/api-diff-evidence.ts). The gate's command, as CI runs it:`,
      '',
      '```',
      `npm run -s api:diff -- <spec before> <spec after> --fail-on breaking`,
      '```',
      '',
      '## The change',
      '',
      '```diff',
      change.trimEnd(),
      '```',
      '',
      `## The gate's output (exit status ${gate.status}: ${gate.status === 0 ? 'passes' : 'fails'})`,
      '',
      '```',
      named(gate.stdout + gate.stderr).trimEnd(),
      '```',
      '',
      '## The same report as a pull-request comment (`--format markdown`)',
      '',
      named(markdown.stdout).trimEnd(),
      '',
    ].join('\n');
    writeFileSync(path.join(OUT_DIR, `api-diff-${scenario.name}.md`), report);
    console.log(`${ok ? 'ok' : 'UNEXPECTED'}: ${scenario.name} change → gate exit ${gate.status} (expected ${scenario.expectedExit}); docs/evidence/api-diff-${scenario.name}.md`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
