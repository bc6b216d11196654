/**
 * The package on its own: its `build` (tsc) into a scratch directory, then its entry point imported
 * by package name from plain Node (no tsx, no server dependencies, an empty environment) and used
 * against a scripted server; and its typed exports compiled from a consumer's file.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { problem, startFaultServer, type FaultServer } from './helpers/fault-server.js';

const SDK = path.resolve(import.meta.dirname, '..');
const TSC = path.resolve(SDK, '../node_modules/typescript/bin/tsc');

function run(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: {} }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('@remit/sdk as a package', function () {
  this.timeout(60_000);
  let dir: string;
  let server: FaultServer;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'remit-sdk-build-'));
    server = await startFaultServer();
    // The package's own build script, with the output sent to the scratch directory.
    const pkg = JSON.parse(await readFile(path.join(SDK, 'package.json'), 'utf8')) as { scripts: { build: string } };
    const [command, ...args] = pkg.scripts.build.split(' ');
    expect(command).to.equal('tsc');
    const build = await run([TSC, ...args, '--outDir', path.join(dir, 'dist')], SDK);
    expect(build.code, build.output).to.equal(0);
    await copyFile(path.join(SDK, 'package.json'), path.join(dir, 'package.json'));
  });
  after(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds JavaScript and declarations for every module, and nothing from outside sdk/src', async () => {
    const files = (await readdir(path.join(dir, 'dist'), { recursive: true })).map((f) => f.split(path.sep).join('/'));
    expect(files).to.include.members(['index.js', 'index.d.ts', 'client.js', 'generated/resources.js', 'generated/schema.d.ts', 'core/errors.d.ts']);
    expect(files.filter((f) => f.startsWith('..') || f.includes('platform/'))).to.deep.equal([]);
  });

  it('is imported by name from plain Node and works against a server', async () => {
    server.script(
      { status: 201, headers: { 'request-id': 'req_built' }, body: { id: 'cus_1', object: 'customer', email: 'a@example.com', name: null, phone: null, description: null, metadata: {}, created: 1 } },
      problem(404, 'resource_not_found', { 'request-id': 'req_missing' }),
    );
    await writeFile(
      path.join(dir, 'smoke.mjs'),
      `import Remit, { NotFoundError, RemitError, VERSION } from '@remit/sdk';
const remit = new Remit({ apiKey: 'sk_smoke', baseURL: process.argv[2], maxRetries: 0 });
const { data, requestId } = await remit.customers.create({ email: 'a@example.com' }).withResponse();
let error;
try { await remit.customers.retrieve('cus_2'); } catch (err) { error = err; }
console.log(JSON.stringify({
  id: data.id, requestId, version: VERSION,
  notFound: error instanceof NotFoundError, remitError: error instanceof RemitError, code: error.code, errorRequestId: error.requestId,
}));
`,
    );
    const smoke = await run(['smoke.mjs', server.url], dir);
    expect(smoke.code, smoke.output).to.equal(0);
    expect(JSON.parse(smoke.output)).to.deep.equal({
      id: 'cus_1',
      requestId: 'req_built',
      version: '0.1.0',
      notFound: true,
      remitError: true,
      code: 'resource_not_found',
      errorRequestId: 'req_missing',
    });
    expect(server.requests.map((r) => r.headers['idempotency-key'] !== undefined)).to.deep.equal([true, false]);
  });

  it("gives a consumer's TypeScript the types through the package's exports", async () => {
    await writeFile(
      path.join(dir, 'consumer.ts'),
      `import { Remit, NotFoundError, type Payment, type Page } from '@remit/sdk';
const remit = new Remit({ apiKey: 'sk_x' });
export const payment: Promise<Payment> = remit.payments.retrieve('pay_1');
export const page: Promise<Page<Payment>> = remit.payments.list({ status: 'succeeded' });
export const isNotFound = (e: unknown): boolean => e instanceof NotFoundError;
// @ts-expect-error not a payment status
remit.payments.list({ status: 'paid' });
`,
    );
    const compilerOptions = { noEmit: true, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] };
    await writeFile(path.join(dir, 'tsconfig.consumer.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    const check = await run([TSC, '-p', 'tsconfig.consumer.json'], dir);
    expect(check.code, check.output).to.equal(0);
  });
});
