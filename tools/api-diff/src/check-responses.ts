/**
 * The responses of an operation present on both sides: statuses, headers and each common header's
 * schema, media types, and each common media type's schema (all in the response direction). A
 * success status removed breaks the clients that expect it; an error status removed does not (they
 * handle errors generically).
 */
import { at, operationLocation, type DiffContext } from './context.js';
import type { Doc } from './document.js';
import { isObject, type Node } from './json.js';
import { mediaTypes, type Operation } from './operations.js';
import { defineRules } from './rule.js';

export const RESPONSE_RULES = defineRules({
  'response-success-status-removed': { flow: 'out', effect: 'changes', description: 'a success (2xx) response status was removed' },
  'response-success-status-added': { flow: 'out', effect: 'widens', description: 'a success (2xx) response status was added', level: 'info', because: 'a new success status is how an API grows; a client treats a 2xx it does not know as the success it asked for' },
  'response-non-success-status-removed': { flow: 'out', effect: 'narrows', description: 'a non-success response status was removed' },
  'response-non-success-status-added': { flow: 'out', effect: 'widens', description: 'a non-success response status was added', level: 'info', because: 'clients handle error statuses they do not know generically, by class' },
  'response-media-type-removed': { flow: 'out', effect: 'changes', description: 'a response media type was removed' },
  'response-media-type-added': { flow: 'out', effect: 'widens', description: 'a response media type was added', level: 'info', because: 'a client gets the media type it asks for in Accept' },
  'required-response-header-removed': { flow: 'out', effect: 'widens', description: 'a required response header was removed' },
  'optional-response-header-removed': { flow: 'out', effect: 'widens', description: 'an optional response header was removed', level: 'warning', because: 'clients may read what they were told they may get, but cannot have relied on it' },
  'response-header-became-optional': { flow: 'out', effect: 'widens', description: 'a required response header became optional' },
  'response-header-added': { flow: 'out', effect: 'narrows', description: 'a response header was added' },
});

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

/**
 * A header's schema: `schema`, or the schema of its single `content` entry (a `$ref`'d header
 * resolved); a header with neither allows anything.
 */
export function headerSchema(doc: Doc, header: Node): Node {
  const resolved = doc.resolve(header);
  const schema = doc.child(resolved, 'schema');
  if (schema) return schema;
  const content = doc.entries(doc.child(resolved, 'content'));
  const single = content.length === 1 ? doc.child((content[0] as [string, Node])[1], 'schema') : undefined;
  return single ?? { value: {}, pointer: resolved.pointer };
}

export function checkResponses(ctx: DiffContext, before: Operation, after: Operation): void {
  const statusesBefore = keyed(ctx.base.entries(ctx.base.child(before.node, 'responses')), (s) => s.toUpperCase());
  const statusesAfter = keyed(ctx.revision.entries(ctx.revision.child(after.node, 'responses')), (s) => s.toUpperCase());
  const headers: HeaderUse[] = [];

  for (const [key, [status, node]] of statusesBefore) {
    if (statusesAfter.has(key)) continue;
    const location = at(before, { status, pointer: node.pointer, document: 'base' });
    if (isSuccess(status)) ctx.findings.add(RESPONSE_RULES['response-success-status-removed'], location, `the ${status} response was removed`);
    else ctx.findings.add(RESPONSE_RULES['response-non-success-status-removed'], location, `the ${status} response was removed`);
  }
  for (const [key, [status, node]] of statusesAfter) {
    const old = statusesBefore.get(key);
    if (!old) {
      const location = at(after, { status, pointer: node.pointer, document: 'revision' });
      if (isSuccess(status)) ctx.findings.add(RESPONSE_RULES['response-success-status-added'], location, `a ${status} response was added`);
      else ctx.findings.add(RESPONSE_RULES['response-non-success-status-added'], location, `a ${status} response was added`);
      continue;
    }
    compareResponse(ctx, before, after, status, ctx.base.resolve(old[1]), ctx.revision.resolve(node), headers);
  }
  compareHeaderSchemas(ctx, after, headers);
}

