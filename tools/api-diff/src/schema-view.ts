/**
 * A schema as the comparison needs it: the keywords that decide what is valid, normalized across
 * OpenAPI 3.0 and 3.1 so that equal meanings compare equal.
 *
 * - Nullability is one flag: 3.0 `nullable: true`, 3.1 `type: [x, 'null']`, `null` in an enum, or
 *   a `{type: 'null'}` alternative in a oneOf/anyOf.
 * - A oneOf/anyOf left with a single alternative once null is taken out (`oneOf: [$ref, null]`,
 *   the usual 3.1 way to write "nullable X") is that alternative.
 * - allOf is flattened: members' properties, required names and constraints are merged into one
 *   view (the tightest bound wins, types and enums intersect, multipleOf becomes a common multiple,
 *   tuple positions, pattern properties and dependent schemas are combined per position or key,
 *   conditionals are collected), so a constraint an allOf member adds is reported as the property
 *   change it is, at the property's path.
 * - JSON Schema 2020-12's keywords are read as what they constrain: `const` is a one-value enum,
 *   an empty `pattern` is no pattern, `unevaluatedProperties`/`unevaluatedItems` stand in for
 *   `additionalProperties`/`items` when those are absent (as `false`, they close the object or the
 *   tuple), `not: {}` allows nothing, and `minContains`/`maxContains` are read beside `contains`.
 * - `x-extensible-enum` (a list of values clients must expect more of) is kept apart from `enum`:
 *   it does not restrict what is valid.
 *
 * Views are memoized per resolved object, so the same schema always yields the same view (and the
 * same synthetic objects for merged properties): identity is what the walk uses to stop recursion.
 */
import type { Doc } from './document.js';
import { isObject, jsonEqual, pointerJoin, type Json, type JsonObject, type Node } from './json.js';

export interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

export interface Alternative {
  /**
   * How messages and paths name it: the referenced schema's name, else its title, else the names
   * of the schemas its allOf references (`rule+ruleset-info`), else its position (`#2`).
   */
  readonly label: string;
  readonly ref?: string;
  readonly title?: string;
  /** Position in its list; undefined for a schema standing in for a list of one. */
  readonly index?: number;
  readonly node: Node;
}

/** An `if` with its `then` and `else` (either may be absent). */
export interface Conditional {
  readonly if: Node;
  readonly then?: Node;
  readonly else?: Node;
}

export interface SchemaView {
  /** Identity of the schema this view describes; the walk's recursion guard keys on it. */
  readonly identity: object;
  readonly pointer: string;
  /** Allowed types without 'null'; undefined when the schema does not restrict the type. */
  readonly types?: ReadonlySet<string>;
  readonly nullable: boolean;
  readonly format?: string;
  /** Allowed values without null (const counts as a one-value enum); undefined when unrestricted. */
  readonly enum?: readonly Json[];
  readonly pattern?: string;
  readonly maximum?: Bound;
  readonly minimum?: Bound;
  readonly maxLength?: number;
  readonly minLength?: number;
  readonly maxItems?: number;
  readonly minItems?: number;
  readonly maxProperties?: number;
  readonly minProperties?: number;
  readonly multipleOf?: number;
  readonly uniqueItems: boolean;
  /** The values of `x-extensible-enum`: documented values, with more to be expected; no restriction. */
  readonly extensibleEnum?: readonly Json[];
  readonly default?: { readonly value: Json };
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
  readonly properties: ReadonlyMap<string, Node>;
  readonly required: ReadonlySet<string>;
  /** additionalProperties: false (or unevaluatedProperties: false without additionalProperties). */
  readonly closed: boolean;
  /** The schema of properties not listed (additionalProperties, or unevaluatedProperties, as a schema). */
  readonly additional?: Node;
  /** The schema every property name must match (propertyNames). */
  readonly propertyNames?: Node;
  /** The schema every property whose name matches a pattern must match, by pattern (patternProperties). */
  readonly patternProperties: ReadonlyMap<string, Node>;
  /** Names that must be present when a name is (dependentRequired). */
  readonly dependentRequired: ReadonlyMap<string, ReadonlySet<string>>;
  /** The schema the object must match when a name is present (dependentSchemas). */
  readonly dependentSchemas: ReadonlyMap<string, Node>;
  /** The schema of the items after the tuple positions (items, or unevaluatedItems as a schema). */
  readonly items?: Node;
  /** The tuple positions (prefixItems). */
  readonly prefixItems: readonly Node[];
  /** No items beyond the tuple positions (items: false, or unevaluatedItems: false). */
  readonly closedItems: boolean;
  /** The schema some item must match (contains). */
  readonly contains?: Node;
  readonly minContains?: number;
  readonly maxContains?: number;
  /** if/then/else, one per allOf member that has one. */
  readonly conditionals: readonly Conditional[];
  /** The schema values must not match (not), other than `not: {}` (which is `types` empty). */
  readonly not?: Node;
  readonly contentMediaType?: string;
  readonly contentEncoding?: string;
  /** The schema of a string's decoded content (contentSchema). */
  readonly contentSchema?: Node;
  readonly oneOf: readonly Alternative[];
  readonly anyOf: readonly Alternative[];
  /** The direct allOf members, for reporting members added or removed (their content is merged above). */
  readonly allOf: readonly Alternative[];
  /** The lone alternative of a `oneOf`/`anyOf: [X, null]`, merged above: X, to match against a list of alternatives. */
  readonly single?: Alternative;
}

