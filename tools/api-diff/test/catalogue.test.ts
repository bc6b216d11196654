/**
 * The catalogue is public contract: ids are stable kebab-case names, the README's rule table is
 * the catalogue, and the ids the README calls api-diff's own are real rules.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatExceptionTable, formatRuleTable } from '../src/format-rules.js';
import { LEVELS, RULES, isRuleId } from '../src/index.js';

const README = readFileSync(path.join(import.meta.dirname, '../README.md'), 'utf8');

function section(text: string, begin: string, end: string): string {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  expect(start, `README has ${begin}`).to.be.greaterThan(-1);
  expect(stop, `README has ${end}`).to.be.greaterThan(start);
  return text.slice(start + begin.length, stop).trim() + '\n';
}

describe('rule catalogue', () => {
  it('names every rule in kebab-case, with a level and a description', () => {
    for (const [id, rule] of Object.entries(RULES)) {
      expect(id).to.match(/^[a-z]+(-[a-z]+)*$/);
      expect(LEVELS).to.include(rule.level);
      expect(rule.description.length, id).to.be.greaterThan(10);
    }
  });

  it("is exactly the README's rule table (regenerate with `npm run -s api:diff -- --rules`)", () => {
    expect(section(README, '<!-- rules:begin -->', '<!-- rules:end -->')).to.equal(formatRuleTable());
  });

  it("lists exactly the exceptions to flow × effect in the README, each with its reason", () => {
    expect(section(README, '<!-- exceptions:begin -->', '<!-- exceptions:end -->')).to.equal(formatExceptionTable());
    for (const [id, rule] of Object.entries(RULES)) {
      if (rule.level !== rule.derived) expect(rule.because ?? '', id).to.have.length.greaterThan(15);
    }
  });

  it('derives every level from flow × effect unless the rule says why not', () => {
    for (const [id, rule] of Object.entries(RULES)) {
      expect(rule.id, id).to.equal(id);
      expect(rule.level === rule.derived || rule.because !== undefined, id).to.equal(true);
    }
  });

  it("lists only catalogued ids among the README's own ids", () => {
    const own = section(README, '**Ids of api-diff\'s own**', '- **Folded ids.**');
    const ids = [...own.matchAll(/`([a-z-]+)`/g)].map((m) => m[1] as string);
    expect(ids.length).to.be.greaterThan(5);
    expect(ids.filter((id) => !isRuleId(id))).to.deep.equal([]);
  });
});
