/**
 * Judges a step's assertions against what it got: the answers (one, or one per call of a burst)
 * and every HTTP attempt it made. A check reads one value; an aggregate counts, quantifies or
 * compares across the answers or the attempts. Each failure says what was expected and what came.
 */
import type { Aggregate, Assertion, AssertionResult, AttemptRecord, Check, NumberComparison } from './types.js';
import { compare, describeCheck, describeComparison, operatorOf, type Operator } from './checks.js';
import type { Exchange } from './exchange.js';
import { readPath } from './paths.js';
import { resolve, type Scope } from './template.js';

export interface Subject {
  /** The final answer of each call: one for a request, one per call for a burst. */
  readonly responses: readonly Exchange[];
  readonly attempts: readonly AttemptRecord[];
  readonly burst: boolean;
}

const COUNT_OPERATORS = ['equals', 'gt', 'gte', 'lt', 'lte'] as const;

export function isAggregate(assertion: Assertion): assertion is Aggregate {
  return !('path' in assertion);
}

export function judge(assertion: Assertion, subject: Subject, scope: Scope): AssertionResult {
  let description = assertion.description ?? '';
  try {
    description ||= describe(assertion);
    // Expected values are templates too ("{{payment}}"); the description keeps them as written.
    const resolved = resolve(assertion, scope);
    const reason = isAggregate(resolved) ? judgeAggregate(resolved, subject) : judgeCheckOnAnswers(resolved, subject);
    return reason === null ? { description, passed: true } : { description, passed: false, reason };
  } catch (error) {
    return { description: description || 'assertion', passed: false, reason: (error as Error).message };
  }
}

export function describe(assertion: Assertion): string {
  if (!isAggregate(assertion)) return describeCheck(assertion);
  const over = `${assertion.over ?? 'responses'}${assertion.where ? ` where ${describeCheck(assertion.where)}` : ''}`;
  if (assertion.count) return `${over}: ${describeCount(assertion.count)}`;
  if (assertion.every) return `every one of the ${over}: ${describeCheck(assertion.every)}`;
  if (assertion.some) return `at least one of the ${over}: ${describeCheck(assertion.some)}`;
  if (assertion.distinct) return `${over}: no two share ${assertion.distinct}`;
  throw new Error('an aggregate names one of count, every, some, distinct');
}

/** Whether one value passes a check, and why not. */
export function judgeCheck(check: Check, root: unknown): string | null {
  const op = operatorOf(check);
  return compare(op, readPath(root, check.path), check[op]);
}

/** A plain check holds for the step's answer; in a burst, for every answer. */
function judgeCheckOnAnswers(check: Check, subject: Subject): string | null {
  if (!subject.burst) {
    const only = subject.responses[0];
    if (!only) return 'no answer to judge';
    const reason = judgeCheck(check, only);
    return reason && only.error ? `${reason} (${only.error})` : reason;
  }
  return judgeEvery(check, subject.responses, 'responses');
}

function judgeAggregate(aggregate: Aggregate, subject: Subject): string | null {
  const over = aggregate.over ?? 'responses';
  const all: readonly unknown[] = over === 'attempts' ? subject.attempts : subject.responses;
  const selected = aggregate.where ? all.filter((item) => judgeCheck(aggregate.where!, item) === null) : all;
  const selection = aggregate.where ? `${selected.length} of ${all.length} ${over} selected` : `${all.length} ${over}`;

  if (aggregate.count) {
    const failed = COUNT_OPERATORS.filter((op) => op in aggregate.count!)
      .map((op) => compare(op as Operator, selected.length, aggregate.count![op]))
      .filter((reason) => reason !== null);
    return failed.length === 0 ? null : `${failed.join('; ')} (${selection}${statusSummary(all, over)})`;
  }
  if (aggregate.every) return judgeEvery(aggregate.every, selected, over);
  if (aggregate.some) {
    if (selected.some((item) => judgeCheck(aggregate.some!, item) === null)) return null;
    const first = selected[0];
    return `none of ${selection} passes${first === undefined ? '' : `; the first: ${judgeCheck(aggregate.some, first)}`}`;
  }
  if (aggregate.distinct) return judgeDistinct(aggregate.distinct, selected, selection);
  throw new Error('an aggregate names one of count, every, some, distinct');
}

function judgeEvery(check: Check, items: readonly unknown[], over: string): string | null {
  const failures = items.map((item, i) => ({ i, reason: judgeCheck(check, item) })).filter((f) => f.reason !== null);
  if (failures.length === 0) return null;
  const first = failures[0]!;
  return `${failures.length} of ${items.length} ${over} fail; #${first.i + 1}: ${first.reason}`;
}

function judgeDistinct(path: string, items: readonly unknown[], selection: string): string | null {
  const seen = new Map<string, number>();
  let missing = 0;
  for (const item of items) {
    const value = readPath(item, path);
    if (value === undefined) missing++;
    else seen.set(JSON.stringify(value), (seen.get(JSON.stringify(value)) ?? 0) + 1);
  }
  const repeated = [...seen].filter(([, n]) => n > 1);
  if (missing === 0 && repeated.length === 0) return null;
  const parts = [];
  if (missing > 0) parts.push(`${missing} have nothing at ${path}`);
  if (repeated.length > 0) parts.push(`${repeated.length} values appear more than once, e.g. ${repeated[0]![0]} ×${repeated[0]![1]}`);
  return `expected ${items.length} different values, but ${parts.join(' and ')} (${selection})`;
}

function describeCount(count: NumberComparison): string {
  return COUNT_OPERATORS.filter((op) => op in count)
    .map((op) => describeComparison('count', op as Operator, count[op]))
    .join(' and ');
}

/** The statuses of what was counted, so a wrong count shows what came instead. */
function statusSummary(items: readonly unknown[], over: string): string {
  const counts = new Map<string, number>();
  for (const item of items) {
    const status = (item as { status?: number | null }).status;
    const key = status === null || status === undefined ? 'no answer' : String(status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return '';
  return `; ${over} by status: ${[...counts].map(([s, n]) => `${s} ×${n}`).join(', ')}`;
}
