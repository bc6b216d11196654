/**
 * The direction-aware schema walk. What breaks a client depends on which way the data flows:
 * a request schema that accepts less breaks the clients that send what it no longer accepts; a
 * response schema that allows more breaks the clients that read it. So every comparison is made for
 * one use of the schema (a parameter, a request body, a response body), and a component used in
 * both directions is walked once per use.
 *
 * The walk descends only where the two sides differ (SchemaEquality answers that in O(1) after the
 * first time), and stops when it meets a pair of schemas it is already inside: a change in a
 * recursive schema is reported once, at its shallowest path.
 *
 * Every subschema is walked in the same direction as its parent (a wider `then` branch in a
 * request accepts more, as a wider property does), except `not` and `if`, whose effect is the
 * reverse or depends on the branches: a change in them is reported as one unclear change. A
 * finding's property path names where it is, segment by segment:
 *
 * | segment | the schema of |
 * |---|---|
 * | `name` | a property (properties) |
 * | `[]` | the items (items, or unevaluatedItems as a schema; after the tuple positions) |
 * | `[0]` | a tuple position (prefixItems[0]) |
 * | `(contains)` | the item an array must contain (contains) |
 * | `*` | the values of unlisted properties (additionalProperties, or unevaluatedProperties) |
 * | `(name)` | the property names (propertyNames) |
 * | `(pattern ^x-)` | the properties whose names match `^x-` (patternProperties) |
 * | `(when card)` | the object when it has the property `card` (dependentSchemas) |
 * | `(if)`, `(then)`, `(else)` | an if/then/else's parts (`(then#1)`… when allOf members bring several) |
 * | `(content)` | a string's decoded content (contentSchema) |
 * | `oneOf[Card]`, `anyOf[#1]` | an alternative |
 */
import type { Side } from './document.js';
import type { FindingList, Location } from './finding.js';
import { jsonEqual, show, type Json, type Node } from './json.js';
import type { Rule } from './rule.js';
import { BOUNDS, flowOf, propertyRule, schemaRule, type BoundKind, type PropertyChange, type SchemaFamily } from './schema-rules.js';
import type { SchemaEquality } from './schema-equal.js';
import { intersectTypes, isMultipleOf, refName, typesWithin, type Alternative, type Bound, type Conditional, type SchemaView, type SchemaViews } from './schema-view.js';

export interface SchemaUse {
  /** Where the schema is used, which names its rules and gives the direction its data flows. */
  readonly family: SchemaFamily;
  /** Where the use is: operation, parameter, status, media type. The walk adds property and pointer. */
  readonly location: Omit<Location, 'property' | 'pointer' | 'document'>;
  /** How messages name the schema's root, e.g. "request body (application/json)". */
  readonly root: string;
  /** How messages name a property inside it, e.g. "request property" or "201 response property". */
  readonly inside: string;
}

// Formats that only widen along these chains: an int32 is always a valid int64.
const FORMAT_WIDENS_TO: Readonly<Record<string, readonly string[]>> = {
  int32: ['int64'],
  float: ['double'],
};

function formatWithin(inner: string | undefined, outer: string | undefined): boolean {
  if (outer === undefined || inner === outer) return true;
  return inner !== undefined && (FORMAT_WIDENS_TO[inner] ?? []).includes(outer);
}

function showTypes(types: ReadonlySet<string> | undefined, nullable: boolean): string {
  if (!types) return 'any';
  const list = [...types];
  if (nullable) list.push('null');
  return list.length === 0 ? 'nothing' : list.join(' | ');
}

function showBound(bound: Bound | undefined): string {
  if (!bound) return 'none';
  return bound.exclusive ? `${bound.value} (exclusive)` : String(bound.value);
}

function boundOf(view: SchemaView, kind: BoundKind): Bound | undefined {
  const raw = view[kind.keyword];
  if (raw === undefined) return kind.absent === undefined ? undefined : { value: kind.absent, exclusive: false };
  return typeof raw === 'number' ? { value: raw, exclusive: false } : raw;
}

/** Whether `next` admits fewer values than `previous` (undefined: no bound). */
function isTighter(next: Bound | undefined, previous: Bound | undefined, upper: boolean): boolean {
  if (!next) return false;
  if (!previous) return true;
  if (next.value !== previous.value) return upper ? next.value < previous.value : next.value > previous.value;
  return next.exclusive && !previous.exclusive;
}

