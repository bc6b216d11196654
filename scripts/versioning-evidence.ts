/**
 * `make versioning-evidence`: the versioning policy of docs/versioning.md, shown by the break gate.
 * Four steps, each on copies of spec/openapi.yaml in a temporary directory, each judged exactly as
 * CI judges a pull request (`npm run -s api:diff -- <base> <revision> --fail-on breaking`):
 *
 *   1. an additive v1 change (the optional `statement_descriptor`)            → passes
 *   2. adding /v2 and deprecating the v1 operations it succeeds, with a sunset → passes
 *   3. removing the deprecated operations before their sunset date            → fails
 *   4. removing them after it (the comparison time set past the sunset)       → passes
 *
 * What each step removes is read from the spec: the /v2 paths, the operations marked `deprecated`
 * and what only they use. Each step's change, the gate's report and its exit status are stored in
 * docs/evidence/versioning-<n>-<name>.md; the outputs hold no temporary paths or times, so a run on
 * an unchanged spec rewrites them byte for byte. Exits non-zero unless every step's exit status is
 * the expected one.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPair, isScalar, isSeq, parseDocument, visit, type Document, type YAMLMap } from 'yaml';
import { runCli } from '../tools/api-diff/src/cli-run.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SPEC = 'spec/openapi.yaml';
const OUT_DIR = path.join(ROOT, 'docs/evidence');
/** A time after every sunset date the spec sets: the day after the v1 sunset of 2027-12-31. */
const AFTER_SUNSET = '2028-01-01T00:00:00Z';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const COMPONENT_KINDS = ['schemas', 'responses', 'parameters', 'headers', 'requestBodies', 'examples', 'links', 'callbacks', 'pathItems'];
const NEW_PROPERTY = 'statement_descriptor';

type Json = Record<string, unknown>;

interface Operation {
  readonly path: string;
  readonly method: string;
  readonly operation: Json;
}

interface Derived {
  /** The base and revision of the step: the spec's own text where a side is the spec unchanged. */
  readonly base: string;
  readonly revision: string;
  /** What was done to which copy, in sentences, for the evidence. */
  readonly description: string[];
}

interface Step {
  readonly file: string;
  readonly title: string;
  readonly expectedExit: 0 | 1;
  /** The comparison time, when the step needs one other than now. */
  readonly now?: string;
  readonly derive: (original: string) => Derived;
}

// ---------------------------------------------------------------------------------------------
// Reading the spec

const load = (text: string) => parseDocument(text);
const json = (doc: Document) => doc.toJS() as Json;
const text = (doc: Document) => doc.toString({ lineWidth: 0, flowCollectionPadding: false });

function operationsOf(spec: Json): Operation[] {
  const out: Operation[] = [];
  for (const [p, item] of Object.entries((spec.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation) out.push({ path: p, method, operation });
    }
  }
  return out;
}

const isDeprecated = (o: Operation) => o.operation.deprecated === true;
const label = (o: Operation) => `${o.method.toUpperCase()} ${o.path} (\`${String(o.operation.operationId)}\`)`;
const code = (items: Iterable<string>) => [...items].map((i) => `\`${i}\``).join(', ');

/** The `kind/name` of every component reachable through `$ref` from outside `components`. */
function reachableComponents(spec: Json): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const scan = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(scan);
    if (node === null || typeof node !== 'object') return;
    const ref = (node as Json).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/')) {
      const key = ref.slice('#/components/'.length).replaceAll('~1', '/').replaceAll('~0', '~');
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(key);
      }
    }
    Object.values(node).forEach(scan);
  };
  scan({ ...spec, components: undefined });
  const components = (spec.components ?? {}) as Record<string, Record<string, unknown>>;
  for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
    const [kind, ...name] = key.split('/');
    scan(components[kind!]?.[name.join('/')]);
  }
  return seen;
}

