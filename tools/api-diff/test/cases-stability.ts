/**
 * `x-stability-level`: lowering an operation's level, raising it, and a level that cannot be read.
 * (What is lowered to info in a draft or alpha operation is in stability.test.ts.)
 */
import type { JsonObject } from '../src/json.js';
import { getThings } from './build.js';
import type { RuleCase } from './rule-case.js';

const at = (level?: string): JsonObject => getThings(level === undefined ? {} : { 'x-stability-level': level });
const OPERATION = { method: 'GET', path: '/things' } as const;

export const STABILITY_CASES: RuleCase[] = [
  {
    rule: 'api-stability-decreased',
    level: 'breaking',
    change: 'stable becomes beta',
    base: at('stable'),
    revision: at('beta'),
    at: OPERATION,
    additive: { change: 'beta becomes stable', expect: 'api-stability-increased' },
  },
  { rule: 'api-stability-increased', level: 'info', change: 'alpha becomes beta', base: at('alpha'), revision: at('beta'), at: OPERATION },
  {
    rule: 'api-invalid-stability-level',
    level: 'breaking',
    change: 'the level becomes "experimental"',
    base: at(),
    revision: at('experimental'),
    at: OPERATION,
    additive: { change: 'the level is written as stable, which it already was', base: at(), revision: at('stable') },
  },
];
