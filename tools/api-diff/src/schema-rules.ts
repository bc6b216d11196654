/**
 * The rules of the schema walk, generated from the tables the walk itself reads: where a schema is
 * used (a family: a parameter, a request body, a response body, a response header, a webhook's
 * payload or header), what can change in it (a change: a bound, an enum, nullability, a pattern, a
 * composition…), and, for the properties inside it, what can happen to a property. A family's rule
 * is `<family>-<change>` (`request-parameter-max-length-set`, `response-header-became-nullable`),
 * its level follows from the family's flow and the change's effect (rule.ts), and the walk emits it
 * through `schemaRule(family, change)`, so a change the walk reports is a rule the catalogue lists.
 */
import { makeRule, type Effect, type Flow, type Level, type Rule } from './rule.js';

interface FamilySpec {
  readonly flow: Flow;
  /** "a parameter": how descriptions name one. */
  readonly subject: string;
  /** Which set of property rules applies inside it. */
  readonly properties: PropertyFamily;
}

export const SCHEMA_FAMILIES = {
  'request-parameter': { flow: 'in', subject: 'a parameter', properties: 'request' },
  'request-property': { flow: 'in', subject: 'a request property', properties: 'request' },
  'response-property': { flow: 'out', subject: 'a response property', properties: 'response' },
  'response-header': { flow: 'out', subject: 'a response header', properties: 'response' },
  'webhook-property': { flow: 'out', subject: 'a webhook payload property', properties: 'webhook' },
  'webhook-header': { flow: 'out', subject: 'a header sent with a webhook', properties: 'webhook' },
} as const satisfies Record<string, FamilySpec>;

export type SchemaFamily = keyof typeof SCHEMA_FAMILIES;

export function flowOf(family: SchemaFamily): Flow {
  return SCHEMA_FAMILIES[family].flow;
}

interface Words {
  /** "a parameter" */
  readonly a: string;
  /** "a parameter's" */
  readonly of: string;
  readonly flow: Flow;
}

interface ChangeSpec {
  readonly effect: Effect;
  /** The flows the change exists in (both when absent). */
  readonly only?: Flow;
  readonly describe: (words: Words) => string;
  /** Exceptions to the derived level, per flow. */
  readonly exception?: Partial<Record<Flow, { readonly level: Level; readonly because: string }>>;
}

/** A numeric bound the walk compares; `upper` bounds admit fewer values as they go down. */
export interface BoundKind {
  readonly keyword: 'maximum' | 'minimum' | 'maxLength' | 'minLength' | 'maxItems' | 'minItems' | 'maxProperties' | 'minProperties' | 'maxContains' | 'minContains';
  readonly rule: string;
  readonly upper: boolean;
  /**
   * What a missing keyword means, for the lower bounds that have a default (minLength 0,
   * minContains 1): raising one from nothing is an increase. Undefined: missing is "unbounded".
   */
  readonly absent?: number;
  /** A keyword the bound only means something beside: compared only when both sides have it. */
  readonly beside?: 'contains';
  /** "maxLength", "an array's minItems": how descriptions name it. */
  readonly noun: string;
}

export const BOUNDS: readonly BoundKind[] = [
  { keyword: 'maximum', rule: 'max', upper: true, noun: 'maximum' },
  { keyword: 'minimum', rule: 'min', upper: false, noun: 'minimum' },
  { keyword: 'maxLength', rule: 'max-length', upper: true, noun: 'maxLength' },
  { keyword: 'minLength', rule: 'min-length', upper: false, absent: 0, noun: 'minLength' },
  { keyword: 'maxItems', rule: 'max-items', upper: true, noun: 'maxItems' },
  { keyword: 'minItems', rule: 'min-items', upper: false, absent: 0, noun: 'minItems' },
  { keyword: 'maxProperties', rule: 'max-properties', upper: true, noun: 'maxProperties' },
  { keyword: 'minProperties', rule: 'min-properties', upper: false, absent: 0, noun: 'minProperties' },
  { keyword: 'maxContains', rule: 'max-contains', upper: true, beside: 'contains', noun: 'maxContains' },
  { keyword: 'minContains', rule: 'min-contains', upper: false, absent: 1, beside: 'contains', noun: 'minContains' },
];

