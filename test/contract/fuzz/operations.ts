/**
 * The operations of `spec/openapi.yaml`, read from the document itself and dereferenced, in the
 * shape the fuzzer needs: how to authenticate, which parameters and body to generate, and which
 * statuses, media types and headers each answer may have. Nothing here lists an operation by
 * name, so an operation added to the spec is fuzzed without touching the test.
 */
import { HTTP_METHODS, inlineRefs, loadSpec, type HttpMethod } from '../../../src/platform/spec.js';

/** A JSON Schema node with every `$ref` inlined (the spec's request schemas are not recursive). */
export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  propertyNames?: Schema;
  minProperties?: number;
  maxProperties?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  [keyword: string]: unknown;
}

export type { HttpMethod };

export interface ParameterSpec {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  readonly schema: Schema;
  /** `deepObject` parameters travel as `name[key]=value`. */
  readonly style?: string;
  /** Whether `name=` (an empty value) is allowed; OpenAPI's default is no. */
  readonly allowEmptyValue: boolean;
}

export interface ResponseSpec {
  /** The documented media types, e.g. `application/json`; empty when the answer has no body. */
  readonly contentTypes: readonly string[];
  /** The body's schema by media type. */
  readonly schemas: ReadonlyMap<string, Schema>;
  /** Documented headers by lower-case name. */
  readonly headers: ReadonlyMap<string, Schema>;
  /** The lower-case names of the headers marked `required: true`: every such answer carries them. */
  readonly requiredHeaders: ReadonlySet<string>;
}

export interface SecuritySpec {
  /** A key of `components.securitySchemes`, e.g. `apiKey` or `adminToken`. */
  readonly scheme: string;
  readonly scopes: readonly string[];
}

export interface OperationSpec {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** The path template, e.g. `/v1/customers/{id}`. */
  readonly path: string;
  /** null for `security: []`. */
  readonly security: SecuritySpec | null;
  readonly parameters: readonly ParameterSpec[];
  readonly requestBody?: { readonly required: boolean; readonly contentType: string; readonly schema: Schema };
  /** By status code. */
  readonly responses: ReadonlyMap<number, ResponseSpec>;
  /** The operation that supersedes this deprecated one (`x-successor`), if any. */
  readonly successor?: string;
  /** `oauth` when the operation answers a malformed request in OAuth's format (`x-error-format`), not as a problem. */
  readonly errorFormat?: string;
}

type Json = Record<string, unknown>;

/** Inlines every `$ref` (siblings of a `$ref` override the target, as in OpenAPI 3.1). */
export function dereference<T>(doc: Json, node: T): T {
  return inlineRefs(doc, node);
}

function securityOf(requirements: Record<string, string[]>[] | undefined): SecuritySpec | null {
  const first = requirements?.[0];
  if (!first) return null;
  const [entry] = Object.entries(first);
  if (!entry) return null;
  return { scheme: entry[0], scopes: entry[1] ?? [] };
}

/** Every operation of the document, in document order. */
export function operationsOf(document: Json = loadSpec() as unknown as Json): OperationSpec[] {
  const doc = document;
  const globalSecurity = doc.security as Record<string, string[]>[] | undefined;
  const operations: OperationSpec[] = [];
  for (const [path, rawItem] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    const item = dereference(doc, rawItem);
    const shared = (item.parameters ?? []) as ParameterSpec[];
    // In the order the document lists them (a path's GET, then PATCH, then DELETE, say).
    for (const method of Object.keys(item).filter((key): key is HttpMethod => (HTTP_METHODS as readonly string[]).includes(key))) {
      const op = item[method] as Json;
      const own = (op.parameters ?? []) as ParameterSpec[];
      // An operation's parameter replaces a path-level one with the same name and location.
      const parameters = [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own].map((p) => ({
        name: p.name,
        in: p.in,
        required: p.required === true,
        schema: p.schema ?? {},
        style: p.style,
        allowEmptyValue: p.allowEmptyValue === true,
      }));
      const body = op.requestBody as { required?: boolean; content?: Record<string, { schema?: Schema }> } | undefined;
      const [contentType, media] = Object.entries(body?.content ?? {})[0] ?? [];
      const responses = new Map<number, ResponseSpec>();
      for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
        if (!/^\d{3}$/.test(status)) throw new Error(`${String(op.operationId)}: the fuzzer only understands numeric response codes, got ${status}`);
        const documented = Object.entries((response.headers ?? {}) as Record<string, { schema?: Schema; required?: boolean }>);
        const headers = documented.map(([name, h]) => [name.toLowerCase(), h.schema ?? {}] as const);
        const requiredHeaders = new Set(documented.filter(([, h]) => h.required === true).map(([name]) => name.toLowerCase()));
        const content = Object.entries((response.content ?? {}) as Record<string, { schema?: Schema }>);
        responses.set(Number(status), {
          contentTypes: content.map(([type]) => type),
          schemas: new Map(content.map(([type, m]) => [type, m.schema ?? {}])),
          headers: new Map(headers),
          requiredHeaders,
        });
      }
      operations.push({
        operationId: String(op.operationId),
        method,
        path,
        security: securityOf((op.security ?? globalSecurity) as Record<string, string[]>[] | undefined),
        parameters,
        requestBody: contentType && media ? { required: body?.required === true, contentType, schema: media.schema ?? {} } : undefined,
        responses,
        successor: typeof op['x-successor'] === 'string' ? op['x-successor'] : undefined,
        errorFormat: typeof op['x-error-format'] === 'string' ? op['x-error-format'] : undefined,
      });
    }
  }
  return operations;
}

/**
 * The other versions of `op` (its `x-successor` chain, both ways): views of the same resources,
 * so a list's cursor pages its other versions too.
 */
export function otherVersionsOf(op: OperationSpec, operations: readonly OperationSpec[]): Set<string> {
  const related = new Set([op.operationId]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const o of operations) {
      if (o.successor === undefined) continue;
      if (related.has(o.operationId) !== related.has(o.successor)) {
        related.add(o.operationId);
        related.add(o.successor);
        grew = true;
      }
    }
  }
  related.delete(op.operationId);
  return related;
}
