/**
 * One side of the comparison: the parsed document and local `$ref` resolution. Resolution is
 * memoized per referring object, so resolving the same place twice gives the same object: the
 * schema walk detects recursion by object identity and never loops.
 */
import { isObject, pointerJoin, refPointer, valueAt, type Json, type JsonObject, type Node } from './json.js';

export type Side = 'base' | 'revision';

// Keywords that document a schema or object but never change what is valid on the wire.
const ANNOTATIONS = new Set(['description', 'summary', 'title', 'example', 'examples', 'externalDocs', '$comment', 'deprecated', 'xml']);

// The one extension that says what values to expect: compared like a keyword, never ignored.
const MEANINGFUL_EXTENSIONS = new Set(['x-extensible-enum']);

export function isAnnotation(key: string): boolean {
  return ANNOTATIONS.has(key) || (key.startsWith('x-') && !MEANINGFUL_EXTENSIONS.has(key));
}

// A chain of refs longer than this is a loop ('#/a' → '#/b' → '#/a'); real documents use one or two.
const MAX_REF_HOPS = 32;

export class Doc {
  private readonly resolved = new WeakMap<JsonObject, Node>();

  constructor(
    readonly root: JsonObject,
    readonly side: Side,
  ) {}

  /**
   * Follows `$ref` until a value that is not a reference. A reference with sibling keywords that
   * matter (3.1 allows them; 3.0 tools often honour them) is merged over its target. A reference
   * that cannot be followed (external, dangling, or a loop) stays as it is, so it is compared as a
   * literal.
   */
  resolve(node: Node): Node {
    const { value } = node;
    if (!isObject(value) || typeof value.$ref !== 'string') return node;
    const cached = this.resolved.get(value);
    if (cached) return cached;

    let target: Node = node;
    for (let hops = 0; isObject(target.value) && typeof target.value.$ref === 'string'; hops++) {
      const pointer = refPointer(target.value.$ref);
      const found = pointer === undefined || hops >= MAX_REF_HOPS ? undefined : valueAt(this.root, pointer);
      if (found === undefined || pointer === undefined) {
        target = node;
        break;
      }
      target = { value: found, pointer };
    }

    const siblings = Object.keys(value).filter((key) => key !== '$ref' && !isAnnotation(key));
    let result = target;
    if (target !== node && siblings.length > 0 && isObject(target.value)) {
      const merged: JsonObject = { ...target.value };
      for (const key of siblings) merged[key] = value[key] as Json;
      result = { value: merged, pointer: node.pointer };
    }
    this.resolved.set(value, result);
    return result;
  }

  /** The resolved child `key` of an object node, or undefined when it is absent. */
  child(node: Node, ...keys: (string | number)[]): Node | undefined {
    let current: Node | undefined = this.resolve(node);
    for (const key of keys) {
      if (!current) return undefined;
      const container: Json = current.value;
      let next: Json | undefined;
      if (Array.isArray(container) && typeof key === 'number') next = container[key];
      else if (isObject(container) && Object.hasOwn(container, String(key))) next = container[String(key)];
      if (next === undefined) return undefined;
      current = this.resolve({ value: next, pointer: pointerJoin(current.pointer, key) });
    }
    return current;
  }

  /** The entries of a resolved object node as child nodes (not resolved), in document order. */
  entries(node: Node | undefined): [string, Node][] {
    if (!node) return [];
    const value = this.resolve(node);
    if (!isObject(value.value)) return [];
    return Object.entries(value.value).map(([key, child]) => [key, { value: child, pointer: pointerJoin(value.pointer, key) }]);
  }

  /** The items of a resolved array node as child nodes (not resolved). */
  items(node: Node | undefined): Node[] {
    if (!node) return [];
    const value = this.resolve(node);
    if (!Array.isArray(value.value)) return [];
    return value.value.map((item, i) => ({ value: item, pointer: pointerJoin(value.pointer, i) }));
  }
}