function boundChanges(kind: BoundKind): Record<string, ChangeSpec> {
  const { rule, noun, upper } = kind;
  const defaulted = kind.absent !== undefined;
  const out: Record<string, ChangeSpec> = {};
  // A bound set where there was none is its own rule in requests (oasdiff's `…-set`), except for
  // the lower bounds with a default, where setting one is raising it.
  if (!defaulted) out[`${rule}-set`] = { effect: 'narrows', only: 'in', describe: (w) => `a ${noun} was set on ${w.a}` };
  const tighter = upper ? 'decreased' : 'increased';
  const looser = upper ? 'increased' : 'decreased';
  const verb = (raised: boolean) => (raised ? 'raised' : 'lowered');
  // In a response a bound set where there was none is reported as lowered (or raised): no `-set`.
  const orSet = (w: Words) => (defaulted || w.flow === 'out' ? ' or set' : '');
  const exclusive = kind.keyword === 'maximum' || kind.keyword === 'minimum' ? ' (or made exclusive)' : '';
  out[`${rule}-${tighter}`] = { effect: 'narrows', describe: (w) => `${w.of} ${noun} was ${verb(!upper)}${orSet(w)}${exclusive}` };
  out[`${rule}-${looser}`] = { effect: 'widens', describe: (w) => `${w.of} ${noun} was ${verb(upper)} or removed` };
  return out;
}

