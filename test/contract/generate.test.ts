/**
 * `generated/` is only trustworthy if it is a pure function of the spec: the same spec must give
 * the same bytes, the committed copy must be what the spec gives today, and it must cover every
 * operation the spec declares.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { operations } from '../../generated/server/operations.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX_CLI = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const GENERATE = path.join(ROOT, 'scripts/generate.ts');
const SPEC = path.join(ROOT, 'spec/openapi.yaml');
const GENERATED = path.join(ROOT, 'generated');
// Every method OpenAPI 3.1 allows on a path item, not only the ones the generator reads, so an
// operation the generator skips shows up as missing.
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

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

describe('contract: generated code', function () {
  const scratch: string[] = [];

  async function scratchDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-generate-'));
    scratch.push(dir);
    return dir;
  }

  after(async () => {
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('generates byte-identical files when run twice on the same spec', async function () {
    this.timeout(120000);
    const [a, b] = await Promise.all([scratchDir(), scratchDir()]);
    const runs = await Promise.all([generate('--spec', SPEC, '--out', a), generate('--spec', SPEC, '--out', b)]);
    for (const r of runs) expect(r.code, r.stderr).to.equal(0);

    const filesA = await filesUnder(a);
    expect(filesA).to.deep.equal(await filesUnder(b));
    expect(filesA, 'a fresh run should produce exactly the files committed in generated/').to.deep.equal(await filesUnder(GENERATED));
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
    expect((await generate('--spec', SPEC, '--out', out)).code).to.equal(0);
    const target = path.join(out, 'server/operations.ts');
    await writeFile(target, `${await readFile(target, 'utf8')}\n// edited by hand\n`);

    const r = await generate('--spec', SPEC, '--out', out, '--check');
    expect(r.code, `${r.stdout}${r.stderr}`).to.equal(1);
    expect(r.stderr).to.match(/server\/operations\.ts/);
    expect(r.stderr, 'only the edited file is stale').not.to.match(/schema\.ts|resources\.ts/);
  });

  it('marks every generated file as generated on its first line', async function () {
    const files = await filesUnder(GENERATED);
    expect(files).to.include.members(['schema.ts', 'server/operations.ts', 'sdk/resources.ts']);
    for (const file of files) {
      const [firstLine] = (await readFile(path.join(GENERATED, file), 'utf8')).split('\n', 1);
      expect(firstLine, `first line of generated/${file}`).to.include('Generated').and.include('Do not edit');
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
});
