/**
 * Security requirements. A `security` list is a choice of alternatives, each an AND of schemes
 * with scopes; an empty list (or an empty alternative) lets anonymous requests through. A client
 * authenticates one way, so the question for each alternative the base accepted is: does the
 * revision still accept a request that satisfies it? If not, the change is breaking, and named
 * by what happened to it (authentication added where there was none or a scheme joined it, a scope
 * added, the alternative dropped). Alternatives the revision newly accepts are relaxations.
 *
 * An operation that inherits the document-wide `security` on both sides is judged once, at the
 * document level; otherwise the operation's effective requirement is compared.
 */
import { at, type DiffContext } from './context.js';
import type { Location } from './finding.js';
import { isObject, type Json } from './json.js';
import type { Operation } from './operations.js';
import { defineRules, type Rule } from './rule.js';

type Requirement = ReadonlyMap<string, ReadonlySet<string>>;

export const SECURITY_RULES = defineRules({
  'api-security-added': { flow: 'in', effect: 'narrows', description: "an operation's security requirement was added or tightened (it was anonymous, or a scheme joined a requirement)" },
  'api-security-removed': { flow: 'in', effect: 'narrows', description: 'an operation no longer accepts a way of authenticating it accepted' },
  'api-security-scope-added': { flow: 'in', effect: 'narrows', description: "a scope was added to an operation's security requirement" },
  'api-security-scope-removed': { flow: 'in', effect: 'widens', description: "a scope was removed from an operation's security requirement" },
  'api-security-relaxed': { flow: 'in', effect: 'widens', description: 'an operation accepts a way of authenticating it did not (an alternative added, a scheme dropped, or no authentication)' },
  'api-global-security-added': { flow: 'in', effect: 'narrows', description: 'the document-wide security requirement was added or tightened' },
  'api-global-security-removed': { flow: 'in', effect: 'narrows', description: 'the document-wide security no longer accepts a way of authenticating it accepted' },
  'api-global-security-scope-added': { flow: 'in', effect: 'narrows', description: 'a scope was added to the document-wide security requirement' },
  'api-global-security-scope-removed': { flow: 'in', effect: 'widens', description: 'a scope was removed from the document-wide security requirement' },
  'api-global-security-relaxed': { flow: 'in', effect: 'widens', description: 'the document-wide security accepts a way of authenticating it did not' },
});

interface SecurityRules {
  readonly added: Rule;
  readonly removed: Rule;
  readonly scopeAdded: Rule;
  readonly scopeRemoved: Rule;
  readonly relaxed: Rule;
}

const OPERATION_RULES: SecurityRules = {
  added: SECURITY_RULES['api-security-added'],
  removed: SECURITY_RULES['api-security-removed'],
  scopeAdded: SECURITY_RULES['api-security-scope-added'],
  scopeRemoved: SECURITY_RULES['api-security-scope-removed'],
  relaxed: SECURITY_RULES['api-security-relaxed'],
};

const GLOBAL_RULES: SecurityRules = {
  added: SECURITY_RULES['api-global-security-added'],
  removed: SECURITY_RULES['api-global-security-removed'],
  scopeAdded: SECURITY_RULES['api-global-security-scope-added'],
  scopeRemoved: SECURITY_RULES['api-global-security-scope-removed'],
  relaxed: SECURITY_RULES['api-global-security-relaxed'],
};

/** The alternatives a `security` value allows, or undefined when the value is absent. */
function requirements(value: Json | undefined): Requirement[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list: Requirement[] = value.filter(isObject).map(
    (alternative) => new Map(Object.entries(alternative).map(([scheme, scopes]) => [scheme, new Set(Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [])])),
  );
  return list.length === 0 ? [new Map()] : list;
}

function keyOf(requirement: Requirement): string {
  return [...requirement.keys()].sort().join(' + ');
}

