/**
 * What the docs state that a test can check, checked: the dependency table lists exactly the
 * packages package.json installs; the README's command table names only targets the Makefile has
 * and every Makefile target is named in it; every relative link in the README and in docs/ leads to
 * a file that exists; docs/architecture.md lists the request pipeline and the import rules as the
 * code declares them; the README stays short enough to be read on a screen.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PIPELINE } from '../../src/platform/http/pipeline.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('the docs against their sources', () => {
  it("lists in docs/dependencies.md exactly the packages package.json installs, and the CLI package's", () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const cli = JSON.parse(read('cli/package.json')) as { dependencies: Record<string, string> };
    const installed = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies), ...Object.keys(cli.dependencies)].filter((n) => !n.startsWith('@types/')).sort();
    const firstColumns = read('docs/dependencies.md')
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split('|')[1]!);
    const listed = firstColumns.flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/ .*$/, ''))).sort();
    expect(listed).to.deep.equal(installed);
  });

  it('names every Makefile target in the README, and only those', () => {
    const targets = [...read('Makefile').matchAll(/^([a-z-]+):.*## /gm)].map((m) => m[1]!).sort();
    const named = [...new Set([...read('README.md').matchAll(/`make ([a-z-]+)/g)].map((m) => m[1]!))].sort();
    expect(named).to.deep.equal(targets);
  });

  it('has no relative link that leads nowhere, in the README or in docs/', () => {
    const files = ['README.md', 'sdk/README.md', 'cli/README.md', 'bench/README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const file of files) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        if (!existsSync(path.join(ROOT, path.dirname(file), target!))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('describes in docs/architecture.md the request pipeline in the order the code declares it', () => {
    const section = read('docs/architecture.md').split('## The request pipeline')[1]!.split('\n## ')[0]!;
    const listed = [...section.matchAll(/^\d+\. `([a-zA-Z]+)`/gm)].map((m) => m[1]);
    expect(listed).to.deep.equal(PIPELINE.map((e) => e.stage));
  });

  it('lists in docs/architecture.md exactly the import rules .dependency-cruiser.cjs enforces', () => {
    const section = read('docs/architecture.md').split('## The rules the build enforces')[1]!.split('And, elsewhere')[0]!;
    const listed = [...section.matchAll(/^- `([a-z-]+)`:/gm)].map((m) => m[1]).sort();
    const enforced = [...read('.dependency-cruiser.cjs').matchAll(/name: '([a-z-]+)'/g)].map((m) => m[1]).sort();
    expect(listed).to.deep.equal(enforced);
  });

  it('keeps the README to about a screenful of sections: at most 10 KiB', () => {
    expect(Buffer.byteLength(read('README.md'))).to.be.at.most(10 * 1024);
  });
});
