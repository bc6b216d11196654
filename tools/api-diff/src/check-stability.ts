/**
 * `x-stability-level` (draft, alpha, beta, stable; an operation without one is stable), read as
 * oasdiff reads it. A draft or alpha operation promises nothing: what changes in it is reported, but
 * as info, so it never fails the gate. Beta and stable operations are held to every rule. Since
 * the level is the promise, lowering it is itself breaking (a client chose the operation for the
 * stability it was told), and a level that cannot be read promises nothing the gate can hold.
 */
import { at, type DiffContext } from './context.js';
import type { Finding } from './finding.js';
import type { Operation } from './operations.js';
import { defineRules } from './rule.js';

export const STABILITY_LEVELS = ['draft', 'alpha', 'beta', 'stable'] as const;

export type Stability = (typeof STABILITY_LEVELS)[number];

/** The levels whose operations may change in any way: their findings are lowered to info. */
const UNPROMISED: ReadonlySet<Stability> = new Set(['draft', 'alpha']);

export const STABILITY_RULES = defineRules({
  'api-stability-decreased': {
    flow: 'in',
    effect: 'narrows',
    description: "an operation's x-stability-level was lowered (e.g. stable to beta): the stability clients chose it for is taken back",
  },
  'api-stability-increased': { flow: 'in', effect: 'notes', description: "an operation's x-stability-level was raised (e.g. beta to stable)" },
  'api-invalid-stability-level': {
    flow: 'in',
    effect: 'narrows',
    description: "an operation's x-stability-level was set to a value other than draft, alpha, beta or stable: it promises nothing the gate can hold",
  },
});

type Read = { readonly level: Stability; readonly written: boolean } | { readonly invalid: string };

function read(operation: Operation): Read {
  const raw = operation.node.value['x-stability-level'];
  if (raw === undefined || raw === null) return { level: 'stable', written: false };
  if (typeof raw === 'string' && (STABILITY_LEVELS as readonly string[]).includes(raw)) return { level: raw as Stability, written: true };
  return { invalid: JSON.stringify(raw) };
}

/** The operation's level; an unreadable one counts as stable (it is reported on its own). */
export function stabilityOf(operation: Operation): Stability {
  const level = read(operation);
  return 'level' in level ? level.level : 'stable';
}

export function checkStability(ctx: DiffContext, before: ReadonlyMap<string, Operation>, after: ReadonlyMap<string, Operation>): void {
  for (const [key, next] of after) {
    const previous = before.get(key);
    const now = read(next);
    const location = at(next, { pointer: next.node.pointer, document: 'revision' });
    if ('invalid' in now) {
      const was = previous ? read(previous) : undefined;
      if (!was || !('invalid' in was) || was.invalid !== now.invalid) {
        ctx.findings.add(STABILITY_RULES['api-invalid-stability-level'], location, `x-stability-level ${now.invalid} is not one of ${STABILITY_LEVELS.join(', ')}`);
      }
      continue;
    }
    if (!previous) continue;
    const was = read(previous);
    if ('invalid' in was) continue;
    const from = STABILITY_LEVELS.indexOf(was.level);
    const to = STABILITY_LEVELS.indexOf(now.level);
    // A level removed from a non-stable operation makes it stable by default; from a stable one, nothing changes.
    if (to < from) ctx.findings.add(STABILITY_RULES['api-stability-decreased'], location, `x-stability-level lowered from ${was.level} to ${now.level}`);
    else if (to > from) {
      const text = now.written ? `x-stability-level raised from ${was.level} to ${now.level}` : `x-stability-level ${was.level} removed: the operation is now stable`;
      ctx.findings.add(STABILITY_RULES['api-stability-increased'], location, text);
    }
  }
}

const OWN_RULES: ReadonlySet<string> = new Set(Object.keys(STABILITY_RULES));

/**
 * Lowers to info what is found in a draft or alpha operation: the revision's level for an
 * operation on both sides or added, the base's for one removed. Stability findings keep their level.
 */
export function lowerUnpromised(findings: readonly Finding[], before: ReadonlyMap<string, Operation>, after: ReadonlyMap<string, Operation>): Finding[] {
  const levels = new Map<string, Stability>();
  for (const [key, operation] of before) if (!after.has(key)) levels.set(`${operation.method.toUpperCase()} ${operation.path}`, stabilityOf(operation));
  for (const operation of after.values()) levels.set(`${operation.method.toUpperCase()} ${operation.path}`, stabilityOf(operation));
  return findings.map((finding) => {
    const { method, path, webhook, callback } = finding.location;
    if (!method || !path || webhook || callback || finding.level === 'info' || OWN_RULES.has(finding.id)) return finding;
    const level = levels.get(`${method} ${path}`);
    if (!level || !UNPROMISED.has(level)) return finding;
    return { ...finding, level: 'info', lowered: { from: finding.level, stability: level }, message: `${finding.message} (x-stability-level ${level}: reported as info)` };
  });
}
