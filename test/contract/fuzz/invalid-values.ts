/**
 * Values that break a schema, as fast-check arbitraries, each with a label saying how. Every
 * arbitrary here yields only values the schema rejects (with the validator's settings: no type
 * coercion, formats checked), so a request carrying one must be refused whatever else it holds.
 * fast-check's bias puts many of them right at the boundary: one character too long, one above
 * the maximum.
 */
import fc from 'fast-check';
import type { Schema } from './operations.js';
import { idPrefixes, typesOf, validValue, type Gen, type IdSource } from './valid-values.js';

export interface Violation {
  /** How the value breaks the schema, e.g. `above maximum 100`. */
  readonly label: string;
  readonly value: unknown;
}

type ViolationArb = fc.Arbitrary<Violation>;

const labelled = (label: string, arb: fc.Arbitrary<unknown>): ViolationArb => arb.map((value) => ({ label, value }));

/** Characters an id or a token must not contain, and other near misses worth trying. */
const STRAY_CHARACTERS = ['$', '!', ' ', '/', '%', "'", '"', '\\', 'é', '😀', '\t', '.', '-', '*', '\u0000'];

function patternOf(schema: Schema): RegExp | undefined {
  return schema.pattern ? new RegExp(schema.pattern, 'u') : undefined;
}

/** True when `value` passes the string keywords this module knows how to break. */
function stringPasses(schema: Schema, value: string): boolean {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) return false;
  if (schema.maxLength !== undefined && length > schema.maxLength) return false;
  const pattern = patternOf(schema);
  if (pattern && !pattern.test(value)) return false;
  if (schema.format === 'email' && !value.includes('@')) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  if ('const' in schema && schema.const !== value) return false;
  return true;
}

/** How a string reaches the server, for parameters that do not travel as JSON. */
export interface StringTransport {
  /** The characters the transport can carry (header values: Latin-1 without controls). */
  readonly alphabet?: fc.Arbitrary<string>;
  /** What the server sees of what was sent (header values lose surrounding whitespace). */
  readonly seen?: (sent: string) => string;
  /** Values the transport would turn into another request (`..` in a path). */
  readonly unusable?: (sent: string) => boolean;
}

/**
 * Strings that break the string keywords of `schema`; `near` is a valid value to derive near
 * misses from. Every candidate is checked against the schema as the server will see it.
 */
export function invalidStrings(schema: Schema, near: string | undefined, transport: StringTransport = {}): ViolationArb[] {
  const { alphabet, seen = (s: string) => s, unusable = () => false } = transport;
  const text = (min: number, max: number) => fc.string({ unit: alphabet ?? 'grapheme-ascii', minLength: min, maxLength: max });
  // Text that may also hold the characters a free-text pattern refuses (U+0000, lone surrogates)
  // and the ones an id pattern refuses: plain ASCII would never break `^[^\u0000\uD800-\uDFFF]*$`.
  const strayText = (min: number, max: number) =>
    alphabet
      ? text(min, max)
      : fc.string({ unit: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), fc.constantFrom(...STRAY_CHARACTERS, '\ud800', '\udc00')), minLength: min, maxLength: max });
  const carriable = (s: string) => !alphabet || [...s].every((c) => /^[\t\x20-\x7E\x80-\xFF]$/.test(c));
  const breaks = (s: string) => carriable(s) && !unusable(s) && !stringPasses(schema, seen(s));
  const out: ViolationArb[] = [];
  // A candidate source that cannot produce a breaking value (a transport that cannot carry the
  // characters a pattern refuses) is left out rather than filtered forever.
  const broken = (label: string, arb: fc.Arbitrary<string>) => labelled(label, arb.filter(breaks));
  const ifPossible = (label: string, arb: fc.Arbitrary<string>) => {
    if (fc.sample(arb, { numRuns: 300, seed: 1 }).some(breaks)) out.push(broken(label, arb));
  };
  if (schema.minLength !== undefined && schema.minLength > 0) out.push(broken(`shorter than minLength ${schema.minLength}`, text(0, schema.minLength - 1)));
  if (schema.maxLength !== undefined) out.push(broken(`longer than maxLength ${schema.maxLength}`, text(schema.maxLength + 1, schema.maxLength + 40)));
  if (schema.pattern) {
    ifPossible(`not matching ${schema.pattern}`, strayText(0, 24));
    if (near !== undefined) {
      const suffix = near.slice(near.indexOf('_') + 1);
      const nearMisses = fc.oneof(
        fc.tuple(fc.constantFrom(...STRAY_CHARACTERS), fc.nat({ max: near.length })).map(([c, at]) => near.slice(0, at) + c + near.slice(at)),
        fc.constant(near.toUpperCase()),
        fc.constant(`${near}${'a'.repeat(65)}`),
        // Another prefix, or none, on the same suffix: an id of the wrong kind.
        ...(idPrefixes(schema).length > 0 ? [fc.stringMatching(/^[a-z]{0,5}_?$/).map((p) => p + suffix), fc.constant(near.slice(0, near.indexOf('_') + 1))] : []),
      );
      ifPossible(`a near miss of ${schema.pattern}`, nearMisses);
    }
  }
  if (schema.format === 'email') out.push(broken('not an email address', text(0, 30)));
  if (schema.enum) {
    const values = schema.enum.filter((v): v is string => typeof v === 'string');
    const variants = values.length > 0 ? [fc.constantFrom(...values).map((v) => v.toUpperCase()), fc.constantFrom(...values).map((v) => `${v}x`)] : [];
    out.push(broken('not in the enum', fc.oneof(text(0, 16), ...variants)));
  }
  return out;
}

