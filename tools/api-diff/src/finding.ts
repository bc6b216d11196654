/**
 * A finding is one change, named by a catalogue rule, with its level taken from the catalogue and a
 * location precise enough to act on: the operation, the parameter or status and media type, the
 * property path inside the schema, and a JSON pointer into the document that has the thing (the
 * revision, or the base for something that was removed).
 */
import type { Side } from './document.js';
import { LEVELS, type Level, type Rule } from './rule.js';
import type { RuleId } from './rules.js';

export interface Location {
  /** Upper-case HTTP method, absent for document-wide findings. */
  readonly method?: string;
  /** The path template as the revision (or, when removed, the base) writes it. */
  readonly path?: string;
  readonly parameter?: { readonly in: string; readonly name: string };
  readonly status?: string;
  readonly mediaType?: string;
  readonly header?: string;
  /** A webhook's name (the key under the document's `webhooks`); its method is `method`, it has no `path`. */
  readonly webhook?: string;
  /** A callback of the operation at `method` `path`: its name, runtime expression and method. */
  readonly callback?: { readonly name: string; readonly expression: string; readonly method: string };
  /**
   * Dotted path inside the schema, absent at its root: `metadata.tags[].name`; `[]` is an array's
   * items, `*` the values of additionalProperties, `(name)` the keys (propertyNames), `oneOf[Card]`
   * an alternative.
   */
  readonly property?: string;
  readonly pointer: string;
  readonly document: Side;
}

export interface Finding {
  readonly id: RuleId;
  readonly level: Level;
  readonly message: string;
  readonly location: Location;
  /** Set when the rule's level was lowered to info: the operation's x-stability-level promises nothing. */
  readonly lowered?: { readonly from: Level; readonly stability: string };
}

export interface Summary {
  readonly breaking: number;
  readonly warning: number;
  readonly info: number;
  readonly total: number;
}

export class FindingList {
  readonly items: Finding[] = [];

  add(rule: Rule, location: Location, message: string): void {
    this.items.push({ id: rule.id as RuleId, level: rule.level, message, location });
  }
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

const METHOD_ORDER = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'];

// Code-unit comparison, not localeCompare: the order must not depend on the machine's locale.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function operationLabel(location: Location): string {
  if (location.webhook !== undefined) return `webhook ${location.webhook}${location.method ? ` (${location.method})` : ''}`;
  const operation = location.method && location.path ? `${location.method} ${location.path}` : '(document)';
  const callback = location.callback;
  return callback ? `${operation}, callback ${callback.name}: ${callback.method} ${callback.expression}` : operation;
}

function detailKey(location: Location): string {
  return [location.webhook, location.callback?.name, location.callback?.expression, location.callback?.method, location.parameter?.in, location.parameter?.name, location.status, location.mediaType, location.header, location.property, location.pointer]
    .map((part) => part ?? '')
    .join('\u0000');
}

/** The one order every output uses: by operation, then level, then rule, then place, then text. */
export function compareByOperation(a: Finding, b: Finding): number {
  return (
    compareText(a.location.path ?? '', b.location.path ?? '') ||
    METHOD_ORDER.indexOf(a.location.method ?? '') - METHOD_ORDER.indexOf(b.location.method ?? '') ||
    levelRank(a.level) - levelRank(b.level) ||
    compareText(a.id, b.id) ||
    compareText(detailKey(a.location), detailKey(b.location)) ||
    compareText(a.message, b.message)
  );
}

/** Breaking first, then by operation: what a reader of a flat list needs to see first. */
export function compareFindings(a: Finding, b: Finding): number {
  return levelRank(a.level) - levelRank(b.level) || compareByOperation(a, b);
}

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(compareFindings);
}

export function summarize(findings: readonly Finding[]): Summary {
  const count = (level: Level) => findings.filter((f) => f.level === level).length;
  return { breaking: count('breaking'), warning: count('warning'), info: count('info'), total: findings.length };
}