function join(path: string, segment: string): string {
  if (!path) return segment;
  return segment.startsWith('[') ? path + segment : `${path}.${segment}`;
}

const ANY_SCHEMA = {};
const NO_SCHEMA = false;

/** Pairs of schemas the walk is currently inside, by identity. */
class PairStack {
  private readonly pairs = new Map<object, Set<object>>();

  has(a: object, b: object): boolean {
    return this.pairs.get(a)?.has(b) ?? false;
  }

  push(a: object, b: object): void {
    let row = this.pairs.get(a);
    if (!row) this.pairs.set(a, (row = new Set()));
    row.add(b);
  }

  pop(a: object, b: object): void {
    this.pairs.get(a)?.delete(b);
  }
}

export class SchemaComparer {
  constructor(
    private readonly views: { readonly base: SchemaViews; readonly revision: SchemaViews },
    private readonly equality: SchemaEquality,
    private readonly findings: FindingList,
  ) {}

  compare(use: SchemaUse, base: Node, revision: Node, path = ''): void {
    this.walk(use, base, revision, path, new PairStack());
  }

  private walk(use: SchemaUse, base: Node, revision: Node, path: string, stack: PairStack): void {
    if (this.equality.equal(base, revision)) return;
    const b = this.views.base.of(base);
    const r = this.views.revision.of(revision);
    if (stack.has(b.identity, r.identity)) return;
    stack.push(b.identity, r.identity);
    try {
      this.nullability(use, path, b, r);
      // One side lists alternatives and the other is a single schema: compare it with them, and
      // nothing else here, or every property would be reported as removed and added again.
      if (this.wrapped(use, path, base, revision, b, r, stack)) return;
      if (!this.types(use, path, b, r)) return;
      this.enums(use, path, b, r);
      this.extensibleEnums(use, path, b, r);
      this.patterns(use, path, b, r);
      this.multipleOf(use, path, b, r);
      for (const kind of BOUNDS) if (!kind.beside || (b[kind.beside] && r[kind.beside])) this.bound(use, path, b, r, kind);
      this.content(use, path, b, r, stack);
      if (flowOf(use.family) === 'in') this.defaults(use, path, b, r);
      this.allOfMembers(use, path, b, r);
      this.objects(use, path, b, r, stack);
      this.arrays(use, path, b, r, stack);
      this.alternatives(use, path, 'oneOf', b.oneOf, r.oneOf, stack);
      this.alternatives(use, path, 'anyOf', b.anyOf, r.anyOf, stack);
      this.conditionals(use, path, b, r, stack);
      this.negation(use, path, b, r);
    } finally {
      stack.pop(b.identity, r.identity);
    }
  }

  // ---- emitting

  private subject(use: SchemaUse, path: string): string {
    return path ? `${use.inside} \`${path}\`` : use.root;
  }

  private emit(use: SchemaUse, rule: Rule, path: string, at: { pointer: string }, side: Side, text: string): void {
    const location: Location = { ...use.location, ...(path ? { property: path } : {}), pointer: at.pointer, document: side };
    this.findings.add(rule, location, `${this.subject(use, path)}: ${text}`);
  }

  private emitChange(use: SchemaUse, change: string, path: string, at: SchemaView, text: string): void {
    this.emit(use, schemaRule(use.family, change), path, at, 'revision', text);
  }

  private emitProperty(use: SchemaUse, change: PropertyChange, path: string, at: { pointer: string }, side: Side, text: string): void {
    this.emit(use, propertyRule(use.family, change), path, at, side, text);
  }

  // ---- keyword by keyword

  private nullability(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    if (b.nullable === r.nullable) return;
    const request = flowOf(use.family) === 'in';
    const text = r.nullable ? (request ? 'now accepts null' : 'can now be null') : request ? 'no longer accepts null' : 'can no longer be null';
    this.emitChange(use, r.nullable ? 'became-nullable' : 'became-not-nullable', path, r, text);
  }

