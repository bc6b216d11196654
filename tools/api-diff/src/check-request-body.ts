/**
 * The request body of an operation present on both sides: whether there is one, whether it is
 * required, which media types it accepts, and each common media type's schema (in the request
 * direction).
 */
import { at, operationLocation, type DiffContext } from './context.js';
import type { Node } from './json.js';
import type { Operation } from './operations.js';

function mediaTypes(ctx: DiffContext, side: 'base' | 'revision', body: Node | undefined): Map<string, Node> {
  const doc = side === 'base' ? ctx.base : ctx.revision;
  return new Map(doc.entries(doc.child(body ?? { value: {}, pointer: '' }, 'content')).map(([type, node]) => [type.toLowerCase(), node]));
}

export function checkRequestBody(ctx: DiffContext, before: Operation, after: Operation): void {
  const previous = ctx.base.child(before.node, 'requestBody');
  const next = ctx.revision.child(after.node, 'requestBody');
  if (!previous && !next) return;
  const required = (body: Node | undefined) => typeof body?.value === 'object' && body.value !== null && !Array.isArray(body.value) && body.value.required === true;

  if (!previous && next) {
    const location = at(after, { pointer: next.pointer, document: 'revision' });
    if (required(next)) ctx.findings.add('request-body-added-required', location, 'a required request body was added');
    else ctx.findings.add('request-body-added-optional', location, 'an optional request body was added');
    return;
  }
  if (previous && !next) {
    ctx.findings.add('request-body-removed', at(before, { pointer: previous.pointer, document: 'base' }), 'the request body was removed');
    return;
  }

  if (required(previous) !== required(next)) {
    const location = at(after, { pointer: (next as Node).pointer, document: 'revision' });
    if (required(next)) ctx.findings.add('request-body-became-required', location, 'the request body became required');
    else ctx.findings.add('request-body-became-optional', location, 'the request body became optional');
  }

  const typesBefore = mediaTypes(ctx, 'base', previous);
  const typesAfter = mediaTypes(ctx, 'revision', next);
  for (const [type, node] of typesBefore) {
    if (!typesAfter.has(type)) {
      ctx.findings.add('request-body-media-type-removed', at(before, { mediaType: type, pointer: node.pointer, document: 'base' }), `the request body no longer accepts ${type}`);
    }
  }
  for (const [type, node] of typesAfter) {
    const old = typesBefore.get(type);
    if (!old) {
      ctx.findings.add('request-body-media-type-added', at(after, { mediaType: type, pointer: node.pointer, document: 'revision' }), `the request body now accepts ${type}`);
      continue;
    }
    const schemaBefore = ctx.base.child(old, 'schema') ?? { value: {}, pointer: old.pointer };
    const schemaAfter = ctx.revision.child(node, 'schema') ?? { value: {}, pointer: node.pointer };
    ctx.schemas.compare(
      { direction: 'request', location: { ...operationLocation(after), mediaType: type }, root: `request body (${type})`, inside: 'request property' },
      schemaBefore,
      schemaAfter,
    );
  }
}
