/**
 * The console's build (scripts/console-build.ts): what is committed in generated/console/ is what
 * its source builds, byte for byte, and the check names a file that is stale, missing or left over
 * — so `make check` fails when the page the API serves no longer matches console/.
 */
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { buildConsole, compareBuilds, CONSOLE_OUT } from '../../scripts/console-build.js';

describe('the console build (generated/console/)', function () {
  this.timeout(120_000);
  let fresh: string;
  before(async () => {
    fresh = await mkdtemp(path.join(os.tmpdir(), 'remit-console-fresh-'));
    await buildConsole(fresh);
  });
  after(() => rm(fresh, { recursive: true, force: true }));

  it('is committed exactly as the source builds it', async () => {
    expect(await compareBuilds(CONSOLE_OUT, fresh)).to.deep.equal([]);
  });

  it('builds the same bytes every time', async () => {
    const again = await mkdtemp(path.join(os.tmpdir(), 'remit-console-again-'));
    try {
      await buildConsole(again);
      expect(await compareBuilds(fresh, again)).to.deep.equal([]);
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('names the file that differs, the one missing and the one left over', async () => {
    const committed = await mkdtemp(path.join(os.tmpdir(), 'remit-console-committed-'));
    try {
      await cp(fresh, committed, { recursive: true });
      const [script] = (await readdir(path.join(committed, 'assets'))).filter((f) => f.endsWith('.js'));
      const [style] = (await readdir(path.join(committed, 'assets'))).filter((f) => f.endsWith('.css'));
      await writeFile(path.join(committed, 'assets', script!), 'console.log("edited by hand");\n');
      await unlink(path.join(committed, 'assets', style!));
      await writeFile(path.join(committed, 'assets', 'old-build.js'), '');
      expect(await compareBuilds(committed, fresh)).to.deep.equal([
        'left over: generated/console/assets/old-build.js',
        `missing: generated/console/assets/${style}`,
        `stale: generated/console/assets/${script}`,
      ]);
    } finally {
      await rm(committed, { recursive: true, force: true });
    }
  });

  it('holds in assets/ exactly the files index.html loads, all under /console/assets/', async () => {
    const html = await readFile(path.join(fresh, 'index.html'), 'utf8');
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((url) => !url.startsWith('data:'));
    expect(loaded.every((url) => url.startsWith('/console/assets/')), loaded.join(', ')).to.equal(true);
    const files = await readdir(path.join(fresh, 'assets'));
    expect(loaded.map((url) => url.slice('/console/assets/'.length)).sort()).to.deep.equal(files.sort());
  });
});
