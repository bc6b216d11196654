/**
 * The catalogue of every rule api-diff can report: the union of the rules each check declares
 * beside its code (rule.ts says how a rule's level follows from its flow and effect) and the
 * families the schema walk generates from its tables (schema-rules.ts). A rule id is a stable
 * public name: CI configurations, PR comments and people search for it, so an id is never renamed
 * or reused for a different question. Ids follow oasdiff's (github.com/oasdiff/oasdiff,
 * checker/rules.go) wherever oasdiff asks the same question; the README says where a level differs
 * and why. Tests check that every rule has a case and that the README's table is this catalogue.
 *
 * Levels: `breaking` — a client that worked against the base can fail against the revision;
 * `warning` — it may, depending on what the client or server does with it; `info` — additive.
 */
import { ENDPOINT_RULES } from './check-endpoints.js';
import { PARAMETER_RULES } from './check-parameters.js';
import { REQUEST_BODY_RULES } from './check-request-body.js';
import { RESPONSE_RULES } from './check-responses.js';
import { SECURITY_RULES } from './check-security.js';
import { STABILITY_RULES } from './check-stability.js';
import { WEBHOOK_RULES } from './check-webhooks.js';
import type { Rule } from './rule.js';
import { familyRules, propertyRules, type SchemaFamily } from './schema-rules.js';

export { LEVELS, type Level, type Rule } from './rule.js';

type Declared<T> = T extends Record<infer Id, Rule> ? Id : never;

/** An id the catalogue lists: a declared rule's, or one of a schema family's. */
export type RuleId =
  | Declared<typeof ENDPOINT_RULES>
  | Declared<typeof STABILITY_RULES>
  | Declared<typeof PARAMETER_RULES>
  | Declared<typeof REQUEST_BODY_RULES>
  | Declared<typeof RESPONSE_RULES>
  | Declared<typeof SECURITY_RULES>
  | Declared<typeof WEBHOOK_RULES>
  | `${SchemaFamily}-${string}`
  | `${'new' | 'request' | 'response' | 'webhook'}-${string}-property${string}`;

function catalogue(groups: readonly (readonly Rule[])[]): Readonly<Record<string, Rule>> {
  const out: Record<string, Rule> = {};
  for (const rule of groups.flat()) {
    if (Object.hasOwn(out, rule.id) && out[rule.id] !== rule) throw new Error(`api-diff: rule ${rule.id} is declared twice`);
    out[rule.id] = rule;
  }
  return out;
}

/** Every rule, in the order the README's table lists them: by area, each area's own rules first. */
export const RULES: Readonly<Record<string, Rule>> = catalogue([
  Object.values(ENDPOINT_RULES),
  Object.values(STABILITY_RULES),
  Object.values(PARAMETER_RULES),
  familyRules('request-parameter'),
  Object.values(REQUEST_BODY_RULES),
  propertyRules('request'),
  familyRules('request-property'),
  Object.values(RESPONSE_RULES),
  familyRules('response-header'),
  propertyRules('response'),
  familyRules('response-property'),
  Object.values(SECURITY_RULES),
  Object.values(WEBHOOK_RULES),
  familyRules('webhook-header'),
  propertyRules('webhook'),
  familyRules('webhook-property'),
]);

export function isRuleId(id: string): id is RuleId {
  return Object.hasOwn(RULES, id);
}
