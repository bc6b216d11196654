/**
 * Parameters of an operation present on both sides. A parameter is identified by `in` and name, so
 * a rename is a removal plus an addition (that is what a client sees); when the two have identical
 * schemas an extra hint says it may be a rename. A parameter that keeps its name but moves (query
 * to header) is one finding, not two. A parameter's deprecation and sunset date are judged as an
 * operation's are.
 */
import { at, operationLocation, type DiffContext } from './context.js';
import type { Node } from './json.js';
import type { Operation, Parameter } from './operations.js';
import { ruleId } from './rules.js';
import type { SchemaUse } from './schema-compare.js';
import { judgeRemoval, judgeSunsetChange } from './sunset.js';

function describe(parameter: Parameter): string {
  return `${parameter.in} parameter \`${parameter.name}\``;
}

function schemaOrAny(parameter: Parameter): Node {
  return parameter.schema ?? { value: {}, pointer: parameter.node.pointer };
}

export function checkParameters(ctx: DiffContext, before: Operation, after: Operation): void {
  const removed = [...before.parameters.values()].filter((p) => !after.parameters.has(p.key));
  const added = [...after.parameters.values()].filter((p) => !before.parameters.has(p.key));

  for (const old of [...removed]) {
    const moved = added.find((p) => p.in !== old.in && p.name.toLowerCase() === old.name.toLowerCase());
    if (!moved) continue;
    removed.splice(removed.indexOf(old), 1);
    added.splice(added.indexOf(moved), 1);
    const location = at(after, { parameter: { in: moved.in, name: moved.name }, pointer: moved.node.pointer, document: 'revision' });
    ctx.findings.add('request-parameter-moved', location, `${describe(old)} moved to ${moved.in}: clients still send it in ${old.in}`);
  }

  for (const old of removed) {
    const location = at(before, { parameter: { in: old.in, name: old.name }, pointer: old.node.pointer, document: 'base' });
    if (old.deprecated) {
      const verdict = judgeRemoval(true, old.sunset, ctx.now);
      const id = verdict.removal === 'before-sunset' ? 'request-parameter-removed-before-sunset' : 'request-parameter-removed-with-deprecation';
      ctx.findings.add(id, location, `${describe(old)} was removed; ${verdict.reason}`);
    } else {
      ctx.findings.add('request-parameter-removed', location, `${describe(old)} was removed`);
    }
  }

  for (const parameter of added) {
    const location = at(after, { parameter: { in: parameter.in, name: parameter.name }, pointer: parameter.node.pointer, document: 'revision' });
    if (parameter.required) ctx.findings.add('new-required-request-parameter', location, `required ${describe(parameter)} was added`);
    else ctx.findings.add('new-optional-request-parameter', location, `optional ${describe(parameter)} was added`);
  }

  const renamed = new Set<Parameter>();
  for (const old of removed) {
    const twin = added.find((p) => !renamed.has(p) && p.in === old.in && ctx.equality.equal(schemaOrAny(old), schemaOrAny(p)));
    if (!twin) continue;
    renamed.add(twin);
    const location = at(after, { parameter: { in: twin.in, name: twin.name }, pointer: twin.node.pointer, document: 'revision' });
    ctx.findings.add('request-parameter-possibly-renamed', location, `${describe(old)} was removed and ${describe(twin)} added with the same schema: if it is a rename, clients must send the new name`);
  }

  for (const [key, next] of after.parameters) {
    const previous = before.parameters.get(key);
    if (!previous) continue;
    const parameter = { in: next.in, name: next.name };
    const verdict = judgeSunsetChange(describe(next), previous, next, { now: ctx.now, minNoticeDays: ctx.minSunsetNoticeDays });
    if (verdict) ctx.findings.add(ruleId(`request-parameter-${verdict.change}`), at(after, { parameter, pointer: next.node.pointer, document: 'revision' }), verdict.message);
    if (previous.required !== next.required) {
      const location = at(after, { parameter, pointer: next.node.pointer, document: 'revision' });
      const id = next.required ? 'request-parameter-became-required' : 'request-parameter-became-optional';
      ctx.findings.add(id, location, `${describe(next)} became ${next.required ? 'required' : 'optional'}`);
    }
    const use: SchemaUse = {
      direction: 'request',
      parameter,
      location: { ...operationLocation(after), parameter },
      root: describe(next),
      inside: `${describe(next)} property`,
    };
    ctx.schemas.compare(use, schemaOrAny(previous), schemaOrAny(next));
  }
}
