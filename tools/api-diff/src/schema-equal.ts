/**
 * Whether two schemas (one per document) accept and describe the same values, with `$ref`s
 * followed and annotations (description, examples, x-…) ignored, so a schema moved into
 * components and referenced is equal to the same schema written inline. Every other keyword counts,
 * validation keywords of JSON Schema 2020-12 included (`multipleOf`, `uniqueItems`,
 * `dependentRequired`, `contentMediaType`… compared as values; `prefixItems`, `contains`, `if`,
 * `not`, `patternProperties`, `dependentSchemas`, `contentSchema`… as schemas), and so does the one
 * extension the walk compares, `x-extensible-enum`. Equal here is a shortcut, not the last word:
 * two schemas written differently (`const: 'a'` and `enum: ['a']`) are unequal here and then found
 * to have no difference by the walk.
 *
 * The schema walk asks this before descending anywhere, so it is memoized per pair of resolved
 * objects: a component used by hundreds of operations is compared once. Recursive schemas are
 * compared coinductively (a pair met again while it is being compared is assumed equal, which is
 * sound because any real difference is still found on the way); a `true` that leaned on such an
 * assumption is only cached once the assumed pair itself is settled.
 */
import { isAnnotation, type Doc } from './document.js';
import { isObject, jsonEqual, pointerJoin, type Json, type JsonObject, type Node } from './json.js';

const SCHEMA_KEYWORDS = new Set([
  'additionalProperties', 'additionalItems', 'not', 'contains', 'propertyNames', 'if', 'then', 'else',
  'unevaluatedItems', 'unevaluatedProperties', 'contentSchema', 'items',
]);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
// isAnnotation already keeps the extensions that say something about the values (x-extensible-enum).
function counts(key: string): boolean {
  return !isAnnotation(key);
}

// Words for people only, in any OpenAPI object; everything else (deprecated, x-sunset, x-stability-level…) counts.
const PROSE = new Set(['description', 'summary', 'title', 'example', 'examples', 'externalDocs', '$comment']);

/**
 * What is compared: a schema's keywords (`schemas`), or any OpenAPI object's fields but its prose
 * (`definitions`: an operation, a response, a parameter, every object below followed through its
 * `$ref`s). Two operations equal as definitions give no finding, so the comparison can skip them.
 */
export type EqualityScope = 'schemas' | 'definitions';

// In definitions, the objects whose keys are names people chose (a property called `summary` is
// not prose), and the one whose values are such maps again (a callback's runtime expressions).
const NAME_MAPS = new Set([
  'properties', 'patternProperties', 'dependentSchemas', 'dependentRequired', '$defs', 'definitions', 'content', 'headers',
  'responses', 'links', 'encoding', 'mapping', 'scopes', 'variables', 'schemas', 'paths', 'webhooks',
]);
const NAME_MAPS_OF_NAME_MAPS = new Set(['callbacks']);

export class SchemaEquality {
  private readonly settled = new WeakMap<JsonObject, WeakMap<JsonObject, boolean>>();
  private readonly open = new WeakMap<JsonObject, Map<JsonObject, number>>();
  private depth = 0;
  // The shallowest open pair the current comparison assumed equal (Infinity: none).
  private lowestAssumed = Infinity;

  constructor(
    private readonly base: Doc,
    private readonly revision: Doc,
    private readonly scope: EqualityScope = 'schemas',
  ) {}

  equal(a: Node, b: Node, names = 0): boolean {
    const left = this.base.resolve(a);
    const right = this.revision.resolve(b);
    const x = left.value;
    const y = right.value;
    if (!isObject(x) || !isObject(y)) return jsonEqual(x, y);

    const known = this.settled.get(x)?.get(y);
    if (known !== undefined) return known;
    const openDepth = this.open.get(x)?.get(y);
    if (openDepth !== undefined) {
      this.lowestAssumed = Math.min(this.lowestAssumed, openDepth);
      return true;
    }

    const myDepth = ++this.depth;
    let pending = this.open.get(x);
    if (!pending) this.open.set(x, (pending = new Map()));
    pending.set(y, myDepth);
    const outerAssumed = this.lowestAssumed;
    this.lowestAssumed = Infinity;

    const result = this.keywordsEqual(left, right, names);

    pending.delete(y);
    this.depth--;
    if (!result || this.lowestAssumed >= myDepth) {
      let row = this.settled.get(x);
      if (!row) this.settled.set(x, (row = new WeakMap()));
      row.set(y, result);
    }
    const stillAssumed = this.lowestAssumed < myDepth ? this.lowestAssumed : Infinity;
    this.lowestAssumed = Math.min(outerAssumed, stillAssumed);
    return result;
  }

  /** `names`: how many levels of name maps this object and those below it are (definitions only). */
  private keywordsEqual(left: Node, right: Node, names = 0): boolean {
    const x = left.value as JsonObject;
    const y = right.value as JsonObject;
    const definitions = this.scope === 'definitions';
    const keys = new Set([...Object.keys(x), ...Object.keys(y)].filter(definitions ? (key) => names > 0 || !PROSE.has(key) : counts));
    for (const key of keys) {
      const a = x[key];
      const b = y[key];
      if (a === undefined || b === undefined) return false;
      const childA: Node = { value: a, pointer: pointerJoin(left.pointer, key) };
      const childB: Node = { value: b, pointer: pointerJoin(right.pointer, key) };
      if (definitions) {
        const below = names > 0 ? names - 1 : NAME_MAPS_OF_NAME_MAPS.has(key) ? 2 : NAME_MAPS.has(key) ? 1 : 0;
        if (Array.isArray(a) ? !this.listsEqual(childA, childB) : !this.equal(childA, childB, below)) return false;
      } else if (SCHEMA_MAP_KEYWORDS.has(key)) {
        if (!this.mapsEqual(childA, childB)) return false;
      } else if (SCHEMA_LIST_KEYWORDS.has(key) || (key === 'items' && Array.isArray(a))) {
        if (!this.listsEqual(childA, childB)) return false;
      } else if (SCHEMA_KEYWORDS.has(key)) {
        if (!this.equal(childA, childB)) return false;
      } else if (!jsonEqual(a, b)) {
        return false;
      }
    }
    return true;
  }

  private mapsEqual(a: Node, b: Node): boolean {
    if (!isObject(a.value) || !isObject(b.value)) return jsonEqual(a.value, b.value);
    const x = a.value;
    const y = b.value;
    const names = Object.keys(x);
    if (names.length !== Object.keys(y).length) return false;
    return names.every(
      (name) => Object.hasOwn(y, name) && this.equal({ value: x[name] as Json, pointer: pointerJoin(a.pointer, name) }, { value: y[name] as Json, pointer: pointerJoin(b.pointer, name) }),
    );
  }

  private listsEqual(a: Node, b: Node): boolean {
    if (!Array.isArray(a.value) || !Array.isArray(b.value)) return jsonEqual(a.value, b.value);
    const x = a.value;
    const y = b.value;
    if (x.length !== y.length) return false;
    return x.every((item, i) => this.equal({ value: item, pointer: pointerJoin(a.pointer, i) }, { value: y[i] as Json, pointer: pointerJoin(b.pointer, i) }));
  }
}
