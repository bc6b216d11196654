/**
 * The views for a person: a table for a list, key/value lines for one object. Times the API gives
 * as Unix seconds (`created`, `*_at`) read as UTC dates; money (`{ value, currency }`) as one
 * value. `--json` bypasses all of this and prints the API's JSON.
 */
import type { Output } from './context.js';

const TIME_FIELD = /(^created$|_at$|^expires$|^since$|^until$|^window_(start|end)$)/;

/** One cell or value: strings as they are, times as dates, money as `25.00 EUR`-like `2500 EUR`. */
export function formatValue(key: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number' && TIME_FIELD.test(key) && Number.isInteger(value) && value > 0) {
    return new Date(value * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
  }
  if (typeof value === 'object' && !Array.isArray(value) && 'value' in value && 'currency' in value) {
    const money = value as { value: unknown; currency: unknown };
    return `${String(money.value)} ${String(money.currency)}`;
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.length === 0 ? '-' : value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A table of the items' `columns`, with a header; a cell wider than its share of `width` (160 off a terminal) is cut with `…`. */
export function renderTable(out: Output, items: readonly Record<string, unknown>[], columns: readonly string[], width = 160): string[] {
  const rows = items.map((item) => columns.map((c) => formatValue(c, item[c])));
  const budget = Math.max(12, Math.floor((width - 2 * (columns.length - 1)) / columns.length));
  const widths = columns.map((c, i) => Math.min(Math.max(c.length, ...rows.map((r) => r[i]!.length)), c === 'id' ? 80 : budget));
  const cell = (text: string, i: number) => (text.length > widths[i]! ? `${text.slice(0, widths[i]! - 1)}…` : text.padEnd(widths[i]!));
  const line = (cells: string[]) => cells.map(cell).join('  ').trimEnd();
  return [out.paint('bold', line(columns.map((c) => c.toUpperCase()))), ...rows.map(line)];
}

/** `key  value` lines; nested objects flattened with dots (`data.object.id`), arrays of objects by index. */
export function renderObject(out: Output, value: unknown): string[] {
  const pairs: [string, string][] = [];
  const walk = (prefix: string, node: unknown) => {
    const leaf = node === null || typeof node !== 'object' || formatValue(prefix, node) !== JSON.stringify(node) || (Array.isArray(node) && node.length === 0);
    if (leaf && prefix !== '') {
      pairs.push([prefix, formatValue(prefix.slice(prefix.lastIndexOf('.') + 1), node)]);
      return;
    }
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node as object);
    if (entries.length === 0) pairs.push([prefix, '{}']);
    for (const [k, v] of entries) walk(prefix === '' ? k : `${prefix}.${k}`, v);
  };
  if (value === null || typeof value !== 'object') return [String(value)];
  walk('', value);
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${out.paint('dim', k.padEnd(width))}  ${v}`);
}
