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
