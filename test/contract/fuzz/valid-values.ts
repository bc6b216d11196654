/**
 * Schema-valid values. json-schema-faker draws a value that satisfies the schema (patterns,
 * formats, lengths, enums, required and optional members), seeded from fast-check so that the
 * fuzzer's seed replays it. fast-check then varies what json-schema-faker keeps plain: free text
 * becomes arbitrary Unicode, empty string maps get entries, and id-shaped values are swapped for
 * ids that exist, so requests reach the handlers' success paths and not only their 404s.
 */
import fc from 'fast-check';
import { generateSync, type JsonSchema } from 'json-schema-faker';
import type { Schema } from './operations.js';

export type Gen = fc.GeneratorValue;

/** Supplies real ids for id-shaped values (`^cus_…`, `^(pay|re)_…`). */
export interface IdSource {
  /** An existing id with one of the prefixes, or undefined to keep the generated one. */
  choose(prefixes: readonly string[], g: Gen): string | undefined;
}

/** The longest free text drawn where the schema sets no maxLength. */
const UNBOUNDED_TEXT_LENGTH = 120;
/** Open maps get at most this many entries, so that a body stays under the size limit. */
const MAX_MAP_ENTRIES = 10;

/** `^cus_…` → [cus]; `^(pay|re)_…` → [pay, re]; anything else → []. */
export function idPrefixes(schema: Schema): string[] {
  const match = typeof schema.pattern === 'string' ? /^\^\(?([a-z]+(?:\|[a-z]+)*)\)?_/.exec(schema.pattern) : null;
  return match ? match[1]!.split('|') : [];
}

export function typesOf(schema: Schema): string[] {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.enum) return [...new Set(schema.enum.map(jsonTypeOf))];
  if ('const' in schema) return [jsonTypeOf(schema.const)];
  return [];
}

export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function isFreeText(schema: Schema): boolean {
  return typesOf(schema).includes('string') && !schema.pattern && !schema.format && !schema.enum && !('const' in schema);
}

const withoutNul = (s: string) => !s.includes('\u0000');

/**
 * A value valid for `schema`. Strings exclude U+0000, which PostgreSQL cannot store: the server
 * refuses it with a 400 on purpose, though the spec does not say so.
 */
export function validValue(schema: Schema, g: Gen, ids: IdSource): unknown {
  const seed = g(() => fc.noBias(fc.integer({ min: 1, max: 0x7fffffff - JSF_ATTEMPTS })));
  return vary(schema, generateOnce(schema, seed), g, ids);
}

/**
 * json-schema-faker 0.6 throws when it leaves out every optional member of an object that needs
 * `minProperties` and forbids others (about 3% of draws for CustomerUpdateRequest); the next seed
 * draws again.
 */
const JSF_ATTEMPTS = 8;

function generateOnce(schema: Schema, seed: number): unknown {
  for (let attempt = 0; ; attempt++) {
    try {
      return generateSync(schema as JsonSchema, { seed: seed + attempt, optionalsProbability: 0.5 });
    } catch (err) {
      if (attempt + 1 >= JSF_ATTEMPTS) throw err;
    }
  }
}

function vary(schema: Schema, value: unknown, g: Gen, ids: IdSource): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && schema.minimum !== undefined && schema.maximum !== undefined && g(fc.boolean)) {
    // fast-check favours the bounds and small values, where json-schema-faker draws uniformly.
    return Number(g(fc.bigInt, { min: BigInt(schema.minimum), max: BigInt(schema.maximum) }));
  }
  if (typeof value === 'string') {
    const prefixes = idPrefixes(schema);
    if (prefixes.length > 0) return ids.choose(prefixes, g) ?? value;
    if (isFreeText(schema) && g(fc.boolean)) {
      const minLength = schema.minLength ?? 0;
      const maxLength = Math.max(minLength, schema.maxLength ?? UNBOUNDED_TEXT_LENGTH);
      // One code point per unit, which is how JSON Schema counts a string's length.
      return g(() => fc.string({ unit: 'binary', minLength, maxLength }).filter(withoutNul));
    }
    return value;
  }
  if (Array.isArray(value)) return schema.items ? value.map((item) => vary(schema.items!, item, g, ids)) : value;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, member] of entries) {
      const memberSchema = schema.properties?.[key] ?? extra;
      out[key] = memberSchema ? vary(memberSchema, member, g, ids) : member;
    }
    // json-schema-faker leaves open maps (metadata) empty; give them entries now and then.
    if (entries.length === 0 && extra && !schema.properties && (schema.maxProperties ?? 1) > 0 && g(fc.boolean)) {
      const count = g(fc.integer, { min: 1, max: Math.min(schema.maxProperties ?? MAX_MAP_ENTRIES, MAX_MAP_ENTRIES) });
      for (let i = 0; i < count; i++) out[propertyName(schema.propertyNames, g)] = validValue(extra, g, ids);
    }
    return out;
  }
  return value;
}

function propertyName(names: Schema | undefined, g: Gen): string {
  const minLength = names?.minLength ?? 1;
  const maxLength = names?.maxLength ?? 40;
  const arb = names?.pattern ? fc.stringMatching(new RegExp(names.pattern, 'u')) : fc.string({ minLength, maxLength });
  return g(() => arb.filter((k) => k.length >= minLength && k.length <= maxLength && k !== '__proto__'));
}
