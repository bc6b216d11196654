/**
 * Operations removed, added, deprecated (and their sunset dates changed) or renamed (operationId).
 * A removed path is reported per operation it had, so each finding names the method a client calls.
 */
import { at, type DiffContext } from './context.js';
import { sunsetOf, type Operation } from './operations.js';
import { ruleId, type RuleId } from './rules.js';
import { judgeRemoval, judgeSunsetChange, type SunsetChange } from './sunset.js';

function sunsetRule(change: SunsetChange): RuleId {
  if (change === 'deprecated') return 'endpoint-deprecated';
  // oasdiff names this one without the `api-` prefix.
  if (change === 'sunset-deleted') return 'sunset-deleted';
  return ruleId(`api-${change}`);
}

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
    const verdict = judgeSunsetChange(
      'the operation',
      { deprecated: wasDeprecated, sunset: sunsetOf(previous.node.value) },
      { deprecated: isDeprecated, sunset: sunsetOf(next.node.value) },
      { now: ctx.now, minNoticeDays: ctx.minSunsetNoticeDays },
    );
    if (verdict) ctx.findings.add(sunsetRule(verdict.change), location, verdict.message);
    if (wasDeprecated && !isDeprecated) ctx.findings.add('endpoint-reactivated', location, 'the operation is no longer deprecated');
    const oldId = previous.node.value.operationId;
    const newId = next.node.value.operationId;
    if (typeof oldId === 'string' && oldId !== newId) {
      const text = typeof newId === 'string' ? `operationId changed from ${oldId} to ${newId}` : `operationId ${oldId} was removed`;
      ctx.findings.add('api-operation-id-removed', location, `${text}; generated clients name the method after it`);
    }
  }
}
