/**
 * The promise of handlers.ts: change the spec, regenerate, and the type check names every handler
 * that no longer matches. Each case copies the server into a scratch directory, mutates a copy of
 * the spec, regenerates `generated/` there and runs the project's own compiler over it.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX_CLI = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
// Generation and tsc are each CPU-bound; more than two at once only slows every case down.
const MAX_PARALLEL = 2;

interface Run {
  readonly code: number;
  readonly output: string;
}

interface Diagnostic {
  readonly file: string;
  readonly code: string;
  /** The message with its elaboration lines, which is where excess or missing keys are named. */
  readonly text: string;
}

interface CaseResult {
  readonly generate: Run;
  readonly tsc: Run;
  readonly diagnostics: readonly Diagnostic[];
}

// The spec is YAML-shaped data; the mutations reach into it by name.
type SpecNode = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function run(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** `--pretty false` output: `file(line,col): error TSnnnn: message`, elaborations indented below. */
function parseDiagnostics(output: string): Diagnostic[] {
  const diagnostics: { file: string; code: string; text: string }[] = [];
  for (const line of output.split('\n')) {
    const head = /^(.+?)\(\d+,\d+\): error (TS\d+): (.*)$/.exec(line);
    if (head) diagnostics.push({ file: head[1]!.split(path.sep).join('/'), code: head[2]!, text: head[3]! });
    else if (line.startsWith(' ') && diagnostics.length > 0) diagnostics[diagnostics.length - 1]!.text += `\n${line.trim()}`;
  }
  return diagnostics;
}

function report(result: CaseResult): string {
  return `generate (exit ${result.generate.code}):\n${result.generate.output}\ntsc (exit ${result.tsc.code}):\n${result.tsc.output}`;
}

/** Builds a standalone copy of the server around a mutated spec and type-checks it. */
async function typecheckAgainst(dir: string, mutate: (spec: SpecNode) => void): Promise<CaseResult> {
  await mkdir(path.join(dir, 'spec'), { recursive: true });
  await cp(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
  // NodeNext decides ESM vs CommonJS from the nearest package.json; without it `import.meta` fails.
  await cp(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');

  const tsconfigPath = path.join(ROOT, 'tsconfig.json');
  const parsed = ts.parseConfigFileTextToJson(tsconfigPath, await readFile(tsconfigPath, 'utf8'));
  if (parsed.error) throw new Error(ts.flattenDiagnosticMessageText(parsed.error.messageText, '\n'));
  // Only the server is copied: tests, scripts and benches would fail to resolve here and blur the result.
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ ...parsed.config, include: ['src', 'generated'] }, null, 2));

  const spec = parseYaml(await readFile(path.join(ROOT, 'spec/openapi.yaml'), 'utf8')) as SpecNode;
  mutate(spec);
  const specPath = path.join(dir, 'spec/openapi.yaml');
  await writeFile(specPath, stringifyYaml(spec));

  const generate = await run([TSX_CLI, path.join(ROOT, 'scripts/generate.ts'), '--spec', specPath, '--out', path.join(dir, 'generated')], dir);
  if (generate.code !== 0) return { generate, tsc: { code: -1, output: '(not run)' }, diagnostics: [] };
  const tsc = await run([TSC, '--noEmit', '--pretty', 'false', '-p', path.join(dir, 'tsconfig.json')], dir);
  return { generate, tsc, diagnostics: parseDiagnostics(tsc.output) };
}

