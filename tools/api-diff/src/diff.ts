/**
 * `diff(base, revision)`: every change between two OpenAPI 3 documents, as findings in the one
 * deterministic order every output uses.
 */
import { checkEndpoints } from './check-endpoints.js';
import { checkParameters } from './check-parameters.js';
import { checkRequestBody } from './check-request-body.js';
import { checkResponses } from './check-responses.js';
import { checkGlobalSecurity, checkOperationSecurity } from './check-security.js';
import { checkCallbacks, checkWebhooks } from './check-webhooks.js';
import { checkStability, lowerUnpromised } from './check-stability.js';
import type { DiffContext } from './context.js';
import { Doc } from './document.js';
import { FindingList, sortFindings, type Finding } from './finding.js';
import { collectOperations, type Operation } from './operations.js';
import { assertOpenApi3 } from './parse.js';
import { SchemaComparer } from './schema-compare.js';
import { SchemaEquality } from './schema-equal.js';
import { SchemaViews } from './schema-view.js';
import { DEFAULT_MIN_SUNSET_NOTICE_DAYS } from './sunset.js';

export interface DiffOptions {
  /** The time sunset dates are compared with, and notice is counted from; now by default. */
  readonly now?: Date;
  /**
   * The fewest days after `now` a sunset date may be when an operation or parameter is deprecated
   * or its sunset date is set or changed; 90 by default, 0 for no minimum.
   */
  readonly minSunsetNoticeDays?: number;
}

export function diff(base: unknown, revision: unknown, options: DiffOptions = {}): Finding[] {
  const minSunsetNoticeDays = options.minSunsetNoticeDays ?? DEFAULT_MIN_SUNSET_NOTICE_DAYS;
  if (!Number.isSafeInteger(minSunsetNoticeDays) || minSunsetNoticeDays < 0) {
    throw new RangeError(`api-diff: minSunsetNoticeDays must be a whole number of days, 0 or more, not ${String(minSunsetNoticeDays)}`);
  }
  const baseDoc = new Doc(assertOpenApi3(base, 'base'), 'base');
  const revisionDoc = new Doc(assertOpenApi3(revision, 'revision'), 'revision');
  const findings = new FindingList();
  const equality = new SchemaEquality(baseDoc, revisionDoc);
  const schemas = new SchemaComparer({ base: new SchemaViews(baseDoc), revision: new SchemaViews(revisionDoc) }, equality, findings);
  const ctx: DiffContext = { base: baseDoc, revision: revisionDoc, findings, schemas, equality, now: options.now ?? new Date(), minSunsetNoticeDays };

  const before = collectOperations(baseDoc);
  const after = collectOperations(revisionDoc);
  checkEndpoints(ctx, before, after);
  checkStability(ctx, before, after);

  const pairs: [Operation, Operation][] = [];
  for (const [key, next] of after) {
    const previous = before.get(key);
    if (previous) pairs.push([previous, next]);
  }
  // An operation whose definition (its parameters, body, responses, callbacks, security, and what
  // they refer to) is the same on both sides, prose aside, has nothing to report below.
  const definitions = new SchemaEquality(baseDoc, revisionDoc, 'definitions');
  const unchanged = ([previous, next]: [Operation, Operation]) =>
    previous.path === next.path &&
    definitions.equal(previous.node, next.node) &&
    previous.parameters.size === next.parameters.size &&
    [...previous.parameters].every(([key, parameter]) => {
      const other = next.parameters.get(key);
      return other !== undefined && definitions.equal(parameter.node, other.node);
    });
  for (const [previous, next] of pairs) {
    if (unchanged([previous, next])) continue;
    checkParameters(ctx, previous, next);
    checkRequestBody(ctx, previous, next);
    checkResponses(ctx, previous, next);
    checkOperationSecurity(ctx, previous, next);
    checkCallbacks(ctx, previous, next);
  }
  checkGlobalSecurity(ctx, pairs);
  checkWebhooks(ctx);
  return sortFindings(lowerUnpromised(findings.items, before, after));
}
