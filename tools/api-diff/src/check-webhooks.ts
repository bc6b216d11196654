/**
 * Webhooks (the document's top-level `webhooks`, OpenAPI 3.1) and callbacks (an operation's
 * `callbacks`): requests the API sends. The receiver is the client here, so the polarity of a
 * request is inverted: a payload or header that widens (new values, null, a guarantee dropped)
 * breaks receivers, and one that narrows is additive; what flows back in is the receiver's answer,
 * where the API accepting fewer statuses breaks receivers that answer with the others.
 *
 * A webhook is matched by its name, then method; a callback by the operation that declares it
 * (operations present on both sides only: a removed or added operation is reported as that, with
 * its callbacks), its name and runtime expression, then method. Both are reported under the same
 * `webhook-…` rules; a callback's location names its operation and `callback`.
 */
import { operationLocation, type DiffContext } from './context.js';
import type { Doc, Side } from './document.js';
import type { Location } from './finding.js';
import { isObject, type Node } from './json.js';
import { mediaTypes, parameterSchema, pathItemOperations, type Operation, type Parameter } from './operations.js';
import { defineRules } from './rule.js';

export const WEBHOOK_RULES = defineRules({
  'webhook-removed': { flow: 'out', effect: 'changes', description: 'a webhook or callback was removed: receivers stop getting the events they subscribed to' },
  'webhook-added': {
    flow: 'out',
    effect: 'widens',
    description: 'a webhook or callback was added',
    level: 'info',
    because: 'a new webhook is sent only to receivers that subscribe to it, and a new callback only to clients that give its URL',
  },
  'webhook-deprecated': { flow: 'out', effect: 'notes', description: 'a webhook or callback was deprecated' },
  'webhook-body-removed': { flow: 'out', effect: 'widens', description: 'a webhook or callback no longer sends a payload: receivers that read it get none' },
  'webhook-body-added': { flow: 'out', effect: 'narrows', description: 'a webhook or callback now sends a payload' },
  'webhook-body-became-optional': { flow: 'out', effect: 'widens', description: "a webhook's or callback's payload became optional: receivers may get none" },
  'webhook-body-became-required': { flow: 'out', effect: 'narrows', description: "a webhook's or callback's payload became required" },
  'webhook-media-type-removed': { flow: 'out', effect: 'changes', description: 'a webhook or callback no longer sends its payload in a media type: receivers that read only that one cannot read it' },
  'webhook-media-type-added': {
    flow: 'out',
    effect: 'widens',
    description: 'a webhook or callback can send its payload in a new media type',
    level: 'info',
    because: 'as with a response media type added: a receiver is sent the media type it was set up for',
  },
  'webhook-required-header-removed': { flow: 'out', effect: 'widens', description: 'a required header a webhook or callback sends was removed' },
  'webhook-optional-header-removed': {
    flow: 'out',
    effect: 'widens',
    description: 'an optional header a webhook or callback sends was removed',
    level: 'warning',
    because: 'receivers may read what they were told they may get, but cannot have relied on it',
  },
  'webhook-header-became-optional': { flow: 'out', effect: 'widens', description: 'a required header a webhook or callback sends became optional: receivers can no longer rely on it' },
  'webhook-header-became-required': { flow: 'out', effect: 'narrows', description: 'an optional header a webhook or callback sends became required' },
  'webhook-header-added': { flow: 'out', effect: 'narrows', description: 'a header was added to a webhook or callback' },
  'webhook-response-status-removed': {
    flow: 'in',
    effect: 'narrows',
    description: "a status the API accepted as a webhook's or callback's receiver's answer was removed: receivers that answer with it are no longer understood",
  },
  'webhook-response-status-added': { flow: 'in', effect: 'widens', description: "a status was added to those the API accepts as a webhook's or callback's receiver's answer" },
});

/** One request the API sends: a webhook's or a callback's operation. */
interface Delivery {
  /** The location fields that name it: a webhook's name and method, or a callback's operation, name, expression and method. */
  readonly place: Omit<Location, 'pointer' | 'document'>;
  /** How messages name it: "the webhook thing.created (POST)". */
  readonly label: string;
  readonly operation: Operation;
}