  /** Reports a type or format change; false when the types no longer overlap (nothing below compares). */
  private types(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): boolean {
    const request = flowOf(use.family) === 'in';
    const same = typesWithin(b.types, r.types) && typesWithin(r.types, b.types);
    if (!same) {
      const compatible = request ? typesWithin(b.types, r.types) : typesWithin(r.types, b.types);
      const change = compatible ? (request ? 'type-generalized' : 'type-specialized') : 'type-changed';
      this.emitChange(use, change, path, r, `type changed from ${showTypes(b.types, b.nullable)} to ${showTypes(r.types, r.nullable)}`);
      const overlap = intersectTypes(b.types, r.types);
      return overlap === undefined || overlap.size > 0;
    }
    if (b.format !== r.format) {
      const compatible = request ? formatWithin(b.format, r.format) : formatWithin(r.format, b.format);
      const change = compatible ? (request ? 'type-generalized' : 'type-specialized') : 'type-changed';
      this.emitChange(use, change, path, r, `format changed from ${b.format ?? 'none'} to ${r.format ?? 'none'}`);
    }
    return true;
  }

  private enums(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    if (!b.enum && !r.enum) return;
    const list = (values: readonly Json[]) => values.map((v) => show(v)).join(', ');
    if (!b.enum && r.enum) {
      this.emitChange(use, 'became-enum', path, r, `restricted to the values ${list(r.enum)}`);
      return;
    }
    if (b.enum && !r.enum) {
      this.emitChange(use, 'became-not-enum', path, r, `no longer restricted to the values ${list(b.enum)}`);
      return;
    }
    const before = b.enum ?? [];
    const after = r.enum ?? [];
    for (const value of before) {
      if (!after.some((v) => jsonEqual(v, value))) this.emitChange(use, 'enum-value-removed', path, r, `enum value ${show(value)} removed`);
    }
    for (const value of after) {
      if (!before.some((v) => jsonEqual(v, value))) this.emitChange(use, 'enum-value-added', path, r, `enum value ${show(value)} added`);
    }
  }

  /** x-extensible-enum lists values without restricting them: only its list is compared. */
  private extensibleEnums(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    const before = b.extensibleEnum ?? [];
    const after = r.extensibleEnum ?? [];
    for (const value of before) {
      if (!after.some((v) => jsonEqual(v, value))) this.emitChange(use, 'x-extensible-enum-value-removed', path, r, `x-extensible-enum value ${show(value)} removed`);
    }
    for (const value of after) {
      if (!before.some((v) => jsonEqual(v, value))) this.emitChange(use, 'x-extensible-enum-value-added', path, r, `x-extensible-enum value ${show(value)} added`);
    }
  }

  private patterns(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    if (b.pattern === r.pattern) return;
    if (b.pattern === undefined) this.emitChange(use, 'pattern-added', path, r, `pattern ${show(r.pattern)} added`);
    else if (r.pattern === undefined) this.emitChange(use, 'pattern-removed', path, r, `pattern ${show(b.pattern)} removed`);
    else this.emitChange(use, 'pattern-changed', path, r, `pattern changed from ${show(b.pattern)} to ${show(r.pattern)}`);
  }

  private bound(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, kind: BoundKind): void {
    const before = boundOf(b, kind);
    const after = boundOf(r, kind);
    if (before?.value === after?.value && before?.exclusive === after?.exclusive) return;
    const tighter = isTighter(after, before, kind.upper);
    const raised = kind.upper !== tighter;
    let change = `${kind.rule}-${raised ? 'increased' : 'decreased'}`;
    if (flowOf(use.family) === 'in' && tighter && before === undefined) change = `${kind.rule}-set`;
    let text: string;
    if (before === undefined) text = `${kind.keyword} set to ${showBound(after)}`;
    else if (after === undefined) text = `${kind.keyword} removed (was ${showBound(before)})`;
    else text = `${kind.keyword} ${raised ? 'raised' : 'lowered'} from ${showBound(before)} to ${showBound(after)}`;
    this.emitChange(use, change, path, r, text);
  }

  private multipleOf(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    const before = b.multipleOf;
    const after = r.multipleOf;
    if (before === after) return;
    if (after === undefined) {
      this.emitChange(use, 'multiple-of-decreased', path, r, `multipleOf removed (was ${String(before)})`);
    } else if (before === undefined) {
      this.emitChange(use, flowOf(use.family) === 'in' ? 'multiple-of-set' : 'multiple-of-increased', path, r, `multipleOf set to ${after}`);
    } else if (isMultipleOf(after, before)) {
      this.emitChange(use, 'multiple-of-increased', path, r, `multipleOf raised from ${before} to ${after}, a multiple of it`);
    } else if (isMultipleOf(before, after)) {
      this.emitChange(use, 'multiple-of-decreased', path, r, `multipleOf lowered from ${before} to ${after}, a divisor of it`);
    } else {
      this.emitChange(use, 'multiple-of-changed', path, r, `multipleOf changed from ${before} to ${after}`);
    }
  }

