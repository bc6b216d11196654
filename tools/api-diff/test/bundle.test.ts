/**
 * Multi-file specs: a document whose `$ref`s name other files (relative paths across directories,
 * a whole file, a file naming another and itself, a schema recursive across two files) loads and
 * compares exactly like the same document written as one file; each reference that cannot be
 * bundled is refused with exit status 2 and names the file and the reference; and a
 * `git-ref:path` side reads the files it names from the same commit.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { BUNDLE_KEY } from '../src/bundle.js';
import { EXIT_ERROR, EXIT_FAIL, EXIT_PASS } from '../src/cli-run.js';
import { diff, loadSpec, type Finding } from '../src/index.js';
import type { JsonObject } from '../src/json.js';
import { loadSources, sameInputs } from '../src/load.js';
import { NOW, OK, spec } from './build.js';
import { run } from './run-cli.js';


function write(dir: string, name: string, content: JsonObject | string): void {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : name.endsWith('.json') ? JSON.stringify(content, null, 2) : stringify(content));
}

/** What a finding says, without where it points (pointers differ between the two layouts by design). */
function said(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.level} ${f.id}: ${f.message}`);
}

const CURRENCIES = ['EUR', 'USD', 'JPY'];

/** The schemas of the multi-file layout, written once; `breaking` is the revision's change. */
function schemas(breaking: boolean) {
  const currency = { type: 'string', enum: breaking ? CURRENCIES.filter((c) => c !== 'JPY') : CURRENCIES };
  const tag = { type: 'string', maxLength: 20 };
  const pet = (money: JsonObject, tagRef: JsonObject) => ({
    type: 'object',
    required: breaking ? ['name', 'price'] : ['name'],
    properties: { name: { type: 'string' }, price: money, tags: { type: 'array', items: tagRef } },
    $defs: { Tag: tag },
  });
  const money = (currencyRef: JsonObject) => ({ type: 'object', required: ['amount'], properties: { amount: { type: 'integer' }, currency: currencyRef } });
  const node = (treeRef: JsonObject) => ({ type: 'object', properties: { children: { type: 'array', items: treeRef } } });
  const tree = (nodeRef: JsonObject) => ({ type: 'object', properties: { label: { type: 'string' }, node: nodeRef } });
  return { currency, pet, money, node, tree };
}

/** The paths both layouts share, with the references each uses. */
function paths(pet: JsonObject, price: JsonObject, tree: JsonObject): JsonObject {
  const json = (schema: JsonObject) => ({ 'application/json': { schema } });
  return {
    '/pets': {
      post: {
        requestBody: { required: true, content: json(pet) },
        responses: { '201': { description: 'Created', content: json(pet) } },
      },
    },
    '/prices': { get: { responses: { '200': { description: 'OK', content: json(price) } } } },
    '/trees': { post: { requestBody: { required: true, content: json(tree) }, responses: OK } },
  };
}

/**
 * api/openapi.yaml refers to api/schemas/pet.yaml as a whole and to shared/common.yaml and
 * shared/tree.json by pointer; pet.yaml refers to common.yaml and to its own $defs; common.yaml's
 * Node and tree.json's Tree refer to each other.
 */
function writeMultiFile(dir: string, breaking: boolean): void {
  const s = schemas(breaking);
  write(dir, 'api/openapi.yaml', spec(paths({ $ref: 'schemas/pet.yaml' }, { $ref: '#/components/schemas/Price' }, { $ref: '../shared/tree.json#/Tree' }), {
    schemas: {
      Price: { $ref: '../shared/common.yaml#/components/schemas/Money' },
      // Data, not references: left as they are, though they name nothing that exists.
      Sample: { type: 'object', example: { $ref: 'nowhere.yaml' }, 'x-origin': { $ref: 'https://example.com/x.yaml' } },
    },
  }));
  write(dir, 'api/schemas/pet.yaml', s.pet({ $ref: '../../shared/common.yaml#/components/schemas/Money' }, { $ref: '#/$defs/Tag' }));
  write(dir, 'shared/common.yaml', {
    components: {
      schemas: {
        Money: s.money({ $ref: '#/components/schemas/Currency' }),
        Currency: s.currency,
        Node: s.node({ $ref: 'tree.json#/Tree' }),
      },
    },
  });
  write(dir, 'shared/tree.json', { Tree: s.tree({ $ref: 'common.yaml#/components/schemas/Node' }) });
}

/** The same API as one file, its schemas in components. */
function writeSingleFile(dir: string, name: string, breaking: boolean): void {
  const s = schemas(breaking);
  const ref = (schema: string) => ({ $ref: `#/components/schemas/${schema}` });
  write(dir, name, spec(paths(ref('Pet'), ref('Price'), ref('Tree')), {
    schemas: {
      Price: ref('Money'),
      Sample: { type: 'object', example: { $ref: 'nowhere.yaml' }, 'x-origin': { $ref: 'https://example.com/x.yaml' } },
      Pet: s.pet(ref('Money'), { $ref: '#/components/schemas/Pet/$defs/Tag' }),
      Money: s.money(ref('Currency')),
      Currency: s.currency,
      Node: s.node(ref('Tree')),
      Tree: s.tree(ref('Node')),
    },
  }));
}