function webhookDeliveries(doc: Doc): Map<string, Delivery> {
  const out = new Map<string, Delivery>();
  for (const [name, item] of doc.entries(doc.child({ value: doc.root, pointer: '' }, 'webhooks'))) {
    for (const operation of pathItemOperations(doc, item, name)) {
      const method = operation.method.toUpperCase();
      out.set(`${name}\u0000${operation.method}`, { place: { webhook: name, method }, label: `the webhook ${name} (${method})`, operation });
    }
  }
  return out;
}

function callbackDeliveries(doc: Doc, owner: Operation): Map<string, Delivery> {
  const out = new Map<string, Delivery>();
  for (const [name, callback] of doc.entries(doc.child(owner.node, 'callbacks'))) {
    for (const [expression, item] of doc.entries(callback)) {
      for (const operation of pathItemOperations(doc, item, expression)) {
        const method = operation.method.toUpperCase();
        out.set(`${name}\u0000${expression}\u0000${operation.method}`, {
          place: { ...operationLocation(owner), callback: { name, expression, method } },
          label: `the callback ${name} (${method} ${expression})`,
          operation,
        });
      }
    }
  }
  return out;
}

/** The webhooks of the two documents. */
export function checkWebhooks(ctx: DiffContext): void {
  compareDeliveries(ctx, webhookDeliveries(ctx.base), webhookDeliveries(ctx.revision));
}

/** The callbacks of an operation present on both sides. */
export function checkCallbacks(ctx: DiffContext, before: Operation, after: Operation): void {
  compareDeliveries(ctx, callbackDeliveries(ctx.base, before), callbackDeliveries(ctx.revision, after));
}

function where(delivery: Delivery, side: Side, node: Node, extra: Omit<Location, 'pointer' | 'document'> = {}): Location {
  return { ...delivery.place, ...extra, pointer: node.pointer, document: side };
}

function compareDeliveries(ctx: DiffContext, before: ReadonlyMap<string, Delivery>, after: ReadonlyMap<string, Delivery>): void {
  for (const [key, old] of before) {
    if (after.has(key)) continue;
    ctx.findings.add(WEBHOOK_RULES['webhook-removed'], where(old, 'base', old.operation.node), `${old.label} was removed: receivers no longer get it`);
  }
  for (const [key, next] of after) {
    const old = before.get(key);
    if (!old) {
      ctx.findings.add(WEBHOOK_RULES['webhook-added'], where(next, 'revision', next.operation.node), `${next.label} was added`);
      continue;
    }
    compareDelivery(ctx, old, next);
  }
}

function compareDelivery(ctx: DiffContext, before: Delivery, after: Delivery): void {
  if (before.operation.node.value.deprecated !== true && after.operation.node.value.deprecated === true) {
    ctx.findings.add(WEBHOOK_RULES['webhook-deprecated'], where(after, 'revision', after.operation.node), `${after.label} was deprecated`);
  }
  compareHeaders(ctx, before, after);
  comparePayload(ctx, before, after);
  compareAnswers(ctx, before, after);
}

function headers(operation: Operation): Map<string, Parameter> {
  return new Map([...operation.parameters].filter(([, parameter]) => parameter.in === 'header'));
}

function compareHeaders(ctx: DiffContext, before: Delivery, after: Delivery): void {
  const headersBefore = headers(before.operation);
  const headersAfter = headers(after.operation);
  for (const [key, old] of headersBefore) {
    const next = headersAfter.get(key);
    if (!next) {
      const location = where(before, 'base', old.node, { parameter: { in: old.in, name: old.name } });
      if (old.required) ctx.findings.add(WEBHOOK_RULES['webhook-required-header-removed'], location, `the required header ${old.name} of ${before.label} was removed`);
      else ctx.findings.add(WEBHOOK_RULES['webhook-optional-header-removed'], location, `the optional header ${old.name} of ${before.label} was removed`);
      continue;
    }
    const parameter = { in: next.in, name: next.name };
    if (old.required !== next.required) {
      const rule = next.required ? WEBHOOK_RULES['webhook-header-became-required'] : WEBHOOK_RULES['webhook-header-became-optional'];
      ctx.findings.add(rule, where(after, 'revision', next.node, { parameter }), `the header ${next.name} of ${after.label} became ${next.required ? 'required' : 'optional'}`);
    }
    ctx.schemas.compare(
      { family: 'webhook-header', location: { ...after.place, parameter }, root: `${after.label} header ${next.name}`, inside: `${after.label} header ${next.name} property` },
      parameterSchema(old),
      parameterSchema(next),
    );
  }
  for (const [key, next] of headersAfter) {
    if (headersBefore.has(key)) continue;
    ctx.findings.add(WEBHOOK_RULES['webhook-header-added'], where(after, 'revision', next.node, { parameter: { in: next.in, name: next.name } }), `the header ${next.name} was added to ${after.label}`);
  }
}

