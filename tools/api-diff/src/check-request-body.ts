/**
 * The request body of an operation present on both sides: whether there is one, whether it is
 * required, which media types it accepts, and each common media type's schema (in the request
 * direction).
 */
import { at, operationLocation, type DiffContext } from './context.js';
import type { Node } from './json.js';
import { mediaTypes, type Operation } from './operations.js';
import { defineRules } from './rule.js';

export const REQUEST_BODY_RULES = defineRules({
  'request-body-added-required': { flow: 'in', effect: 'narrows', description: 'a required request body was added' },
  'request-body-added-optional': { flow: 'in', effect: 'widens', description: 'an optional request body was added' },
  'request-body-became-required': { flow: 'in', effect: 'narrows', description: 'the request body became required' },
  'request-body-became-optional': { flow: 'in', effect: 'widens', description: 'the request body became optional' },
  'request-body-removed': { flow: 'in', effect: 'narrows', description: 'the request body was removed: requests that still send one may be rejected' },
  'request-body-media-type-removed': { flow: 'in', effect: 'narrows', description: 'a request body media type is no longer accepted' },
  'request-body-media-type-added': { flow: 'in', effect: 'widens', description: 'a request body media type is now accepted' },
});

export function checkRequestBody(ctx: DiffContext, before: Operation, after: Operation): void {
  const previous = ctx.base.child(before.node, 'requestBody');
  const next = ctx.revision.child(after.node, 'requestBody');
  if (!previous && !next) return;
  const required = (body: Node | undefined) => typeof body?.value === 'object' && body.value !== null && !Array.isArray(body.value) && body.value.required === true;

  if (!previous && next) {
    const location = at(after, { pointer: next.pointer, document: 'revision' });
    if (required(next)) ctx.findings.add(REQUEST_BODY_RULES['request-body-added-required'], location, 'a required request body was added');
    else ctx.findings.add(REQUEST_BODY_RULES['request-body-added-optional'], location, 'an optional request body was added');
    return;
  }
  if (previous && !next) {
    ctx.findings.add(REQUEST_BODY_RULES['request-body-removed'], at(before, { pointer: previous.pointer, document: 'base' }), 'the request body was removed');
    return;
  }

  if (required(previous) !== required(next)) {
    const location = at(after, { pointer: (next as Node).pointer, document: 'revision' });
    if (required(next)) ctx.findings.add(REQUEST_BODY_RULES['request-body-became-required'], location, 'the request body became required');
    else ctx.findings.add(REQUEST_BODY_RULES['request-body-became-optional'], location, 'the request body became optional');
  }

  const typesBefore = mediaTypes(ctx.base, previous);
  const typesAfter = mediaTypes(ctx.revision, next);
  for (const [type, [, node]] of typesBefore) {
    if (!typesAfter.has(type)) {
      ctx.findings.add(REQUEST_BODY_RULES['request-body-media-type-removed'], at(before, { mediaType: type, pointer: node.pointer, document: 'base' }), `the request body no longer accepts ${type}`);
    }
  }
  for (const [type, [, node]] of typesAfter) {
    const old = typesBefore.get(type)?.[1];
    if (!old) {
      ctx.findings.add(REQUEST_BODY_RULES['request-body-media-type-added'], at(after, { mediaType: type, pointer: node.pointer, document: 'revision' }), `the request body now accepts ${type}`);
      continue;
    }
    const schemaBefore = ctx.base.child(old, 'schema') ?? { value: {}, pointer: old.pointer };
    const schemaAfter = ctx.revision.child(node, 'schema') ?? { value: {}, pointer: node.pointer };
    ctx.schemas.compare(
      { family: 'request-property', location: { ...operationLocation(after), mediaType: type }, root: `request body (${type})`, inside: 'request property' },
      schemaBefore,
      schemaAfter,
    );
  }
}
