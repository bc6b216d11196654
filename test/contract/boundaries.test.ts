/**
 * The import rules docs/architecture.md states are enforced (`make boundaries`, in `make check`):
 * the tree as it is passes, and a violation of each rule, planted in a scratch copy of the tree,
 * is refused and named — by the same dependency-cruiser configuration `make check` uses.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** Each rule of .dependency-cruiser.cjs, and an import that breaks it. */
const PLANTS: { rule: string; file: string; line: string }[] = [
  { rule: 'domain-knows-no-framework', file: 'src/payments/payment.ts', line: "import express from 'express';\nvoid express;" },
  { rule: 'only-data-access-knows-knex', file: 'src/platform/pagination.ts', line: "import knexFactory from 'knex';\nvoid knexFactory;" },
  { rule: 'layers-flow-one-way', file: 'src/payments/service.ts', line: "import { paymentHandlers } from './routes.js';\nvoid paymentHandlers;" },
  { rule: 'repository-knows-no-domain', file: 'src/refunds/repository.ts', line: "import { toRefund } from './refund.js';\nvoid toRefund;" },
  { rule: 'components-meet-at-their-entry', file: 'src/refunds/create-refund.ts', line: "import { addRefunded } from '../payments/repository.js';\nvoid addRefunded;" },
  { rule: 'processor-messages-stay-in-the-adapter', file: 'src/payments/payment.ts', line: "import { ChargeStatus } from '../../generated/processor/processor_pb.js';\nvoid ChargeStatus;" },
  { rule: 'platform-knows-no-component', file: 'src/platform/ids.ts', line: "import { recordEvent } from '../events/index.js';\nvoid recordEvent;" },
  { rule: 'sdk-stands-alone', file: 'sdk/src/version.ts', line: "import { newId } from '../../src/platform/ids.js';\nvoid newId;" },
  { rule: 'api-diff-stands-alone', file: 'tools/api-diff/src/json.ts', line: "import { loadSpec } from '../../../src/platform/spec.js';\nvoid loadSpec;" },
  { rule: 'console-talks-through-the-sdk', file: 'console/src/format.ts', line: "import { HttpTransport } from '../../sdk/src/internal/http-transport.js';\nvoid HttpTransport;" },
  { rule: 'cli-goes-through-the-sdk', file: 'cli/src/render.ts', line: "import { HttpTransport } from '../../sdk/src/internal/http-transport.js';\nvoid HttpTransport;" },
  { rule: 'no-circular', file: 'src/platform/errors.ts', line: "import { DEFAULT_LIMIT } from './pagination.js';\nvoid DEFAULT_LIMIT;" },
];

function cruise(cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DEPCRUISE, 'src', 'sdk/src', 'tools/api-diff/src', 'console/src', 'cli/src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

async function scratchTree(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-boundaries-'));
  for (const part of ['src', 'sdk/src', 'sdk/package.json', 'cli/src', 'cli/package.json', 'tools/api-diff', 'console', 'generated', 'tsconfig.json', 'package.json', '.dependency-cruiser.cjs']) {
    await cp(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('import rules (dependency-cruiser)', function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    dir = await scratchTree();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('has a planted violation here for every rule the configuration defines', async () => {
    const config = await readFile(path.join(ROOT, '.dependency-cruiser.cjs'), 'utf8');
    const rules = [...config.matchAll(/name: '([a-z-]+)'/g)].map((m) => m[1]).sort();
    expect(PLANTS.map((p) => p.rule).sort()).to.deep.equal(rules);
  });

  it('passes the tree as it is', async () => {
    const { code, output } = await cruise(dir);
    expect(code, output).to.equal(0);
    expect(output).to.include('no dependency violations found');
  });

  it('refuses each planted violation, naming its rule and where it is', async () => {
    for (const plant of PLANTS) await appendFile(path.join(dir, plant.file), `\n${plant.line}\n`);
    const { code, output } = await cruise(dir);
    expect(code, output).not.to.equal(0);
    for (const plant of PLANTS) expect(output, `${plant.rule} in ${plant.file}`).to.match(new RegExp(`error ${plant.rule}: [^\\n]*${plant.file.replace(/[/.]/g, '\\$&')}`));
    // The scratch copy is left as planted; the repository's tree is untouched.
    await writeFile(path.join(dir, 'PLANTED'), PLANTS.map((p) => p.rule).join('\n'));
  });
});
