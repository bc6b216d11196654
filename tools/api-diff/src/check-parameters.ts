/**
 * Parameters of an operation present on both sides. A parameter is identified by `in` and name, so
 * a rename is a removal plus an addition (that is what a client sees); when the two have identical
 * schemas an extra hint says it may be a rename. A path parameter is the exception: its name is not
 * on the wire, its position in the template is, so `/books/{bookId}` and `/books/{id}` have one
 * parameter, compared as one. A parameter that keeps its name but moves (query to header) is one
 * finding, not two. A parameter's deprecation and sunset date are judged as an operation's are.
 *
 * What a parameter accepts is judged by the strings that reach the server: its serialization
 * (`style` and `explode`, with OpenAPI's defaults) matters only where it changes them — never for
 * a scalar in a query, header or cookie — and a query scalar that becomes a `form`, exploded array
 * still accepts every query string it did (`?q=a` is the array `[a]`). A `default` on a parameter
 * required on both sides never applies, so a change to it is no change.
 */
import { at, operationLocation, type DiffContext } from './context.js';
import type { Location } from './finding.js';
import { isObject, type JsonObject, type Node } from './json.js';
import { parameterSchema, type Operation, type Parameter } from './operations.js';
import { defineRules, type Rule } from './rule.js';
import type { SchemaUse } from './schema-compare.js';
import { schemaRule } from './schema-rules.js';
import { judgeRemoval, judgeSunsetChange, type SunsetChange } from './sunset.js';

export const PARAMETER_RULES = defineRules({
  'new-required-request-parameter': { flow: 'in', effect: 'narrows', description: 'a required parameter was added' },
  'new-optional-request-parameter': { flow: 'in', effect: 'widens', description: 'an optional parameter was added' },
  'request-parameter-removed': { flow: 'in', effect: 'narrows', description: 'a parameter was removed: what clients still send is ignored or rejected', level: 'warning', because: 'whether a parameter that is still sent is ignored or rejected is up to the server' },
  'request-parameter-removed-with-deprecation': { flow: 'in', effect: 'narrows', description: 'a deprecated parameter was removed after its sunset date (or with none)', level: 'info', because: 'a removal after the sunset date (or of a deprecation that set none) is what the deprecation announced' },
  'request-parameter-removed-before-sunset': { flow: 'in', effect: 'narrows', description: 'a deprecated parameter was removed before its sunset date' },
  'request-parameter-deprecated': { flow: 'in', effect: 'notes', description: 'a parameter was deprecated, with a sunset date at least the minimum notice away' },
  'request-parameter-deprecated-sunset-missing': { flow: 'in', effect: 'unclear', description: 'a parameter was deprecated without a sunset date: clients are not told when it goes, and it may be removed at any time' },
  'request-parameter-deprecated-sunset-parse': { flow: 'in', effect: 'narrows', description: "a parameter was deprecated, or a deprecated parameter's sunset date set or changed, with a date that cannot be read: it gives no notice" },
  'request-parameter-sunset-date-too-small': { flow: 'in', effect: 'narrows', description: 'a parameter was deprecated with a sunset date less than the minimum notice after the comparison time' },
  'request-parameter-sunset-date-changed-too-small': { flow: 'in', effect: 'narrows', description: "a deprecated parameter's sunset date was set or changed to one less than the minimum notice after the comparison time" },
  'request-parameter-sunset-date-moved-earlier': { flow: 'in', effect: 'narrows', description: "a deprecated parameter's sunset date was moved earlier, before it had passed: clients planned for the later date" },
  'request-parameter-sunset-deleted': { flow: 'in', effect: 'narrows', description: "a deprecated parameter's sunset date was removed before it passed: it may now be removed at any time" },
  'request-parameter-sunset-date-changed': { flow: 'in', effect: 'notes', description: "a deprecated parameter's sunset date was set or moved later, at least the minimum notice away, or removed after it had passed" },
  'request-parameter-possibly-renamed': { flow: 'in', effect: 'notes', description: 'a removed and an added parameter in the same place have identical schemas: perhaps a rename' },
  'request-parameter-moved': { flow: 'in', effect: 'changes', description: 'a parameter keeps its name but moved (e.g. from query to header)' },
  'request-parameter-serialization-changed': { flow: 'in', effect: 'changes', description: "a parameter's style or explode changed the strings it is sent as (e.g. `?q=a&q=b` became `?q=a,b`)" },
  'request-path-parameter-renamed': { flow: 'in', effect: 'notes', description: 'a path parameter was renamed: the path clients call is the same (a generated client may name its argument differently)' },
  'request-parameter-became-required': { flow: 'in', effect: 'narrows', description: 'an optional parameter became required' },
  'request-parameter-became-optional': { flow: 'in', effect: 'widens', description: 'a required parameter became optional' },
});

const SCHEMA_TYPE_GENERALIZED = schemaRule('request-parameter', 'type-generalized');

