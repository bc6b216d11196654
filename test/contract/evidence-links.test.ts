/**
 * The documents that make claims about Remit link each claim to the test, benchmark or evidence
 * file that proves it, and those links stay true: every relative link leads to a file that exists;
 * a link to a test file names, as its title, a test or suite that file declares; any other link
 * title occurs in its file, and a heading fragment names a heading. docs/cascade.md is also held to
 * one diagram, at most 900 words of prose, and a link in every paragraph and list item. The last
 * test of each document breaks a copy of it (a linked file renamed, a test title changed by one
 * character) and shows the checker reports exactly those links.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { blocksWithoutLink, checkLinks, countWords, fenceLanguages, isTestFile, linksOf, testTitlesOf, type DocLink } from '../helpers/doc-links.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The documents whose links are evidence. Each must exist: a missing one fails its tests. */
const DOCUMENTS = ['docs/cascade.md', 'docs/integration-checklist.md'];
const CASCADE = 'docs/cascade.md';
const CASCADE_MAX_WORDS = 900;

function readDoc(doc: string): string {
  const file = path.join(ROOT, doc);
  if (!existsSync(file)) throw new Error(`${doc} does not exist`);
  return readFileSync(file, 'utf8');
}

/** The document's text with `replacement` written over `length` characters at `index`. */
const overwrite = (text: string, index: number, length: number, replacement: string) => text.slice(0, index) + replacement + text.slice(index + length);

const resolved = (doc: string, link: DocLink) => path.posix.normalize(path.posix.join(path.posix.dirname(doc), link.target));

describe('evidence links in the docs', () => {
  describe('the checker', () => {
    it('reads test and suite titles as mocha names them, on the next line or in a plain template, and not titles built from values', () => {
      const source = [
        "describe('a suite', () => {",
        '  it(',
        "    'a title on the next line',",
        '    async () => {},',
        '  );',
        '  it(`a plain template`, () => {});',
        '  it("double quotes", () => {});',
        "  context('a context', () => {});",
        '  for (const s of xs) it(`built from ${s}`, () => {});',
        "  it(pg ? 'on PostgreSQL' : 'on PGlite', () => {});",
        "  expect('not a title').to.equal(1);",
        '});',
      ].join('\n');
      expect([...testTitlesOf(source)].sort()).to.deep.equal(['a context', 'a plain template', 'a suite', 'a title on the next line', 'double quotes', 'on PGlite', 'on PostgreSQL']);
    });

    it('reads a link with a quoted title, parentheses inside it, a fragment, and skips links in code', () => {
      const links = linksOf(['See [a](../test/x.test.ts "refuses it (422), creating nothing") and', "[b](../bench/README.md#deep-page-results 'Deep-page results').", '`[c](nowhere.md)`', '```', '[d](nowhere.md)', '```'].join('\n'));
      expect(links.map((l) => [l.line, l.target, l.fragment, l.title])).to.deep.equal([
        [1, '../test/x.test.ts', undefined, 'refuses it (422), creating nothing'],
        [2, '../bench/README.md', 'deep-page-results', 'Deep-page results'],
      ]);
    });

    it('reports a missing file, an unknown test title, a test link without a title, a title not in its file and an unknown heading', () => {
      const doc = [
        '[gone](../test/no-such-file.test.ts "anything")',
        '[typo](../test/payments.test.ts "no such test")',
        '[untitled](../test/payments.test.ts)',
        '[suite](../test/payments.test.ts "payments")',
        '[absent](../bench/README.md "a phrase the file does not hold")',
        '[heading](../bench/README.md#no-such-heading)',
        '[fine](../bench/README.md#deep-page-results "Deep-page results")',
      ].join('\n');
      expect(checkLinks(ROOT, 'docs/example.md', doc).map((p) => [p.line, p.kind])).to.deep.equal([
        [1, 'missing-file'],
        [2, 'unknown-test-title'],
        [3, 'no-test-title'],
        [5, 'title-not-in-file'],
        [6, 'unknown-heading'],
      ]);
    });
  });

  for (const doc of DOCUMENTS) {
    describe(doc, () => {
      it('exists', () => {
        expect(existsSync(path.join(ROOT, doc)), `${doc} is missing`).to.equal(true);
      });

      it('links only to files that exist, naming in each test link a test or suite of that file, and in any other title a string of its file', () => {
        expect(checkLinks(ROOT, doc, readDoc(doc)).map((p) => p.message)).to.deep.equal([]);
      });

      it('fails on a renamed file and on a test title changed by one character, reporting exactly those links', () => {
        const text = readDoc(doc);
        const links = linksOf(text);
        const testLinks = links.filter((l) => l.title !== undefined && isTestFile(resolved(doc, l)));
        expect(testLinks.length, `${doc} names no test in a link`).to.be.at.least(2);

        // (a) The first test link's file renamed to one that does not exist.
        const renamed = testLinks[0]!;
        const missing = renamed.target.replace(/\.test\.ts$/, '-renamed.test.ts');
        // (b) The title of the last test link to another line, with its last character changed.
        const retitled = testLinks.filter((l) => l.line !== renamed.line).at(-1)!;
        const title = retitled.title!;
        const changed = title.slice(0, -1) + (title.endsWith('x') ? 'y' : 'x');

        // Rewrite the later offset first so the earlier one still holds.
        const edits = [
          { index: renamed.targetIndex, length: renamed.target.length, text: missing },
          { index: retitled.titleIndex!, length: title.length, text: changed },
        ].sort((a, b) => b.index - a.index);
        const broken = edits.reduce((t, e) => overwrite(t, e.index, e.length, e.text), text);

        const problems = checkLinks(ROOT, doc, broken).map((p) => ({ kind: p.kind, line: p.line, target: p.target, title: p.title }));
        expect(problems).to.have.deep.members([
          { kind: 'missing-file', line: renamed.line, target: missing, title: renamed.title },
          { kind: 'unknown-test-title', line: retitled.line, target: retitled.target, title: changed },
        ]);
        expect(problems).to.have.length(2);
      });
    });
  }

  describe(`${CASCADE} as a page`, () => {
    it(`has at most ${CASCADE_MAX_WORDS} words of prose, counted without code blocks and link targets`, () => {
      expect(countWords(readDoc(CASCADE))).to.be.at.most(CASCADE_MAX_WORDS);
    });

    it('has exactly one diagram, a Mermaid fence', () => {
      expect(fenceLanguages(readDoc(CASCADE)).filter((lang) => lang === 'mermaid')).to.have.length(1);
    });

    it('links every paragraph and list item outside the diagram to a file of the repository', () => {
      expect(blocksWithoutLink(readDoc(CASCADE))).to.deep.equal([]);
    });
  });
});
