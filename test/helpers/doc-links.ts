/**
 * Reads the links of a Markdown document and checks each against the file it names: the file
 * exists; a link to a test file names, in its title, a test or suite that the file declares; any
 * other title occurs in its file; a heading fragment names a heading of its Markdown file.
 * `checkLinks` returns the problems instead of throwing, so a test can run it on a mutated copy of
 * a document and see exactly which links it reports. Also the measures docs/cascade.md is held to:
 * its prose word count, its diagrams and the paragraphs that link to no evidence.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface DocLink {
  /** 1-based line of the link's opening bracket. */
  line: number;
  text: string;
  /** The path or URL as written, without its fragment. */
  target: string;
  /** Offset of `target` in the document, so a test can rewrite this one link. */
  targetIndex: number;
  fragment: string | undefined;
  title: string | undefined;
  /** Offset of the title's first character (inside its quotes), when there is a title. */
  titleIndex: number | undefined;
}

export type LinkProblemKind = 'missing-file' | 'no-test-title' | 'unknown-test-title' | 'title-not-in-file' | 'unknown-heading' | 'directory-with-title';

export interface LinkProblem {
  kind: LinkProblemKind;
  line: number;
  target: string;
  title: string | undefined;
  message: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** The document with every fenced code block's lines blanked (newlines kept, so offsets hold). */
export function withoutFences(markdown: string): string {
  let open: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const fence = FENCE.exec(line);
      if (open === undefined && fence) {
        open = fence[1]![0]!.repeat(fence[1]!.length);
        return ' '.repeat(line.length);
      }
      if (open !== undefined) {
        if (fence && fence[1]!.startsWith(open) && fence[2]!.trim() === '') open = undefined;
        return ' '.repeat(line.length);
      }
      return line;
    })
    .join('\n');
}

/** The info strings (`mermaid`, `ts`, …) of the document's fenced code blocks, in order. */
export function fenceLanguages(markdown: string): string[] {
  const languages: string[] = [];
  let open: string | undefined;
  for (const line of markdown.split('\n')) {
    const fence = FENCE.exec(line);
    if (open === undefined && fence) {
      open = fence[1]![0]!.repeat(fence[1]!.length);
      languages.push(fence[2]!.trim().split(/\s+/)[0] ?? '');
    } else if (open !== undefined && fence && fence[1]!.startsWith(open) && fence[2]!.trim() === '') open = undefined;
  }
  return languages;
}

/** Offsets covered by inline code spans: a link written inside backticks is not a link. */
function codeSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of text.matchAll(/(`+)[^`]*?\1/g)) spans.push([m.index, m.index + m[0].length]);
  return spans;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

