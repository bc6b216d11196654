/**
 * From text to a document api-diff can compare: YAML or JSON, an object whose `openapi` field says
 * 3.x, and every `$ref` resolvable. The comparison follows local `#/…` references only; a
 * reference to another file is either bundled into the document first (loadSpec does that, with
 * bundle.ts, and hands the rewriting to `resolveExternal`) or refused. Failing here, with the
 * reason, is better than a comparison that silently skips what it could not read.
 */
import { createRequire } from 'node:module';
import { isObject, refPointer, valueAt, type Json, type JsonObject } from './json.js';
import { SpecError } from './spec-error.js';
import { parseYamlSubset } from './yaml-subset.js';

export type OpenApiDocument = JsonObject & { openapi: string };

/**
 * Rewrites a `$ref` that is not local (`other.yaml#/Pet`) into a local one, bundling what it
 * names into `document`; `at` gives the pointer of the object holding the reference (for messages).
 */
export type ExternalRefResolver = (document: OpenApiDocument, ref: string, at: () => string) => string;

export interface ParseOptions {
  /** Without one, a `$ref` to another file is refused. */
  readonly resolveExternal?: ExternalRefResolver;
}

// `yaml` is loaded only for YAML the fast reader (yaml-subset.ts) leaves to it: loading the package
// is a noticeable part of a command that reads JSON or plain YAML.
const requireModule = createRequire(import.meta.url);
let yamlParse: ((text: string) => unknown) | undefined;

/** YAML or JSON text to a value; throws the parser's error. */
export function parseText(text: string): unknown {
  // JSON is valid YAML, but JSON.parse is many times faster on a multi-megabyte document.
  if (/^\s*[{[]/.test(text)) return JSON.parse(text);
  const value = parseYamlSubset(text);
  if (value !== undefined) return value;
  yamlParse ??= (requireModule('yaml') as typeof import('yaml')).parse;
  return yamlParse(text);
}

export function parseSpec(text: string, origin: string, options: ParseOptions = {}): OpenApiDocument {
  let value: unknown;
  try {
    value = parseText(text);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new SpecError(origin, `${origin} is not valid YAML or JSON: ${message}`);
  }
  const document = assertOpenApi3(value, origin);
  checkRefs(document, origin, options.resolveExternal);
  return document;
}

export function assertOpenApi3(value: unknown, origin: string): OpenApiDocument {
  if (!isObject(value)) throw new SpecError(origin, `${origin} is not an OpenAPI document (its top level is not an object)`);
  if (typeof value.swagger === 'string') throw new SpecError(origin, `${origin} is Swagger ${value.swagger}, not OpenAPI 3`);
  if (typeof value.openapi !== 'string') throw new SpecError(origin, `${origin} is not an OpenAPI document (no \`openapi\` version field)`);
  if (!/^3\.\d+(\.\d+)?(-.+)?$/.test(value.openapi)) throw new SpecError(origin, `${origin} is OpenAPI ${value.openapi}, not 3.x`);
  if (value.paths !== undefined && !isObject(value.paths)) throw new SpecError(origin, `${origin} has a \`paths\` that is not an object`);
  return value as OpenApiDocument;
}

// Example payloads are data, not schema: a "$ref" key inside one is not a reference. (A property
// or a component that happens to be named "example" is still walked: its parent is a map of names.)
const DATA_KEYS = new Set(['example', 'examples', 'default', 'const', 'enum']);
const NAME_MAPS = new Set(['properties', 'patternProperties', 'schemas', '$defs', 'definitions', 'dependentSchemas']);

function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The pointer of `target` (an object, found by identity) under `root`, `base` being root's own.
 * Only messages need it, so the walk below does not keep paths; this finds one when asked.
 */
function pointerTo(root: Json, target: object, base: string): string {
  const stack: [Json, string][] = [[root, base]];
  while (stack.length > 0) {
    const [value, pointer] = stack.pop() as [Json, string];
    if (value === target) return pointer;
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, `${pointer}/${escapeToken(key)}`]);
    }
  }
  return base;
}

/**
 * Calls `visit` with every object under `value` that has a string `$ref`, and a function giving
 * its pointer (`base` being the pointer of `value`), skipping data (examples, defaults, const,
 * enum, `x-` extensions). Objects in `seen` are not walked again, and every object walked is added
 * to it.
 */
export function walkRefs(value: Json, base: string, visit: (holder: JsonObject, pointer: () => string) => void, seen?: WeakSet<object>): void {
  // Two stacks (the value, and whether it is a map of names) instead of an entry per value: a large
  // document has millions of values, and only objects and arrays are pushed.
  const values: Json[] = [value];
  const namesOnly: boolean[] = [false];
  while (values.length > 0) {
    const current = values.pop() as Json;
    const names = namesOnly.pop() as boolean;
    if (typeof current !== 'object' || current === null) continue;
    if (seen) {
      if (seen.has(current)) continue;
      seen.add(current);
    }
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const item = current[i];
        if (typeof item === 'object' && item !== null) {
          values.push(item);
          namesOnly.push(false);
        }
      }
      continue;
    }
    if (typeof current.$ref === 'string') visit(current, () => pointerTo(value, current, base));
    for (const key in current) {
      const child = current[key];
      if (typeof child !== 'object' || child === null || !Object.hasOwn(current, key)) continue;
      if (!names && (DATA_KEYS.has(key) || key.startsWith('x-'))) continue;
      values.push(child);
      namesOnly.push(!names && NAME_MAPS.has(key));
    }
  }
}

function checkRefs(document: OpenApiDocument, origin: string, resolveExternal: ExternalRefResolver | undefined): void {
  // Most documents name the same few targets many times: each is looked up once.
  const resolves = new Map<string, boolean>();
  walkRefs(document, '', (holder, pointer) => {
    let ref = holder.$ref as string;
    let target = refPointer(ref);
    if (target === undefined) {
      if (!resolveExternal) throw new SpecError(origin, `${origin}: $ref ${JSON.stringify(ref)} at ${pointer() || '/'} is not a local reference (#/…); load the document with loadSpec, which bundles the files it names`);
      ref = resolveExternal(document, ref, pointer);
      holder.$ref = ref;
      target = refPointer(ref);
      if (target === undefined) throw new Error(`an external $ref was rewritten to ${JSON.stringify(ref)}, which is not local`);
    }
    let found = resolves.get(target);
    if (found === undefined) {
      found = valueAt(document, target) !== undefined;
      resolves.set(target, found);
    }
    if (!found) throw new SpecError(origin, `${origin}: $ref ${JSON.stringify(ref)} at ${pointer() || '/'} does not resolve`);
  });
}
