/**
 * The command line: formats, the fail level, the minimum sunset notice, exit statuses 0/1/2 with
 * the reason on stderr, and `git-ref:path` inputs read from a real repository made for the test;
 * the compiled command (`node tools/api-diff/dist/cli.js`, the package's bin) as a process; and the
 * package as npm would publish it, installed on its own and run.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { EXIT_ERROR, EXIT_FAIL, EXIT_PASS } from '../src/cli-run.js';
import type { JsonObject } from '../src/json.js';
import { formatRuleTable } from '../src/format-rules.js';
import { getThings, object, STRING, withQuery, withRequest, withResponse } from './build.js';
import { run } from './run-cli.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PACKAGE_DIR = path.join(ROOT, 'tools/api-diff');
const BIN = path.join(PACKAGE_DIR, 'dist/cli.js');

/** Builds dist/ when it is missing or older than its source (the rule the gate follows). */
function buildIfStale(): void {
  execFileSync('bash', [path.join(ROOT, 'scripts/api-diff-fresh.sh')], { cwd: ROOT, stdio: 'pipe' });
}


describe('cli', () => {
  let dir: string;
  const write = (name: string, doc: JsonObject | string) => writeFileSync(path.join(dir, name), typeof doc === 'string' ? doc : stringify(doc));

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'api-diff-cli-'));
    write('base.yaml', withRequest(object({ name: STRING, nickname: STRING })));
    write('same.json', JSON.stringify(withRequest(object({ name: STRING, nickname: STRING }))));
    write('breaking.yaml', withRequest(object({ name: STRING, nickname: STRING }, ['name'])));
    write('warning.yaml', withRequest(object({ name: STRING })));
    write('query.yaml', withQuery(STRING));
    write('response-a.yaml', withResponse(object({ id: STRING }, ['id'])));
    write('response-b.yaml', withResponse(object({ id: STRING, note: STRING }, ['id'])));
    write('things.yaml', getThings());
    // NOW is 2025-06-01: a sunset 60 days later.
    write('sunset-60-days.yaml', getThings({ deprecated: true, 'x-sunset': '2025-07-31' }));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and says so when nothing changed (YAML against JSON)', () => {
    const result = run(dir, 'base.yaml', 'same.json');
    expect(result).to.deep.include({ code: EXIT_PASS, err: '' });
    expect(result.out).to.equal('api-diff: no changes (base.yaml → same.json)\n');
  });

  it('exits 1 on a breaking change, with a summary and the finding under its operation', () => {
    const result = run(dir, 'base.yaml', 'breaking.yaml');
    expect(result.code).to.equal(EXIT_FAIL);
    expect(result.out).to.contain('api-diff: 1 breaking, 0 warnings, 0 info');
    expect(result.out).to.contain('\nPOST /things\n  breaking  request-property-became-required: request property `name`: became required');
  });

  it('exits 0 on additive changes only', () => {
    expect(run(dir, 'response-a.yaml', 'response-b.yaml').code).to.equal(EXIT_PASS);
  });

  it('fails on a warning only with --fail-on warning', () => {
    expect(run(dir, 'base.yaml', 'warning.yaml').code).to.equal(EXIT_PASS);
    expect(run(dir, 'base.yaml', 'warning.yaml', '--fail-on', 'warning').code).to.equal(EXIT_FAIL);
    expect(run(dir, 'base.yaml', 'warning.yaml', '--fail-on=warning').code).to.equal(EXIT_FAIL);
  });

  it('fails on a sunset sooner than the minimum notice, which --min-sunset-notice-days sets', () => {
    const strict = run(dir, 'things.yaml', 'sunset-60-days.yaml');
    expect(strict.code).to.equal(EXIT_FAIL);
    expect(strict.out).to.contain("breaking  api-sunset-date-too-small: the operation was deprecated with sunset date 2025-07-31, 60 days away: less than the 90 days' notice required");
    expect(run(dir, 'things.yaml', 'sunset-60-days.yaml', '--min-sunset-notice-days', '60').code).to.equal(EXIT_PASS);
    expect(run(dir, 'things.yaml', 'sunset-60-days.yaml', '--min-sunset-notice-days=61').code).to.equal(EXIT_FAIL);
    expect(run(dir, 'things.yaml', 'sunset-60-days.yaml', '--min-sunset-notice-days=0').code).to.equal(EXIT_PASS);
  });

  it('prints { summary, findings } with --format json', () => {
    const result = run(dir, 'base.yaml', 'breaking.yaml', '--format', 'json');
    const report = JSON.parse(result.out);
    expect(report.summary).to.deep.equal({ breaking: 1, warning: 0, info: 0, total: 1 });
    expect(report.findings[0]).to.deep.include({ id: 'request-property-became-required', level: 'breaking' });
    expect(report.findings[0].location).to.deep.include({ method: 'POST', path: '/things', property: 'name', document: 'revision' });
  });

  it('prints a table for a PR comment with --format markdown', () => {
    const result = run(dir, 'base.yaml', 'breaking.yaml', '--format=markdown');
    expect(result.out).to.contain('### API changes: 1 breaking, 0 warnings, 0 info');
    expect(result.out).to.contain('| **breaking** | `POST /things` | `request-property-became-required` |');
  });

  it('prints the rule catalogue with --rules', () => {
    expect(run(dir, '--rules')).to.deep.equal({ code: EXIT_PASS, out: formatRuleTable(), err: '' });
  });

  it('exits 2, naming the side, when an input is missing, unparseable or not OpenAPI 3', () => {
    write('broken.yaml', 'openapi: 3.1.0\npaths: [unclosed\n');
    write('swagger.yaml', { swagger: '2.0', paths: {} });
    write('v2.json', JSON.stringify({ openapi: '2.1.0', paths: {} }));
    write('dangling.yaml', withRequest({ $ref: '#/components/schemas/Missing' }));
    write('external.yaml', withRequest({ $ref: 'other.yaml#/Thing' }));
    const cases: [string[], RegExp][] = [
      [['missing.yaml', 'base.yaml'], /cannot use the base \(missing\.yaml\): no such file/],
      [['base.yaml', 'broken.yaml'], /cannot use the revision \(broken\.yaml\): broken\.yaml is not valid YAML or JSON/],
      [['swagger.yaml', 'base.yaml'], /base.*Swagger 2\.0, not OpenAPI 3/],
      [['base.yaml', 'v2.json'], /revision.*OpenAPI 2\.1\.0, not 3\.x/],
      [['base.yaml', 'dangling.yaml'], /\$ref "#\/components\/schemas\/Missing" .* does not resolve/],
      [['base.yaml', 'external.yaml'], /external\.yaml: \$ref "other\.yaml#\/Thing" at \S+ names other\.yaml, which does not exist/],
    ];
    for (const [argv, reason] of cases) {
      const result = run(dir, ...argv);
      expect(result.code, argv.join(' ')).to.equal(EXIT_ERROR);
      expect(result.out).to.equal('');
      expect(result.err).to.match(reason);
    }
  });

  it('exits 2 on bad arguments', () => {
    expect(run(dir, 'base.yaml').code).to.equal(EXIT_ERROR);
    expect(run(dir, 'base.yaml', 'same.json', '--format', 'html').err).to.contain('--format must be one of text, json, markdown');
    expect(run(dir, 'base.yaml', 'same.json', '--fail-on', 'info').code).to.equal(EXIT_ERROR);
    expect(run(dir, 'base.yaml', 'same.json', '--frobnicate').err).to.contain('unknown option --frobnicate');
    for (const days of ['-1', '1.5', 'ninety', '']) {
      const result = run(dir, 'base.yaml', 'same.json', `--min-sunset-notice-days=${days}`);
      expect(result.code, days).to.equal(EXIT_ERROR);
      expect(result.err).to.contain('--min-sunset-notice-days must be a whole number of days, 0 or more');
    }
    expect(run(dir, 'base.yaml', 'same.json', '--min-sunset-notice-days').code).to.equal(EXIT_ERROR);
  });

  describe('git-ref:path inputs', () => {
    let repo: string;
    const git = (...args: string[]) => execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: repo, stdio: 'pipe' });

    before(() => {
      repo = mkdtempSync(path.join(os.tmpdir(), 'api-diff-git-'));
      git('init', '-q', '-b', 'main');
      git('config', 'user.email', 'test@example.com');
      git('config', 'user.name', 'Test');
      writeFileSync(path.join(repo, 'openapi.yaml'), stringify(withQuery(STRING)));
      git('add', '.');
      git('commit', '-q', '-m', 'first');
      writeFileSync(path.join(repo, 'openapi.yaml'), stringify(withQuery(STRING, { required: true })));
      git('commit', '-q', '-am', 'second');
    });

    after(() => rmSync(repo, { recursive: true, force: true }));

    it('reads both sides from commits', () => {
      const result = run(repo, 'HEAD~1:openapi.yaml', 'HEAD:openapi.yaml');
      expect(result.code).to.equal(EXIT_FAIL);
      expect(result.out).to.contain('request-parameter-became-required');
      expect(result.out).to.contain('(HEAD~1:openapi.yaml → HEAD:openapi.yaml)');
    });

    it('compares a commit with the working tree', () => {
      expect(run(repo, 'main:openapi.yaml', 'openapi.yaml').code).to.equal(EXIT_PASS);
    });

    it('prefers a file that exists on disk to a ref of the same spelling', () => {
      writeFileSync(path.join(repo, 'HEAD~1:openapi.yaml'), stringify(withQuery(STRING, { required: true })));
      try {
        expect(run(repo, 'HEAD~1:openapi.yaml', 'openapi.yaml').code).to.equal(EXIT_PASS);
      } finally {
        rmSync(path.join(repo, 'HEAD~1:openapi.yaml'));
      }
    });

    it('exits 2 when the ref or the path does not exist', () => {
      const noRef = run(repo, 'nosuchbranch:openapi.yaml', 'openapi.yaml');
      expect(noRef.code).to.equal(EXIT_ERROR);
      expect(noRef.err).to.match(/cannot use the base \(nosuchbranch:openapi\.yaml\): no such file, and git cannot show/);
      expect(run(repo, 'HEAD:missing.yaml', 'openapi.yaml').code).to.equal(EXIT_ERROR);
    });
  });

  describe('as a process: the compiled command (node tools/api-diff/dist/cli.js)', function () {
    // A build, when the source changed, takes a few seconds on a busy machine.
    this.timeout(120_000);
    const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });

    before(buildIfStale);

    it('starts with a shebang, so it runs as the bin', () => {
      expect(readFileSync(BIN, 'utf8')).to.match(/^#!\/usr\/bin\/env node\n/);
    });

    it('exits 0 when nothing breaks, 1 on a breaking change and 2 on an unreadable input', () => {
      const same = cli('base.yaml', 'same.json');
      expect(same).to.deep.include({ status: EXIT_PASS, stdout: 'api-diff: no changes (base.yaml → same.json)\n', stderr: '' });
      const breaking = cli('base.yaml', 'breaking.yaml');
      expect(breaking.status).to.equal(EXIT_FAIL);
      expect(breaking.stdout).to.contain('breaking  request-property-became-required');
      const missing = cli('base.yaml', 'missing.yaml');
      expect(missing.status).to.equal(EXIT_ERROR);
      expect(missing.stdout).to.equal('');
      expect(missing.stderr).to.contain('cannot use the revision (missing.yaml)');
    });

    it('prints { summary, findings } with --format json', () => {
      const result = cli('base.yaml', 'breaking.yaml', '--format', 'json');
      expect(result.status).to.equal(EXIT_FAIL);
      const report = JSON.parse(result.stdout);
      expect(report.summary).to.deep.equal({ breaking: 1, warning: 0, info: 0, total: 1 });
      expect(report.findings[0]).to.deep.include({ id: 'request-property-became-required', level: 'breaking' });
    });
  });

  describe('as a published package (npm pack)', function () {
    // npm pack runs the package's prepack build.
    this.timeout(180_000);
    let scratch: string;
    let files: string[];
    let installed: string;

    before(() => {
      buildIfStale();
      scratch = mkdtempSync(path.join(os.tmpdir(), 'api-diff-pack-'));
      const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: PACKAGE_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
      files = packed[0]!.files.map((f) => f.path);
      // Installed as npm would: the package under node_modules, its one dependency beside it.
      installed = path.join(scratch, 'node_modules/@remit/api-diff');
      mkdirSync(installed, { recursive: true });
      execFileSync('tar', ['xzf', path.join(scratch, path.basename(packed[0]!.filename)), '-C', installed, '--strip-components=1']);
      symlinkSync(path.join(ROOT, 'node_modules/yaml'), path.join(scratch, 'node_modules/yaml'), 'dir');
    });

    after(() => rmSync(scratch, { recursive: true, force: true }));

    it('holds the compiled command and library, the README and package.json, and no source or tests', () => {
      expect(files).to.include.members(['package.json', 'README.md', 'dist/cli.js', 'dist/index.js', 'dist/index.d.ts']);
      expect(files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).to.deep.equal([]);
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).to.deep.equal([]);
      const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
      expect(manifest).to.deep.include({ name: '@remit/api-diff', bin: { 'api-diff': 'dist/cli.js' }, dependencies: { yaml: '2.9.1' } });
    });

    it('runs on its own, outside the repository, with only its dependency installed', () => {
      const packageBin = path.join(installed, 'dist/cli.js');
      const base = withRequest(object({ name: STRING, nickname: STRING }));
      writeFileSync(path.join(scratch, 'a.yaml'), stringify(base));
      // Written with an anchor and an alias, which only the yaml package reads: the dependency is used.
      writeFileSync(path.join(scratch, 'b.yaml'), 'x-type: &string string\n' + stringify(withRequest(object({ name: STRING, nickname: STRING }, ['name']))).replaceAll('type: string', 'type: *string'));
      const runPacked = (...args: string[]) => spawnSync(process.execPath, [packageBin, ...args], { cwd: scratch, encoding: 'utf8' });

      const breaking = runPacked('a.yaml', 'b.yaml');
      expect(breaking.status, breaking.stderr).to.equal(EXIT_FAIL);
      expect(breaking.stdout).to.contain('request-property-became-required');
      expect(runPacked('a.yaml', 'a.yaml').status).to.equal(EXIT_PASS);
      expect(runPacked('a.yaml', 'nothing.yaml').status).to.equal(EXIT_ERROR);

      // And as a library, by its package name.
      const library = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('@remit/api-diff'); console.log(typeof m.diff, typeof m.loadSpec)"], { cwd: scratch, encoding: 'utf8' });
      expect(library.stdout.trim(), library.stderr).to.equal('function function');
    });
  });
});