const CASES = {
  control: (_spec: SpecNode) => {},
  emailBecomesInteger: (spec: SpecNode) => {
    const customer = spec.components.schemas.Customer;
    expect(customer.properties.email, 'the spec no longer has Customer.email; update this mutation').to.be.an('object');
    customer.properties.email = { type: 'integer' };
  },
  createCustomerAnswers200: (spec: SpecNode) => {
    const responses = spec.paths['/v1/customers'].post.responses;
    expect(spec.paths['/v1/customers'].post.operationId).to.equal('createCustomer');
    expect(responses['201'], 'createCustomer no longer answers 201; update this mutation').to.be.an('object');
    // Keep the key order the spec author would write, so only the status differs.
    spec.paths['/v1/customers'].post.responses = Object.fromEntries(
      Object.entries(responses).map(([status, response]) => [status === '201' ? '200' : status, response]),
    );
  },
  listCustomerNotesAdded: (spec: SpecNode) => {
    expect(spec.paths['/v1/customers/{id}/notes']).to.equal(undefined);
    spec.paths['/v1/customers/{id}/notes'] = {
      parameters: [{ $ref: '#/components/parameters/CustomerId' }],
      get: {
        operationId: 'listCustomerNotes',
        summary: 'List a customer’s notes',
        tags: ['Customers'],
        security: [{ apiKey: ['read'] }],
        responses: {
          '200': {
            description: 'The notes.',
            content: {
              'application/json': {
                schema: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        },
      },
    };
  },
  captureAnswersRefund: (spec: SpecNode) => {
    const capture = spec.paths['/v1/payments/{id}/capture'].post;
    expect(capture.operationId).to.equal('capturePayment');
    const json = capture.responses['200'].content['application/json'];
    expect(json.schema.$ref, 'capturePayment no longer answers a Payment; update this mutation').to.equal('#/components/schemas/Payment');
    json.schema = { $ref: '#/components/schemas/Refund' };
  },
  deleteCustomerRemoved: (spec: SpecNode) => {
    const item = spec.paths['/v1/customers/{id}'];
    expect(item.delete?.operationId).to.equal('deleteCustomer');
    delete item.delete;
  },
} satisfies Record<string, (spec: SpecNode) => void>;

type CaseName = keyof typeof CASES;

function filesOf(result: CaseResult): string[] {
  return [...new Set(result.diagnostics.map((d) => d.file))].sort();
}

describe('contract: spec drift fails the type check', function () {
  let scratch: string | undefined;
  let pending: Promise<unknown> = Promise.resolve();
  const results = new Map<CaseName, Promise<CaseResult>>();

  before(async function () {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'remit-drift-'));
    const root = scratch;
    // Every case starts now, two at a time; each `it` waits only for its own, so one slow or
    // broken case is reported against its own test.
    const queue = Object.keys(CASES) as CaseName[];
    const slots: Promise<void>[] = [];
    const started = new Map<CaseName, { resolve: (r: CaseResult) => void; reject: (e: unknown) => void }>();
    for (const name of queue) {
      const promise = new Promise<CaseResult>((resolve, reject) => started.set(name, { resolve, reject }));
      // Rejections are asserted in the case's own `it`; this keeps a rejection that lands first from being "unhandled".
      promise.catch(() => {});
      results.set(name, promise);
    }
    for (let i = 0; i < MAX_PARALLEL; i++) {
      slots.push(
        (async () => {
          for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
            const settle = started.get(name)!;
            await typecheckAgainst(path.join(root, name), CASES[name]).then(settle.resolve, settle.reject);
          }
        })(),
      );
    }
    pending = Promise.all(slots);
  });

  after(async function () {
    this.timeout(180000);
    // Removing the directory under a running tsc would turn into noise; wait for the queue first.
    await pending;
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function resultOf(name: CaseName): Promise<CaseResult> {
    const result = results.get(name);
    if (!result) throw new Error(`case ${name} was never started`);
    const settled = await result;
    expect(settled.generate.code, `generation failed, so the type check proves nothing:\n${report(settled)}`).to.equal(0);
    return settled;
  }

  it('type-checks the unmodified server against the unmodified spec (the harness itself compiles)', async function () {
    this.timeout(180000);
    const result = await resultOf('control');
    expect(result.tsc.code, report(result)).to.equal(0);
    expect(result.diagnostics).to.deep.equal([]);
  });

  it('fails the type check in src/customers/ when Customer.email becomes an integer', async function () {
    this.timeout(180000);
    const result = await resultOf('emailBecomesInteger');
    expect(result.tsc.code, report(result)).not.to.equal(0);
    const files = filesOf(result);
    // Where a customer row becomes the spec's Customer (customer.ts) or where a handler answers with one.
    expect(
      files.some((f) => ['src/customers/customer.ts', 'src/customers/service.ts', 'src/customers/routes.ts'].includes(f)),
      `expected an error in src/customers/customer.ts, service.ts or routes.ts, got errors in: ${files.join(', ')}\n${report(result)}`,
    ).to.equal(true);
    expect(
      result.diagnostics.some((d) => d.file.startsWith('src/customers/') && /\bnumber\b/.test(d.text)),
      `expected a src/customers/ error about the type turning to number\n${report(result)}`,
    ).to.equal(true);
  });

  it('fails the type check when createCustomer answers 200 instead of 201', async function () {
    this.timeout(180000);
    const result = await resultOf('createCustomerAnswers200');
    expect(result.tsc.code, report(result)).not.to.equal(0);
    const inRoutes = result.diagnostics.filter((d) => d.file === 'src/customers/routes.ts');
    expect(inRoutes, `expected an error in src/customers/routes.ts\n${report(result)}`).to.have.length.greaterThan(0);
    expect(inRoutes.some((d) => d.text.includes('201')), `expected the error to name the stale status 201\n${report(result)}`).to.equal(true);
  });

  it('fails the type check in src/payments/routes.ts when capturePayment is to answer a Refund: the use case’s Payment flows there typed, no cast hides it', async function () {
    this.timeout(180000);
    const result = await resultOf('captureAnswersRefund');
    expect(result.tsc.code, report(result)).not.to.equal(0);
    const inRoutes = result.diagnostics.filter((d) => d.file === 'src/payments/routes.ts');
    expect(inRoutes, `expected an error in src/payments/routes.ts\n${report(result)}`).to.have.length.greaterThan(0);
    expect(inRoutes.some((d) => /object.*"payment"|"refund"/.test(d.text)), `expected the error to tell a payment from a refund\n${report(result)}`).to.equal(true);
  });

  it('fails the type check in src/app.ts when the spec gains listCustomerNotes and no handler exists', async function () {
    this.timeout(180000);
    const result = await resultOf('listCustomerNotesAdded');
    expect(result.tsc.code, report(result)).not.to.equal(0);
    const inApp = result.diagnostics.filter((d) => d.file === 'src/app.ts');
    expect(
      inApp.some((d) => d.text.includes("'listCustomerNotes' is missing")),
      `expected src/app.ts to report the missing listCustomerNotes handler\n${report(result)}`,
    ).to.equal(true);
  });

  it('fails the type check when deleteCustomer leaves the spec but its handler stays', async function () {
    this.timeout(180000);
    const result = await resultOf('deleteCustomerRemoved');
    expect(result.tsc.code, report(result)).not.to.equal(0);
    expect(
      result.diagnostics.some((d) => d.file.startsWith('src/') && d.text.includes('deleteCustomer')),
      `expected an error naming the orphaned deleteCustomer handler\n${report(result)}`,
    ).to.equal(true);
  });
});