const ANY: JsonObject = {};
const NOTHING: JsonObject = { not: {} };

/** The last segment of a `$ref`: the referenced schema's name. */
export function refName(ref: string): string {
  const last = ref.split('/').pop() ?? ref;
  try {
    return decodeURIComponent(last).replaceAll('~1', '/').replaceAll('~0', '~');
  } catch {
    return last;
  }
}

// Mutable while a view is assembled from the schema's own keywords and its allOf members.
interface Draft {
  types?: Set<string>;
  /** The schema's own type or enum says null is allowed (or 3.0 nullable: true). */
  ownNull: boolean;
  /** The schema's own type, enum or const restricts values (so it may forbid null). */
  ownRestricts: boolean;
  /** A oneOf/anyOf alternative is `{type: 'null'}`. */
  nullAlternative: boolean;
  nullableFlag: boolean;
  format?: string;
  enum?: Json[];
  pattern?: string;
  maximum?: Bound;
  minimum?: Bound;
  maxLength?: number;
  minLength?: number;
  maxItems?: number;
  minItems?: number;
  maxProperties?: number;
  minProperties?: number;
  multipleOf?: number;
  uniqueItems: boolean;
  extensibleEnum?: Json[];
  default?: { value: Json };
  readOnly: boolean;
  writeOnly: boolean;
  properties: Map<string, Node[]>;
  required: Set<string>;
  closed: boolean;
  additional?: Node;
  propertyNames?: Node;
  patternProperties: Map<string, Node[]>;
  dependentRequired: Map<string, Set<string>>;
  dependentSchemas: Map<string, Node[]>;
  items: Node[];
  prefixItems: Node[][];
  closedItems: boolean;
  contains?: Node;
  minContains?: number;
  maxContains?: number;
  conditionals: Conditional[];
  not?: Node;
  contentMediaType?: string;
  contentEncoding?: string;
  contentSchema?: Node;
  oneOf?: Alternative[];
  anyOf?: Alternative[];
  /** The document's allOf members: merged, and reported when added or removed. */
  allOf: Alternative[];
  /** Merged like allOf members but not reported: the parts of a synthetic merge. */
  parts: Node[];
  /** The one alternative of a oneOf/anyOf whose other alternative is null: merged, never forbids null. */
  orNull: Node[];
  single?: Alternative;
}

function isTypeWithin(type: string, set: ReadonlySet<string>): boolean {
  return set.has(type) || (type === 'integer' && set.has('number'));
}

export function intersectTypes(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): Set<string> | undefined {
  if (!a) return b ? new Set(b) : undefined;
  if (!b) return new Set(a);
  const out = new Set<string>();
  for (const type of a) if (isTypeWithin(type, b)) out.add(type);
  for (const type of b) if (isTypeWithin(type, a)) out.add(type);
  return out;
}