const SUNSET_RULES: Record<SunsetChange, Rule> = {
  deprecated: PARAMETER_RULES['request-parameter-deprecated'],
  'deprecated-sunset-missing': PARAMETER_RULES['request-parameter-deprecated-sunset-missing'],
  'deprecated-sunset-parse': PARAMETER_RULES['request-parameter-deprecated-sunset-parse'],
  'sunset-date-too-small': PARAMETER_RULES['request-parameter-sunset-date-too-small'],
  'sunset-date-changed-too-small': PARAMETER_RULES['request-parameter-sunset-date-changed-too-small'],
  'sunset-date-moved-earlier': PARAMETER_RULES['request-parameter-sunset-date-moved-earlier'],
  'sunset-deleted': PARAMETER_RULES['request-parameter-sunset-deleted'],
  'sunset-date-changed': PARAMETER_RULES['request-parameter-sunset-date-changed'],
};

function describe(parameter: Parameter): string {
  return `${parameter.in} parameter \`${parameter.name}\``;
}

export function checkParameters(ctx: DiffContext, before: Operation, after: Operation): void {
  const previousParameters = pairPathParameters(ctx, before, after);
  const removed = [...previousParameters].filter(([key]) => !after.parameters.has(key)).map(([, parameter]) => parameter);
  const added = [...after.parameters.values()].filter((p) => !previousParameters.has(p.key));

  for (const old of [...removed]) {
    const moved = added.find((p) => p.in !== old.in && p.name.toLowerCase() === old.name.toLowerCase());
    if (!moved) continue;
    removed.splice(removed.indexOf(old), 1);
    added.splice(added.indexOf(moved), 1);
    const location = at(after, { parameter: { in: moved.in, name: moved.name }, pointer: moved.node.pointer, document: 'revision' });
    ctx.findings.add(PARAMETER_RULES['request-parameter-moved'], location, `${describe(old)} moved to ${moved.in}: clients still send it in ${old.in}`);
  }

  for (const old of removed) {
    const location = at(before, { parameter: { in: old.in, name: old.name }, pointer: old.node.pointer, document: 'base' });
    if (old.deprecated) {
      const verdict = judgeRemoval(true, old.sunset, ctx.now);
      const rule = verdict.removal === 'before-sunset' ? PARAMETER_RULES['request-parameter-removed-before-sunset'] : PARAMETER_RULES['request-parameter-removed-with-deprecation'];
      ctx.findings.add(rule, location, `${describe(old)} was removed; ${verdict.reason}`);
    } else {
      ctx.findings.add(PARAMETER_RULES['request-parameter-removed'], location, `${describe(old)} was removed`);
    }
  }

  for (const parameter of added) {
    const location = at(after, { parameter: { in: parameter.in, name: parameter.name }, pointer: parameter.node.pointer, document: 'revision' });
    if (parameter.required) ctx.findings.add(PARAMETER_RULES['new-required-request-parameter'], location, `required ${describe(parameter)} was added`);
    else ctx.findings.add(PARAMETER_RULES['new-optional-request-parameter'], location, `optional ${describe(parameter)} was added`);
  }

  const renamed = new Set<Parameter>();
  for (const old of removed) {
    const twin = added.find((p) => !renamed.has(p) && p.in === old.in && ctx.equality.equal(parameterSchema(old), parameterSchema(p)));
    if (!twin) continue;
    renamed.add(twin);
    const location = at(after, { parameter: { in: twin.in, name: twin.name }, pointer: twin.node.pointer, document: 'revision' });
    ctx.findings.add(PARAMETER_RULES['request-parameter-possibly-renamed'], location, `${describe(old)} was removed and ${describe(twin)} added with the same schema: if it is a rename, clients must send the new name`);
  }

  for (const [key, next] of after.parameters) {
    const previous = previousParameters.get(key);
    if (!previous) continue;
    const parameter = { in: next.in, name: next.name };
    const verdict = judgeSunsetChange(describe(next), previous, next, { now: ctx.now, minNoticeDays: ctx.minSunsetNoticeDays });
    if (verdict) ctx.findings.add(SUNSET_RULES[verdict.change], at(after, { parameter, pointer: next.node.pointer, document: 'revision' }), verdict.message);
    if (previous.required !== next.required) {
      const location = at(after, { parameter, pointer: next.node.pointer, document: 'revision' });
      const rule = next.required ? PARAMETER_RULES['request-parameter-became-required'] : PARAMETER_RULES['request-parameter-became-optional'];
      ctx.findings.add(rule, location, `${describe(next)} became ${next.required ? 'required' : 'optional'}`);
    }
    const use: SchemaUse = {
      family: 'request-parameter',
      location: { ...operationLocation(after), parameter },
      root: describe(next),
      inside: `${describe(next)} property`,
    };
    compareSchemas(ctx, use, previous, next);
  }
}

/** The path parameters' names in template order: `/books/{bookId}/pages/{n}` → bookId, n. */
function templateNames(path: string): string[] {
  return [...path.matchAll(/\{([^}/]*)\}/g)].map((match) => match[1] as string);
}

/**
 * The base's parameters, with each path parameter renamed in the revision keyed under its new name
 * (the endpoints matched with parameter names erased, so the templates have the same positions).
 */
