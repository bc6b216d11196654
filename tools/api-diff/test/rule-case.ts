/**
 * The shape of a rule's test: a base and a revision that differ by one change, the finding it must
 * produce (rule, level, location), and for a breaking rule the additive counterpart, which must
 * produce nothing breaking. The case files are data so that one test can check every rule of the
 * catalogue has a case, and every breaking rule a counterpart.
 */
import { expect } from 'chai';
import type { JsonObject } from '../src/json.js';
import { diff, isRuleId, RULES, type Finding, type Level, type Location, type RuleId } from '../src/index.js';
import { NOW } from './build.js';

export interface Counterpart {
  /** What the counterpart changes, for the test's title. */
  readonly change: string;
  /** When absent, the counterpart is the case's own change undone (base and revision swapped). */
  readonly base?: JsonObject;
  readonly revision?: JsonObject;
  /** The (non-breaking) rule it should report, when it reports one. */
  readonly expect?: RuleId;
}

export interface RuleCase {
  readonly rule: RuleId;
  readonly level: Level;
  readonly change: string;
  readonly base: JsonObject;
  readonly revision: JsonObject;
  /** Location fields the finding must have (others are not checked). */
  readonly at: Partial<Location>;
  readonly additive?: Counterpart;
}

export function render(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.level} ${f.id} ${JSON.stringify(f.location)} ${f.message}`).join('\n') || '(no findings)';
}

/** Every finding names a catalogued rule and carries that rule's level. */
export function expectCatalogued(findings: readonly Finding[]): void {
  for (const finding of findings) {
    expect(isRuleId(finding.id), `${finding.id} is not in the catalogue`).to.equal(true);
    // A finding in a draft or alpha operation is lowered to info, and says from what.
    expect(finding.level, finding.id).to.equal(finding.lowered ? 'info' : RULES[finding.id]?.level);
    if (finding.lowered) expect(finding.lowered.from, finding.id).to.equal(RULES[finding.id]?.level);
  }
}

function matches(location: Location, expected: Partial<Location>): boolean {
  return Object.entries(expected).every(([key, value]) => JSON.stringify(location[key as keyof Location]) === JSON.stringify(value));
}

export function runCases(cases: readonly RuleCase[]): void {
  for (const c of cases) {
    it(`${c.rule}: ${c.change}`, () => {
      const findings = diff(c.base, c.revision, { now: NOW });
      expectCatalogued(findings);
      const hit = findings.find((f) => f.id === c.rule && matches(f.location, c.at));
      expect(hit, `expected ${c.rule} at ${JSON.stringify(c.at)}; got:\n${render(findings)}`).to.not.equal(undefined);
      expect(hit?.level).to.equal(c.level);
    });
    const additive = c.additive;
    if (!additive) continue;
    it(`${c.rule}, counterpart: ${additive.change} is not breaking`, () => {
      const findings = diff(additive.base ?? c.revision, additive.revision ?? c.base, { now: NOW });
      expectCatalogued(findings);
      expect(findings.filter((f) => f.level === 'breaking'), render(findings)).to.deep.equal([]);
      if (additive.expect) expect(findings.map((f) => f.id), render(findings)).to.include(additive.expect);
    });
  }
}
