/**
 * The contract as data: loading `spec/openapi.yaml`, and what every reader of an OpenAPI document
 * needs — the HTTP methods an operation may sit under, local `$ref` resolution (one step, or every
 * reference inlined), and the list of operations. The server, the generator, the tests, the
 * benchmarks and the spec lint all walk documents with these; tools/api-diff, a tool of its own,
 * has its own.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';

/** An OpenAPI 3.1 document, as the validator and the router take it. */
export type OpenApiDocument = OpenAPIV3.DocumentV3_1;

export const SPEC_PATH = path.resolve(import.meta.dirname, '../../spec/openapi.yaml');

/** The methods OpenAPI allows as keys of a path item. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

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

/** Inlines every `$ref` (siblings of a `$ref` override its target, as OpenAPI 3.1 allows). */
export function inlineRefs<T>(doc: object, node: T, depth = 0): T {
  if (depth > 64) throw new Error('the document nests deeper than 64 levels (a recursive schema?)');
  if (Array.isArray(node)) return node.map((item) => inlineRefs(doc, item, depth + 1)) as T;
  if (!node || typeof node !== 'object') return node;
  const { $ref, ...rest } = node as Record<string, unknown>;
  if (typeof $ref !== 'string') return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, inlineRefs(doc, v, depth + 1)])) as T;
  const target = resolveRef<Record<string, unknown>>(doc, { $ref });
  return inlineRefs(doc, { ...target, ...rest } as T, depth + 1);
}

/** One operation of a document: where it sits, and its object as written (references unresolved). */
export interface OperationEntry<Op = Record<string, unknown>> {
  readonly path: string;
  readonly method: HttpMethod;
  readonly operationId: string | undefined;
  readonly operation: Op;
  /** The path item's own parameters, which every operation under it shares. */
  readonly pathParameters: readonly unknown[];
}

/** Every operation of the document, in document order. */
export function operationsOf<Op = Record<string, unknown>>(doc: { paths?: Record<string, unknown> }): OperationEntry<Op>[] {
  const entries: OperationEntry<Op>[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = resolveRef<Record<string, unknown> & { parameters?: unknown[] }>(doc, rawItem);
    for (const method of HTTP_METHODS) {
      const operation = item[method] as (Op & { operationId?: string }) | undefined;
      if (!operation) continue;
      entries.push({ path, method, operationId: operation.operationId, operation, pathParameters: item.parameters ?? [] });
    }
  }
  return entries;
}
