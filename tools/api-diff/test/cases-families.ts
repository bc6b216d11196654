/**
 * The schema families' cases, made from the same tables the walk and the catalogue are made from:
 * each change's sample pair (schema-samples.ts) placed in every family it exists in — a query
 * parameter, a request body property, a response body property, a response header, a webhook's
 * payload property and its header — expecting that family's rule at that place, and, for a
 * breaking rule, the additive counterpart.
 */
import type { JsonObject } from '../src/json.js';
import type { Location } from '../src/index.js';
import { RULES, type RuleId } from '../src/rules.js';
import { SCHEMA_CHANGES, SCHEMA_FAMILIES, schemaRule, propertyRule, type PropertyChange, type SchemaFamily } from '../src/schema-rules.js';
import { getThings, OK, spec, withQuery, withRequest, withResponse } from './build.js';
import type { RuleCase } from './rule-case.js';
import { CHANGE_SAMPLES, propertySample, type ChangeSample, type Pair } from './schema-samples.js';

interface Place {
  /** A document with the schema at this place. */
  readonly document: (schema: JsonObject) => JsonObject;
  readonly at: Partial<Location>;
  /** The property path of the schema's own root here (the field the sample sits in), if any. */
  readonly field?: string;
}

const wrap = (schema: JsonObject): JsonObject => ({ type: 'object', properties: { field: schema } });

function webhook(operation: JsonObject): JsonObject {
  return spec({}, {}, { webhooks: { 'thing.created': { post: { responses: OK, ...operation } } } });
}

export const PLACES: Record<SchemaFamily, Place> = {
  'request-parameter': { document: (schema) => withQuery(schema), at: { method: 'GET', path: '/things', parameter: { in: 'query', name: 'q' } } },
  'request-property': { document: (schema) => withRequest(wrap(schema)), at: { method: 'POST', path: '/things', mediaType: 'application/json' }, field: 'field' },
  'response-property': { document: (schema) => withResponse(wrap(schema)), at: { method: 'GET', path: '/things', status: '200', mediaType: 'application/json' }, field: 'field' },
  'response-header': {
    document: (schema) => getThings({ responses: { '200': { description: 'OK', headers: { 'X-Thing': { schema } } } } }),
    at: { method: 'GET', path: '/things', status: '200', header: 'X-Thing' },
  },
  'webhook-property': {
    document: (schema) => webhook({ requestBody: { required: true, content: { 'application/json': { schema: wrap(schema) } } } }),
    at: { webhook: 'thing.created', method: 'POST', mediaType: 'application/json' },
    field: 'field',
  },
  'webhook-header': {
    document: (schema) => webhook({ parameters: [{ name: 'X-Thing', in: 'header', required: true, schema }] }),
    at: { webhook: 'thing.created', method: 'POST', parameter: { in: 'header', name: 'X-Thing' } },
  },
};

function path(...parts: (string | undefined)[]): string | undefined {
  const list = parts.filter((p): p is string => p !== undefined && p !== '');
  return list.length === 0 ? undefined : list.join('.').replaceAll('.[', '[');
}

function caseFor(family: SchemaFamily, id: RuleId, change: string, sample: ChangeSample): RuleCase {
  const place = PLACES[family];
  const flow = SCHEMA_FAMILIES[family].flow;
  const rule = RULES[id];
  if (!rule) throw new Error(`no rule ${id}`);
  const property = path(place.field, sample.below);
  const counterpart: Pair | undefined = sample.counterpart?.[flow];
  return {
    rule: id,
    level: rule.level,
    change: `${change}, in ${family}`,
    base: place.document(sample.base),
    revision: place.document(sample.revision),
    at: { ...place.at, ...(property ? { property } : {}) },
    ...(rule.level === 'breaking'
      ? { additive: counterpart ? { change: `the counterpart of ${change}`, base: place.document(counterpart.base), revision: place.document(counterpart.revision) } : { change: `${change} undone` } }
      : {}),
  };
}

const PROPERTY_CHANGES: readonly PropertyChange[] = ['added-required', 'added-optional', 'removed-required', 'removed-optional', 'removed-rejected', 'became-required', 'became-optional', 'required-became-hidden', 'optional-became-hidden', 'became-visible'];

/** The property families' rules, tested in the body (or payload) of the family that owns them. */
const PROPERTY_HOMES: Record<'request' | 'response' | 'webhook', SchemaFamily> = { request: 'request-property', response: 'response-property', webhook: 'webhook-property' };

export function familyCases(): RuleCase[] {
  const cases: RuleCase[] = [];
  for (const family of Object.keys(SCHEMA_FAMILIES) as SchemaFamily[]) {
    const flow = SCHEMA_FAMILIES[family].flow;
    for (const [change, spec] of Object.entries(SCHEMA_CHANGES)) {
      if (spec.only && spec.only !== flow) continue;
      const sample = CHANGE_SAMPLES[change];
      if (!sample) throw new Error(`schema-samples.ts has no sample for the change '${change}'`);
      cases.push(caseFor(family, schemaRule(family, change).id as RuleId, change, sample));
    }
  }
  for (const [owner, family] of Object.entries(PROPERTY_HOMES)) {
    const hidden = owner === 'request' ? 'readOnly' : 'writeOnly';
    const seen = new Set<string>();
    for (const change of PROPERTY_CHANGES) {
      // The request side words `removed-required` and `removed-optional` as one rule; the response
      // side has no closed-object removal of its own.
      if (owner !== 'request' && change === 'removed-rejected') continue;
      const id = propertyRule(family, change).id;
      if (seen.has(id)) continue;
      seen.add(id);
      cases.push(caseFor(family, id as RuleId, `property ${change}`, propertySample(change, hidden)));
    }
  }
  return cases;
}
