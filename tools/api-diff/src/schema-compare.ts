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
 */
import type { Side } from './document.js';
import type { FindingList, Location } from './finding.js';
import { jsonEqual, show, type Json, type Node } from './json.js';
import { isRuleId, ruleId, type RuleId } from './rules.js';
import type { SchemaEquality } from './schema-equal.js';
import { intersectTypes, refName, typesWithin, type Alternative, type Bound, type SchemaView, type SchemaViews } from './schema-view.js';

export type Direction = 'request' | 'response';

export interface SchemaUse {
  readonly direction: Direction;
  /** Set when the schema is a parameter's: changes use the request-parameter-… rules. */
  readonly parameter?: { readonly in: string; readonly name: string };
  /** Where the use is: operation, parameter, status, media type. The walk adds property and pointer. */
  readonly location: Omit<Location, 'property' | 'pointer' | 'document'>;
  /** How messages name the schema's root, e.g. "request body (application/json)". */
  readonly root: string;
  /** How messages name a property inside it, e.g. "request property" or "201 response property". */
  readonly inside: string;
}

interface BoundKind {
  readonly keyword: 'maximum' | 'minimum' | 'maxLength' | 'minLength' | 'maxItems' | 'minItems';
  readonly rule: string;
  readonly upper: boolean;
  /** A missing minLength/minItems is 0, not "unbounded": raising it from nothing is an increase. */
  readonly zeroWhenAbsent: boolean;
}

