/**
 * Operations removed, added, deprecated or renamed (operationId). A removed path is reported per
 * operation it had, so each finding names the method a client calls.
 */
import { at, type DiffContext } from './context.js';
import { sunsetOf, type Operation } from './operations.js';
import { ruleId } from './rules.js';
import { judgeRemoval } from './sunset.js';

export function checkEndpoints(ctx: DiffContext, before: ReadonlyMap<string, Operation>, after: ReadonlyMap<string, Operation>): void {
  const pathsAfter = new Set([...after.values()].map((op) => op.normalizedPath));

  for (const [key, op] of before) {
    if (after.has(key)) continue;
    const value = op.node.value;
    const verdict = judgeRemoval(value.deprecated === true, sunsetOf(value), ctx.now);
    const pathGone = !pathsAfter.has(op.normalizedPath);
    const id = ruleId(`${pathGone ? 'api-path-removed' : 'api-removed'}-${verdict.removal}`);
    const what = pathGone ? 'the operation was removed with its whole path' : 'the operation was removed';
    ctx.findings.add(id, at(op, { pointer: op.node.pointer, document: 'base' }), `${what}; ${verdict.reason}`);
  }

  for (const [key, op] of after) {
    if (!before.has(key)) ctx.findings.add('endpoint-added', at(op, { pointer: op.node.pointer, document: 'revision' }), 'the operation was added');
  }

  for (const [key, next] of after) {
    const previous = before.get(key);
    if (!previous) continue;
    const location = at(next, { pointer: next.node.pointer, document: 'revision' });
    const wasDeprecated = previous.node.value.deprecated === true;
    const isDeprecated = next.node.value.deprecated === true;
    if (!wasDeprecated && isDeprecated) {
      const sunset = sunsetOf(next.node.value);
      ctx.findings.add('endpoint-deprecated', location, sunset ? `the operation was deprecated, with sunset date ${sunset}` : 'the operation was deprecated');
    } else if (wasDeprecated && !isDeprecated) {
      ctx.findings.add('endpoint-reactivated', location, 'the operation is no longer deprecated');
    }
    const oldId = previous.node.value.operationId;
    const newId = next.node.value.operationId;
    if (typeof oldId === 'string' && oldId !== newId) {
      const text = typeof newId === 'string' ? `operationId changed from ${oldId} to ${newId}` : `operationId ${oldId} was removed`;
      ctx.findings.add('api-operation-id-removed', location, `${text}; generated clients name the method after it`);
    }
  }
}
