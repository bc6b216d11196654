/**
 * What every check needs: both documents, the shared schema machinery (so equality and views are
 * memoized across the whole comparison), where findings go, the clock sunset dates are read
 * against, and the notice a new sunset date must give.
 */
import type { Doc } from './document.js';
import type { FindingList, Location } from './finding.js';
import type { Operation } from './operations.js';
import type { SchemaComparer } from './schema-compare.js';
import type { SchemaEquality } from './schema-equal.js';

export interface DiffContext {
  readonly base: Doc;
  readonly revision: Doc;
  readonly findings: FindingList;
  readonly schemas: SchemaComparer;
  readonly equality: SchemaEquality;
  readonly now: Date;
  /** The fewest days after `now` a new or changed sunset date may be (0: no minimum). */
  readonly minSunsetNoticeDays: number;
}

export function operationLocation(operation: Operation): { method: string; path: string } {
  return { method: operation.method.toUpperCase(), path: operation.path };
}

export function at(operation: Operation, extra: Omit<Location, 'method' | 'path'>): Location {
  return { ...operationLocation(operation), ...extra };
}
