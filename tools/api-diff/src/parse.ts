/**
 * From text to a document api-diff can compare: YAML or JSON, an object whose `openapi` field says
 * 3.x, and every `$ref` local and resolvable (api-diff follows `#/…` references only; a multi-file
 * spec is bundled first, e.g. with `redocly bundle`). Failing here, with the reason, is better than
 * a comparison that silently skips what it could not read.
 */
import { parse as parseYaml } from 'yaml';
import { isObject, refPointer, valueAt, type Json, type JsonObject } from './json.js';
import { SpecError } from './spec-error.js';

export type OpenApiDocument = JsonObject & { openapi: string };

export function parseSpec(text: string, origin: string): OpenApiDocument {
  let value: unknown;
  try {
    // JSON is valid YAML, but JSON.parse is many times faster on a multi-megabyte document.
    value = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new SpecError(origin, `${origin} is not valid YAML or JSON: ${message}`);
  }
  const document = assertOpenApi3(value, origin);
  checkRefs(document, origin);
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

function checkRefs(document: OpenApiDocument, origin: string): void {
  const stack: [Json, string, boolean][] = [[document, '', false]];
  while (stack.length > 0) {
    const [value, pointer, namesOnly] = stack.pop() as [Json, string, boolean];
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push([item, `${pointer}/${i}`, false]));
      continue;
    }
    if (!isObject(value)) continue;
    if (typeof value.$ref === 'string') {
      const target = refPointer(value.$ref);
      if (target === undefined) throw new SpecError(origin, `${origin}: $ref ${JSON.stringify(value.$ref)} at ${pointer || '/'} is not a local reference (#/…); bundle the document first`);
      if (valueAt(document, target) === undefined) throw new SpecError(origin, `${origin}: $ref ${JSON.stringify(value.$ref)} at ${pointer || '/'} does not resolve`);
    }
    for (const [key, child] of Object.entries(value)) {
      if (!namesOnly && (DATA_KEYS.has(key) || key.startsWith('x-'))) continue;
      stack.push([child, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, !namesOnly && NAME_MAPS.has(key)]);
    }
  }
}
