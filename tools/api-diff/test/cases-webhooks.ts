/**
 * Webhooks and callbacks: requests the API sends, so the receiver is the client and a request's
 * polarity is inverted. A payload or header that guarantees less breaks receivers; the statuses
 * the API accepts as a receiver's answer flow back in, where accepting fewer breaks them.
 */
import type { JsonObject } from '../src/json.js';
import type { Location } from '../src/index.js';
import { object, OK, spec, STRING } from './build.js';
import type { RuleCase } from './rule-case.js';

const ACCEPTED: JsonObject = { '200': { description: 'Received' }, '410': { description: 'Gone: the endpoint is disabled' } };

/** The webhook `thing.created`, sent with POST, with these operation fields. */
function webhook(operation: JsonObject = {}, others: JsonObject = {}): JsonObject {
  return spec({}, {}, { webhooks: { 'thing.created': { post: { responses: ACCEPTED, ...operation } }, ...others } });
}

/** A JSON payload of this schema. */
function payload(schema: JsonObject, required = true): JsonObject {
  return { requestBody: { required, content: { 'application/json': { schema } } } };
}

function header(required: boolean): JsonObject {
  return { name: 'X-Signature', in: 'header', required, schema: STRING };
}

const THING = object({ id: STRING, name: STRING }, ['id', 'name']);

const WEBHOOK = { webhook: 'thing.created', method: 'POST' } as const;
const SIGNATURE: Partial<Location> = { ...WEBHOOK, parameter: { in: 'header', name: 'X-Signature' } };

/** POST /subscriptions declaring the callback `onEvent` at `{$request.body#/url}`, sent with POST, with these operation fields. */
function callback(operation: JsonObject | undefined): JsonObject {
  const callbacks: JsonObject = operation ? { callbacks: { onEvent: { '{$request.body#/url}': { post: { responses: ACCEPTED, ...operation } } } } } : {};
  return spec({ '/subscriptions': { post: { responses: OK, ...callbacks } } });
}

const CALLBACK = { method: 'POST', path: '/subscriptions', callback: { name: 'onEvent', expression: '{$request.body#/url}', method: 'POST' } } as const;