export const SCHEMA_CHANGES: Record<string, ChangeSpec> = {
  'type-changed': {
    effect: 'changes',
    describe: (w) => `${w.of} type or format changed to one that ${w.flow === 'in' ? 'rejects values it accepted' : 'clients may not read'}`,
  },
  'type-generalized': { effect: 'widens', only: 'in', describe: (w) => `${w.of} type or format was widened (e.g. integer to number)` },
  'type-specialized': { effect: 'narrows', only: 'out', describe: (w) => `${w.of} type or format was narrowed (e.g. number to integer)` },
  'enum-value-removed': { effect: 'narrows', describe: (w) => `a value was removed from the enum of ${w.a}` },
  'enum-value-added': {
    effect: 'widens',
    describe: (w) => `a value was added to the enum of ${w.a}`,
    exception: { out: { level: 'warning', because: 'a client written against a closed list may mishandle the value; a defensive one will not' } },
  },
  'became-enum': { effect: 'narrows', describe: (w) => `${w.a} was restricted to a list of values` },
  'became-not-enum': {
    effect: 'widens',
    describe: (w) => `${w.of} list of values was lifted`,
    exception: { out: { level: 'warning', because: 'as with a value added to the enum: clients may get values they do not handle' } },
  },
  'x-extensible-enum-value-removed': { effect: 'narrows', describe: (w) => `a value was removed from the x-extensible-enum of ${w.a}` },
  'x-extensible-enum-value-added': {
    effect: 'widens',
    describe: (w) => `a value was added to the x-extensible-enum of ${w.a}`,
    exception: { out: { level: 'info', because: 'an x-extensible-enum tells clients to expect values it does not list' } },
  },
  'became-nullable': { effect: 'widens', describe: (w) => `${w.a} ${w.flow === 'in' ? 'now accepts' : 'can now be'} null (3.0 nullable or 3.1 type null)` },
  'became-not-nullable': { effect: 'narrows', describe: (w) => `${w.a} ${w.flow === 'in' ? 'no longer accepts' : 'can no longer be'} null` },
  'pattern-added': { effect: 'narrows', describe: (w) => `a pattern was added to ${w.a}` },
  'pattern-removed': { effect: 'widens', describe: (w) => `${w.of} pattern was removed` },
  'pattern-changed': { effect: 'unclear', describe: (w) => `${w.of} pattern changed (whether it is wider cannot be told)` },
  ...Object.assign({}, ...BOUNDS.map(boundChanges)),
  // multipleOf: a multiple of the old value admits a subset of its values, a divisor a superset.
  'multiple-of-set': { effect: 'narrows', only: 'in', describe: (w) => `a multipleOf was set on ${w.a}` },
  'multiple-of-increased': { effect: 'narrows', describe: (w) => `${w.of} multipleOf was raised to a multiple of the old one${w.flow === 'out' ? ', or set' : ''}` },
  'multiple-of-decreased': { effect: 'widens', describe: (w) => `${w.of} multipleOf was lowered to a divisor of the old one, or removed` },
  'multiple-of-changed': { effect: 'changes', describe: (w) => `${w.of} multipleOf changed to one that is neither a multiple nor a divisor of the old one` },
  'unique-items-set': { effect: 'narrows', describe: (w) => `${w.a} (an array) must now have unique items (uniqueItems: true)` },
  'unique-items-unset': { effect: 'widens', describe: (w) => `${w.a} (an array) may now have repeated items (uniqueItems no longer true)` },
  'contains-added': { effect: 'narrows', describe: (w) => `${w.a} (an array) must now contain an item matching a schema (contains)` },
  'contains-removed': { effect: 'widens', describe: (w) => `${w.of} contains was removed: no item has to match it any more` },
  'tuple-became-closed': { effect: 'narrows', describe: (w) => `${w.a} (an array) no longer allows items beyond its tuple positions (items: false)` },
  'tuple-became-open': { effect: 'widens', describe: (w) => `${w.a} (an array) now allows items beyond its tuple positions (items no longer false)` },
  'tuple-position-added': { effect: 'widens', describe: (w) => `a position was added to the closed tuple of ${w.a} (prefixItems with items: false): longer arrays are valid` },
  'tuple-position-removed': { effect: 'narrows', describe: (w) => `a position was removed from the closed tuple of ${w.a} (prefixItems with items: false): arrays that long are no longer valid` },
  'pattern-property-added': { effect: 'narrows', describe: (w) => `${w.of} properties whose names match a pattern must now match a schema (patternProperties)` },
  'pattern-property-removed': { effect: 'widens', describe: (w) => `a patternProperties schema of ${w.a} was removed: the properties it matched are no longer constrained` },
  'dependent-required-added': { effect: 'narrows', describe: (w) => `${w.a} now requires a property whenever another is present (dependentRequired)` },
  'dependent-required-removed': { effect: 'widens', describe: (w) => `${w.a} no longer requires a property whenever another is present (dependentRequired)` },
  'dependent-schema-added': { effect: 'narrows', describe: (w) => `${w.a} must now match a schema whenever a property is present (dependentSchemas)` },
  'dependent-schema-removed': { effect: 'widens', describe: (w) => `a dependentSchemas schema of ${w.a} was removed` },
  'if-added': { effect: 'narrows', describe: (w) => `an if/then/else condition was added to ${w.a}` },
  'if-removed': { effect: 'widens', describe: (w) => `an if/then/else condition was removed from ${w.a}` },
  'if-changed': { effect: 'unclear', describe: (w) => `the if of an if/then/else of ${w.a} changed: which values its then and else apply to changed` },
  'not-added': { effect: 'narrows', describe: (w) => `${w.a} must now not match a schema (not)` },
  'not-removed': { effect: 'widens', describe: (w) => `${w.of} not was removed: the values it excluded are valid` },
  'not-changed': { effect: 'unclear', describe: (w) => `${w.of} not changed (whether it now excludes more or fewer values cannot be told)` },
  'content-media-type-added': { effect: 'narrows', describe: (w) => `a contentMediaType was given to ${w.a} (a string)` },
  'content-media-type-removed': { effect: 'widens', describe: (w) => `${w.of} contentMediaType was removed` },
  'content-media-type-changed': { effect: 'changes', describe: (w) => `${w.of} contentMediaType changed: the string holds another kind of content` },
  'content-encoding-added': { effect: 'narrows', describe: (w) => `a contentEncoding was given to ${w.a} (a string)` },
  'content-encoding-removed': { effect: 'widens', describe: (w) => `${w.of} contentEncoding was removed` },
  'content-encoding-changed': { effect: 'changes', describe: (w) => `${w.of} contentEncoding changed: the string is encoded another way` },
  'default-value-changed': { effect: 'changes', only: 'in', describe: (w) => `${w.of} default changed: clients that omit it get different behaviour` },
  'default-value-added': { effect: 'notes', only: 'in', describe: (w) => `a default was given to ${w.a}` },
  'default-value-removed': { effect: 'unclear', only: 'in', describe: (w) => `${w.of} default was removed: what omitting it means is no longer stated` },
  'became-closed': { effect: 'narrows', only: 'in', describe: (w) => `${w.a} (an object) now has additionalProperties: false: requests with other properties are rejected` },
  'became-open': { effect: 'widens', only: 'in', describe: (w) => `${w.a} (an object) no longer has additionalProperties: false` },
  'one-of-added': { effect: 'widens', describe: (w) => `an alternative was added to a oneOf of ${w.a}` },
  'one-of-removed': { effect: 'narrows', describe: (w) => `an alternative was removed from a oneOf of ${w.a}` },
  'any-of-added': { effect: 'widens', describe: (w) => `an alternative was added to an anyOf of ${w.a}` },
  'any-of-removed': { effect: 'narrows', describe: (w) => `an alternative was removed from an anyOf of ${w.a}` },
  'all-of-added': {
    effect: 'narrows',
    describe: (w) => `a member was added to an allOf of ${w.a}`,
    exception: { in: { level: 'warning', because: 'allOf members are merged before comparing, so what the member narrows is reported on its own at its own level' } },
  },
  'all-of-removed': {
    effect: 'widens',
    describe: (w) => `a member was removed from an allOf of ${w.a}`,
    exception: { out: { level: 'warning', because: 'allOf members are merged before comparing, so what the removal widens is reported on its own at its own level' } },
  },
};