/** Integers outside [minimum, maximum], and non-integers where only integers are allowed. */
export function invalidNumbers(schema: Schema): ViolationArb[] {
  const types = typesOf(schema);
  const out: ViolationArb[] = [];
  if (schema.minimum !== undefined) {
    const min = schema.minimum;
    out.push(labelled(`below minimum ${min}`, fc.nat({ max: 1_000_000_000 }).map((n) => min - 1 - n)));
  }
  if (schema.maximum !== undefined) {
    const max = schema.maximum;
    out.push(labelled(`above maximum ${max}`, fc.oneof(fc.nat({ max: 1_000_000_000 }).map((n) => max + 1 + n), fc.constant(1e30))));
  }
  if (types.includes('integer') && !types.includes('number')) {
    const lo = schema.minimum ?? -1e6;
    const hi = schema.maximum ?? 1e6;
    out.push(labelled('not an integer', fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x))));
  }
  return out;
}

const SAMPLES_BY_TYPE: Record<string, fc.Arbitrary<unknown>> = {
  string: fc.string({ maxLength: 12 }),
  integer: fc.integer(),
  number: fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  boolean: fc.boolean(),
  null: fc.constant(null),
  object: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
  array: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 6 })), { maxLength: 3 }),
};

/** Values of a JSON type the schema does not accept (none when it accepts any type). */
function wrongTypes(schema: Schema): ViolationArb[] {
  const accepted = new Set(typesOf(schema));
  if (accepted.size === 0) return [];
  if (accepted.has('number')) accepted.add('integer');
  const wrong = Object.entries(SAMPLES_BY_TYPE)
    .filter(([type]) => !accepted.has(type))
    .map(([type, arb]) => labelled(`a ${type} where ${[...accepted].join('|')} is expected`, arb));
  // One choice among them, so that a wrong type is as likely as any other way to break the value.
  return wrong.length > 0 ? [fc.oneof(...wrong)] : [];
}

/** Objects that break the object keywords of `schema`, derived from the valid object `value`. */
function invalidObjects(schema: Schema, value: Record<string, unknown>, g: Gen, ids: IdSource): ViolationArb[] {
  const out: ViolationArb[] = [];
  const known = new Set(Object.keys(schema.properties ?? {}));
  for (const name of schema.required ?? []) {
    const { [name]: _dropped, ...rest } = value;
    out.push(labelled(`without the required '${name}'`, fc.constant(rest)));
  }
  if (schema.additionalProperties === false) {
    const unknown = fc.string({ minLength: 1, maxLength: 24 }).filter((k) => !known.has(k) && k !== '__proto__');
    out.push(labelled('with an unknown member', fc.tuple(unknown, fc.jsonValue({ maxDepth: 1 })).map(([k, v]) => ({ ...value, [k]: v }))));
  }
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  if (extra && schema.propertyNames) {
    const okValue = validValue(extra, g, ids);
    const badNames = invalidStrings(schema.propertyNames, 'key').map((arb) => arb.filter((v) => v.value !== '__proto__' && typeof v.value === 'string'));
    for (const badName of badNames) {
      out.push(badName.map((v) => ({ label: `with a member name ${v.label}`, value: { ...value, [v.value as string]: okValue } })));
    }
  }
  if (schema.maxProperties !== undefined && extra) {
    const okValue = validValue(extra, g, ids);
    const crowded = Object.fromEntries(Array.from({ length: schema.maxProperties + 1 }, (_, i) => [`k${i}`, okValue]));
    out.push(labelled(`with more than maxProperties ${schema.maxProperties} members`, fc.constant(crowded)));
  }
  if (schema.minProperties !== undefined && schema.minProperties > 0) out.push(labelled(`with fewer than minProperties ${schema.minProperties} members`, fc.constant({})));
  return out;
}

