/**
 * Every rule of the catalogue, each with a base/revision pair that triggers it (rule, level and
 * location checked) and, for a breaking rule, its additive counterpart (nothing breaking). The last
 * block fails when a rule has no case or a breaking rule no counterpart.
 */
import { expect } from 'chai';
import { RULES, type RuleId } from '../src/index.js';
import { ENDPOINT_CASES } from './cases-endpoints.js';
import { familyCases } from './cases-families.js';
import { PARAMETER_CASES } from './cases-parameters.js';
import { REQUEST_BODY_CASES, REQUEST_PROPERTY_CASES } from './cases-request.js';
import { RESPONSE_CASES, RESPONSE_PROPERTY_CASES } from './cases-response.js';
import { SECURITY_CASES } from './cases-security.js';
import { STABILITY_CASES } from './cases-stability.js';
import { WEBHOOK_CASES } from './cases-webhooks.js';
import { runCases, type RuleCase } from './rule-case.js';

const AREAS: [string, RuleCase[]][] = [
  ['paths and operations', ENDPOINT_CASES],
  ['parameters', PARAMETER_CASES],
  ['request body', REQUEST_BODY_CASES],
  ['request properties', REQUEST_PROPERTY_CASES],
  ['responses', RESPONSE_CASES],
  ['response properties', RESPONSE_PROPERTY_CASES],
  ['security', SECURITY_CASES],
  ['webhooks and callbacks', WEBHOOK_CASES],
  ['stability', STABILITY_CASES],
  ['schema families (generated from the walk\'s tables)', familyCases()],
];

for (const [area, cases] of AREAS) describe(`rules: ${area}`, () => runCases(cases));

describe('rules: coverage of the catalogue', () => {
  const cases = AREAS.flatMap(([, list]) => list);

  it('has a case for every rule', () => {
    const tested = new Set(cases.map((c) => c.rule));
    expect((Object.keys(RULES) as RuleId[]).filter((id) => !tested.has(id))).to.deep.equal([]);
  });

  it('has an additive counterpart for every breaking rule', () => {
    const countered = new Set(cases.filter((c) => c.additive).map((c) => c.rule));
    const breaking = (Object.keys(RULES) as RuleId[]).filter((id) => RULES[id]?.level === 'breaking');
    expect(breaking.filter((id) => !countered.has(id))).to.deep.equal([]);
  });

  it('expects each rule at its catalogue level', () => {
    expect(cases.filter((c) => RULES[c.rule]?.level !== c.level).map((c) => c.rule)).to.deep.equal([]);
  });
});