function describe(requirement: Requirement): string {
  return requirement.size === 0 ? 'anonymous requests' : `\`${keyOf(requirement)}\``;
}

/** Whether a request that satisfies `held` also satisfies `needed`. */
function satisfies(held: Requirement, needed: Requirement): boolean {
  for (const [scheme, scopes] of needed) {
    const have = held.get(scheme);
    if (!have) return false;
    for (const scope of scopes) if (!have.has(scope)) return false;
  }
  return true;
}

function compare(ctx: DiffContext, rules: SecurityRules, before: Requirement[], after: Requirement[], where: (side: 'base' | 'revision') => Location): void {
  const afterByKey = new Map(after.map((r) => [keyOf(r), r]));
  const beforeKeys = new Set(before.map(keyOf));
  const explained = new Set<string>();

  for (const old of before) {
    const key = keyOf(old);
    const same = afterByKey.get(key);
    if (same) {
      for (const [scheme, scopes] of same) {
        const had = old.get(scheme) ?? new Set();
        for (const scope of scopes) if (!had.has(scope)) ctx.findings.add(rules.scopeAdded, where('revision'), `scope \`${scope}\` was added to \`${scheme}\``);
        for (const scope of had) if (!scopes.has(scope)) ctx.findings.add(rules.scopeRemoved, where('revision'), `scope \`${scope}\` was removed from \`${scheme}\``);
      }
      continue;
    }
    // Still let through by a looser alternative: nothing breaks for these clients.
    if (after.some((alternative) => satisfies(old, alternative))) continue;
    if (old.size === 0) {
      ctx.findings.add(rules.added, where('revision'), `authentication is now required (${after.map(describe).join(' or ')}); anonymous requests were accepted`);
      continue;
    }
    const wider = after.find((alternative) => !beforeKeys.has(keyOf(alternative)) && [...old.keys()].every((scheme) => alternative.has(scheme)));
    if (wider) {
      explained.add(keyOf(wider));
      const joined = [...wider.keys()].filter((scheme) => !old.has(scheme));
      ctx.findings.add(rules.added, where('revision'), `${joined.map((s) => `\`${s}\``).join(', ')} joined the requirement ${describe(old)}: requests must now satisfy ${describe(wider)}`);
      continue;
    }
    ctx.findings.add(rules.removed, where('base'), `${describe(old)} is no longer accepted`);
  }

  for (const alternative of after) {
    const key = keyOf(alternative);
    if (beforeKeys.has(key) || explained.has(key)) continue;
    const text = alternative.size === 0 ? 'anonymous requests are now accepted' : `${describe(alternative)} is now accepted`;
    ctx.findings.add(rules.relaxed, where('revision'), text);
  }
}

function inherits(operation: Operation): boolean {
  return operation.node.value.security === undefined;
}

export function checkOperationSecurity(ctx: DiffContext, before: Operation, after: Operation): void {
  if (inherits(before) && inherits(after)) return;
  const effective = (operation: Operation, root: Json) => requirements(operation.node.value.security) ?? requirements(isObject(root) ? root.security : undefined) ?? [new Map()];
  compare(ctx, OPERATION_RULES, effective(before, ctx.base.root), effective(after, ctx.revision.root), (side) =>
    side === 'base' ? at(before, { pointer: `${before.node.pointer}/security`, document: 'base' }) : at(after, { pointer: `${after.node.pointer}/security`, document: 'revision' }),
  );
}

/** The document-wide requirement, judged when at least one operation inherits it on both sides. */
export function checkGlobalSecurity(ctx: DiffContext, pairs: readonly [Operation, Operation][]): void {
  if (!pairs.some(([before, after]) => inherits(before) && inherits(after))) return;
  const before = requirements(ctx.base.root.security) ?? [new Map()];
  const after = requirements(ctx.revision.root.security) ?? [new Map()];
  compare(ctx, GLOBAL_RULES, before, after, (side) => ({ pointer: '/security', document: side }));
}