const usedTags = (spec: Json) => new Set(operationsOf(spec).flatMap((o) => (o.operation.tags as string[] | undefined) ?? []));

/**
 * Removes from `doc` the components and tags that `before` used and the edited `doc` no longer
 * does; those nothing used to begin with stay. Returns what it removed.
 */
function prune(doc: Document, before: Json): { components: string[]; tags: string[] } {
  const wasReachable = reachableComponents(before);
  const components: string[] = [];
  // A removed component may have been the only user of another: repeat until nothing changes.
  for (;;) {
    const isReachable = reachableComponents(json(doc));
    const orphans = [...wasReachable].filter((key) => !isReachable.has(key) && COMPONENT_KINDS.includes(key.split('/')[0]!) && doc.hasIn(['components', ...splitKey(key)]));
    if (orphans.length === 0) break;
    for (const key of orphans) {
      doc.deleteIn(['components', ...splitKey(key)]);
      components.push(key);
    }
  }
  const stillUsed = usedTags(json(doc));
  const dropped = [...usedTags(before)].filter((t) => !stillUsed.has(t));
  const tags = doc.get('tags') as { items: YAMLMap[] } | undefined;
  if (tags) tags.items = tags.items.filter((t) => !dropped.includes(String(t.get('name'))));
  return { components: components.sort(), tags: dropped };
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** Deletes a path's operation, and the path when no operation is left on it. */
function removeOperation(doc: Document, o: Operation): void {
  doc.deleteIn(['paths', o.path, o.method]);
  const item = doc.getIn(['paths', o.path]) as YAMLMap;
  if (!METHODS.some((m) => item.has(m))) doc.deleteIn(['paths', o.path]);
}

// ---------------------------------------------------------------------------------------------
// The changes

/** Whether the v1 create request already has the additive property. */
const hasNewProperty = (spec: Json) => NEW_PROPERTY in (((spec.components as Json).schemas as Record<string, Json>).PaymentCreateRequest!.properties as Json);

/** Removes the property from every schema that declares or requires it; returns those schemas. */
function removeNewProperty(doc: Document): string[] {
  const schemas = new Set<string>();
  visit(doc, {
    Pair(_, pair, ancestry) {
      if (!isScalar(pair.key) || pair.key.value !== NEW_PROPERTY || !isKey(ancestry.at(-2), 'properties')) return undefined;
      schemas.add(schemaName(ancestry));
      return visit.REMOVE;
    },
    Scalar(key, node, ancestry) {
      const parent = ancestry.at(-1);
      const owner = ancestry.at(-2);
      if (typeof key !== 'number' || node.value !== NEW_PROPERTY || !isSeq(parent) || !isKey(owner, 'required')) return undefined;
      schemas.add(schemaName(ancestry));
      return visit.REMOVE;
    },
  });
  return [...schemas].sort();
}

/** Whether a node is the pair of that key. */
function isKey(node: unknown, key: string): boolean {
  return isPair(node) && isScalar(node.key) && node.key.value === key;
}

/** The name of the components.schemas entry a node sits in. */
function schemaName(ancestry: readonly unknown[]): string {
  const names = ancestry.flatMap((n) => (isPair(n) && isScalar(n.key) ? [String(n.key.value)] : []));
  const at = names.indexOf('schemas');
  return at >= 0 && names[at + 1] ? names[at + 1]! : names.join('.');
}

/** The additive change as docs/versioning.md describes it, for a spec that does not have it yet. */
function addNewProperty(doc: Document): string[] {
  const description = "What the cardholder's statement shows for this payment.";
  doc.setIn(['components', 'schemas', 'PaymentCreateRequest', 'properties', NEW_PROPERTY], doc.createNode({ type: 'string', maxLength: 22, description }));
  for (const schema of ['Payment', 'PaymentV2']) {
    if (doc.hasIn(['components', 'schemas', schema])) doc.setIn(['components', 'schemas', schema, 'properties', NEW_PROPERTY], doc.createNode({ type: ['string', 'null'], description }));
  }
  return ['Payment', 'PaymentCreateRequest', 'PaymentV2'];
}

/**
 * Takes back the deprecation of the spec's deprecated operations: `deprecated` and every `x-`
 * field go, and so does what only deprecated operations answer with: the response headers no other
 * operation sends (`Deprecation`, `Sunset`, `Link`), a response component they alone use swapped
 * for the one it extends (`DeprecatedNotFound` for `NotFound`) or, with none (`Gone`, the 410),
 * dropped with its status.
 */
function undeprecate(doc: Document): { operations: string[]; headers: string[]; dropped: string[] } {
  const spec = json(doc);
  const components = spec.components as Record<string, Record<string, Json>>;
  const responsesOf = (o: Operation) => Object.entries((o.operation.responses ?? {}) as Record<string, Json>);
  const resolve = (response: Json): Json => (typeof response.$ref === 'string' ? (components.responses![response.$ref.split('/').pop()!] ?? {}) : response);
  const headersOf = (o: Operation) => responsesOf(o).flatMap(([, r]) => Object.keys((resolve(r).headers ?? {}) as Json));
  const refsOf = (o: Operation) => responsesOf(o).flatMap(([, r]) => (typeof r.$ref === 'string' ? [r.$ref] : []));

  const all = operationsOf(spec);
  const deprecated = all.filter(isDeprecated);
  const current = all.filter((o) => !isDeprecated(o));
  const otherHeaders = new Set(current.flatMap(headersOf));
  const otherRefs = new Set(current.flatMap(refsOf));
  const headers = new Set(deprecated.flatMap(headersOf).filter((h) => !otherHeaders.has(h)));
  const dropped = new Set<string>();

  for (const o of deprecated) {
    const node = doc.getIn(['paths', o.path, o.method]) as YAMLMap;
    for (const key of node.items.map((p) => String((p.key as { value: unknown }).value))) {
      if (key === 'deprecated' || key.startsWith('x-')) node.delete(key);
    }
    for (const [status, response] of responsesOf(o)) {
      const at = ['paths', o.path, o.method, 'responses', status];
      if (typeof response.$ref !== 'string') {
        for (const h of headers) doc.deleteIn([...at, 'headers', h]);
        continue;
      }
      const name = response.$ref.split('/').pop()!;
      if (otherRefs.has(response.$ref)) continue;
      const extended = Object.keys(components.responses!).find((candidate) => candidate !== name && name.endsWith(candidate) && otherRefs.has(`#/components/responses/${candidate}`));
      if (extended) doc.setIn([...at, '$ref'], `#/components/responses/${extended}`);
      else {
        doc.deleteIn(at);
        dropped.add(`${status} ${name}`);
      }
    }
  }
  return { operations: deprecated.map(label), headers: [...headers].sort(), dropped: [...dropped].sort() };
}

// ---------------------------------------------------------------------------------------------
// The steps

const STEPS: Step[] = [
  {
    file: 'versioning-1-additive.md',
    title: 'Step 1: an additive v1 change ships in /v1 without a new version',
    expectedExit: 0,
    derive(original) {
      const current = load(original);
      if (hasNewProperty(json(current))) {
        const base = load(original);
        const schemas = removeNewProperty(base);
        return {
          base: text(base),
          revision: original,
          description: [
            `The revision is the spec as it is; the base is a copy with the optional \`${NEW_PROPERTY}\` taken out of ${code(schemas)} (declared and, in responses, listed as always present).`,
            'So the change is: a new optional request property on `POST /v1/payments` (and `POST /v2/payments`), and a new response property on every payment answer.',
          ],
        };
      }
      const revision = load(original);
      const schemas = addNewProperty(revision);
      return {
        base: original,
        revision: text(revision),
        description: [
          `The base is the spec as it is; the revision adds an optional \`${NEW_PROPERTY}\` (a string of at most 22 characters) to the create request and \`[string, 'null']\` to ${code(schemas.filter((s) => s !== 'PaymentCreateRequest'))}.`,
        ],
      };
    },
  },
  {
    file: 'versioning-2-add-v2.md',
    title: 'Step 2: adding /v2 and deprecating the v1 operations it succeeds, with a sunset date',
    expectedExit: 0,
    derive(original) {
      const before = json(load(original));
      const base = load(original);
      const v2 = operationsOf(before).filter((o) => o.path.startsWith('/v2/'));
      const successors = new Set(operationsOf(before).flatMap((o) => (isDeprecated(o) && typeof o.operation['x-successor'] === 'string' ? [o.operation['x-successor']] : [])));
      const missing = [...successors].filter((id) => !v2.some((o) => o.operation.operationId === id));
      if (missing.length > 0) throw new Error(`a deprecated operation names a successor outside /v2: ${missing.join(', ')}`);
      for (const o of v2) removeOperation(base, o);
      const taken = undeprecate(base);
      const pruned = prune(base, before);
      return {
        base: text(base),
        revision: original,
        description: [
          'The revision is the spec as it is. The base is the spec before /v2, derived from it:',
          '',
          `- the /v2 operations removed: ${v2.map(label).join(', ')};`,
          `- the deprecation of ${taken.operations.length} v1 operations taken back (\`deprecated\`, \`x-deprecated-at\`, \`x-sunset\`, \`x-successor\`): ${taken.operations.join(', ')};`,
          `- with it, what only deprecated operations answer with: the response headers ${code(taken.headers)}, each \`Deprecated…\` response swapped for the one it extends, and ${code(taken.dropped)} dropped;`,
          `- the tags ${code(pruned.tags)} and the components only those took part in removed: ${code(pruned.components)}.`,
        ],
      };
    },
  },
  {
    file: 'versioning-3-remove-before-sunset.md',
    title: 'Step 3: removing the deprecated v1 operations before their sunset date',
    expectedExit: 1,
    derive: removeDeprecated,
  },
  {
    file: 'versioning-4-remove-after-sunset.md',
    title: 'Step 4: removing the deprecated v1 operations after their sunset date',
    expectedExit: 0,
    now: AFTER_SUNSET,
    derive: removeDeprecated,
  },
];

function removeDeprecated(original: string): Derived {
  const before = json(load(original));
  const revision = load(original);
  const deprecated = operationsOf(before).filter(isDeprecated);
  const sunsets = [...new Set(deprecated.map((o) => String(o.operation['x-sunset'])))].sort();
  const late = sunsets.filter((s) => !(Date.parse(s) < Date.parse(AFTER_SUNSET)));
  if (late.length > 0) throw new Error(`a sunset date is not before ${AFTER_SUNSET}: ${late.join(', ')}; move AFTER_SUNSET past it`);
  for (const o of deprecated) removeOperation(revision, o);
  const pruned = prune(revision, before);
  return {
    base: original,
    revision: text(revision),
    description: [
      `The base is the spec as it is; the revision removes every operation it marks \`deprecated\` (x-sunset ${sunsets.join(', ')}): ${deprecated.map(label).join(', ')},`,
      `and the components only they used: ${code(pruned.components)}.`,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Running the gate

function run(command: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

// `npm run api:diff` runs the compiled command: build it first if its source is newer.
const build = run('bash', ['scripts/api-diff-fresh.sh']);
if (build.status !== 0) throw new Error(`building api-diff failed:\n${build.stderr}`);

/** Whether the gate's command line takes the comparison time (`--now`). */
const cliTakesNow = /--now\b/.test(run('npm', ['run', '-s', 'api:diff', '--', '--help']).stdout);

interface GateRun {
  readonly command: string;
  /** How the comparison time reached the gate, when it is not now and not on the command line. */
  readonly note?: string;
  readonly status: number;
  readonly output: string;
}

/**
 * The gate as CI runs it. A step with its own comparison time passes it on the command line when
 * the command takes one; otherwise it runs the command's own entry point (cli-run.ts's `runCli`,
 * the function `npm run api:diff` calls) in this process with that time, the arguments unchanged.
 */
function gate(base: string, revision: string, now: string | undefined): GateRun {
  const args = [base, revision, '--fail-on', 'breaking'];
  const shown = 'npm run -s api:diff -- <base> <revision> --fail-on breaking';
  if (now === undefined) {
    const r = run('npm', ['run', '-s', 'api:diff', '--', ...args]);
    return { command: shown, status: r.status, output: r.stdout + r.stderr };
  }
  if (cliTakesNow) {
    const r = run('npm', ['run', '-s', 'api:diff', '--', ...args, '--now', now]);
    return { command: `${shown} --now ${now}`, status: r.status, output: r.stdout + r.stderr };
  }
  let output = '';
  const status = runCli(args, { out: (t) => (output += t), err: (t) => (output += t), cwd: ROOT, now: new Date(now) });
  return {
    command: shown,
    note: `The gate's command line takes no comparison time, so this step calls the command's own entry point, \`runCli\` (tools/api-diff/src/cli-run.ts), with these arguments and \`now\` set to ${now}.`,
    status,
    output,
  };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'remit-versioning-'));
let failed = false;
try {
  mkdirSync(OUT_DIR, { recursive: true });
  const original = readFileSync(path.join(ROOT, SPEC), 'utf8');

  for (const step of STEPS) {
    const derived = step.derive(original);
    const dir = path.join(work, path.basename(step.file, '.md'));
    const files = { base: path.join(dir, 'base', SPEC), revision: path.join(dir, 'revision', SPEC) };
    for (const side of ['base', 'revision'] as const) {
      mkdirSync(path.dirname(files[side]), { recursive: true });
      writeFileSync(files[side], derived[side]);
    }

    // The copies are named after the side they are, so the stored outputs do not depend on where the run happened.
    const named = (text: string) =>
      (['base', 'revision'] as const).reduce((out, side) => {
        const to = `${side}/${SPEC}`;
        return out.replaceAll(files[side], to).replaceAll(files[side].replace(/^\//, ''), to);
      }, text);
    const change = named(run('git', ['diff', '--no-index', '--no-color', '--no-prefix', '--unified=1', files.base, files.revision]).stdout).replace(/^diff --git .*\n(index .*\n)?/m, '');
    const result = gate(files.base, files.revision, step.now);
    const ok = result.status === step.expectedExit;
    failed ||= !ok;
    const lines = change.trimEnd().split('\n').length;

    const report = [
      `# ${step.title}`,
      '',
      `Reproduce: \`make versioning-evidence\` (scripts/versioning-evidence.ts); the policy is [docs/versioning.md](../versioning.md).`,
      `The gate's command, as CI runs it${step.now ? `, with the comparison time set to ${step.now}` : ' (the comparison time is now)'}:`,
      '',
      '```',
      result.command,
      '```',
      '',
      ...(result.note ? [result.note, ''] : []),
      `Exit status: **${result.status}** (${result.status === 0 ? 'passes' : result.status === 1 ? 'fails' : 'no verdict'}; expected ${step.expectedExit}).`,
      '',
      '## The change',
      '',
      ...derived.description,
      '',
      '<details><summary>The two copies, as a diff (' + lines + ' lines)</summary>',
      '',
      '```diff',
      change.trimEnd(),
      '```',
      '',
      '</details>',
      '',
      `## The gate's report`,
      '',
      '```',
      named(result.output).trimEnd(),
      '```',
      '',
    ].join('\n');
    writeFileSync(path.join(OUT_DIR, step.file), report);
    console.log(`${ok ? 'ok' : 'UNEXPECTED'}: ${step.title} → gate exit ${result.status} (expected ${step.expectedExit}); docs/evidence/${step.file}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