  /** contentMediaType and contentEncoding describe what a string holds; contentSchema is its decoded content's schema. */
  private content(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    for (const [keyword, change] of [['contentMediaType', 'content-media-type'], ['contentEncoding', 'content-encoding']] as const) {
      const before = b[keyword];
      const after = r[keyword];
      if (before === after) continue;
      if (before === undefined) this.emitChange(use, `${change}-added`, path, r, `${keyword} ${show(after)} added`);
      else if (after === undefined) this.emitChange(use, `${change}-removed`, path, r, `${keyword} ${show(before)} removed`);
      else this.emitChange(use, `${change}-changed`, path, r, `${keyword} changed from ${show(before)} to ${show(after)}`);
    }
    if (b.contentSchema || r.contentSchema) this.walk(use, b.contentSchema ?? this.any(b), r.contentSchema ?? this.any(r), join(path, '(content)'), stack);
  }

  private defaults(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    if (b.default && r.default) {
      if (!jsonEqual(b.default.value, r.default.value)) {
        this.emitChange(use, 'default-value-changed', path, r, `default changed from ${show(b.default.value)} to ${show(r.default.value)}`);
      }
    } else if (r.default) {
      this.emitChange(use, 'default-value-added', path, r, `default ${show(r.default.value)} added`);
    } else if (b.default) {
      this.emitChange(use, 'default-value-removed', path, r, `default ${show(b.default.value)} removed`);
    }
  }

  // ---- structure

  private objects(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    const request = flowOf(use.family) === 'in';
    if (request && b.closed !== r.closed) {
      if (r.closed) this.emitChange(use, 'became-closed', path, r, 'no longer accepts properties it does not list (additionalProperties: false)');
      else this.emitChange(use, 'became-open', path, r, 'now accepts properties it does not list');
    }

    const names = [...new Set([...b.properties.keys(), ...r.properties.keys()])].sort();
    for (const name of names) {
      this.property(use, join(path, name), name, b, r, stack);
    }

    if (!b.closed && !r.closed && (b.additional || r.additional)) {
      this.walk(use, b.additional ?? this.any(b), r.additional ?? this.any(r), join(path, '*'), stack);
    }
    // The names of a map's keys are strings with constraints of their own: `metadata.(name)`.
    if (b.propertyNames || r.propertyNames) {
      this.walk(use, b.propertyNames ?? this.any(b), r.propertyNames ?? this.any(r), join(path, '(name)'), stack);
    }
    this.patternProperties(use, path, b, r, stack);
    this.dependencies(use, path, b, r, stack);
  }

  /**
   * A pattern's schema constrains the properties whose names match it. In an open object a new
   * pattern narrows; in a closed one (additionalProperties: false) it lets those names in, which
   * in a request is the object opening up (and in a response, like any closing or opening of an
   * object, is not reported).
   */
  private patternProperties(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    const request = flowOf(use.family) === 'in';
    const patterns = [...new Set([...b.patternProperties.keys(), ...r.patternProperties.keys()])].sort();
    for (const pattern of patterns) {
      const before = b.patternProperties.get(pattern);
      const after = r.patternProperties.get(pattern);
      if (before && after) {
        this.walk(use, before, after, join(path, `(pattern ${pattern})`), stack);
      } else if (after) {
        if (!b.closed) this.emitChange(use, 'pattern-property-added', path, r, `properties matching ${show(pattern)} must match a schema`);
        else if (request) this.emitChange(use, 'became-open', path, r, `now accepts properties matching ${show(pattern)}`);
      } else if (before) {
        if (!r.closed) this.emitChange(use, 'pattern-property-removed', path, r, `properties matching ${show(pattern)} are no longer constrained`);
        else if (request) this.emitChange(use, 'became-closed', path, r, `no longer accepts properties matching ${show(pattern)}`);
      }
    }
  }

