/**
 * What a rule is, and where its level comes from. A rule is declared beside the check that emits
 * it (`defineRules` in each check's module; the schema families in schema-rules.ts), and a check
 * emits the declared constant, never an id spelled out again, so the catalogue (rules.ts, the
 * union of every declaration) and the emitters cannot disagree.
 *
 * A rule's level is not chosen one by one: it follows from which way the thing that changed
 * travels (its flow) and what the change does to the set of valid messages (its effect).
 *
 * - `in`: to the API — a request's operation, parameters and body, its security, and the promises
 *   made about them (a deprecation's sunset date, a stability level). Accepting less, or promising
 *   less (`narrows`), breaks the clients that send what is no longer accepted or relied on the promise.
 * - `out`: from the API — a response's statuses, headers and body, and a webhook's or callback's
 *   payload and headers (the API sends those; the receiver reads them). Sending more (`widens`:
 *   new values, shapes, nulls, or fewer guarantees) breaks the clients that read it.
 * - `changes`: neither side's values contain the other's (a type replaced, a default changed):
 *   breaking whichever way it flows. `unclear`: which way cannot be told (a pattern replaced): a
 *   warning. `notes`: nothing valid changes (a deprecation, a hint): info.
 *
 * Where a level differs from that, the rule says so with `level` and `because`, and the README's
 * rule table marks it; a test holds every such exception to having a reason.
 */
export type Level = 'breaking' | 'warning' | 'info';

export const LEVELS: readonly Level[] = ['breaking', 'warning', 'info'];

export type Flow = 'in' | 'out';

export type Effect = 'narrows' | 'widens' | 'changes' | 'unclear' | 'notes';

export interface RuleSpec {
  readonly flow: Flow;
  readonly effect: Effect;
  readonly description: string;
  /** An exception to the level flow × effect gives, with its reason. */
  readonly level?: Level;
  readonly because?: string;
}

export interface Rule extends RuleSpec {
  readonly id: string;
  readonly level: Level;
  /** The level flow × effect gives, whether or not `level` overrides it. */
  readonly derived: Level;
}

export function derivedLevel(flow: Flow, effect: Effect): Level {
  switch (effect) {
    case 'changes':
      return 'breaking';
    case 'unclear':
      return 'warning';
    case 'notes':
      return 'info';
    case 'narrows':
      return flow === 'in' ? 'breaking' : 'info';
    case 'widens':
      return flow === 'out' ? 'breaking' : 'info';
  }
}

export function makeRule(id: string, spec: RuleSpec): Rule {
  if ((spec.level === undefined) !== (spec.because === undefined)) throw new Error(`api-diff: rule ${id} needs both a level and its reason, or neither`);
  const derived = derivedLevel(spec.flow, spec.effect);
  return { ...spec, id, derived, level: spec.level ?? derived };
}

export type Rules<Ids extends string> = { readonly [Id in Ids]: Rule & { readonly id: Id } };

/** Declares a module's rules: the ids are the keys, and each constant carries its id and level. */
export function defineRules<const Specs extends Record<string, RuleSpec>>(specs: Specs): Rules<Extract<keyof Specs, string>> {
  const out: Record<string, Rule> = {};
  for (const [id, spec] of Object.entries(specs)) out[id] = makeRule(id, spec);
  return out as Rules<Extract<keyof Specs, string>>;
}