/** A header on both sides of one response, whose schema is compared once the statuses are known. */
interface HeaderUse {
  readonly status: string;
  readonly name: string;
  readonly base: Node;
  readonly revision: Node;
}

/**
 * A header's schema, walked once per operation for every status that shares it: a component such
 * as a rate-limit header sits on most responses of most operations, and one change to it is one
 * finding per operation (its location's `status` lists the statuses), not one per response.
 */
function compareHeaderSchemas(ctx: DiffContext, after: Operation, uses: readonly HeaderUse[]): void {
  const groups = new Map<string, { use: HeaderUse; statuses: string[] }>();
  const ids = new Map<object, number>();
  const idOf = (node: Node) => {
    const value = node.value;
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    if (!ids.has(value)) ids.set(value, ids.size + 1);
    return String(ids.get(value));
  };
  for (const use of uses) {
    const key = `${use.name.toLowerCase()}\u0000${idOf(use.base)}\u0000${idOf(use.revision)}`;
    const group = groups.get(key);
    if (group) group.statuses.push(use.status);
    else groups.set(key, { use, statuses: [use.status] });
  }
  for (const { use, statuses } of groups.values()) {
    const status = statuses.join(', ');
    const responses = statuses.length === 1 ? `${status} response` : `${status} responses`;
    ctx.schemas.compare(
      {
        family: 'response-header',
        location: { ...operationLocation(after), status, header: use.name },
        root: `${use.name} header of the ${responses}`,
        inside: `${use.name} header (${responses}) property`,
      },
      use.base,
      use.revision,
    );
  }
}

function compareResponse(ctx: DiffContext, before: Operation, after: Operation, status: string, previous: Node, next: Node, headers: HeaderUse[]): void {
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
      if (wasRequired) ctx.findings.add(RESPONSE_RULES['required-response-header-removed'], location, `the required ${name} header of the ${status} response was removed`);
      else ctx.findings.add(RESPONSE_RULES['optional-response-header-removed'], location, `the optional ${name} header of the ${status} response was removed`);
      continue;
    }
    if (wasRequired && !isRequired(ctx, 'revision', current[1])) {
      const location = at(after, { status, header: current[0], pointer: current[1].pointer, document: 'revision' });
      ctx.findings.add(RESPONSE_RULES['response-header-became-optional'], location, `the ${current[0]} header of the ${status} response became optional`);
    }
    headers.push({ status, name: current[0], base: headerSchema(ctx.base, node), revision: headerSchema(ctx.revision, current[1]) });
  }
  for (const [key, [name, node]] of headersAfter) {
    if (!headersBefore.has(key)) {
      ctx.findings.add(RESPONSE_RULES['response-header-added'], at(after, { status, header: name, pointer: node.pointer, document: 'revision' }), `the ${name} header was added to the ${status} response`);
    }
  }

  const typesBefore = mediaTypes(ctx.base, previous);
  const typesAfter = mediaTypes(ctx.revision, next);
  for (const [key, [type, node]] of typesBefore) {
    if (!typesAfter.has(key)) {
      ctx.findings.add(RESPONSE_RULES['response-media-type-removed'], at(before, { status, mediaType: type, pointer: node.pointer, document: 'base' }), `the ${status} response no longer has ${type}`);
    }
  }
  for (const [key, [type, node]] of typesAfter) {
    const old = typesBefore.get(key);
    if (!old) {
      ctx.findings.add(RESPONSE_RULES['response-media-type-added'], at(after, { status, mediaType: type, pointer: node.pointer, document: 'revision' }), `the ${status} response now has ${type}`);
      continue;
    }
    const schemaBefore = ctx.base.child(old[1], 'schema') ?? { value: {}, pointer: old[1].pointer };
    const schemaAfter = ctx.revision.child(node, 'schema') ?? { value: {}, pointer: node.pointer };
    ctx.schemas.compare(
      {
        family: 'response-property',
        location: { ...operationLocation(after), status, mediaType: type },
        root: `${status} response body (${type})`,
        inside: `${status} response property`,
      },
      schemaBefore,
      schemaAfter,
    );
  }
}