  private dependencies(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    const keys = [...new Set([...b.dependentRequired.keys(), ...r.dependentRequired.keys()])].sort();
    for (const key of keys) {
      const before = b.dependentRequired.get(key) ?? new Set<string>();
      const after = r.dependentRequired.get(key) ?? new Set<string>();
      for (const name of after) if (!before.has(name)) this.emitChange(use, 'dependent-required-added', path, r, `\`${name}\` is now required when \`${key}\` is present`);
      for (const name of before) if (!after.has(name)) this.emitChange(use, 'dependent-required-removed', path, r, `\`${name}\` is no longer required when \`${key}\` is present`);
    }
    const names = [...new Set([...b.dependentSchemas.keys(), ...r.dependentSchemas.keys()])].sort();
    for (const name of names) {
      const before = b.dependentSchemas.get(name);
      const after = r.dependentSchemas.get(name);
      if (before && after) this.walk(use, before, after, join(path, `(when ${name})`), stack);
      else if (after) this.emitChange(use, 'dependent-schema-added', path, r, `must match a schema when \`${name}\` is present`);
      else if (before) this.emitChange(use, 'dependent-schema-removed', path, r, `no longer has to match a schema when \`${name}\` is present`);
    }
  }

  /** A stand-in for a subschema keyword one side does not have: anything is valid. */
  private any(view: SchemaView): Node {
    return { value: ANY_SCHEMA, pointer: view.pointer };
  }

  private property(use: SchemaUse, path: string, name: string, parentB: SchemaView, parentR: SchemaView, stack: PairStack): void {
    const request = flowOf(use.family) === 'in';
    const baseNode = parentB.properties.get(name);
    const revNode = parentR.properties.get(name);
    // A readOnly property is not part of a request, a writeOnly one not part of a response.
    const hidden = (view: SchemaView) => (request ? view.readOnly : view.writeOnly);
    const b = baseNode && this.views.base.of(baseNode);
    const r = revNode && this.views.revision.of(revNode);
    const wasRequired = parentB.required.has(name);
    const isRequired = parentR.required.has(name);
    const visibleBefore = b !== undefined && !hidden(b);
    const visibleAfter = r !== undefined && !hidden(r);

    if (b && r && baseNode && revNode) {
      if (visibleBefore && !visibleAfter) {
        this.emitProperty(use, wasRequired ? 'required-became-hidden' : 'optional-became-hidden', path, revNode, 'revision', request ? 'became readOnly' : 'became writeOnly');
        return;
      }
      if (!visibleBefore && visibleAfter) {
        this.emitProperty(use, 'became-visible', path, revNode, 'revision', request ? 'is no longer readOnly' : 'is no longer writeOnly');
        if (request && isRequired) this.emitProperty(use, 'became-required', path, revNode, 'revision', 'became required');
        return;
      }
      if (!visibleBefore) return;
      if (wasRequired !== isRequired) {
        this.emitProperty(use, isRequired ? 'became-required' : 'became-optional', path, revNode, 'revision', isRequired ? 'became required' : 'became optional');
      }
      this.walk(use, baseNode, revNode, path, stack);
      return;
    }

    if (baseNode && visibleBefore) {
      const rejected = request && parentR.closed;
      const change: PropertyChange = rejected ? 'removed-rejected' : wasRequired ? 'removed-required' : 'removed-optional';
      this.emitProperty(use, change, path, baseNode, 'base', rejected ? 'removed; the object does not allow other properties, so requests that send it are rejected' : 'removed');
    } else if (revNode && visibleAfter) {
      this.emitProperty(use, isRequired ? 'added-required' : 'added-optional', path, revNode, 'revision', isRequired ? 'added as required' : 'added as optional');
    }
  }

