/**
 * `generated/` and the SDK's `sdk/src/generated/` are only trustworthy if they are a pure function
 * of the specs (spec/openapi.yaml, and spec/processor.proto for `generated/processor/`): the same
 * specs must give the same bytes, the committed copies must be what the specs give today, and they
 * must cover every operation the spec declares.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { operations } from '../../generated/server/operations.js';
import { operationSpecs } from '../../sdk/src/generated/resources.js';
import { HTTP_METHODS } from '../../src/platform/spec.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX_CLI = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const GENERATE = path.join(ROOT, 'scripts/generate.ts');
const SPEC = path.join(ROOT, 'spec/openapi.yaml');
const PROCESSOR_PROTO = path.join(ROOT, 'spec/processor.proto');
const GENERATED = path.join(ROOT, 'generated');
/** The console's build (Vite, from console/): written and checked by scripts/console-build.ts, not by the spec generator. */
const CONSOLE_BUILD = 'console/';
const SDK_GENERATED = path.join(ROOT, 'sdk/src/generated');
const CLI_GENERATED = path.join(ROOT, 'cli/src/generated');
// Every method OpenAPI 3.1 allows on a path item, not only the ones the generator reads, so an
// operation the generator skips shows up as missing.

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function generate(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX_CLI, GENERATE, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Paths relative to `dir`, `/`-separated and sorted, so two trees compare as lists. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const isFile = await Promise.all(entries.map(async (e) => (await stat(path.join(dir, e))).isFile()));
  return entries
    .filter((_, i) => isFile[i])
    .map((e) => e.split(path.sep).join('/'))
    .sort();
}

/** What the spec generator writes into generated/: everything there but the console's build. */
async function specProducts(): Promise<string[]> {
  return (await filesUnder(GENERATED)).filter((f) => !f.startsWith(CONSOLE_BUILD));
}