function pairPathParameters(ctx: DiffContext, before: Operation, after: Operation): ReadonlyMap<string, Parameter> {
  const oldNames = templateNames(before.path);
  const newNames = templateNames(after.path);
  const out = new Map(before.parameters);
  oldNames.forEach((oldName, index) => {
    const newName = newNames[index];
    if (newName === undefined || newName === oldName) return;
    const previous = before.parameters.get(`path:${oldName}`);
    const next = after.parameters.get(`path:${newName}`);
    if (!previous || !next || after.parameters.has(`path:${oldName}`)) return;
    out.delete(previous.key);
    out.set(next.key, previous);
    const location = at(after, { parameter: { in: 'path', name: newName }, pointer: next.node.pointer, document: 'revision' });
    ctx.findings.add(PARAMETER_RULES['request-path-parameter-renamed'], location, `path parameter \`${oldName}\` is now named \`${newName}\`; the path clients call is unchanged`);
  });
  return out;
}

type Shape = 'scalar' | 'array' | 'object';

function shapeOf(ctx: DiffContext, side: 'base' | 'revision', schema: Node | undefined): Shape | undefined {
  if (!schema) return undefined;
  const value = (side === 'base' ? ctx.base : ctx.revision).resolve(schema).value;
  if (!isObject(value)) return undefined;
  const types = Array.isArray(value.type) ? value.type : [value.type];
  if (types.includes('array')) return types.length === 1 || (types.length === 2 && types.includes('null')) ? 'array' : undefined;
  if (types.includes('object')) return types.length === 1 || (types.length === 2 && types.includes('null')) ? 'object' : undefined;
  if (value.type !== undefined) return 'scalar';
  if (value.items !== undefined) return 'array';
  if (value.properties !== undefined) return 'object';
  return undefined;
}

/**
 * How a value of this shape is written on the wire, as a name: two parameters with the same name
 * here accept the same strings. undefined when the parameter is described by `content` or its
 * shape cannot be told.
 */
function wireForm(parameter: Parameter, shape: Shape | undefined): string | undefined {
  const raw = parameter.node.value;
  if (raw.content !== undefined || shape === undefined) return undefined;
  const inQuery = parameter.in === 'query' || parameter.in === 'cookie';
  const style = typeof raw.style === 'string' ? raw.style : inQuery ? 'form' : 'simple';
  const explode = typeof raw.explode === 'boolean' ? raw.explode : style === 'form';
  if (shape === 'scalar') return parameter.in === 'path' ? style : 'scalar';
  if (parameter.in === 'header') return shape === 'object' ? `simple${explode ? ', exploded' : ''}` : 'simple';
  if (parameter.in === 'path' && style === 'simple' && shape === 'array') return 'simple';
  // An exploded array repeats the name whatever the delimiter style says: `?c=a&c=b`.
  if (shape === 'array' && inQuery && explode && style !== 'deepObject') return 'repeated';
  return `${style}${explode ? ', exploded' : ''}`;
}

function withoutDefault(ctx: DiffContext, side: 'base' | 'revision', schema: Node): Node {
  const resolved = (side === 'base' ? ctx.base : ctx.revision).resolve(schema);
  if (!isObject(resolved.value) || resolved.value.default === undefined) return resolved;
  const { default: _unused, ...rest } = resolved.value;
  return { value: rest as JsonObject, pointer: resolved.pointer };
}

function compareSchemas(ctx: DiffContext, use: SchemaUse, previous: Parameter, next: Parameter): void {
  let before = parameterSchema(previous);
  let after = parameterSchema(next);
  // Required on both sides, the default never applies: not a change.
  if (previous.required && next.required) {
    before = withoutDefault(ctx, 'base', before);
    after = withoutDefault(ctx, 'revision', after);
  }
  const shapeBefore = shapeOf(ctx, 'base', previous.schema);
  const shapeAfter = shapeOf(ctx, 'revision', next.schema);
  const formBefore = wireForm(previous, shapeBefore);
  const formAfter = wireForm(next, shapeAfter);
  const location: Location = { ...use.location, pointer: next.node.pointer, document: 'revision' };

  if (shapeBefore === 'scalar' && shapeAfter === 'array' && previous.in === 'query' && formAfter === 'repeated') {
    const items = ctx.revision.child(after, 'items');
    const text = `became an array sent as repeated names (\`?${next.name}=a&${next.name}=b\`): a single value is read as a one-item array, and the items are compared with what it was`;
    ctx.findings.add(SCHEMA_TYPE_GENERALIZED, location, `${describe(next)}: ${text}`);
    if (items) ctx.schemas.compare(use, before, items, '[]');
    return;
  }
  if (shapeBefore === shapeAfter && formBefore !== undefined && formAfter !== undefined && formBefore !== formAfter) {
    ctx.findings.add(PARAMETER_RULES['request-parameter-serialization-changed'], location, `${describe(next)} is now sent as ${formAfter} instead of ${formBefore}: the strings clients send no longer read the same`);
  }
  ctx.schemas.compare(use, before, after);
}
