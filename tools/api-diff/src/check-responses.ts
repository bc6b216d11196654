/**
 * The responses of an operation present on both sides: statuses, headers, media types, and each
 * common media type's schema (in the response direction). A success status removed breaks the
 * clients that expect it; an error status removed does not (they handle errors generically).
 */
import { at, operationLocation, type DiffContext } from './context.js';
import { isObject, type Node } from './json.js';
import type { Operation } from './operations.js';

function isSuccess(status: string): boolean {
  return status.startsWith('2');
}

function keyed(entries: [string, Node][], normalize: (key: string) => string): Map<string, [string, Node]> {
  return new Map(entries.map(([key, node]) => [normalize(key), [key, node]]));
}

function isRequired(ctx: DiffContext, side: 'base' | 'revision', header: Node): boolean {
  const value = (side === 'base' ? ctx.base : ctx.revision).resolve(header).value;
  return isObject(value) && value.required === true;
}

export function checkResponses(ctx: DiffContext, before: Operation, after: Operation): void {
  const statusesBefore = keyed(ctx.base.entries(ctx.base.child(before.node, 'responses')), (s) => s.toUpperCase());
  const statusesAfter = keyed(ctx.revision.entries(ctx.revision.child(after.node, 'responses')), (s) => s.toUpperCase());

  for (const [key, [status, node]] of statusesBefore) {
    if (statusesAfter.has(key)) continue;
    const location = at(before, { status, pointer: node.pointer, document: 'base' });
    if (isSuccess(status)) ctx.findings.add('response-success-status-removed', location, `the ${status} response was removed`);
    else ctx.findings.add('response-non-success-status-removed', location, `the ${status} response was removed`);
  }
  for (const [key, [status, node]] of statusesAfter) {
    const old = statusesBefore.get(key);
    if (!old) {
      const location = at(after, { status, pointer: node.pointer, document: 'revision' });
      if (isSuccess(status)) ctx.findings.add('response-success-status-added', location, `a ${status} response was added`);
      else ctx.findings.add('response-non-success-status-added', location, `a ${status} response was added`);
      continue;
    }
    compareResponse(ctx, before, after, status, ctx.base.resolve(old[1]), ctx.revision.resolve(node));
  }
}

function compareResponse(ctx: DiffContext, before: Operation, after: Operation, status: string, previous: Node, next: Node): void {
  // Content-Type is described by `content`, and OpenAPI says a header of that name is ignored.
  const headerKey = (name: string) => name.toLowerCase();
  const headersBefore = keyed(ctx.base.entries(ctx.base.child(previous, 'headers')), headerKey);
  const headersAfter = keyed(ctx.revision.entries(ctx.revision.child(next, 'headers')), headerKey);
  headersBefore.delete('content-type');
  headersAfter.delete('content-type');
  for (const [key, [name, node]] of headersBefore) {
    const current = headersAfter.get(key);
    const wasRequired = isRequired(ctx, 'base', node);
    if (!current) {
      const location = at(before, { status, header: name, pointer: node.pointer, document: 'base' });
      if (wasRequired) ctx.findings.add('required-response-header-removed', location, `the required ${name} header of the ${status} response was removed`);
      else ctx.findings.add('optional-response-header-removed', location, `the optional ${name} header of the ${status} response was removed`);
    } else if (wasRequired && !isRequired(ctx, 'revision', current[1])) {
      const location = at(after, { status, header: current[0], pointer: current[1].pointer, document: 'revision' });
      ctx.findings.add('response-header-became-optional', location, `the ${current[0]} header of the ${status} response became optional`);
    }
  }
  for (const [key, [name, node]] of headersAfter) {
    if (!headersBefore.has(key)) {
      ctx.findings.add('response-header-added', at(after, { status, header: name, pointer: node.pointer, document: 'revision' }), `the ${name} header was added to the ${status} response`);
    }
  }

  const typesBefore = keyed(ctx.base.entries(ctx.base.child(previous, 'content')), (t) => t.toLowerCase());
  const typesAfter = keyed(ctx.revision.entries(ctx.revision.child(next, 'content')), (t) => t.toLowerCase());
  for (const [key, [type, node]] of typesBefore) {
    if (!typesAfter.has(key)) {
      ctx.findings.add('response-media-type-removed', at(before, { status, mediaType: type, pointer: node.pointer, document: 'base' }), `the ${status} response no longer has ${type}`);
    }
  }
  for (const [key, [type, node]] of typesAfter) {
    const old = typesBefore.get(key);
    if (!old) {
      ctx.findings.add('response-media-type-added', at(after, { status, mediaType: type, pointer: node.pointer, document: 'revision' }), `the ${status} response now has ${type}`);
      continue;
    }
    const schemaBefore = ctx.base.child(old[1], 'schema') ?? { value: {}, pointer: old[1].pointer };
    const schemaAfter = ctx.revision.child(node, 'schema') ?? { value: {}, pointer: node.pointer };
    ctx.schemas.compare(
      {
        direction: 'response',
        location: { ...operationLocation(after), status, mediaType: type },
        root: `${status} response body (${type})`,
        inside: `${status} response property`,
      },
      schemaBefore,
      schemaAfter,
    );
  }
}