export type PropertyFamily = 'request' | 'response' | 'webhook';

/** What can happen to one property of an object, as the walk tells it apart. */
export type PropertyChange =
  | 'added-required'
  | 'added-optional'
  | 'removed-required'
  | 'removed-optional'
  | 'removed-rejected'
  | 'became-required'
  | 'became-optional'
  | 'required-became-hidden'
  | 'optional-became-hidden'
  | 'became-visible';

interface PropertyRuleSpec {
  readonly id: string;
  readonly effect: Effect;
  readonly description: string;
  readonly level?: Level;
  readonly because?: string;
}

function propertyRuleSpecs(family: PropertyFamily): Record<PropertyChange, PropertyRuleSpec> {
  if (family === 'request') {
    const removed: PropertyRuleSpec = {
      id: 'request-property-removed',
      effect: 'narrows',
      description: 'a request property was removed from an open object: what clients still send is ignored',
      level: 'warning',
      because: 'an open object ignores a property it does not list; only a closed one rejects it (request-property-removed-rejected)',
    };
    return {
      'added-required': { id: 'new-required-request-property', effect: 'narrows', description: 'a required request property was added' },
      'added-optional': { id: 'new-optional-request-property', effect: 'widens', description: 'an optional request property was added' },
      'removed-required': removed,
      'removed-optional': removed,
      'removed-rejected': { id: 'request-property-removed-rejected', effect: 'narrows', description: 'a request property was removed from an object with additionalProperties: false: requests that send it are rejected' },
      'became-required': { id: 'request-property-became-required', effect: 'narrows', description: 'an optional request property became required' },
      'became-optional': { id: 'request-property-became-optional', effect: 'widens', description: 'a required request property became optional' },
      'required-became-hidden': { id: 'request-required-property-became-read-only', effect: 'narrows', description: 'a required request property became readOnly: clients may no longer send it' },
      'optional-became-hidden': {
        id: 'request-optional-property-became-read-only',
        effect: 'narrows',
        description: 'an optional request property became readOnly: what clients send is ignored or rejected',
        level: 'warning',
        because: 'whether a readOnly property that is still sent is ignored or rejected is up to the server',
      },
      'became-visible': { id: 'request-property-became-not-read-only', effect: 'widens', description: 'a readOnly property can now be sent in requests' },
    };
  }
  const what = family === 'response' ? 'response' : 'webhook payload';
  return {
    'added-required': { id: `${family}-required-property-added`, effect: 'narrows', description: `a required ${what} property was added` },
    'added-optional': { id: `${family}-optional-property-added`, effect: 'narrows', description: `an optional ${what} property was added` },
    'removed-required': { id: `${family}-required-property-removed`, effect: 'widens', description: `a required ${what} property was removed` },
    'removed-optional': {
      id: `${family}-optional-property-removed`,
      effect: 'widens',
      description: `an optional ${what} property was removed`,
      level: 'warning',
      because: 'clients may read what they were told they may get, but cannot have relied on it',
    },
    'removed-rejected': { id: `${family}-required-property-removed`, effect: 'widens', description: `a required ${what} property was removed` },
    'became-required': { id: `${family}-property-became-required`, effect: 'narrows', description: `an optional ${what} property became required` },
    'became-optional': { id: `${family}-property-became-optional`, effect: 'widens', description: `a required ${what} property became optional: clients can no longer rely on it` },
    'required-became-hidden': { id: `${family}-required-property-became-write-only`, effect: 'widens', description: `a required ${what} property became writeOnly: it is no longer sent` },
    'optional-became-hidden': {
      id: `${family}-optional-property-became-write-only`,
      effect: 'widens',
      description: `an optional ${what} property became writeOnly: it is no longer sent`,
      level: 'warning',
      because: 'as with an optional property removed',
    },
    'became-visible': { id: `${family}-property-became-not-write-only`, effect: 'narrows', description: `a writeOnly property is now sent in ${family === 'response' ? 'responses' : 'webhook payloads'}` },
  };
}

