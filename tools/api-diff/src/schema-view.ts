/**
 * A schema as the comparison needs it: the keywords that decide what is valid, normalized across
 * OpenAPI 3.0 and 3.1 so that equal meanings compare equal.
 *
 * - Nullability is one flag: 3.0 `nullable: true`, 3.1 `type: [x, 'null']`, `null` in an enum, or
 *   a `{type: 'null'}` alternative in a oneOf/anyOf.
 * - A oneOf/anyOf left with a single alternative once null is taken out (`oneOf: [$ref, null]`,
 *   the usual 3.1 way to write "nullable X") is that alternative.
 * - allOf is flattened: members' properties, required names and constraints are merged into one
 *   view (the tightest bound wins, types and enums intersect), so a constraint an allOf member adds
 *   is reported as the property change it is, at the property's path.
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
  readonly default?: { readonly value: Json };
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
  readonly properties: ReadonlyMap<string, Node>;
  readonly required: ReadonlySet<string>;
  /** additionalProperties: false (or unevaluatedProperties: false). */
  readonly closed: boolean;
  /** The schema of properties not listed (additionalProperties as a schema). */
  readonly additional?: Node;
  /** The schema every property name must match (propertyNames). */
  readonly propertyNames?: Node;
  readonly items?: Node;
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
  default?: { value: Json };
  readOnly: boolean;
  writeOnly: boolean;
  properties: Map<string, Node[]>;
  required: Set<string>;
  closed: boolean;
  additional?: Node;
  propertyNames?: Node;
  items: Node[];
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
      default: draft.default,
      readOnly: draft.readOnly,
      writeOnly: draft.writeOnly,
      properties,
      required: draft.required,
      closed: draft.closed,
      additional: draft.additional,
      propertyNames: draft.propertyNames,
      items: draft.items.length === 0 ? undefined : this.combine(draft.items),
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
      closed: schema.additionalProperties === false || schema.unevaluatedProperties === false,
      items: [],
      allOf: parts ? [] : this.alternatives(at('allOf')),
      parts: parts ?? [],
      orNull: [],
    };
    if (isObject(schema.not) && Object.keys(schema.not).length === 0) {
      draft.types = new Set();
      draft.ownRestricts = true;
    }

    const type = schema.type;
    if (typeof type === 'string' || Array.isArray(type)) {
      const list = (Array.isArray(type) ? type : [type]).filter((t): t is string => typeof t === 'string');
      draft.ownNull ||= list.includes('null');
      draft.types = new Set(list.filter((t) => t !== 'null'));
      draft.ownRestricts = true;
    }
    let values: Json[] | undefined;
    if (Array.isArray(schema.enum)) values = schema.enum;
    if (schema.const !== undefined) values = [schema.const];
    if (values) {
      draft.ownRestricts = true;
      draft.ownNull ||= values.includes(null);
      draft.enum = values.filter((v) => v !== null);
    }
    if (typeof schema.format === 'string') draft.format = schema.format;
    if (typeof schema.pattern === 'string') draft.pattern = schema.pattern;

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
    if (schema.default !== undefined) draft.default = { value: schema.default };

    for (const [name, child] of this.doc.entries(at('properties'))) draft.properties.set(name, [child]);
    if (Array.isArray(schema.required)) for (const name of schema.required) if (typeof name === 'string') draft.required.add(name);
    const additional = at('additionalProperties');
    if (additional && isObject(additional.value)) draft.additional = additional;
    const propertyNames = at('propertyNames');
    if (propertyNames && isObject(propertyNames.value)) draft.propertyNames = propertyNames;
    const items = at('items');
    if (items && !Array.isArray(items.value)) draft.items.push(items);

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
    if (member.items) draft.items.push(member.items);
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
