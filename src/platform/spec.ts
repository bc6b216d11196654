/**
 * The contract as data: loading `spec/openapi.yaml` and the two things every reader of it needs,
 * the HTTP methods an operation may sit under and local `$ref` resolution.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { OpenApiDocument } from './http/openapi-router.js';

export const SPEC_PATH = path.resolve(import.meta.dirname, '../../spec/openapi.yaml');

/** The methods OpenAPI allows as keys of a path item. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The hand-written contract, parsed. Each caller gets its own copy (the validator annotates it). */
export function loadSpec(file = SPEC_PATH): OpenApiDocument {
  return parseYaml(readFileSync(file, 'utf8')) as OpenApiDocument;
}

/** Follows local `$ref`s (`#/components/…`) until a node that is not a reference. */
export function resolveRef<T = unknown>(doc: object, node: unknown): T {
  let current = node;
  for (let hops = 0; current && typeof current === 'object' && '$ref' in current; hops++) {
    const ref = (current as { $ref: unknown }).$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/') || hops > 32) throw new Error(`cannot resolve $ref ${String(ref)}`);
    current = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    if (current === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return current as T;
}