const BOUNDS: readonly BoundKind[] = [
  { keyword: 'maximum', rule: 'max', upper: true, zeroWhenAbsent: false },
  { keyword: 'minimum', rule: 'min', upper: false, zeroWhenAbsent: false },
  { keyword: 'maxLength', rule: 'max-length', upper: true, zeroWhenAbsent: false },
  { keyword: 'minLength', rule: 'min-length', upper: false, zeroWhenAbsent: true },
  { keyword: 'maxItems', rule: 'max-items', upper: true, zeroWhenAbsent: false },
  { keyword: 'minItems', rule: 'min-items', upper: false, zeroWhenAbsent: true },
];

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
  if (raw === undefined) return kind.zeroWhenAbsent ? { value: 0, exclusive: false } : undefined;
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
      this.patterns(use, path, b, r);
      for (const kind of BOUNDS) this.bound(use, path, b, r, kind);
      if (use.direction === 'request') this.defaults(use, path, b, r);
      this.allOfMembers(use, path, b, r);
      this.objects(use, path, b, r, stack);
      this.arrays(use, path, b, r, stack);
      this.alternatives(use, path, 'oneOf', b.oneOf, r.oneOf, stack);
      this.alternatives(use, path, 'anyOf', b.anyOf, r.anyOf, stack);
    } finally {
      stack.pop(b.identity, r.identity);
    }
  }

  // ---- emitting

  private subject(use: SchemaUse, path: string): string {
    return path ? `${use.inside} \`${path}\`` : use.root;
  }

  private idFor(use: SchemaUse, change: string): RuleId {
    const prefix = use.parameter ? 'request-parameter' : use.direction === 'request' ? 'request-property' : 'response-property';
    const id = `${prefix}-${change}`;
    if (isRuleId(id)) return id;
    // Inside a parameter's schema, a change with no parameter rule is a request property change.
    return ruleId(`request-property-${change}`);
  }

  private emit(use: SchemaUse, id: RuleId, path: string, at: { pointer: string }, side: Side, text: string): void {
    const location: Location = { ...use.location, ...(path ? { property: path } : {}), pointer: at.pointer, document: side };
    this.findings.add(id, location, `${this.subject(use, path)}: ${text}`);
  }

  private emitChange(use: SchemaUse, change: string, path: string, at: SchemaView, text: string): void {
    this.emit(use, this.idFor(use, change), path, at, 'revision', text);
  }

  // ---- keyword by keyword

  private nullability(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): void {
    if (b.nullable === r.nullable) return;
    const request = use.direction === 'request';
    const text = r.nullable ? (request ? 'now accepts null' : 'can now be null') : request ? 'no longer accepts null' : 'can no longer be null';
    this.emitChange(use, r.nullable ? 'became-nullable' : 'became-not-nullable', path, r, text);
  }

  /** Reports a type or format change; false when the types no longer overlap (nothing below compares). */
  private types(use: SchemaUse, path: string, b: SchemaView, r: SchemaView): boolean {
    const request = use.direction === 'request';
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
    if (use.direction === 'request' && tighter && before === undefined) change = `${kind.rule}-set`;
    let text: string;
    if (before === undefined) text = `${kind.keyword} set to ${showBound(after)}`;
    else if (after === undefined) text = `${kind.keyword} removed (was ${showBound(before)})`;
    else text = `${kind.keyword} ${raised ? 'raised' : 'lowered'} from ${showBound(before)} to ${showBound(after)}`;
    this.emitChange(use, change, path, r, text);
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
    const request = use.direction === 'request';
    if (request && b.closed !== r.closed) {
      if (r.closed) this.emitChange(use, 'became-closed', path, r, 'no longer accepts properties it does not list (additionalProperties: false)');
      else this.emitChange(use, 'became-open', path, r, 'now accepts properties it does not list');
    }

    const names = [...new Set([...b.properties.keys(), ...r.properties.keys()])].sort();
    for (const name of names) {
      this.property(use, join(path, name), name, b, r, stack);
    }

    if (!b.closed && !r.closed && (b.additional || r.additional)) {
      this.walk(use, b.additional ?? { value: ANY_SCHEMA, pointer: b.pointer }, r.additional ?? { value: ANY_SCHEMA, pointer: r.pointer }, join(path, '*'), stack);
    }
    // The names of a map's keys are strings with constraints of their own: `metadata.(name)`.
    if (b.propertyNames || r.propertyNames) {
      this.walk(use, b.propertyNames ?? { value: ANY_SCHEMA, pointer: b.pointer }, r.propertyNames ?? { value: ANY_SCHEMA, pointer: r.pointer }, join(path, '(name)'), stack);
    }
  }

  private property(use: SchemaUse, path: string, name: string, parentB: SchemaView, parentR: SchemaView, stack: PairStack): void {
    const request = use.direction === 'request';
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
        const id: RuleId = request
          ? wasRequired ? 'request-required-property-became-read-only' : 'request-optional-property-became-read-only'
          : wasRequired ? 'response-required-property-became-write-only' : 'response-optional-property-became-write-only';
        this.emit(use, id, path, revNode, 'revision', request ? 'became readOnly' : 'became writeOnly');
        return;
      }
      if (!visibleBefore && visibleAfter) {
        this.emit(use, request ? 'request-property-became-not-read-only' : 'response-property-became-not-write-only', path, revNode, 'revision', request ? 'is no longer readOnly' : 'is no longer writeOnly');
        if (request && isRequired) this.emit(use, 'request-property-became-required', path, revNode, 'revision', 'became required');
        return;
      }
      if (!visibleBefore) return;
      if (wasRequired !== isRequired) {
        const id: RuleId = request
          ? isRequired ? 'request-property-became-required' : 'request-property-became-optional'
          : isRequired ? 'response-property-became-required' : 'response-property-became-optional';
        this.emit(use, id, path, revNode, 'revision', isRequired ? 'became required' : 'became optional');
      }
      this.walk(use, baseNode, revNode, path, stack);
      return;
    }

    if (baseNode && visibleBefore) {
      const id: RuleId = request
        ? parentR.closed ? 'request-property-removed-rejected' : 'request-property-removed'
        : wasRequired ? 'response-required-property-removed' : 'response-optional-property-removed';
      const text = request && parentR.closed ? 'removed; the object does not allow other properties, so requests that send it are rejected' : 'removed';
      this.emit(use, id, path, baseNode, 'base', text);
    } else if (revNode && visibleAfter) {
      const id: RuleId = request
        ? isRequired ? 'new-required-request-property' : 'new-optional-request-property'
        : isRequired ? 'response-required-property-added' : 'response-optional-property-added';
      this.emit(use, id, path, revNode, 'revision', isRequired ? 'added as required' : 'added as optional');
    }
  }

  private arrays(use: SchemaUse, path: string, b: SchemaView, r: SchemaView, stack: PairStack): void {
    if (!b.items && !r.items) return;
    this.walk(use, b.items ?? { value: ANY_SCHEMA, pointer: b.pointer }, r.items ?? { value: ANY_SCHEMA, pointer: r.pointer }, join(path, '[]'), stack);
  }

  private alternatives(use: SchemaUse, path: string, keyword: 'oneOf' | 'anyOf', before: readonly Alternative[], after: readonly Alternative[], stack: PairStack): void {
    if (before.length === 0 && after.length === 0) return;
    const change = keyword === 'oneOf' ? 'one-of' : 'any-of';
    const { pairs, removed, added } = this.match(before, after);
    for (const alt of removed) this.emit(use, this.idFor(use, `${change}-removed`), path, alt.node, 'base', `\`${alt.label}\` removed from the ${keyword}`);
    for (const alt of added) this.emit(use, this.idFor(use, `${change}-added`), path, alt.node, 'revision', `\`${alt.label}\` added to the ${keyword}`);
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
    for (const alt of removed) this.emit(use, this.idFor(use, 'all-of-removed'), path, alt.node, 'base', `\`${alt.label}\` removed from the allOf`);
    for (const alt of added) this.emit(use, this.idFor(use, 'all-of-added'), path, alt.node, 'revision', `\`${alt.label}\` added to the allOf`);
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