describe('contract: generated code', function () {
  const scratch: string[] = [];

  async function scratchDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-generate-'));
    scratch.push(dir);
    return dir;
  }

  /** Generates into a scratch tree laid out like the repo: `<dir>/generated`, `<dir>/sdk/src/generated` and `<dir>/cli/src/generated`. */
  function generateInto(dir: string, ...args: string[]): Promise<Run> {
    return generate('--spec', SPEC, '--out', path.join(dir, 'generated'), ...args);
  }

  after(async () => {
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('generates byte-identical files when run twice on the same spec', async function () {
    this.timeout(120000);
    const [a, b] = await Promise.all([scratchDir(), scratchDir()]);
    const runs = await Promise.all([generateInto(a), generateInto(b)]);
    for (const r of runs) expect(r.code, r.stderr).to.equal(0);

    const filesA = await filesUnder(a);
    expect(filesA).to.deep.equal(await filesUnder(b));
    const committed = [
      ...(await specProducts()).map((f) => `generated/${f}`),
      ...(await filesUnder(SDK_GENERATED)).map((f) => `sdk/src/generated/${f}`),
      ...(await filesUnder(CLI_GENERATED)).map((f) => `cli/src/generated/${f}`),
    ].sort();
    expect(filesA, 'a fresh run should produce exactly the files committed in generated/, sdk/src/generated/ and cli/src/generated/').to.deep.equal(committed);
    for (const file of filesA) {
      const [bytesA, bytesB] = await Promise.all([readFile(path.join(a, file)), readFile(path.join(b, file))]);
      expect(bytesA.equals(bytesB), `${file} differs between two runs on the same spec`).to.equal(true);
    }
  });

  it('reports the committed generated/ as fresh (--check exits 0)', async function () {
    this.timeout(120000);
    const r = await generate('--check');
    expect(r.code, `generated/ is stale; run \`make generate\`:\n${r.stdout}${r.stderr}`).to.equal(0);
  });

  it('fails --check and names the file when a generated file was edited by hand', async function () {
    // Without this, a --check that always exits 0 would pass the freshness test above.
    this.timeout(120000);
    const out = await scratchDir();
    expect((await generateInto(out)).code).to.equal(0);
    const target = path.join(out, 'generated/server/operations.ts');
    await writeFile(target, `${await readFile(target, 'utf8')}\n// edited by hand\n`);

    const r = await generateInto(out, '--check');
    expect(r.code, `${r.stdout}${r.stderr}`).to.equal(1);
    expect(r.stderr).to.match(/server\/operations\.ts/);
    expect(r.stderr, 'only the edited file is stale').not.to.match(/schema\.ts|resources\.ts/);
  });

  it("fails --check and names the SDK's file when it was edited by hand", async function () {
    this.timeout(120000);
    const out = await scratchDir();
    expect((await generateInto(out)).code).to.equal(0);
    const target = path.join(out, 'sdk/src/generated/resources.ts');
    await writeFile(target, (await readFile(target, 'utf8')).replace('list:', 'listAll:'));

    const r = await generateInto(out, '--check');
    expect(r.code, `${r.stdout}${r.stderr}`).to.equal(1);
    expect(r.stderr).to.match(/sdk\/src\/generated\/resources\.ts/);
    expect(r.stderr, 'only the edited file is stale').not.to.match(/schema\.ts|operations\.ts/);
  });

  it('fails --check and names generated/processor/processor_pb.ts when it was edited by hand', async function () {
    this.timeout(120000);
    const out = await scratchDir();
    expect((await generateInto(out)).code).to.equal(0);
    const target = path.join(out, 'generated/processor/processor_pb.ts');
    const edited = (await readFile(target, 'utf8')).replace('CHARGE_VOIDED = 6,', 'CHARGE_VOIDED = 60,');
    expect(edited, 'the edit must change something').not.to.equal(await readFile(target, 'utf8'));
    await writeFile(target, edited);

    const r = await generateInto(out, '--check');
    expect(r.code, `${r.stdout}${r.stderr}`).to.equal(1);
    expect(r.stderr).to.match(/generated\/processor\/processor_pb\.ts/);
    expect(r.stderr, 'only the edited file is stale').not.to.match(/schema\.ts|operations\.ts|resources\.ts/);
  });

  it('generates generated/processor/ from the processor contract, and nothing else from it', async function () {
    this.timeout(120000);
    const out = await scratchDir();
    const contract = (await readFile(PROCESSOR_PROTO, 'utf8')).replace(
      '  REFUSAL_CODE_AMOUNT_EXCEEDS_REFUNDABLE = 10;\n',
      '  REFUSAL_CODE_AMOUNT_EXCEEDS_REFUNDABLE = 10;\n  REFUSAL_CODE_CHARGE_LOST = 11;\n',
    );
    expect(contract, 'the contract must have changed').to.include('CHARGE_LOST');
    const protoDir = path.join(out, 'proto');
    await mkdir(protoDir);
    await writeFile(path.join(protoDir, 'processor.proto'), contract);
    const r = await generateInto(out, '--proto-dir', protoDir);
    expect(r.code, r.stderr).to.equal(0);

    const processor = await readFile(path.join(out, 'generated/processor/processor_pb.ts'), 'utf8');
    expect(processor.split('\n', 1)[0]).to.include('from spec/processor.proto');
    expect(processor).to.match(/export enum RefusalCode \{[^}]*CHARGE_LOST = 11,/);
    for (const file of ['generated/schema.ts', 'generated/server/operations.ts', 'sdk/src/generated/resources.ts']) {
      expect(await readFile(path.join(out, file), 'utf8'), file).to.equal(await readFile(path.join(ROOT, file), 'utf8'));
    }
  });

  it('marks every generated file as generated on its first line', async function () {
    const files = [
      ...(await specProducts()).map((f) => path.join(GENERATED, f)),
      ...(await filesUnder(SDK_GENERATED)).map((f) => path.join(SDK_GENERATED, f)),
    ].map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
    expect(files).to.include.members([
      'generated/schema.ts',
      'generated/server/operations.ts',
      'generated/processor/processor_pb.ts',
      'sdk/src/generated/schema.ts',
      'sdk/src/generated/resources.ts',
    ]);
    for (const file of files) {
      const [firstLine] = (await readFile(path.join(ROOT, file), 'utf8')).split('\n', 1);
      expect(firstLine, `first line of ${file}`).to.include('Generated').and.include('Do not edit');
    }
  });

  it('lists in generated/server/operations.ts exactly the operationIds of spec/openapi.yaml', async function () {
    type PathItem = Partial<Record<(typeof HTTP_METHODS)[number], { operationId?: string }>>;
    const spec = parseYaml(await readFile(SPEC, 'utf8')) as { paths: Record<string, PathItem> };
    const declared = new Map<string, string>();
    for (const [route, item] of Object.entries(spec.paths)) {
      for (const method of HTTP_METHODS) {
        const op = item[method];
        if (!op) continue;
        const id = op.operationId;
        if (typeof id !== 'string') expect.fail(`${method.toUpperCase()} ${route} has no operationId`);
        expect(declared.has(id), `operationId ${id} is declared twice`).to.equal(false);
        declared.set(id, `${method.toUpperCase()} ${route}`);
      }
    }
    expect(declared.size, 'operations found in the spec').to.be.greaterThan(0);

    expect(Object.keys(operations).sort()).to.deep.equal([...declared.keys()].sort());
    const generatedRoutes = Object.fromEntries(Object.entries(operations).map(([id, op]) => [id, `${op.method} ${op.path}`]));
    expect(generatedRoutes, 'each operation is bound to the method and path the spec gives it').to.deep.equal(Object.fromEntries(declared));
  });

  it('gives the SDK exactly the operations of the tags that name an x-sdk-resource, bound to their method and path', async function () {
    type Op = { operationId?: string; tags?: string[] };
    const spec = parseYaml(await readFile(SPEC, 'utf8')) as {
      tags?: { name: string; 'x-sdk-resource'?: string }[];
      paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], Op>>>;
    };
    const sdkTags = new Set((spec.tags ?? []).filter((t) => t['x-sdk-resource']).map((t) => t.name));
    expect(sdkTags.size, 'tags with x-sdk-resource').to.be.greaterThan(0);
    const expected: Record<string, string> = {};
    for (const [route, item] of Object.entries(spec.paths)) {
      for (const method of HTTP_METHODS) {
        const op = item[method];
        if (op?.operationId && op.tags?.[0] && sdkTags.has(op.tags[0])) expected[op.operationId] = `${method.toUpperCase()} ${route}`;
      }
    }
    const generated = Object.fromEntries(Object.values(operationSpecs).map((o) => [o.operationId, `${o.method} ${o.path}`]));
    expect(generated).to.deep.equal(expected);
  });
});
