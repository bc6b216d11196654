/**
 * Deterministic random edits to an OpenAPI document, for the benchmark: a seeded generator picks
 * N edits, alternately additive and breaking, at places the document's paths reach, so the same
 * document, seed and N always give the same revision.
 */
import { isObject, valueAt, type Json, type JsonObject } from './src/json.js';

export interface Mutation {
  readonly kind: string;
  readonly breaking: boolean;
  readonly where: string;
}

// mulberry32: small, fast, and good enough to spread edits over a document.
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface Sites {
  readonly operations: { path: string; method: string; item: JsonObject }[];
  readonly objects: { where: string; schema: JsonObject }[];
  readonly enums: { where: string; schema: JsonObject }[];
  readonly strings: { where: string; schema: JsonObject }[];
  readonly queries: { where: string; parameter: JsonObject }[];
}

function collect(doc: JsonObject): Sites {
  const sites: Sites = { operations: [], objects: [], enums: [], strings: [], queries: [] };
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) if (isObject(item[method])) sites.operations.push({ path, method, item });
  }
  // Only what the paths reach, through $refs: an edit to a schema nothing uses changes nothing.
  const stack: [Json, string][] = [[doc.paths ?? {}, '/paths']];
  const seen = new WeakSet<object>();
  while (stack.length > 0) {
    const [value, where] = stack.pop() as [Json, string];
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) {
      value.forEach((child, i) => stack.push([child, `${where}/${i}`]));
      continue;
    }
    if (typeof value.$ref === 'string' && value.$ref.startsWith('#/')) {
      const pointer = value.$ref.slice(1);
      stack.push([valueAt(doc, decodeURIComponent(pointer)) ?? null, pointer]);
      continue;
    }
    if (value.type === 'object' && isObject(value.properties) && Object.keys(value.properties).length > 0) sites.objects.push({ where, schema: value });
    if (Array.isArray(value.enum) && value.enum.length >= 2 && value.enum.every((v) => typeof v === 'string')) sites.enums.push({ where, schema: value });
    else if (value.type === 'string' && value.maxLength === undefined) sites.strings.push({ where, schema: value });
    if (value.in === 'query' && value.required !== true && typeof value.name === 'string') sites.queries.push({ where, parameter: value });
    for (const [key, child] of Object.entries(value)) {
      if (key !== 'example' && key !== 'examples') stack.push([child, `${where}/${key}`]);
    }
  }
  // Object.entries order is the document's; sorting makes the sites independent of walk order.
  for (const list of [sites.objects, sites.enums, sites.strings, sites.queries]) list.sort((a, b) => (a.where < b.where ? -1 : a.where > b.where ? 1 : 0));
  return sites;
}

type Edit = (doc: JsonObject, sites: Sites, pick: <T>(list: readonly T[]) => T | undefined, i: number) => string | undefined;

const ADDITIVE: [string, Edit][] = [
  ['add-operation', (doc, s, pick, i) => {
    const op = pick(s.operations);
    if (!op) return undefined;
    const path = `${op.path.replace(/\/$/, '')}/bench-${i}`;
    (doc.paths as JsonObject)[path] = { get: { operationId: `bench${i}`, responses: { '200': { description: 'OK' } } } };
    return path;
  }],
  ['add-optional-property', (_doc, s, pick, i) => {
    const site = pick(s.objects);
    if (site) (site.schema.properties as JsonObject)[`bench_${i}`] = { type: 'string' };
    return site?.where;
  }],
  ['add-enum-value', (_doc, s, pick, i) => {
    const site = pick(s.enums);
    if (site) (site.schema.enum as Json[]).push(`bench_${i}`);
    return site?.where;
  }],
  ['deprecate-operation', (_doc, s, pick) => {
    const op = pick(s.operations);
    const operation = op?.item[op.method];
    if (!op || !isObject(operation)) return undefined;
    operation.deprecated = true;
    return `${op.method} ${op.path}`;
  }],
];

const BREAKING: [string, Edit][] = [
  ['remove-operation', (_doc, s, pick) => {
    const op = pick(s.operations);
    if (!op || !isObject(op.item[op.method])) return undefined;
    delete op.item[op.method];
    return `${op.method} ${op.path}`;
  }],
  ['add-required-property', (_doc, s, pick, i) => {
    const site = pick(s.objects);
    if (!site) return undefined;
    (site.schema.properties as JsonObject)[`bench_required_${i}`] = { type: 'integer' };
    site.schema.required = [...(Array.isArray(site.schema.required) ? site.schema.required : []), `bench_required_${i}`];
    return site.where;
  }],
  ['remove-enum-value', (_doc, s, pick) => {
    const site = pick(s.enums);
    if (site) (site.schema.enum as Json[]).pop();
    return site?.where;
  }],
  ['set-max-length', (_doc, s, pick) => {
    const site = pick(s.strings);
    if (site) site.schema.maxLength = 3;
    return site?.where;
  }],
  ['require-query-parameter', (_doc, s, pick) => {
    const site = pick(s.queries);
    if (site) site.parameter.required = true;
    return site?.where;
  }],
];

/**
 * Applies `count` edits to `doc` in place and lists them: additive and breaking in turn, starting
 * with a breaking one when `breakingFirst`.
 */
export function mutate(doc: JsonObject, count: number, seed: number, breakingFirst = false): Mutation[] {
  const random = generator(seed);
  const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];
  const sites = collect(doc);
  const applied: Mutation[] = [];
  for (let i = 0; i < count; i++) {
    const breaking = i % 2 === (breakingFirst ? 0 : 1);
    const [kind, edit] = pick(breaking ? BREAKING : ADDITIVE) as [string, Edit];
    const where = edit(doc, sites, pick, i);
    if (where) applied.push({ kind, breaking, where });
  }
  return applied;
}
