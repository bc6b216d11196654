/**
 * The operations of one document, keyed so that the same endpoint matches across the two sides
 * even when a path parameter was renamed (`/customers/{id}` and `/customers/{customer_id}` are one
 * endpoint to a client), and each with its effective parameters (path-level ones merged in, the
 * operation's own winning, as OpenAPI says).
 */
import type { Doc } from './document.js';
import { isObject, type JsonObject, type Node } from './json.js';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Parameter {
  /** `in` + name; header names are case-insensitive (RFC 9110), so they are lower-cased here. */
  readonly key: string;
  readonly in: string;
  readonly name: string;
  readonly required: boolean;
  readonly deprecated: boolean;
  readonly sunset?: string;
  readonly node: Node<JsonObject>;
  /** The parameter's schema: `schema`, or the schema of its single `content` entry. */
  readonly schema?: Node;
}

export interface Operation {
  /** Normalized path template + method: what matches the same endpoint on both sides. */
  readonly key: string;
  readonly normalizedPath: string;
  readonly path: string;
  readonly method: string;
  readonly node: Node<JsonObject>;
  readonly parameters: ReadonlyMap<string, Parameter>;
}

/** A parameter's schema, or the schema that allows anything when it has none. */
export function parameterSchema(parameter: Parameter): Node {
  return parameter.schema ?? { value: {}, pointer: parameter.node.pointer };
}

/**
 * The media types of a body or response (`content`), keyed case-insensitively (`Application/JSON`
 * is `application/json`), each with its spelling in the document and its node.
 */
export function mediaTypes(doc: Doc, owner: Node | undefined): Map<string, [string, Node]> {
  return new Map(doc.entries(owner && doc.child(owner, 'content')).map(([type, node]) => [type.toLowerCase(), [type, node]]));
}

export function normalizePath(path: string): string {
  return path.replace(/\{[^}/]*\}/g, '{}');
}

/**
 * The `x-sunset` (or `sunset`) extension of a deprecated operation or parameter, as written; a
 * value that is not a string (a number, an object) as its JSON text, which no date reading accepts.
 */
export function sunsetOf(value: JsonObject): string | undefined {
  const raw = value['x-sunset'] ?? value.sunset;
  if (raw === undefined || raw === null) return undefined;
  return typeof raw === 'string' ? raw : JSON.stringify(raw);
}

function parameterOf(doc: Doc, node: Node): Parameter | undefined {
  const resolved = doc.resolve(node);
  const value = resolved.value;
  if (!isObject(value) || typeof value.name !== 'string' || typeof value.in !== 'string') return undefined;
  const location = value.in;
  const name = value.name;
  let schema = doc.child(resolved, 'schema');
  if (!schema) {
    const content = doc.entries(doc.child(resolved, 'content'));
    if (content.length > 0) schema = doc.child((content[0] as [string, Node])[1], 'schema');
  }
  return {
    key: `${location}:${location === 'header' ? name.toLowerCase() : name}`,
    in: location,
    name,
    // Path parameters are always required, whatever the document says.
    required: location === 'path' || value.required === true,
    deprecated: value.deprecated === true,
    sunset: sunsetOf(value),
    node: resolved as Node<JsonObject>,
    schema,
  };
}

/**
 * The operations of one path item, in method order, each with its effective parameters (path-level
 * ones merged in, the operation's own winning). `path` is the key the item is under: a path
 * template, a webhook's name or a callback's runtime expression.
 */
export function pathItemOperations(doc: Doc, rawItem: Node, path: string): Operation[] {
  const item = doc.resolve(rawItem);
  if (!isObject(item.value)) return [];
  const shared = doc.items(doc.child(item, 'parameters'));
  const operations: Operation[] = [];
  for (const method of HTTP_METHODS) {
    const node = doc.child(item, method);
    if (!node || !isObject(node.value)) continue;
    const parameters = new Map<string, Parameter>();
    for (const raw of [...shared, ...doc.items(doc.child(node, 'parameters'))]) {
      const parameter = parameterOf(doc, raw);
      if (parameter) parameters.set(parameter.key, parameter);
    }
    const normalizedPath = normalizePath(path);
    operations.push({ key: `${normalizedPath} ${method}`, normalizedPath, path, method, node: node as Node<JsonObject>, parameters });
  }
  return operations;
}

export function collectOperations(doc: Doc): Map<string, Operation> {
  const operations = new Map<string, Operation>();
  for (const [path, rawItem] of doc.entries(doc.child({ value: doc.root, pointer: '' }, 'paths'))) {
    for (const operation of pathItemOperations(doc, rawItem, path)) {
      if (!operations.has(operation.key)) operations.set(operation.key, operation);
    }
  }
  return operations;
}
