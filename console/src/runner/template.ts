/**
 * `{{…}}` templates in a step's data. `{{customer}}` is a value an earlier step saved,
 * `{{key.secret}}` a path into one, `{{writeQuota + 40}}` a saved number with whole-number
 * arithmetic (`+ - *`), and `$` names are made by the runner: `{{$unique}}` (new at each use,
 * lowercase letters and digits), `{{$uuid}}`, `{{$iteration}}` (0-based), `{{$index}}` (the call's
 * place in a burst), `{{$now}}` (Unix seconds).
 *
 * A string that is one template and nothing else keeps the value's type, so `"{{amount}}"` can be a
 * number and `"{{page}}"` an object; a template inside other text is written as text.
 */
import { newIdempotencyKey } from '../../../sdk/src/index.js';
import type { Json } from './types.js';
import { readPath } from './paths.js';

export class TemplateError extends Error {}

export interface Scope {
  /** What this iteration's steps saved, and the collection's variables. */
  readonly values: ReadonlyMap<string, unknown>;
  readonly iteration: number;
  /** The call's index in its burst; 0 outside one. */
  readonly index: number;
}

const TEMPLATE = /\{\{\s*([^{}]+?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const EXPRESSION = /^(\$?[A-Za-z_]\w*(?:\.[\w-]+|\[\d+\])*)(?:\s*([-+*])\s*(\d+))?$/;

/** `value` with every template replaced; throws a TemplateError naming what is missing. */
export function resolve<T>(value: T, scope: Scope): T {
  return resolveAny(value, scope) as T;
}

function resolveAny(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') return resolveString(value, scope);
  if (Array.isArray(value)) return value.map((item) => resolveAny(item, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveAny(v, scope)]));
  }
  return value;
}

function resolveString(text: string, scope: Scope): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return evaluate(whole[1]!, scope);
  return text.replace(TEMPLATE, (_, expression: string) => {
    const value = evaluate(expression, scope);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function evaluate(expression: string, scope: Scope): unknown {
  const parsed = EXPRESSION.exec(expression);
  if (!parsed) throw new TemplateError(`{{${expression}}} is not a template: a saved name, a path into one, or one with + - * and a whole number`);
  const [, reference, operator, operand] = parsed;
  const value = lookup(reference!, scope);
  if (!operator) return value;
  if (typeof value !== 'number') throw new TemplateError(`{{${expression}}}: ${reference} is ${JSON.stringify(value)}, not a number`);
  const n = Number(operand);
  return operator === '+' ? value + n : operator === '-' ? value - n : value * n;
}

function lookup(reference: string, scope: Scope): unknown {
  if (reference.startsWith('$')) return builtin(reference, scope);
  const [name, ...rest] = reference.split(/(?=[.[])/);
  if (!scope.values.has(name!)) {
    throw new TemplateError(`{{${reference}}}: nothing named "${name}" was saved in this iteration (the step that saves it failed or has not run)`);
  }
  const saved = scope.values.get(name!);
  if (rest.length === 0) return saved;
  const value = readPath(saved, rest.join('').replace(/^\./, ''));
  if (value === undefined) throw new TemplateError(`{{${reference}}}: the saved "${name}" has nothing at ${rest.join('').replace(/^\./, '')}`);
  return value;
}

function builtin(name: string, scope: Scope): Json {
  switch (name) {
    case '$unique':
      return uniqueToken();
    case '$uuid':
      return newIdempotencyKey();
    case '$iteration':
      return scope.iteration;
    case '$index':
      return scope.index;
    case '$now':
      return Math.floor(Date.now() / 1000);
    default:
      throw new TemplateError(`{{${name}}} is not a runner value ($unique, $uuid, $iteration, $index, $now)`);
  }
}

/**
 * Unique enough to run a collection again and again against the same account: the time in base 36
 * and 48 random bits, lowercase so it fits e-mail addresses and names alike.
 */
export function uniqueToken(): string {
  const random = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return `${Date.now().toString(36)}${random[0]!.toString(36)}${(random[1]! & 0xffff).toString(36)}`;
}