describe('bundling external $refs', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'api-diff-bundle-'));
    writeMultiFile(path.join(dir, 'base'), false);
    writeMultiFile(path.join(dir, 'revision'), true);
    writeSingleFile(dir, 'single-base.yaml', false);
    writeSingleFile(dir, 'single-revision.yaml', true);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('puts each file under x-api-diff-bundled, keyed by its path from the document, and points the references there', () => {
    const doc = loadSpec('base/api/openapi.yaml', { cwd: dir });
    expect(Object.keys(doc[BUNDLE_KEY] as JsonObject)).to.have.members(['schemas/pet.yaml', '../shared/common.yaml', '../shared/tree.json']);
    const bundled = doc[BUNDLE_KEY] as Record<string, JsonObject>;
    expect(doc.components).to.have.nested.property('schemas.Price.$ref', `#/${BUNDLE_KEY}/..~1shared~1common.yaml/components/schemas/Money`);
    // The whole file, its own local reference, and the one to another file.
    expect((doc.paths as JsonObject)['/pets']).to.have.nested.property('post.requestBody.content.application/json.schema.$ref', `#/${BUNDLE_KEY}/schemas~1pet.yaml`);
    expect(bundled['schemas/pet.yaml']).to.have.nested.property('properties.tags.items.$ref', `#/${BUNDLE_KEY}/schemas~1pet.yaml/$defs/Tag`);
    expect(bundled['schemas/pet.yaml']).to.have.nested.property('properties.price.$ref', `#/${BUNDLE_KEY}/..~1shared~1common.yaml/components/schemas/Money`);
    // The recursion across files.
    expect(bundled['../shared/common.yaml']).to.have.nested.property('components.schemas.Node.properties.children.items.$ref', `#/${BUNDLE_KEY}/..~1shared~1tree.json/Tree`);
    expect(bundled['../shared/tree.json']).to.have.nested.property('Tree.properties.node.$ref', `#/${BUNDLE_KEY}/..~1shared~1common.yaml/components/schemas/Node`);
    // Data is left alone.
    expect(doc.components).to.have.nested.property('schemas.Sample.example.$ref', 'nowhere.yaml');
    expect(doc.components).to.have.nested.property('schemas.Sample.x-origin.$ref', 'https://example.com/x.yaml');
  });

  it('compares like the same API written as one file: nothing when unchanged, the same findings after a change in the external files', () => {
    const multi = (side: string) => loadSpec(`${side}/api/openapi.yaml`, { cwd: dir });
    const single = (name: string) => loadSpec(name, { cwd: dir });
    expect(diff(multi('base'), multi('base'), { now: NOW })).to.deep.equal([]);
    expect(diff(multi('base'), single('single-base.yaml'), { now: NOW })).to.deep.equal([]);

    const bundled = diff(multi('base'), multi('revision'), { now: NOW });
    const inlined = diff(single('single-base.yaml'), single('single-revision.yaml'), { now: NOW });
    expect(said(bundled)).to.deep.equal(said(inlined));
    expect(said(bundled)).to.include.members([
      'breaking request-property-became-required: request property `price`: became required',
      'breaking request-property-enum-value-removed: request property `price.currency`: enum value "JPY" removed',
    ]);
    // Where a finding lands in a bundled file, its pointer says which.
    const enumRemoved = bundled.find((f) => f.id === 'request-property-enum-value-removed');
    expect(enumRemoved?.location.pointer).to.equal(`/${BUNDLE_KEY}/..~1shared~1common.yaml/components/schemas/Currency`);
  });

  it('fails the command on the breaking change in the external file', () => {
    const result = run(dir, 'base/api/openapi.yaml', 'revision/api/openapi.yaml');
    expect(result.code).to.equal(EXIT_FAIL);
    expect(result.out).to.contain('request-property-enum-value-removed');
    expect(run(dir, 'base/api/openapi.yaml', 'single-base.yaml').code).to.equal(EXIT_PASS);
  });

  it('knows two sides are the same only when every file they are made of has the same bytes', () => {
    const base = loadSources('base/api/openapi.yaml', { cwd: dir });
    expect([...base.bundled.keys()]).to.have.members(['schemas/pet.yaml', '../shared/common.yaml', '../shared/tree.json']);
    expect(sameInputs(base, 'base/api/openapi.yaml', { cwd: dir })).to.equal(true);
    // The same top document; the external files differ.
    expect(sameInputs(base, 'revision/api/openapi.yaml', { cwd: dir })).to.equal(false);
    expect(sameInputs(base, 'single-base.yaml', { cwd: dir })).to.equal(false);
    expect(sameInputs(base, 'nothing-here.yaml', { cwd: dir })).to.equal(false);
  });

  describe('refusals (exit status 2, naming the file and the reference)', () => {
    const top = (ref: string) => spec({ '/things': { post: { requestBody: { content: { 'application/json': { schema: { $ref: ref } } } }, responses: OK } } });
    const cases: { name: string; files: Record<string, JsonObject | string>; reason: RegExp }[] = [
      {
        name: 'a URL (nothing is fetched)',
        files: { 'openapi.yaml': top('https://example.com/schemas.yaml#/Pet') },
        reason: /openapi\.yaml: \$ref "https:\/\/example\.com\/schemas\.yaml#\/Pet" at \/paths\/~1things\/post\/requestBody\/content\/application~1json\/schema is a URL: api-diff reads files only, and fetches nothing/,
      },
      {
        name: 'a file that does not exist',
        files: { 'openapi.yaml': top('./schemas/missing.yaml#/Pet') },
        reason: /openapi\.yaml: \$ref "\.\/schemas\/missing\.yaml#\/Pet" at \/paths\/~1things\/post\/requestBody\/content\/application~1json\/schema names .*schemas\/missing\.yaml, which does not exist/,
      },
      {
        name: 'a file that is not YAML or JSON',
        files: { 'openapi.yaml': top('notes.txt#/Pet'), 'notes.txt': 'Pet: [an unclosed list\n' },
        reason: /openapi\.yaml: \$ref "notes\.txt#\/Pet" at \S+ names .*notes\.txt, which is not valid YAML or JSON/,
      },
      {
        name: 'a file that is text, not a document',
        files: { 'openapi.yaml': top('readme.md'), 'readme.md': 'Just a sentence about pets.\n' },
        reason: /\$ref "readme\.md" at \S+ names .*readme\.md, which is not a YAML or JSON document \(its top level is a string\)/,
      },
      {
        name: 'a fragment that does not resolve',
        files: { 'openapi.yaml': top('common.yaml#/components/schemas/Pet'), 'common.yaml': { components: { schemas: { Cat: { type: 'object' } } } } },
        reason: /\$ref "common\.yaml#\/components\/schemas\/Pet" at \S+ does not resolve: .*common\.yaml has nothing at \/components\/schemas\/Pet/,
      },
      {
        name: 'a fragment that is not a JSON pointer',
        files: { 'openapi.yaml': top('common.yaml#Pet'), 'common.yaml': { Pet: { type: 'object' } } },
        reason: /\$ref "common\.yaml#Pet" at \S+ has a fragment that is not a JSON pointer/,
      },
      {
        name: 'a reference in an external file, named by that file',
        files: { 'openapi.yaml': top('sub/common.yaml#/Pet'), 'sub/common.yaml': { Pet: { type: 'object', properties: { owner: { $ref: 'owner.yaml' } } } } },
        reason: /sub\/common\.yaml: \$ref "owner\.yaml" at \/Pet\/properties\/owner names .*sub\/owner\.yaml, which does not exist/,
      },
    ];
    for (const { name, files, reason } of cases) {
      it(`refuses ${name}`, () => {
        const caseDir = mkdtempSync(path.join(dir, 'refusal-'));
        for (const [file, content] of Object.entries(files)) write(caseDir, file, content);
        write(caseDir, 'plain.yaml', spec({ '/things': { get: { responses: OK } } }));
        const result = run(caseDir, 'plain.yaml', 'openapi.yaml');
        expect(result.code, result.err).to.equal(EXIT_ERROR);
        expect(result.out).to.equal('');
        expect(result.err).to.match(/^api-diff: cannot use the revision \(openapi\.yaml\): /);
        expect(result.err).to.match(reason);
      });
    }
  });

  describe('from git (git-ref:path)', () => {
    let repo: string;
    const git = (...args: string[]) => execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: repo, stdio: 'pipe', encoding: 'utf8' });

    before(() => {
      repo = mkdtempSync(path.join(os.tmpdir(), 'api-diff-bundle-git-'));
      git('init', '-q', '-b', 'main');
      git('config', 'user.email', 'test@example.com');
      git('config', 'user.name', 'Test');
      writeMultiFile(repo, false);
      git('add', '.');
      git('commit', '-q', '-m', 'multi-file spec');
      // The breaking change, in an external file only, in the working tree.
      writeMultiFile(repo, true);
    });

    after(() => rmSync(repo, { recursive: true, force: true }));

    it('reads the files a git-ref side names from the same commit', () => {
      const result = run(repo, 'HEAD:api/openapi.yaml', 'api/openapi.yaml');
      expect(result.code, result.err).to.equal(EXIT_FAIL);
      expect(result.out).to.contain('request-property-enum-value-removed: request property `price.currency`: enum value "JPY" removed');
      // The commit against itself: its own files, not the working tree's.
      expect(run(repo, 'HEAD:api/openapi.yaml', 'main:api/openapi.yaml')).to.deep.include({ code: EXIT_PASS, err: '' });
    });

    it('reads them from the commit even when the working tree no longer has them', () => {
      rmSync(path.join(repo, 'shared'), { recursive: true });
      try {
        const doc = loadSpec('HEAD:api/openapi.yaml', { cwd: repo });
        expect(Object.keys(doc[BUNDLE_KEY] as JsonObject)).to.include('../shared/common.yaml');
        expect(run(repo, 'HEAD:api/openapi.yaml', 'api/openapi.yaml').err).to.match(/names .*shared\/common\.yaml, which does not exist/);
      } finally {
        git('checkout', '-q', '--', 'shared');
        writeMultiFile(repo, true);
      }
    });

    it('places a ./ path given from a subdirectory as git does', () => {
      const result = run(path.join(repo, 'api'), 'HEAD:./openapi.yaml', 'openapi.yaml');
      expect(result.code, result.err).to.equal(EXIT_FAIL);
      expect(result.out).to.contain('request-property-enum-value-removed');
    });

    it('refuses a reference outside the repository, and a file the commit does not have', () => {
      write(repo, 'escape.yaml', spec({ '/things': { get: { responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: '../../outside.yaml#/Pet' } } } } } } } }));
      write(repo, 'later.yaml', spec({ '/things': { get: { responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: 'uncommitted.yaml#/Pet' } } } } } } } }));
      write(repo, 'uncommitted.yaml', { Pet: { type: 'object' } });
      git('add', 'escape.yaml', 'later.yaml');
      git('commit', '-q', '-m', 'references that git cannot follow');
      try {
        const escape = run(repo, 'HEAD:escape.yaml', 'api/openapi.yaml');
        expect(escape.code).to.equal(EXIT_ERROR);
        expect(escape.err).to.match(/cannot use the base \(HEAD:escape\.yaml\): HEAD:escape\.yaml: \$ref "\.\.\/\.\.\/outside\.yaml#\/Pet" at \S+ names \.\.\/\.\.\/outside\.yaml, outside the repository/);
        const uncommitted = run(repo, 'HEAD:later.yaml', 'api/openapi.yaml');
        expect(uncommitted.code).to.equal(EXIT_ERROR);
        expect(uncommitted.err).to.match(/HEAD:later\.yaml: \$ref "uncommitted\.yaml#\/Pet" at \S+ names HEAD:uncommitted\.yaml, which git cannot show/);
        // The same file from disk has it.
        expect(run(repo, 'later.yaml', 'later.yaml').code).to.equal(EXIT_PASS);
      } finally {
        git('reset', '-q', '--hard', 'HEAD~1');
        writeMultiFile(repo, true);
      }
    });
  });
});