/** Whether every value `inner` allows is allowed by `outer` (undefined: any type). */
export function typesWithin(inner: ReadonlySet<string> | undefined, outer: ReadonlySet<string> | undefined): boolean {
  if (!outer) return true;
  if (!inner) return false;
  return [...inner].every((type) => isTypeWithin(type, outer));
}

function tighterUpper(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.value !== b.value) return a.value < b.value ? a : b;
  return a.exclusive ? a : b;
}

function tighterLower(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.value !== b.value) return a.value > b.value ? a : b;
  return a.exclusive ? a : b;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function numberOf(value: Json | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Whether `a` is a whole multiple of `b` (within floating-point error: 0.3 of 0.1). */
export function isMultipleOf(a: number, b: number): boolean {
  if (b === 0) return false;
  const ratio = a / b;
  return Math.abs(ratio - Math.round(ratio)) < 1e-9 * Math.max(1, Math.abs(ratio));
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

// A value valid under two multipleOf must be a multiple of both: the larger when one divides the
// other, the least common multiple of two integers; otherwise (two unrelated fractions) the first,
// which is looser than the truth.
function commonMultiple(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (isMultipleOf(a, b)) return a;
  if (isMultipleOf(b, a)) return b;
  if (Number.isInteger(a) && Number.isInteger(b)) return (a / gcd(a, b)) * b;
  return a;
}

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function stringOf(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export class SchemaViews {
  private readonly cache = new WeakMap<JsonObject, SchemaView>();
  private readonly building = new WeakSet<JsonObject>();
  // Synthetic schemas made by `combine`, with the nodes they merge (which keep their pointers).
  private readonly syntheticParts = new WeakMap<JsonObject, Node[]>();

  constructor(private readonly doc: Doc) {}

  of(node: Node): SchemaView {
    const resolved = this.doc.resolve(node);
    const value = resolved.value;
    if (value === false) return this.build({ value: NOTHING, pointer: resolved.pointer });
    if (!isObject(value)) return this.build({ value: ANY, pointer: resolved.pointer });
    const cached = this.cache.get(value);
    if (cached) return cached;
    // An allOf that reaches itself again: the inner occurrence adds nothing new.
    if (this.building.has(value)) return this.build({ value: ANY, pointer: resolved.pointer });
    this.building.add(value);
    try {
      const view = this.build({ value, pointer: resolved.pointer });
      this.cache.set(value, view);
      return view;
    } finally {
      this.building.delete(value);
    }
  }

  /** The alternatives of a oneOf/anyOf/allOf list, labelled for messages. */
  alternatives(list: Node | undefined): Alternative[] {
    return this.doc.items(list).map((item, index) => {
      const raw = item.value;
      const ref = isObject(raw) && typeof raw.$ref === 'string' ? raw.$ref : undefined;
      const resolved = this.doc.resolve(item).value;
      const title = isObject(resolved) && typeof resolved.title === 'string' ? resolved.title : undefined;
      const members = isObject(resolved) && Array.isArray(resolved.allOf) ? resolved.allOf.flatMap((m) => (isObject(m) && typeof m.$ref === 'string' ? [refName(m.$ref)] : [])) : [];
      const label = ref ? refName(ref) : (title ?? (members.length > 0 ? members.join('+') : `#${index}`));
      return { label, ref, title, index, node: item };
    });
  }

  private build(node: Node<JsonObject>): SchemaView {
    const draft = this.ownKeywords(node);
    const restricting: SchemaView[] = [];
    for (const member of [...draft.allOf.map((alt) => alt.node), ...draft.parts]) {
      const view = this.of(member);
      restricting.push(view);
      this.mergeMember(draft, view);
    }
    const orNull = draft.orNull.map((member) => this.of(member));
    for (const view of orNull) this.mergeMember(draft, view);

    // Null is allowed when something says so and nothing that restricts values forbids it. 3.0's
    // `nullable: true` beside an allOf is the usual way to write "nullable X" there, and wins.
    const saysNull = draft.ownNull || draft.nullAlternative || restricting.some((m) => m.nullable);
    const forbidden = (draft.ownRestricts && !draft.ownNull) || restricting.some((m) => !m.nullable && (m.types !== undefined || m.enum !== undefined));
    const nullable = draft.nullableFlag || (saysNull && !forbidden);

    const properties = new Map<string, Node>();
    for (const [name, parts] of draft.properties) properties.set(name, this.combine(parts));
    const combineAll = (map: Map<string, Node[]>) => new Map([...map].map(([key, parts]) => [key, this.combine(parts)] as const));
    return {
      identity: node.value,
      pointer: node.pointer,
      types: draft.types,
      nullable,
      format: draft.format,
      enum: draft.enum,
      pattern: draft.pattern,
      maximum: draft.maximum,
      minimum: draft.minimum,
      maxLength: draft.maxLength,
      minLength: draft.minLength,
      maxItems: draft.maxItems,
      minItems: draft.minItems,
      maxProperties: draft.maxProperties,
      minProperties: draft.minProperties,
      multipleOf: draft.multipleOf,
      uniqueItems: draft.uniqueItems,
      extensibleEnum: draft.extensibleEnum,
      default: draft.default,
      readOnly: draft.readOnly,
      writeOnly: draft.writeOnly,
      properties,
      required: draft.required,
      closed: draft.closed,
      additional: draft.additional,
      propertyNames: draft.propertyNames,
      patternProperties: combineAll(draft.patternProperties),
      dependentRequired: draft.dependentRequired,
      dependentSchemas: combineAll(draft.dependentSchemas),
      items: draft.items.length === 0 ? undefined : this.combine(draft.items),
      prefixItems: draft.prefixItems.map((parts) => this.combine(parts)),
      closedItems: draft.closedItems,
      contains: draft.contains,
      minContains: draft.minContains,
      maxContains: draft.maxContains,
      conditionals: draft.conditionals,
      not: draft.not,
      contentMediaType: draft.contentMediaType,
      contentEncoding: draft.contentEncoding,
      contentSchema: draft.contentSchema,
      oneOf: draft.oneOf ?? [],
      anyOf: draft.anyOf ?? [],
      allOf: draft.allOf,
      single: draft.single,
    };
  }

  private ownKeywords(node: Node<JsonObject>): Draft {
    const schema = node.value;
    const at = (key: string): Node | undefined => (schema[key] === undefined ? undefined : { value: schema[key] as Json, pointer: pointerJoin(node.pointer, key) });
    const parts = this.syntheticParts.get(schema);
    const draft: Draft = {
      ownNull: schema.nullable === true,
      ownRestricts: false,
      nullAlternative: false,
      nullableFlag: schema.nullable === true,
      readOnly: schema.readOnly === true,
      writeOnly: schema.writeOnly === true,
      properties: new Map(),
      required: new Set(),
      closed: schema.additionalProperties === false || (schema.additionalProperties === undefined && schema.unevaluatedProperties === false),
      patternProperties: new Map(),
      dependentRequired: new Map(),
      dependentSchemas: new Map(),
      uniqueItems: schema.uniqueItems === true,
      items: [],
      prefixItems: [],
      closedItems: schema.items === false || (schema.items === undefined && schema.unevaluatedItems === false),
      conditionals: [],
      allOf: parts ? [] : this.alternatives(at('allOf')),
      parts: parts ?? [],
      orNull: [],
    };
    if (isObject(schema.not) && Object.keys(schema.not).length === 0) {
      draft.types = new Set();
      draft.ownRestricts = true;
    } else if (isObject(schema.not) || typeof schema.not === 'boolean') {
      draft.not = at('not');
    }

    const type = schema.type;
    if (typeof type === 'string' || Array.isArray(type)) {
      const list = (Array.isArray(type) ? type : [type]).filter((t): t is string => typeof t === 'string');
      draft.ownNull ||= list.includes('null');
      draft.types = new Set(list.filter((t) => t !== 'null'));
      draft.ownRestricts = true;
    }
    // const is a one-value enum; beside an enum, the enum's values that equal it.
    let values: Json[] | undefined;
    if (Array.isArray(schema.enum)) values = schema.enum;
    const constant = schema.const;
    if (constant !== undefined) values = values ? values.filter((v) => jsonEqual(v, constant)) : [constant];
    if (Array.isArray(schema['x-extensible-enum'])) draft.extensibleEnum = schema['x-extensible-enum'];
    if (values) {
      draft.ownRestricts = true;
      draft.ownNull ||= values.includes(null);
      draft.enum = values.filter((v) => v !== null);
    }
    if (typeof schema.format === 'string') draft.format = schema.format;
    // An empty pattern matches every string: it is no pattern.
    if (typeof schema.pattern === 'string' && schema.pattern !== '') draft.pattern = schema.pattern;

    // 3.0: exclusiveMaximum is a flag on maximum; 3.1: it is a bound of its own.
    const maximum = numberOf(schema.maximum);
    const minimum = numberOf(schema.minimum);
    const exclusiveMaximum = numberOf(schema.exclusiveMaximum);
    const exclusiveMinimum = numberOf(schema.exclusiveMinimum);
    draft.maximum = tighterUpper(
      maximum === undefined ? undefined : { value: maximum, exclusive: schema.exclusiveMaximum === true },
      exclusiveMaximum === undefined ? undefined : { value: exclusiveMaximum, exclusive: true },
    );
    draft.minimum = tighterLower(
      minimum === undefined ? undefined : { value: minimum, exclusive: schema.exclusiveMinimum === true },
      exclusiveMinimum === undefined ? undefined : { value: exclusiveMinimum, exclusive: true },
    );
    draft.maxLength = numberOf(schema.maxLength);
    draft.minLength = numberOf(schema.minLength);
    draft.maxItems = numberOf(schema.maxItems);
    draft.minItems = numberOf(schema.minItems);
    draft.maxProperties = numberOf(schema.maxProperties);
    draft.minProperties = numberOf(schema.minProperties);
    const multipleOf = numberOf(schema.multipleOf);
    if (multipleOf !== undefined && multipleOf > 0) draft.multipleOf = multipleOf;
    if (schema.default !== undefined) draft.default = { value: schema.default };
    draft.contentMediaType = stringOf(schema.contentMediaType);
    draft.contentEncoding = stringOf(schema.contentEncoding);
    draft.contentSchema = this.schemaAt(at('contentSchema'));

    for (const [name, child] of this.doc.entries(at('properties'))) draft.properties.set(name, [child]);
    if (Array.isArray(schema.required)) for (const name of schema.required) if (typeof name === 'string') draft.required.add(name);
    // additionalProperties covers every property not listed; unevaluatedProperties only matters without it.
    draft.additional = this.schemaAt(at('additionalProperties')) ?? this.schemaAt(at('unevaluatedProperties'));
    draft.propertyNames = this.schemaAt(at('propertyNames'));
    for (const [pattern, child] of this.doc.entries(at('patternProperties'))) draft.patternProperties.set(pattern, [child]);
    for (const [name, list] of this.doc.entries(at('dependentRequired'))) {
      if (Array.isArray(list.value)) draft.dependentRequired.set(name, new Set(list.value.filter((n): n is string => typeof n === 'string')));
    }
    for (const [name, child] of this.doc.entries(at('dependentSchemas'))) draft.dependentSchemas.set(name, [child]);

    // Likewise items covers every item after the tuple positions; unevaluatedItems only matters without it.
    const items = this.schemaAt(at('items')) ?? this.schemaAt(at('unevaluatedItems'));
    if (items) draft.items.push(items);
    draft.prefixItems = this.doc.items(at('prefixItems')).map((item) => [item]);
    draft.contains = this.schemaAt(at('contains'));
    if (draft.contains) {
      draft.minContains = numberOf(schema.minContains);
      draft.maxContains = numberOf(schema.maxContains);
    }
    const condition = at('if');
    if (condition) draft.conditionals.push({ if: condition, then: at('then'), else: at('else') });

    for (const keyword of ['oneOf', 'anyOf'] as const) {
      const all = this.alternatives(at(keyword));
      if (all.length === 0) continue;
      const nonNull = all.filter((alt) => !this.isNullSchema(alt.node));
      if (nonNull.length < all.length) draft.nullAlternative = true;
      // `oneOf: [X, {type: 'null'}]` is "X or null": X is merged, not an alternative.
      if (nonNull.length === 1 && nonNull.length < all.length) {
        const only = nonNull[0] as Alternative;
        draft.orNull.push(only.node);
        draft.single ??= only;
      } else draft[keyword] = nonNull;
    }
    return draft;
  }

  /** A subschema keyword's node when it holds a schema object (a boolean there is handled by its keyword). */
  private schemaAt(node: Node | undefined): Node | undefined {
    return node && isObject(node.value) ? node : undefined;
  }

  private isNullSchema(node: Node): boolean {
    const value = this.doc.resolve(node).value;
    if (!isObject(value)) return false;
    const type = value.type;
    return type === 'null' || (Array.isArray(type) && type.length === 1 && type[0] === 'null') || (Array.isArray(value.enum) && value.enum.length === 1 && value.enum[0] === null);
  }

  private mergeMember(draft: Draft, member: SchemaView): void {
    if (member.types) draft.types = intersectTypes(draft.types, member.types);
    if (member.enum) draft.enum = draft.enum ? draft.enum.filter((v) => member.enum?.some((w) => jsonEqual(v, w))) : [...member.enum];
    draft.format ??= member.format;
    draft.pattern ??= member.pattern;
    draft.maximum = tighterUpper(draft.maximum, member.maximum);
    draft.minimum = tighterLower(draft.minimum, member.minimum);
    draft.maxLength = minDefined(draft.maxLength, member.maxLength);
    draft.minLength = maxDefined(draft.minLength, member.minLength);
    draft.maxItems = minDefined(draft.maxItems, member.maxItems);
    draft.minItems = maxDefined(draft.minItems, member.minItems);
    draft.maxProperties = minDefined(draft.maxProperties, member.maxProperties);
    draft.minProperties = maxDefined(draft.minProperties, member.minProperties);
    draft.multipleOf = commonMultiple(draft.multipleOf, member.multipleOf);
    draft.uniqueItems ||= member.uniqueItems;
    draft.extensibleEnum ??= member.extensibleEnum ? [...member.extensibleEnum] : undefined;
    draft.default ??= member.default;
    draft.readOnly ||= member.readOnly;
    draft.writeOnly ||= member.writeOnly;
    for (const [name, child] of member.properties) {
      const list = draft.properties.get(name);
      if (list) list.push(child);
      else draft.properties.set(name, [child]);
    }
    for (const name of member.required) draft.required.add(name);
    draft.closed ||= member.closed;
    draft.additional ??= member.additional;
    draft.propertyNames ??= member.propertyNames;
    for (const [pattern, child] of member.patternProperties) addTo(draft.patternProperties, pattern, child);
    for (const [name, names] of member.dependentRequired) {
      const set = draft.dependentRequired.get(name);
      if (set) for (const n of names) set.add(n);
      else draft.dependentRequired.set(name, new Set(names));
    }
    for (const [name, child] of member.dependentSchemas) addTo(draft.dependentSchemas, name, child);
    if (member.items) draft.items.push(member.items);
    member.prefixItems.forEach((child, index) => {
      const parts = draft.prefixItems[index];
      if (parts) parts.push(child);
      else draft.prefixItems[index] = [child];
    });
    draft.closedItems ||= member.closedItems;
    // Two contains (or two not) cannot be merged into one schema: the first is kept.
    if (!draft.contains && member.contains) {
      draft.contains = member.contains;
      draft.minContains = member.minContains;
      draft.maxContains = member.maxContains;
    }
    draft.conditionals.push(...member.conditionals);
    draft.not ??= member.not;
    draft.contentMediaType ??= member.contentMediaType;
    draft.contentEncoding ??= member.contentEncoding;
    draft.contentSchema ??= member.contentSchema;
    if (!draft.oneOf && member.oneOf.length > 0) draft.oneOf = [...member.oneOf];
    if (!draft.anyOf && member.anyOf.length > 0) draft.anyOf = [...member.anyOf];
  }

  // A property (or items) defined by several allOf members must satisfy every definition.
  private combine(parts: Node[]): Node {
    if (parts.length === 1) return parts[0] as Node;
    const synthetic: JsonObject = { allOf: parts.map((part) => part.value) };
    this.syntheticParts.set(synthetic, parts);
    return { value: synthetic, pointer: (parts[0] as Node).pointer };
  }
}
