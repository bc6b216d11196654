/**
 * Spec lint beyond Redocly's rules: what every request may carry must be bounded and shaped, so
 * that validating a request costs a bounded amount of work and the spec says what the server
 * refuses. Run by `make lint-spec`; exits 1 and names each violation.
 *
 * In every request (parameters and JSON bodies, at any depth):
 * - `string-bounded`: a string has `maxLength`, or is an `enum` or a `const`;
 * - `string-shaped`: a string has a `pattern`, `format`, `enum` or `const` (free text states the
 *   rule that refuses U+0000 and lone surrogates);
 * - `array-bounded`: an array has `maxItems`;
 * - `object-bounded`: an object that admits properties it does not name (`additionalProperties`
 *   not `false`) has `maxProperties`.
 *
 * Usage: tsx scripts/spec-rules.ts [spec file]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadSpec, operationsOf, resolveRef, SPEC_PATH } from '../src/platform/spec.js';

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, unknown>;
  additionalProperties?: boolean | unknown;
  propertyNames?: unknown;
  items?: unknown;
  oneOf?: unknown[];
  anyOf?: unknown[];
  allOf?: unknown[];
}

export type SpecRule = 'string-bounded' | 'string-shaped' | 'array-bounded' | 'object-bounded';

export interface SpecViolation {
  readonly rule: SpecRule;
  /** `createCustomer body/metadata/*`, `listCustomers query:email`. */
  readonly at: string;
}

const typesOf = (s: Schema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

function checkSchema(doc: object, node: unknown, at: string, out: SpecViolation[], seen: Set<unknown>): void {
  if (seen.has(node)) return; // a recursive schema was checked where it was first met
  seen.add(node);
  const schema = resolveRef<Schema>(doc, node);
  const types = typesOf(schema);
  const fixed = schema.enum !== undefined || schema.const !== undefined;
  if (types.includes('string') && !fixed) {
    if (schema.maxLength === undefined) out.push({ rule: 'string-bounded', at });
    if (schema.pattern === undefined && schema.format === undefined) out.push({ rule: 'string-shaped', at });
  }
  if (types.includes('array')) {
    if (schema.maxItems === undefined) out.push({ rule: 'array-bounded', at });
    if (schema.items !== undefined) checkSchema(doc, schema.items, `${at}/[]`, out, seen);
  }
  const isObject = types.includes('object') || (types.length === 0 && schema.properties !== undefined);
  if (isObject) {
    const open = schema.additionalProperties !== false;
    if (open && schema.maxProperties === undefined) out.push({ rule: 'object-bounded', at });
    for (const [name, member] of Object.entries(schema.properties ?? {})) checkSchema(doc, member, `${at}/${name}`, out, seen);
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') checkSchema(doc, schema.additionalProperties, `${at}/*`, out, seen);
    if (schema.propertyNames !== undefined) checkSchema(doc, { type: 'string', ...resolveRef<object>(doc, schema.propertyNames) }, `${at}/(names)`, out, seen);
  }
  for (const part of [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) checkSchema(doc, part, at, out, seen);
}

type Operation = { operationId?: string; parameters?: unknown[]; requestBody?: unknown };

/** Every violation in `doc`'s requests; empty when the spec keeps the rules. */
export function checkSpecRules(doc: { paths?: Record<string, unknown> }): SpecViolation[] {
  const out: SpecViolation[] = [];
  for (const { path: route, method, operationId, operation: op, pathParameters } of operationsOf<Operation>(doc)) {
    const name = operationId ?? `${method.toUpperCase()} ${route}`;
    for (const raw of [...pathParameters, ...(op.parameters ?? [])]) {
      const param = resolveRef<{ name: string; in: string; schema?: unknown }>(doc, raw);
      if (param.schema !== undefined) checkSchema(doc, param.schema, `${name} ${param.in}:${param.name}`, out, new Set());
    }
    const body = op.requestBody === undefined ? undefined : resolveRef<{ content?: Record<string, { schema?: unknown }> }>(doc, op.requestBody);
    for (const media of Object.values(body?.content ?? {})) {
      if (media.schema !== undefined) checkSchema(doc, media.schema, `${name} body`, out, new Set());
    }
  }
  return out;
}

const RULE_TEXT: Record<SpecRule, string> = {
  'string-bounded': 'a request string needs maxLength (or an enum or const)',
  'string-shaped': 'a request string needs a pattern, format, enum or const',
  'array-bounded': 'a request array needs maxItems',
  'object-bounded': 'a request object that takes unnamed properties needs maxProperties',
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ? path.resolve(process.argv[2]) : SPEC_PATH;
  const violations = checkSpecRules(loadSpec(file));
  for (const v of violations) console.error(`${path.relative(process.cwd(), file)}: ${v.rule}: ${v.at}: ${RULE_TEXT[v.rule]}`);
  if (violations.length > 0) {
    console.error(`spec rules: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log('spec rules: every request string, array and open object is bounded and shaped');
}
