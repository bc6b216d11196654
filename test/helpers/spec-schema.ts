/**
 * Validates a value against a schema of the spec's `components`, with JSON Schema 2020-12 (the
 * dialect of OpenAPI 3.1): for what the API sends outside an HTTP answer the validator already
 * checks, such as webhook payloads.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { loadSpec } from '../../src/platform/spec.js';

let ajv: Ajv2020 | undefined;

export function specValidator(schema: string): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const spec = loadSpec() as { components: unknown };
    ajv.addSchema({ $id: 'remit-spec', components: spec.components });
  }
  return ajv.compile({ $ref: `remit-spec#/components/schemas/${schema}` });
}

/**
 * Validates against the schema of an operation's JSON answer (`responses[status]`, a reference or
 * inline), its references read from the spec's `components`.
 */
export function responseValidator(path: string, method: string, status = '200'): ValidateFunction {
  specValidator('Problem');
  const spec = loadSpec() as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
  let response = spec.paths[path]?.[method.toLowerCase()]?.responses[status] as { $ref?: string; content?: Record<string, { schema: unknown }> } | undefined;
  if (response?.$ref) response = (spec as unknown as { components: { responses: Record<string, typeof response> } }).components.responses[response.$ref.split('/').pop()!];
  const schema = response?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} has no JSON answer for ${status}`);
  const rebased = JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"remit-spec#/components/')) as object;
  return ajv!.compile(rebased);
}