function isRequired(body: Node | undefined): boolean {
  return isObject(body?.value) && body.value.required === true;
}

function comparePayload(ctx: DiffContext, before: Delivery, after: Delivery): void {
  const previous = ctx.base.child(before.operation.node, 'requestBody');
  const next = ctx.revision.child(after.operation.node, 'requestBody');
  if (!previous && !next) return;
  if (previous && !next) {
    ctx.findings.add(WEBHOOK_RULES['webhook-body-removed'], where(before, 'base', previous), `${before.label} no longer sends a payload`);
    return;
  }
  if (!previous && next) {
    ctx.findings.add(WEBHOOK_RULES['webhook-body-added'], where(after, 'revision', next), `${after.label} now sends a payload`);
    return;
  }
  const bodyBefore = previous as Node;
  const bodyAfter = next as Node;
  if (isRequired(bodyBefore) !== isRequired(bodyAfter)) {
    const required = isRequired(bodyAfter);
    const rule = required ? WEBHOOK_RULES['webhook-body-became-required'] : WEBHOOK_RULES['webhook-body-became-optional'];
    ctx.findings.add(rule, where(after, 'revision', bodyAfter), `the payload of ${after.label} became ${required ? 'required' : 'optional'}`);
  }

  const typesBefore = mediaTypes(ctx.base, bodyBefore);
  const typesAfter = mediaTypes(ctx.revision, bodyAfter);
  for (const [key, [type, node]] of typesBefore) {
    if (typesAfter.has(key)) continue;
    ctx.findings.add(WEBHOOK_RULES['webhook-media-type-removed'], where(before, 'base', node, { mediaType: type }), `${before.label} no longer sends its payload as ${type}`);
  }
  for (const [key, [type, node]] of typesAfter) {
    const old = typesBefore.get(key);
    if (!old) {
      ctx.findings.add(WEBHOOK_RULES['webhook-media-type-added'], where(after, 'revision', node, { mediaType: type }), `${after.label} can now send its payload as ${type}`);
      continue;
    }
    const schemaBefore = ctx.base.child(old[1], 'schema') ?? { value: {}, pointer: old[1].pointer };
    const schemaAfter = ctx.revision.child(node, 'schema') ?? { value: {}, pointer: node.pointer };
    ctx.schemas.compare(
      { family: 'webhook-property', location: { ...after.place, mediaType: type }, root: `${after.label} payload (${type})`, inside: `${after.label} payload property` },
      schemaBefore,
      schemaAfter,
    );
  }
}

/** The statuses a receiver may answer with, as the API documents them. */
function compareAnswers(ctx: DiffContext, before: Delivery, after: Delivery): void {
  const statuses = (doc: Doc, delivery: Delivery) => new Map(doc.entries(doc.child(delivery.operation.node, 'responses')).map(([status, node]) => [status.toUpperCase(), [status, node] as const]));
  const statusesBefore = statuses(ctx.base, before);
  const statusesAfter = statuses(ctx.revision, after);
  for (const [key, [status, node]] of statusesBefore) {
    // A status the revision still accepts through its range (`200` within `2XX`) is not removed.
    if (statusesAfter.has(key) || statusesAfter.has(`${key.charAt(0)}XX`)) continue;
    ctx.findings.add(WEBHOOK_RULES['webhook-response-status-removed'], where(before, 'base', node, { status }), `${before.label} no longer documents the answer ${status} from receivers`);
  }
  for (const [key, [status, node]] of statusesAfter) {
    if (statusesBefore.has(key)) continue;
    ctx.findings.add(WEBHOOK_RULES['webhook-response-status-added'], where(after, 'revision', node, { status }), `${after.label} now documents the answer ${status} from receivers`);
  }
}