  private arrays(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    if (b.uniqueItems !== r.uniqueItems) {
      if (r.uniqueItems) this.emitChange(use, 'unique-items-set', path, r, 'items must now be unique');
      else this.emitChange(use, 'unique-items-unset', path, r, 'items no longer have to be unique');
    }
    this.tuple(use, path, b, r, stack);
    if (b.closedItems !== r.closedItems) {
      if (r.closedItems) this.emitChange(use, 'tuple-became-closed', path, r, `no longer allows items after its ${r.prefixItems.length} tuple positions`);
      else this.emitChange(use, 'tuple-became-open', path, r, `now allows items after its ${b.prefixItems.length} tuple positions`);
    }
    if (!b.closedItems && !r.closedItems && (b.items || r.items)) this.walk(use, b.items ?? this.any(b), r.items ?? this.any(r), join(path, '[]'), stack);
    if (b.contains && r.contains) this.walk(use, b.contains, r.contains, join(path, '(contains)'), stack);
    else if (r.contains) this.emitChange(use, 'contains-added', path, r, 'must now contain an item matching a schema');
    else if (b.contains) this.emitChange(use, 'contains-removed', path, r, 'no longer has to contain an item matching a schema');
  }

  /**
   * prefixItems constrains only the positions it lists; the items after them are the rest's (items,
   * or anything). So a position one side lists and the other does not is compared with what the
   * other side says of that position: its rest schema, walked like any other change, or, in a
   * closed tuple (items: false), nothing at all, which makes the position added or removed.
   */
  private tuple(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    const positions = Math.max(b.prefixItems.length, r.prefixItems.length);
    for (let index = 0; index < positions; index++) {
      const before = b.prefixItems[index] ?? this.rest(b);
      const after = r.prefixItems[index] ?? this.rest(r);
      const at = join(path, `[${index}]`);
      if (before.value === NO_SCHEMA && after.value !== NO_SCHEMA) this.emitChange(use, 'tuple-position-added', at, r, `position ${index} added to a tuple that allows no other items`);
      else if (after.value === NO_SCHEMA && before.value !== NO_SCHEMA) this.emitChange(use, 'tuple-position-removed', at, r, `position ${index} removed from a tuple that allows no other items`);
      else if (before.value !== NO_SCHEMA) this.walk(use, before, after, at, stack);
    }
  }

  /** What a tuple says of the items after its positions: nothing allowed, the items schema, or anything. */
  private rest(view: SchemaView): Node {
    if (view.closedItems) return { value: NO_SCHEMA, pointer: view.pointer };
    return view.items ?? this.any(view);
  }

  /**
   * if/then/else: a branch is walked in the schema's direction (a wider branch accepts more); a
   * changed `if` moves values from one branch to the other, which cannot be judged one way.
   * Conditionals are paired by an equal `if`, then in order.
   */
  private conditionals(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    if (b.conditionals.length === 0 && r.conditionals.length === 0) return;
    const left = [...b.conditionals];
    const right = [...r.conditionals];
    const pairs: [Conditional, Conditional][] = [];
    for (const a of [...left]) {
      const index = right.findIndex((c) => this.equality.equal(a.if, c.if));
      if (index < 0) continue;
      pairs.push([a, right.splice(index, 1)[0] as Conditional]);
      left.splice(left.indexOf(a), 1);
    }
    while (left.length > 0 && right.length > 0) pairs.push([left.shift() as Conditional, right.shift() as Conditional]);
    const several = r.conditionals.length > 1 || b.conditionals.length > 1;
    for (const [before, after] of pairs) {
      const suffix = several ? `#${Math.max(0, r.conditionals.indexOf(after))}` : '';
      if (!this.equality.equal(before.if, after.if)) this.emit(use, schemaRule(use.family, 'if-changed'), join(path, `(if${suffix})`), after.if, 'revision', 'the if of an if/then/else changed');
      for (const branch of ['then', 'else'] as const) {
        const x = before[branch];
        const y = after[branch];
        if (x || y) this.walk(use, x ?? this.any(b), y ?? this.any(r), join(path, `(${branch}${suffix})`), stack);
      }
    }
    for (const gone of left) this.emit(use, schemaRule(use.family, 'if-removed'), path, gone.if, 'base', 'an if/then/else was removed');
    for (const added of right) this.emit(use, schemaRule(use.family, 'if-added'), path, added.if, 'revision', 'an if/then/else was added');
  }

  /** `not` excludes what its schema allows: a wider `not` narrows, so a change inside it is not walked. */
  private negation(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    if (!b.not && !r.not) return;
    if (b.not && r.not) {
      if (!this.equality.equal(b.not, r.not)) this.emit(use, schemaRule(use.family, 'not-changed'), path, r.not, 'revision', 'the schema of its not changed');
    } else if (r.not) {
      this.emit(use, schemaRule(use.family, 'not-added'), path, r.not, 'revision', 'must now not match a schema (not)');
    } else if (b.not) {
      this.emit(use, schemaRule(use.family, 'not-removed'), path, b.not, 'base', 'no longer excludes what its not matched');
    }
  }