const PROPERTY_FLOW: Record<PropertyFamily, Flow> = { request: 'in', response: 'out', webhook: 'out' };

function buildPropertyRules(family: PropertyFamily): Record<PropertyChange, Rule> {
  const specs = propertyRuleSpecs(family);
  const byId = new Map<string, Rule>();
  const out = {} as Record<PropertyChange, Rule>;
  for (const [change, spec] of Object.entries(specs) as [PropertyChange, PropertyRuleSpec][]) {
    let rule = byId.get(spec.id);
    if (!rule) {
      rule = makeRule(spec.id, { flow: PROPERTY_FLOW[family], effect: spec.effect, description: spec.description, level: spec.level, because: spec.because });
      byId.set(spec.id, rule);
    }
    out[change] = rule;
  }
  return out;
}

const PROPERTY_RULES: Record<PropertyFamily, Record<PropertyChange, Rule>> = {
  request: buildPropertyRules('request'),
  response: buildPropertyRules('response'),
  webhook: buildPropertyRules('webhook'),
};

function possessive(subject: string): string {
  return `${subject}'s`;
}

function buildFamily(family: SchemaFamily): Map<string, Rule> {
  const spec: FamilySpec = SCHEMA_FAMILIES[family];
  const words: Words = { a: spec.subject, of: possessive(spec.subject), flow: spec.flow };
  const rules = new Map<string, Rule>();
  for (const [change, changeSpec] of Object.entries(SCHEMA_CHANGES)) {
    if (changeSpec.only && changeSpec.only !== spec.flow) continue;
    const exception = changeSpec.exception?.[spec.flow];
    rules.set(change, makeRule(`${family}-${change}`, { flow: spec.flow, effect: changeSpec.effect, description: changeSpec.describe(words), level: exception?.level, because: exception?.because }));
  }
  return rules;
}

const FAMILY_RULES = new Map<SchemaFamily, Map<string, Rule>>((Object.keys(SCHEMA_FAMILIES) as SchemaFamily[]).map((family) => [family, buildFamily(family)]));

/** The rule for a change in a family; throws when the tables have no such pair (a bug in the walk). */
export function schemaRule(family: SchemaFamily, change: string): Rule {
  const rule = FAMILY_RULES.get(family)?.get(change);
  if (!rule) throw new Error(`api-diff: no rule for the change '${change}' in ${family}`);
  return rule;
}

export function propertyRule(family: SchemaFamily, change: PropertyChange): Rule {
  return PROPERTY_RULES[SCHEMA_FAMILIES[family].properties][change];
}

/** Every rule of a family, in table order. */
export function familyRules(family: SchemaFamily): Rule[] {
  return [...(FAMILY_RULES.get(family)?.values() ?? [])];
}

/** Every property rule of a property family, each once. */
export function propertyRules(family: PropertyFamily): Rule[] {
  return [...new Set(Object.values(PROPERTY_RULES[family]))];
}