function invalidArrays(schema: Schema, value: unknown[], g: Gen, ids: IdSource): ViolationArb[] {
  const out: ViolationArb[] = [];
  if (schema.minItems !== undefined && schema.minItems > 0) out.push(labelled(`with fewer than minItems ${schema.minItems} items`, fc.constant(value.slice(0, schema.minItems - 1))));
  if (schema.maxItems !== undefined && schema.items) {
    const item = validValue(schema.items, g, ids);
    out.push(labelled(`with more than maxItems ${schema.maxItems} items`, fc.constant(Array.from({ length: schema.maxItems + 1 }, () => item))));
  }
  if (schema.uniqueItems) {
    const item = value[0] ?? (schema.items ? validValue(schema.items, g, ids) : 'x');
    out.push(labelled('with duplicate items', fc.constant([...value, item, item])));
  }
  return out;
}

/** Every way this module knows to break `schema` in place of the valid `value`. */
export function violationsOf(schema: Schema, value: unknown, g: Gen, ids: IdSource): ViolationArb[] {
  const out = wrongTypes(schema);
  const types = typesOf(schema);
  if (types.includes('string') || (types.length === 0 && typeof value === 'string')) out.push(...invalidStrings(schema, typeof value === 'string' ? value : undefined));
  if (types.includes('integer') || types.includes('number')) out.push(...invalidNumbers(schema));
  if (value && typeof value === 'object' && !Array.isArray(value)) out.push(...invalidObjects(schema, value as Record<string, unknown>, g, ids));
  if (Array.isArray(value)) out.push(...invalidArrays(schema, value, g, ids));
  return out;
}

interface Site {
  readonly path: string[];
  readonly schema: Schema;
  readonly value: unknown;
}

/** The value itself and every member and item below it, each with the schema it answers to. */
function sitesOf(schema: Schema, value: unknown, path: string[] = []): Site[] {
  const sites: Site[] = [{ path, schema, value }];
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => sites.push(...sitesOf(schema.items!, item, [...path, String(i)])));
  else if (value && typeof value === 'object') {
    const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    for (const [key, member] of Object.entries(value)) {
      const memberSchema = schema.properties?.[key] ?? extra;
      if (memberSchema) sites.push(...sitesOf(memberSchema, member, [...path, key]));
    }
  }
  return sites;
}

function replaceAt(value: unknown, path: readonly string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) return value.map((item, i) => (String(i) === head ? replaceAt(item, rest, replacement) : item));
  const record = value as Record<string, unknown>;
  return { ...record, [head]: replaceAt(record[head], rest, replacement) };
}

/**
 * `value` (valid for `schema`) with one site broken: the whole value, or one member or item at
 * any depth, picked uniformly, then one of that site's violations.
 */
export function breakValue(schema: Schema, value: unknown, g: Gen, ids: IdSource): { label: string; value: unknown } | undefined {
  const sites = sitesOf(schema, value)
    .map((site) => ({ site, violations: violationsOf(site.schema, site.value, g, ids) }))
    .filter((s) => s.violations.length > 0);
  if (sites.length === 0) return undefined;
  const { site, violations } = g(() => fc.constantFrom(...sites));
  const violation = g(() => fc.oneof(...violations));
  const where = site.path.length > 0 ? `/${site.path.join('/')}` : '(the whole value)';
  return { label: `${where} ${violation.label}`, value: replaceAt(value, site.path, violation.value) };
}

