/**
 * The Makefile is the one entry point; what the README says of it holds: `make check` reports a
 * breaking spec change before anything else, and `make help` prints every target with its
 * variables expanded.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('Makefile', function () {
  this.timeout(60_000);
  const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');

  it('runs the break gate first in make check', () => {
    const prerequisites = /^check:([^#\n]*)/m.exec(makefile)?.[1]?.trim().split(/\s+/);
    expect(prerequisites?.[0]).to.equal('api-gate');
  });

  it('prints every target in make help, with variables expanded', async () => {
    const { stdout } = await run('make', ['-s', 'help'], { cwd: ROOT });
    expect(stdout).not.to.include('$(');
    const targets = [...makefile.matchAll(/^([a-z-]+):.*## /gm)].map((m) => m[1]);
    for (const target of targets) expect(stdout, target).to.match(new RegExp(`make ${target}\\b`));
  });
});
