/**
 * Operations removed, added, deprecated (and their sunset dates changed) or renamed (operationId).
 * A removed path is reported per operation it had, so each finding names the method a client calls.
 */
import { at, type DiffContext } from './context.js';
import { sunsetOf, type Operation } from './operations.js';
import { defineRules, type Rule } from './rule.js';
import { judgeRemoval, judgeSunsetChange, type Removal, type SunsetChange } from './sunset.js';

export const ENDPOINT_RULES = defineRules({
  'api-path-removed-without-deprecation': { flow: 'in', effect: 'narrows', description: 'a path was removed, with an operation that was not deprecated' },
  'api-path-removed-before-sunset': { flow: 'in', effect: 'narrows', description: 'a path was removed, with a deprecated operation whose sunset date has not passed' },
  'api-path-removed-with-deprecation': { flow: 'in', effect: 'narrows', description: 'a path was removed, with a deprecated operation past its sunset date (or with none)', level: 'info', because: 'a removal after the sunset date (or of a deprecation that set none) is what the deprecation announced' },
  'api-removed-without-deprecation': { flow: 'in', effect: 'narrows', description: 'an operation that was not deprecated was removed' },
  'api-removed-before-sunset': { flow: 'in', effect: 'narrows', description: 'a deprecated operation was removed before its sunset date' },
  'api-removed-with-deprecation': { flow: 'in', effect: 'narrows', description: 'a deprecated operation was removed after its sunset date (or with none)', level: 'info', because: 'a removal after the sunset date (or of a deprecation that set none) is what the deprecation announced' },
  'endpoint-added': { flow: 'in', effect: 'widens', description: 'an operation was added' },
  'endpoint-reactivated': { flow: 'in', effect: 'notes', description: 'an operation is no longer deprecated' },
  'endpoint-deprecated': { flow: 'in', effect: 'notes', description: 'an operation was deprecated, with a sunset date at least the minimum notice away' },
  'api-deprecated-sunset-missing': { flow: 'in', effect: 'unclear', description: 'an operation was deprecated without a sunset date: clients are not told when it goes, and it may be removed at any time' },
  'api-deprecated-sunset-parse': { flow: 'in', effect: 'narrows', description: "an operation was deprecated, or a deprecated operation's sunset date set or changed, with a date that cannot be read: it gives no notice" },
  'api-sunset-date-too-small': { flow: 'in', effect: 'narrows', description: 'an operation was deprecated with a sunset date less than the minimum notice after the comparison time' },
  'api-sunset-date-changed-too-small': { flow: 'in', effect: 'narrows', description: "a deprecated operation's sunset date was set or changed to one less than the minimum notice after the comparison time" },
  'api-sunset-date-moved-earlier': { flow: 'in', effect: 'narrows', description: "a deprecated operation's sunset date was moved earlier, before it had passed: clients planned for the later date" },
  'sunset-deleted': { flow: 'in', effect: 'narrows', description: "a deprecated operation's sunset date was removed before it passed: it may now be removed at any time" },
  'api-sunset-date-changed': { flow: 'in', effect: 'notes', description: "a deprecated operation's sunset date was set or moved later, at least the minimum notice away, or removed after it had passed" },
  'api-operation-id-removed': { flow: 'in', effect: 'notes', description: 'an operationId changed or was removed: generated clients rename the method', level: 'warning', because: "generated clients, this project's SDK among them, name their methods after operationIds" },
});

// oasdiff names the deprecation `endpoint-…` and a deleted date without the `api-` prefix.
const SUNSET_RULES: Record<SunsetChange, Rule> = {
  deprecated: ENDPOINT_RULES['endpoint-deprecated'],
  'deprecated-sunset-missing': ENDPOINT_RULES['api-deprecated-sunset-missing'],
  'deprecated-sunset-parse': ENDPOINT_RULES['api-deprecated-sunset-parse'],
  'sunset-date-too-small': ENDPOINT_RULES['api-sunset-date-too-small'],
  'sunset-date-changed-too-small': ENDPOINT_RULES['api-sunset-date-changed-too-small'],
  'sunset-date-moved-earlier': ENDPOINT_RULES['api-sunset-date-moved-earlier'],
  'sunset-deleted': ENDPOINT_RULES['sunset-deleted'],
  'sunset-date-changed': ENDPOINT_RULES['api-sunset-date-changed'],
};

const REMOVAL_RULES: Record<'path' | 'operation', Record<Removal, Rule>> = {
  path: {
    'without-deprecation': ENDPOINT_RULES['api-path-removed-without-deprecation'],
    'before-sunset': ENDPOINT_RULES['api-path-removed-before-sunset'],
    'with-deprecation': ENDPOINT_RULES['api-path-removed-with-deprecation'],
  },
  operation: {
    'without-deprecation': ENDPOINT_RULES['api-removed-without-deprecation'],
    'before-sunset': ENDPOINT_RULES['api-removed-before-sunset'],
    'with-deprecation': ENDPOINT_RULES['api-removed-with-deprecation'],
  },
};

export function checkEndpoints(ctx: DiffContext, before: ReadonlyMap<string, Operation>, after: ReadonlyMap<string, Operation>): void {
  const pathsAfter = new Set([...after.values()].map((op) => op.normalizedPath));

  for (const [key, op] of before) {
    if (after.has(key)) continue;
    const value = op.node.value;
    const verdict = judgeRemoval(value.deprecated === true, sunsetOf(value), ctx.now);
    const pathGone = !pathsAfter.has(op.normalizedPath);
    const rule = REMOVAL_RULES[pathGone ? 'path' : 'operation'][verdict.removal];
    const what = pathGone ? 'the operation was removed with its whole path' : 'the operation was removed';
    ctx.findings.add(rule, at(op, { pointer: op.node.pointer, document: 'base' }), `${what}; ${verdict.reason}`);
  }

  for (const [key, op] of after) {
    if (!before.has(key)) ctx.findings.add(ENDPOINT_RULES['endpoint-added'], at(op, { pointer: op.node.pointer, document: 'revision' }), 'the operation was added');
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
    if (verdict) ctx.findings.add(SUNSET_RULES[verdict.change], location, verdict.message);
    if (wasDeprecated && !isDeprecated) ctx.findings.add(ENDPOINT_RULES['endpoint-reactivated'], location, 'the operation is no longer deprecated');
    const oldId = previous.node.value.operationId;
    const newId = next.node.value.operationId;
    if (typeof oldId === 'string' && oldId !== newId) {
      const text = typeof newId === 'string' ? `operationId changed from ${oldId} to ${newId}` : `operationId ${oldId} was removed`;
      ctx.findings.add(ENDPOINT_RULES['api-operation-id-removed'], location, `${text}; generated clients name the method after it`);
    }
  }
}