export const WEBHOOK_CASES: RuleCase[] = [
  {
    rule: 'webhook-removed',
    level: 'breaking',
    change: 'the webhook thing.deleted is removed',
    base: webhook({}, { 'thing.deleted': { post: { responses: ACCEPTED } } }),
    revision: webhook(),
    at: { webhook: 'thing.deleted', method: 'POST', document: 'base' },
    additive: { change: 'the webhook thing.deleted is added', expect: 'webhook-added' },
  },
  {
    rule: 'webhook-removed',
    level: 'breaking',
    change: 'the callback onEvent of POST /subscriptions is removed',
    base: callback(payload(THING)),
    revision: callback(undefined),
    at: { ...CALLBACK, document: 'base' },
    additive: { change: 'the callback is added', expect: 'webhook-added' },
  },
  { rule: 'webhook-added', level: 'info', change: 'the webhook thing.deleted is added', base: webhook(), revision: webhook({}, { 'thing.deleted': { post: { responses: ACCEPTED } } }), at: { webhook: 'thing.deleted', method: 'POST', document: 'revision' } },
  { rule: 'webhook-deprecated', level: 'info', change: 'the webhook is deprecated', base: webhook(), revision: webhook({ deprecated: true }), at: WEBHOOK },
  {
    rule: 'webhook-body-removed',
    level: 'breaking',
    change: 'the webhook no longer sends its payload',
    base: webhook(payload(THING)),
    revision: webhook(),
    at: { ...WEBHOOK, document: 'base' },
    additive: { change: 'the webhook now sends a payload', expect: 'webhook-body-added' },
  },
  { rule: 'webhook-body-added', level: 'info', change: 'the webhook now sends a payload', base: webhook(), revision: webhook(payload(THING)), at: WEBHOOK },
  {
    rule: 'webhook-body-became-optional',
    level: 'breaking',
    change: 'the payload becomes optional',
    base: webhook(payload(THING)),
    revision: webhook(payload(THING, false)),
    at: WEBHOOK,
    additive: { change: 'the payload becomes required', expect: 'webhook-body-became-required' },
  },
  { rule: 'webhook-body-became-required', level: 'info', change: 'the payload becomes required', base: webhook(payload(THING, false)), revision: webhook(payload(THING)), at: WEBHOOK },
  {
    rule: 'webhook-media-type-removed',
    level: 'breaking',
    change: 'the payload is no longer sent as XML',
    base: webhook({ requestBody: { required: true, content: { 'application/json': { schema: THING }, 'application/xml': { schema: THING } } } }),
    revision: webhook(payload(THING)),
    at: { ...WEBHOOK, mediaType: 'application/xml', document: 'base' },
    additive: { change: 'the payload can be sent as XML again', expect: 'webhook-media-type-added' },
  },
  {
    rule: 'webhook-media-type-added',
    level: 'info',
    change: 'the payload can also be sent as XML',
    base: webhook(payload(THING)),
    revision: webhook({ requestBody: { required: true, content: { 'application/json': { schema: THING }, 'application/xml': { schema: THING } } } }),
    at: { ...WEBHOOK, mediaType: 'application/xml' },
  },
  {
    rule: 'webhook-required-header-removed',
    level: 'breaking',
    change: 'the required X-Signature header is no longer sent',
    base: webhook({ parameters: [header(true)] }),
    revision: webhook(),
    at: { ...SIGNATURE, document: 'base' },
    additive: { change: 'the X-Signature header is added', expect: 'webhook-header-added' },
  },
  { rule: 'webhook-optional-header-removed', level: 'warning', change: 'the optional X-Signature header is no longer sent', base: webhook({ parameters: [header(false)] }), revision: webhook(), at: SIGNATURE },
  {
    rule: 'webhook-header-became-optional',
    level: 'breaking',
    change: 'the X-Signature header becomes optional',
    base: webhook({ parameters: [header(true)] }),
    revision: webhook({ parameters: [header(false)] }),
    at: SIGNATURE,
    additive: { change: 'the header becomes required', expect: 'webhook-header-became-required' },
  },
  {
    rule: 'webhook-header-became-required',
    level: 'info',
    change: 'the x-signature header (matched case-insensitively) becomes required',
    base: webhook({ parameters: [{ ...header(false), name: 'x-signature' }] }),
    revision: webhook({ parameters: [header(true)] }),
    at: SIGNATURE,
  },
  { rule: 'webhook-header-added', level: 'info', change: 'the X-Signature header is added', base: webhook(), revision: webhook({ parameters: [header(true)] }), at: SIGNATURE },
  {
    rule: 'webhook-response-status-removed',
    level: 'breaking',
    change: 'the API no longer documents 410 as an answer it accepts from receivers',
    base: webhook(),
    revision: webhook({ responses: { '200': { description: 'Received' } } }),
    at: { ...WEBHOOK, status: '410', document: 'base' },
    additive: { change: 'the 410 answer is documented again', expect: 'webhook-response-status-added' },
  },
  {
    rule: 'webhook-response-status-removed',
    level: 'breaking',
    change: 'a callback no longer documents 2XX as the answer it accepts',
    base: callback({ responses: { '2XX': { description: 'Received' } } }),
    revision: callback({ responses: { '200': { description: 'Received' } } }),
    at: { ...CALLBACK, status: '2XX' },
    additive: { change: '2XX is documented again' },
  },
  { rule: 'webhook-response-status-added', level: 'info', change: 'the API now accepts 202 from receivers', base: webhook(), revision: webhook({ responses: { ...ACCEPTED, '202': { description: 'Accepted' } } }), at: { ...WEBHOOK, status: '202' } },
  {
    rule: 'webhook-required-property-removed',
    level: 'breaking',
    change: "the callback payload's required name is removed",
    base: callback(payload(THING)),
    revision: callback(payload(object({ id: STRING }, ['id']))),
    at: { ...CALLBACK, mediaType: 'application/json', property: 'name' },
    additive: { change: 'a required property is added to the callback payload', expect: 'webhook-required-property-added' },
  },
  {
    rule: 'webhook-property-enum-value-added',
    level: 'warning',
    change: 'a payload enum gains a value',
    base: webhook(payload(object({ status: { type: 'string', enum: ['open'] } }, ['status']))),
    revision: webhook(payload(object({ status: { type: 'string', enum: ['open', 'closed'] } }, ['status']))),
    at: { ...WEBHOOK, mediaType: 'application/json', property: 'status' },
  },
];