// [text](target "title"): the text may hold one level of brackets; the title may be quoted with
// " or ' or wrapped in parentheses (CommonMark), and may hold parentheses when quoted.
const INLINE_LINK = /!?\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*(<[^>\n]*>|[^\s()<>]+)(?:\s+("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?\s*\)/g;
// [label]: target "title"
const DEFINITION = /^ {0,3}\[([^\]]+)\]:[ \t]*(<[^>\n]*>|\S+)(?:[ \t]+("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?[ \t]*$/gm;

/** Every inline link, image and link reference definition outside code, in document order. */
export function linksOf(markdown: string): DocLink[] {
  const text = withoutFences(markdown);
  const spans = codeSpans(text);
  const inCode = (i: number) => spans.some(([from, to]) => i >= from && i < to);
  const lineAt = (i: number) => text.slice(0, i).split('\n').length;
  const links: DocLink[] = [];
  const add = (m: RegExpMatchArray, label: string, rawTarget: string, rawTitle: string | undefined) => {
    const start = m.index!;
    const targetIndex = start + m[0].indexOf(rawTarget, m[0].indexOf(label) + label.length);
    const bare = rawTarget.startsWith('<') ? rawTarget.slice(1, -1) : rawTarget;
    const hash = bare.indexOf('#');
    const target = hash === -1 ? bare : bare.slice(0, hash);
    links.push({
      line: lineAt(start),
      text: label,
      target,
      targetIndex: targetIndex + (rawTarget.startsWith('<') ? 1 : 0),
      fragment: hash === -1 ? undefined : bare.slice(hash + 1),
      title: rawTitle === undefined ? undefined : unescape(rawTitle.slice(1, -1)),
      titleIndex: rawTitle === undefined ? undefined : start + m[0].lastIndexOf(rawTitle) + 1,
    });
  };
  for (const m of text.matchAll(INLINE_LINK)) if (!inCode(m.index)) add(m, m[1]!, m[2]!, m[3]);
  for (const m of text.matchAll(DEFINITION)) add(m, m[1]!, m[2]!, m[3]);
  return links.sort((a, b) => a.targetIndex - b.targetIndex);
}

const SUITE_FUNCTIONS = new Set(['describe', 'context', 'it']);

/** The literal strings a title argument can be: a string, a template without `${}`, or either branch of `c ? 'a' : 'b'`. */
function literalTitles(node: ts.Expression): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isParenthesizedExpression(node)) return literalTitles(node.expression);
  if (ts.isConditionalExpression(node)) return [...literalTitles(node.whenTrue), ...literalTitles(node.whenFalse)];
  return [];
}


/**
 * The titles of the tests and suites a mocha file declares with a literal first argument to
 * `it`, `describe` or `context`, read from its syntax tree, so a
 * title written on the line after the call, or in a template without substitutions, counts.
 * Titles built from values (`${status}`) cannot be named by a link and are left out.
 */
export function testTitlesOf(source: string, fileName = 'test.ts'): Set<string> {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const titles = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const first = node.arguments[0];
      if (ts.isIdentifier(node.expression) && SUITE_FUNCTIONS.has(node.expression.text) && first) for (const title of literalTitles(first)) titles.add(title);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return titles;
}

/** A mocha test file: under a `test/` directory, its name ending in `.test.ts`. */
export function isTestFile(relativePath: string): boolean {
  return relativePath.endsWith('.test.ts') && relativePath.split('/').slice(0, -1).includes('test');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slugOf(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown document: its headings' slugs (repeats numbered as GitHub does) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/gm)) {
    const slug = slugOf(heading!);
    const n = seen.get(slug) ?? 0;
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
    seen.set(slug, n + 1);
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/**
 * The broken links of a document: `docPath` is its path from `root` (links resolve from its
 * directory), `markdown` its text, which need not be the file's. Returns one problem per broken link.
 */
export function checkLinks(root: string, docPath: string, markdown: string): LinkProblem[] {
  const problems: LinkProblem[] = [];
  const titleCache = new Map<string, Set<string>>();
  for (const link of linksOf(markdown)) {
    const { line, target, title, fragment } = link;
    const report = (kind: LinkProblemKind, message: string) => problems.push({ kind, line, target, title, message: `${docPath}:${line}: ${message}` });
    if (isExternal(target)) continue;
    if (target === '') {
      if (fragment !== undefined && !anchorsOf(markdown).has(fragment)) report('unknown-heading', `no heading #${fragment} in this document`);
      continue;
    }
    let relative: string;
    try {
      relative = path.posix.normalize(target.startsWith('/') ? target.slice(1) : path.posix.join(path.posix.dirname(docPath), decodeURIComponent(target)));
    } catch {
      report('missing-file', `${target} is not a readable path`);
      continue;
    }
    const file = path.join(root, relative);
    if (relative.startsWith('..') || !existsSync(file)) {
      report('missing-file', `${target} does not exist`);
      continue;
    }
    if (statSync(file).isDirectory()) {
      if (title !== undefined || fragment !== undefined) report('directory-with-title', `${target} is a directory: a title or fragment cannot be checked against it`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    if (isTestFile(relative)) {
      if (title === undefined) {
        report('no-test-title', `${target} is a test file: the link's title must name one of its tests or suites`);
      } else {
        if (!titleCache.has(relative)) titleCache.set(relative, testTitlesOf(text, relative));
        if (!titleCache.get(relative)!.has(title)) report('unknown-test-title', `no test or suite titled ${JSON.stringify(title)} in ${target}`);
      }
    } else if (title !== undefined && !text.includes(title)) {
      report('title-not-in-file', `${JSON.stringify(title)} does not occur in ${target}`);
    }
    if (fragment !== undefined && relative.endsWith('.md') && !anchorsOf(text).has(fragment)) report('unknown-heading', `no heading #${fragment} in ${target}`);
  }
  return problems;
}

/** The prose a reader reads: no code blocks, no link definitions, a link reduced to its text. */
export function proseOf(markdown: string): string {
  return withoutFences(markdown)
    .replace(DEFINITION, '')
    .replace(INLINE_LINK, (_whole, text: string) => text)
    .replace(/<[^>]+>/g, ' ');
}

/** Words of the prose: whitespace-separated runs holding a letter or a digit. */
export function countWords(markdown: string): number {
  return proseOf(markdown)
    .split(/\s+/)
    .filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}

/**
 * The paragraphs and list items outside code blocks that link to no file of the repository
 * (headings are exempt), each as its first line.
 */
export function blocksWithoutLink(markdown: string): string[] {
  const units: string[][] = [];
  let current: string[] | undefined;
  for (const line of withoutFences(markdown).split('\n')) {
    if (line.trim() === '') {
      current = undefined;
    } else if (/^ {0,3}#{1,6}\s/.test(line)) {
      current = undefined;
    } else if (/^\s*(?:[-*+]|\d+[.)])\s+/.test(line) || current === undefined) {
      current = [line];
      units.push(current);
    } else {
      current.push(line);
    }
  }
  return units
    .map((unit) => unit.join('\n'))
    .filter((unit) => !linksOf(unit).some((link) => link.target !== '' && !isExternal(link.target)))
    .map((unit) => unit.split('\n')[0]!.trim());
}