  private alternatives(use: SchemaUse, path: string, keyword: 'oneOf' | 'anyOf', before: readonly Alternative[], after: readonly Alternative[], stack: PairStack): void {
    if (before.length === 0 && after.length === 0) return;
    const change = keyword === 'oneOf' ? 'one-of' : 'any-of';
    const { pairs, removed, added } = this.match(before, after);
    for (const alt of removed) this.emit(use, schemaRule(use.family, `${change}-removed`), path, alt.node, 'base', `\`${alt.label}\` removed from the ${keyword}`);
    for (const alt of added) this.emit(use, schemaRule(use.family, `${change}-added`), path, alt.node, 'revision', `\`${alt.label}\` added to the ${keyword}`);
    for (const [b, r] of pairs) this.walk(use, b.node, r.node, join(path, `${keyword}[${r.label}]`), stack);
  }

  private allOfMembers(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    // `oneOf: [$ref, null]` merges the referenced schema like a member: `allOf: [$ref],
    // nullable: true` is the same schema. When one side has no members at all, the merged
    // comparison above already says what changed; "members added" would only repeat it.
    const before = b.single?.ref ? [...b.allOf, b.single] : b.allOf;
    const after = r.single?.ref ? [...r.allOf, r.single] : r.allOf;
    if (before.length === 0 || after.length === 0) return;
    const { removed, added } = this.match(before, after);
    for (const alt of removed) this.emit(use, schemaRule(use.family, 'all-of-removed'), path, alt.node, 'base', `\`${alt.label}\` removed from the allOf`);
    for (const alt of added) this.emit(use, schemaRule(use.family, 'all-of-added'), path, alt.node, 'revision', `\`${alt.label}\` added to the allOf`);
  }

  private wrapped(use: SchemaUse, path: string, base: Node, revision: Node, b: SchemaView, r: SchemaView, stack: PairStack): boolean {
    for (const keyword of ['oneOf', 'anyOf'] as const) {
      const before = b[keyword];
      const after = r[keyword];
      if ((before.length > 0) === (after.length > 0)) continue;
      const self = (node: Node, view: SchemaView): Alternative[] => {
        if (view.single) return [view.single];
        const raw = node.value;
        const ref = typeof raw === 'object' && raw !== null && !Array.isArray(raw) && typeof raw.$ref === 'string' ? raw.$ref : undefined;
        return [{ label: ref ? refName(ref) : 'schema', ref, node: { value: view.identity as Json, pointer: view.pointer } }];
      };
      this.alternatives(use, path, keyword, before.length > 0 ? before : self(base, b), after.length > 0 ? after : self(revision, r), stack);
      return true;
    }
    return false;
  }

  /**
   * Pairs alternatives across the two sides: by the schema they reference, then by name (title or
   * the schemas an inline allOf references), then by being equal, then by position when both
   * lists are as long as before; one unmatched alternative on each side is the same one, changed.
   */
  private match(before: readonly Alternative[], after: readonly Alternative[]): { pairs: [Alternative, Alternative][]; removed: Alternative[]; added: Alternative[] } {
    const left = [...before];
    const right = [...after];
    const pairs: [Alternative, Alternative][] = [];
    const take = (same: (a: Alternative, b: Alternative) => boolean) => {
      for (const a of [...left]) {
        const index = right.findIndex((b) => same(a, b));
        if (index < 0) continue;
        pairs.push([a, right[index] as Alternative]);
        right.splice(index, 1);
        left.splice(left.indexOf(a), 1);
      }
    };
    take((a, b) => a.ref !== undefined && b.ref !== undefined && a.label === b.label);
    take((a, b) => a.ref === undefined && b.ref === undefined && !a.label.startsWith('#') && a.label === b.label);
    take((a, b) => this.equality.equal(a.node, b.node));
    if (before.length === after.length) take((a, b) => a.index !== undefined && a.index === b.index);
    if (left.length === 1 && right.length === 1) {
      pairs.push([left[0] as Alternative, right[0] as Alternative]);
      return { pairs, removed: [], added: [] };
    }
    return { pairs, removed: left, added: right };
  }
}
