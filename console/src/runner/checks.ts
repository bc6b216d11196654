/**
 * The comparisons a check can make, one table: each says how it reads in a description and, when
 * it fails, why, with the expected and the actual value side by side.
 */
import type { Check, Json } from './types.js';

export const OPERATORS = ['equals', 'notEquals', 'oneOf', 'exists', 'matches', 'includes', 'excludes', 'gt', 'gte', 'lt', 'lte', 'length'] as const;
export type Operator = (typeof OPERATORS)[number];

/** The failure's reason, or null when the value passes. */
type Test = (actual: unknown, expected: unknown) => string | null;

const numeric = (symbol: string, holds: (a: number, b: number) => boolean): Test => (actual, expected) => {
  const a = asNumber(actual);
  const b = asNumber(expected);
  if (b === undefined) return `the expected value ${show(expected)} is not a number`;
  if (a === undefined) return `expected a number ${symbol} ${b}, got ${show(actual)}`;
  return holds(a, b) ? null : `expected ${symbol} ${b}, got ${a}`;
};

const TESTS: Record<Operator, Test> = {
  equals: (actual, expected) => (deepEqual(actual, expected) ? null : `expected ${show(expected)}, got ${show(actual)}`),
  notEquals: (actual, expected) => (deepEqual(actual, expected) ? `expected anything but ${show(expected)}, got it` : null),
  oneOf: (actual, expected) =>
    Array.isArray(expected) && expected.some((e) => deepEqual(actual, e)) ? null : `expected one of ${show(expected)}, got ${show(actual)}`,
  exists: (actual, expected) => {
    const present = actual !== undefined && actual !== null;
    if (present === (expected !== false)) return null;
    return present ? `expected nothing, got ${show(actual)}` : `expected a value, got ${show(actual)}`;
  },
  matches: (actual, expected) => {
    let pattern: RegExp;
    try {
      pattern = new RegExp(String(expected));
    } catch (error) {
      return `the pattern ${show(expected)} is not a regular expression: ${(error as Error).message}`;
    }
    if (typeof actual !== 'string' && typeof actual !== 'number') return `expected a string matching /${pattern.source}/, got ${show(actual)}`;
    return pattern.test(String(actual)) ? null : `expected a match of /${pattern.source}/, got ${show(actual)}`;
  },
  includes: (actual, expected) => (contains(actual, expected) ? null : `expected ${show(actual)} to include ${show(expected)}`),
  excludes: (actual, expected) => {
    if (!Array.isArray(actual) && typeof actual !== 'string') return `expected an array or a string without ${show(expected)}, got ${show(actual)}`;
    return contains(actual, expected) ? `expected ${show(actual)} not to include ${show(expected)}` : null;
  },
  gt: numeric('>', (a, b) => a > b),
  gte: numeric('≥', (a, b) => a >= b),
  lt: numeric('<', (a, b) => a < b),
  lte: numeric('≤', (a, b) => a <= b),
  length: (actual, expected) => {
    if (!Array.isArray(actual) && typeof actual !== 'string') return `expected something of length ${show(expected)}, got ${show(actual)}`;
    return actual.length === asNumber(expected) ? null : `expected length ${show(expected)}, got ${actual.length} (${show(actual)})`;
  },
};

const WORDS: Record<Operator, string> = {
  equals: 'equals',
  notEquals: 'is not',
  oneOf: 'is one of',
  exists: 'exists',
  matches: 'matches',
  includes: 'includes',
  excludes: 'excludes',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  length: 'has length',
};

/** The one operator a check names (the schema allows exactly one). */
export function operatorOf(check: object): Operator {
  const named = OPERATORS.filter((op) => op in check);
  if (named.length !== 1) throw new Error(`a check names exactly one of ${OPERATORS.join(', ')}; this one names ${named.length === 0 ? 'none' : named.join(', ')}`);
  return named[0]!;
}

/** How a check reads, its expected value as written: a lone template shows bare (`body.id equals {{payment}}`). */
export function describeComparison(subject: string, op: Operator, expected: unknown): string {
  if (op === 'exists') return expected === false ? `${subject} is absent` : `${subject} exists`;
  if (op === 'matches') return `${subject} matches /${regexSource(expected)}/`;
  const written = typeof expected === 'string' && /^\{\{[^{}]+\}\}$/.test(expected) ? expected : show(expected);
  return `${subject} ${WORDS[op]} ${written}`;
}

export function describeCheck(check: Check): string {
  const op = operatorOf(check);
  return describeComparison(check.path, op, check[op]);
}

/** Null when `actual` passes `op` against `expected`; otherwise why not. */
export function compare(op: Operator, actual: unknown, expected: unknown): string | null {
  return TESTS[op](actual, expected);
}

/** A pattern as JavaScript writes it (`/^\/v2\//`), or as given when it is not one. */
function regexSource(pattern: unknown): string {
  try {
    return new RegExp(String(pattern)).source;
  } catch {
    return String(pattern);
  }
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (Array.isArray(haystack)) return haystack.some((item) => deepEqual(item, needle));
  return typeof haystack === 'string' && typeof needle === 'string' && haystack.includes(needle);
}

/** Numbers, and strings that are numbers (a header's `Retry-After: 7`). */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  return aKeys.length === bKeys.length && aKeys.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const SHOWN_CHARS = 160;

/** A value as a reason shows it: JSON, cut short; `nothing` for a missing value. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value as Json) ?? String(value);
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 1)}…` : text;
}
