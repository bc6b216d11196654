/**
 * The fast YAML reader gives exactly what the `yaml` package gives, or nothing (and the text goes
 * to `yaml`): on this repo's spec (which it must read itself, or the command is slow), on every
 * YAML file in the repository, on hand-picked corners, and on generated documents, both as the
 * `yaml` package writes them in all its styles and as a person might (comments, blank lines,
 * compact sequences, folded plain scalars, literal blocks).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parse, stringify, type ToStringOptions } from 'yaml';
import { parseText } from '../src/parse.js';
import { parseYamlSubset } from '../src/yaml-subset.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** What `yaml` makes of the text, or the error it throws. */
function reference(text: string): { value: unknown } | { error: string } {
  try {
    return { value: parse(text, { logLevel: 'error' }) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The reader agrees with `yaml`, or leaves the text to it; returns whether it read the text. */
function agrees(text: string): boolean {
  const mine = parseYamlSubset(text);
  if (mine === undefined) return false;
  expect({ value: mine }, text).to.deep.equal(reference(text));
  return true;
}

describe('the fast YAML reader', () => {
  it("reads this repo's spec itself, to the same value as the yaml package", () => {
    const text = readFileSync(path.join(ROOT, 'spec/openapi.yaml'), 'utf8');
    expect(agrees(text)).to.equal(true);
  });

  it('agrees with the yaml package on every YAML file in the repository it reads', () => {
    const files = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files.length).to.be.greaterThan(5);
    let read = 0;
    for (const file of files) if (agrees(readFileSync(path.join(ROOT, file), 'utf8'))) read++;
    expect(read).to.be.greaterThan(files.length / 2);
  });

  it('types plain scalars and keys as the YAML 1.2 core schema does', () => {
    const text = [
      'a: ~', 'b: null', 'c: Null', 'd:', 'e: true', 'f: FALSE', 'g: 0o17', 'h: 0x1F', 'i: -012', 'j: +4',
      'k: 1.50', 'l: .5', 'm: 1e3', 'n: -.inf', 'o: .NaN', 'p: 1.0.0', 'q: yes', 'r: on', 's: 0b11', 't: 1_000',
      '200: numeric key', '1.50: float key', 'null: null key', 'true: boolean key', '"quoted: key": 1', "'it''s': 2",
      'u: "esc \\t \\u00e9 \\x41 \\U0001F600 \\" \\\\ \\/"', "v: 'single ''quoted'''", 'w: [a, "b, c", {d: 1, e: [f]}, []]', 'x: {}',
      'y: http://example.com/a#b', 'z: a #comment', 'created[gt]: 1', '$ref: "#/x"', '',
    ].join('\n');
    expect(agrees(text)).to.equal(true);
    expect(parseYamlSubset(text)).to.include({ 200: 'numeric key', '1.5': 'float key', '': 'null key', g: 15, h: 31, i: -12, k: 1.5, m: 1000, p: '1.0.0', q: 'yes', z: 'a' });
  });

  it('reads literal blocks, folded plain scalars, compact and same-indent sequences', () => {
    const text = [
      'literal: |',
      '  line one',
      '',
      '    indented',
      '  # not a comment',
      '',
      '',
      'stripped: |-',
      '  text',
      'empty: |',
      'folded: a long',
      '  sentence',
      '',
      '  continued # with a comment',
      'list:',
      '- a',
      '- key: value',
      '  other: 2',
      '- - nested',
      '  - more',
      '-',
      '  deep: true',
      '- ',
      'after: 1',
    ].join('\n');
    expect(agrees(text)).to.equal(true);
  });

  it('leaves what it does not read to the yaml package, which parseText then uses', () => {
    const outside = [
      'a: &anchor 1\nb: *anchor\n',
      'a: !!str 1\n',
      '%YAML 1.2\n---\na: 1\n',
      'a: 1\n---\nb: 2\n',
      'a: >\n  folded\n',
      'a: |+\n  kept\n\n',
      'a: "multi\n  line"\n',
      'a: [multi,\n  line]\n',
      '? complex\n: key\n',
      'a:\n\t- tab\n',
      'a: 1\r\nb: 2\r\n',
      'a: 1\na: 2\n',
      '<<: {a: 1}\n',
      'a: b: c\n',
      '- just\n- a list\n  continued\n',
      'plain text\n',
    ];
    for (const text of outside) {
      expect(parseYamlSubset(text), JSON.stringify(text)).to.equal(undefined);
      const expected = reference(text);
      if ('value' in expected) expect(parseText(text)).to.deep.equal(expected.value);
      else expect(() => parseText(text)).to.throw();
    }
  });

  it('agrees with the yaml package on documents it writes, in every style', () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.constantFrom('null', '~', 'true', 'False', '0x1F', '0o17', '012', '-3', '1.50', '.5', '1e3', '-.inf', '.NaN', '1.0.0', 'a: b', 'a #b', '#x', '- x', '[a]', "it's", '"q"', 'x:', ':x', '-', '', ' ', 'http://x/y#z', 'a\nb', 'a\n\nb', 'trailing  ', '  lead', 'é中😀'),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const key = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('200', '1.50', 'null', '~', 'true', 'a b', 'created[gt]', '$ref', 'x-y', 'a: b', '- x'));
    const { node } = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
    }));
    const options: fc.Arbitrary<ToStringOptions> = fc.record({
      indent: fc.integer({ min: 1, max: 4 }),
      indentSeq: fc.boolean(),
      lineWidth: fc.constantFrom(0, 20, 80),
      minContentWidth: fc.constantFrom(0, 20),
      blockQuote: fc.constantFrom(true, false, 'literal' as const, 'folded' as const),
      defaultStringType: fc.constantFrom('PLAIN' as const, 'QUOTE_DOUBLE' as const, 'QUOTE_SINGLE' as const, 'BLOCK_LITERAL' as const),
      defaultKeyType: fc.constantFrom(null, 'PLAIN' as const, 'QUOTE_DOUBLE' as const),
      flowCollectionPadding: fc.boolean(),
      collectionStyle: fc.constantFrom('any' as const, 'block' as const, 'flow' as const),
    });
    let read = 0;
    fc.assert(
      fc.property(fc.dictionary(key, node, { minKeys: 1, maxKeys: 6 }), options, (doc, style) => {
        if (agrees(stringify(doc, style))) read++;
      }),
      { numRuns: 1500, seed: 7 },
    );
    expect(read).to.be.greaterThan(150);
  });

  it('agrees with the yaml package on documents written by hand: comments, blank lines, folded and literal scalars', () => {
    type Tree = { map: [string, Tree][] } | { seq: Tree[] } | { text: string } | { literal: string[]; header: string } | { folded: string[] };
    const word = fc.constantFrom('a', 'b c', '200', 'null', '~', 'true', '1.50', '0x1f', '-3', "'q'", '"d"', "'it''s'", '"e\\n\\u00e9"', '[x, y]', '{a: 1, b: [c]}', '[]', '{}', 'http://h/p', 'a#b', 'created[gt]', "'#/components/x'", '"a" # c', 'v # c', '', '1e3', 'é中');
    const key = fc.constantFrom('a', 'b', 'k y', '200', '"200"', "'x'", 'null', '~', 'true', '1.50', '$ref', 'x-y', '"a:b"', 'a:b', 'created[gt]', '"q\\"q"');
    const { node } = fc.letrec<{ node: Tree; map: Tree; seq: Tree; leaf: Tree }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('map'), tie('seq')),
      leaf: fc.oneof(
        word.map((text) => ({ text })),
        fc.record({ literal: fc.array(fc.constantFrom('text', '  more', '', '# not a comment', 'a: b', '- x'), { maxLength: 4 }), header: fc.constantFrom('|', '|-', '| # c') }),
        fc.record({ folded: fc.array(fc.constantFrom('one', 'two words', '', 'x # c', '3'), { minLength: 2, maxLength: 4 }) }),
      ),
      map: fc.array(fc.tuple(key, tie('node')), { minLength: 1, maxLength: 4 }).map((map) => ({ map })),
      seq: fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((seq) => ({ seq })),
    }));
    const style = fc.record({ step: fc.integer({ min: 1, max: 4 }), sameIndentSequences: fc.boolean(), extras: fc.array(fc.constantFrom('', '   ', '# comment', '      # indented comment', null), { minLength: 8, maxLength: 8 }) });

    function render(tree: Tree, indent: number, s: { step: number; sameIndentSequences: boolean; extras: (string | null)[] }, out: string[], prefix: string): void {
      const pad = ' '.repeat(indent);
      const extra = () => {
        const line = s.extras[out.length % s.extras.length];
        if (line !== null && line !== undefined) out.push(line);
      };
      if ('text' in tree) out.push(prefix + tree.text);
      else if ('literal' in tree) {
        out.push(prefix + tree.header);
        for (const line of tree.literal) out.push(line === '' ? '' : ' '.repeat(indent + s.step) + line);
      } else if ('folded' in tree) {
        out.push(prefix + tree.folded[0]);
        for (const line of tree.folded.slice(1)) out.push(line === '' ? '' : ' '.repeat(indent + s.step) + line);
      } else if ('map' in tree) {
        tree.map.forEach(([k, value], i) => {
          const head = (i === 0 && prefix ? prefix : pad) + k + ':';
          if ('map' in value || 'seq' in value) {
            out.push(head);
            extra();
            render(value, 'seq' in value && s.sameIndentSequences ? indent : indent + s.step, s, out, '');
          } else render(value, indent, s, out, head + ' ');
          extra();
        });
      } else {
        tree.seq.forEach((item, i) => {
          const head = (i === 0 && prefix ? prefix : pad) + '- ';
          render(item, 'map' in item || 'seq' in item ? indent + 2 : indent, s, out, head);
          extra();
        });
      }
    }

    let read = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(key, node), { minLength: 1, maxLength: 5 }), style, (entries, s) => {
        const out: string[] = [];
        render({ map: entries }, 0, s, out, '');
        if (agrees(out.join('\n') + '\n')) read++;
      }),
      { numRuns: 3000, seed: 11 },
    );
    expect(read).to.be.greaterThan(150);
  });
});
