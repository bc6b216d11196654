/**
 * The `remit` command line's operation table (`cli/src/generated/operations.ts`), written by
 * `make generate` from spec/openapi.yaml: one command per operation, grouped as the SDK groups its
 * methods (`remit customers create`, `remit v2 payments capture <id>`), with options derived from
 * the operation's parameters and request body schema — types, enums, required, descriptions.
 *
 * How a schema becomes options:
 *   scalar (string, integer, number, boolean, nullable or not)  `--capture-method manual`
 *   object with fixed properties (`amount: { value, currency }`) one option per property: `--amount-value`, `--amount-currency`
 *   map (`metadata`, additionalProperties only)                  `--metadata key=value`, repeatable
 *   array of scalars (`scopes`, `enabled_events`)                 `--scopes read,write` or repeated
 * Path parameters are positional arguments, in path order. A whole body can always be given with
 * `--data @file.json` (or `-` for stdin) instead, the options then changing its fields.
 */
import { HTTP_METHODS, inlineRefs, resolveRef } from '../src/platform/spec.js';
import type { CliOperation, CliOption } from '../cli/src/operation.js';
import { kebab, placementOf, type OpenApiDocument as Document, type OperationObject as Operation, type ParameterObject as Parameter } from './spec-operations.js';

type Json = Record<string, unknown>;
type Schema = Json & {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  description?: string;
};

const MAX_COLUMNS = 6;
const COLUMN_PRIORITY = ['type', 'name', 'email', 'url', 'amount', 'status', 'payment', 'customer', 'scopes', 'description'];

function oneLine(text: string | undefined): string {
  if (!text) return '';
  // The first paragraph, up to a line that introduces a list (ends with a colon), then its first sentence.
  const paragraph = text.trim().split(/\n\s*\n/)[0]!;
  const introduced = /^([\s\S]*?):\s*(\n|$)/.exec(paragraph);
  const flat = (introduced ? introduced[1]! : paragraph).replace(/\s+/g, ' ').trim();
  const sentence = /^(.+?\.)(\s|$)/.exec(flat);
  return (sentence ? sentence[1]! : flat).replace(/\.$/, '');
}

/** Spec prose as paragraphs: the lines of each joined, so the help wraps them to the terminal. */
function paragraphs(text: string | undefined): string {
  return (text ?? '')
    .trim()
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, ' '))
    .join('\n\n');
}

/** A parameter's schema, every reference inlined. */
function schemaOf(doc: Document, parameter: Parameter): Schema {
  return inlineRefs(doc, (parameter.schema ?? {}) as Schema);
}

function types(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === 'string') return [schema.type];
  if (schema.const !== undefined) return [typeof schema.const === 'number' ? 'number' : typeof schema.const];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return [...new Set(alternatives.flatMap(types))];
  return [];
}

/** The string values a schema allows, when it lists them (enum, const, or alternatives of those). */
function enumOf(schema: Schema): string[] | undefined {
  if (schema.enum) return schema.enum.filter((v): v is string => typeof v === 'string');
  if (typeof schema.const === 'string') return [schema.const];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (!alternatives) return undefined;
  const parts = alternatives.map(enumOf);
  return parts.every((p): p is string[] => p !== undefined) ? [...new Set(parts.flat())] : undefined;
}

function merged(schema: Schema): Schema {
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (!schema.allOf && alternatives && alternatives.every((a) => merged(a).properties)) {
    // A union of objects (an event is a payment's or a refund's): every property any of them has,
    // required where all of them require it.
    const parts = alternatives.map(merged);
    return {
      ...schema,
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties)),
      required: (parts[0]!.required ?? []).filter((name) => parts.every((p) => p.required?.includes(name))),
    };
  }
  if (!schema.allOf) return schema;
  const parts = schema.allOf.map(merged);
  return {
    ...schema,
    type: 'object',
    properties: Object.assign({}, ...parts.map((p) => p.properties ?? {}), schema.properties ?? {}),
    required: [...new Set([...parts.flatMap((p) => p.required ?? []), ...(schema.required ?? [])])],
  };
}

function scalarKind(schema: Schema): 'string' | 'integer' | 'number' | 'boolean' | undefined {
  const t = types(schema).filter((x) => x !== 'null');
  if (t.length !== 1) return t.length === 0 && enumOf(schema) ? 'string' : undefined;
  return ['string', 'integer', 'number', 'boolean'].includes(t[0]!) ? (t[0] as 'string') : undefined;
}

/** The options of an object's properties (a body, or a deepObject query parameter). */
function optionsOf(schema: Schema, target: string[], required: boolean, where: string, description = '', inQuery = false): CliOption[] {
  const s = merged(schema);
  const nullable = types(s).includes('null');
  const desc = inQuery && target.length === 1 ? description || oneLine(s.description) : oneLine(s.description) || description;
  const scalar = scalarKind(s);
  if (scalar) {
    const values = enumOf(s);
    return [{ flag: kebab(target.join('_')), target, kind: scalar, ...(values ? { enum: values } : {}), required, nullable, description: desc }];
  }
  if (types(s).includes('array')) {
    const items = merged(s.items ?? {});
    const kind = scalarKind(items);
    if (!kind || kind === 'boolean') throw new Error(`${where}: ${target.join('.')} is an array of non-scalars; the CLI takes it through --data`);
    const values = enumOf(items);
    return [{ flag: kebab(target.join('_')), target, kind: 'list', items: kind, ...(values ? { enum: values } : {}), required, nullable, description: desc }];
  }
  if (s.properties && Object.keys(s.properties).length > 0) {
    const req = new Set(s.required ?? []);
    return Object.entries(s.properties).flatMap(([name, prop]) => {
      const made = optionsOf(prop, [...target, name], required && req.has(name), where, target.length === 0 ? '' : `${desc ? `${desc} ` : ''}(${name})`);
      // A query parameter's bounds (`created[gte]`) are told apart by the parameter's own words, not their shared type's.
      return inQuery && target.length > 0 ? made.map((o) => ({ ...o, description: `${desc ? `${desc} ` : ''}(${name})` })) : made;
    });
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    return [{ flag: kebab(target.join('_')), target, kind: 'map', required, nullable, description: desc }];
  }
  throw new Error(`${where}: ${target.join('.') || 'the body'} has a schema the CLI cannot turn into options`);
}

/** Where each operation sits: the SDK's namespace and method when it has one, else its tag and operationId. */
function placement(doc: Document, op: Operation): string[] {
  const tag = (doc.tags ?? []).find((t) => t.name === op.tags?.[0]);
  const resource = tag?.['x-sdk-resource'] ?? kebab(op.tags?.[0] ?? 'operations').replace(/-/g, '');
  const version = tag?.['x-sdk-version'] ?? null;
  const { method } = placementOf(op.operationId, op['x-sdk-method'], resource, version);
  const group = tag?.['x-sdk-resource'] ? kebab(resource) : kebab(op.tags?.[0] ?? 'operations');
  // `getHealth` reads as `remit operations health`: a read with no verb of its own is named by what it reads.
  const name = kebab(method).replace(/^get-(?=.)/, '');
  return [...(version ? [version] : []), group, name];
}

/** The operation's method, one the SDK's `request` sends. */
function commandMethod(where: string, method: string): CliOperation['method'] {
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'POST' && upper !== 'PUT' && upper !== 'PATCH' && upper !== 'DELETE') throw new Error(`${where}: the CLI sends GET, POST, PUT, PATCH and DELETE, not ${upper}`);
  return upper;
}

function authOf(doc: Document, op: Operation): CliOperation['auth'] {
  const schemes = new Set((op.security ?? doc.security ?? []).flatMap((req) => Object.keys(req)));
  if (schemes.has('apiKey') || schemes.has('oauth2')) return 'credentials';
  if (schemes.has('adminToken')) return 'admin';
  if (schemes.has('metricsToken')) return 'metrics';
  return 'none';
}

/** The table columns of a list's items: the id, then its required scalar (or money) fields, in schema order. */
function columnsOf(doc: Document, op: Operation): string[] {
  const ok = resolveRef<Json>(doc, op.responses?.['200']);
  const schema = merged(inlineRefs(doc, (ok.content as Record<string, { schema: Schema }>)['application/json']!.schema));
  const item = merged(schema.properties?.data?.items ?? {});
  const props = item.properties ?? {};
  const required = new Set(item.required ?? Object.keys(props));
  const shown = Object.entries(props)
    .filter(([name, prop]) => !['id', 'object', 'created'].includes(name) && required.has(name) && (scalarKind(prop) !== undefined || (prop.properties?.value && prop.properties?.currency)))
    .map(([name]) => name);
  // What tells items apart first (what they are, for whom, how much, in what state), then the rest in schema order.
  const rank = (name: string) => (COLUMN_PRIORITY.includes(name) ? COLUMN_PRIORITY.indexOf(name) : COLUMN_PRIORITY.length);
  const ordered = shown.map((name, i) => ({ name, i })).sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i).map((c) => c.name);
  return ['id', ...ordered.slice(0, MAX_COLUMNS - 2), ...('created' in props ? ['created'] : [])];
}

type Row = CliOperation & { readonly tag: string | undefined };

export function cliOperations(doc: Document): Row[] {
  const rows: Row[] = [];
  const commandOf = new Map<string, string[]>();
  const ops: { route: string; method: string; op: Operation; shared: unknown[] }[] = [];
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Operation | undefined;
      if (op) {
        ops.push({ route, method, op, shared: item.parameters ?? [] });
        commandOf.set(op.operationId, placement(doc, op));
      }
    }
  }
  for (const { route, method, op, shared } of ops) {
    const where = op.operationId;
    const byKey = new Map<string, Parameter>();
    for (const p of [...shared, ...(op.parameters ?? [])].map((p) => resolveRef<Parameter>(doc, p))) byKey.set(`${p.in}:${p.name}`, p);
    const params = [...byKey.values()];
    const args = params
      .filter((p) => p.in === 'path')
      .sort((a, b) => route.indexOf(`{${a.name}}`) - route.indexOf(`{${b.name}}`))
      .map((p) => ({ name: p.name, description: oneLine(p.description ?? schemaOf(doc, p).description) }));
    const query = params
      .filter((p) => p.in === 'query')
      .flatMap((p) => optionsOf(schemaOf(doc, p), [p.name], p.required === true, where, oneLine(p.description), true));
    let body: CliOption[] = [];
    let bodyRequired: boolean | null = null;
    let bodyEncoding: CliOperation['bodyEncoding'] = null;
    if (op.requestBody) {
      const rb = resolveRef<{ required?: boolean; content: Record<string, { schema: Schema }> }>(doc, op.requestBody);
      const [type, media] = Object.entries(rb.content)[0]!;
      bodyEncoding = type === 'application/x-www-form-urlencoded' ? 'form' : 'json';
      bodyRequired = rb.required === true;
      body = optionsOf(inlineRefs(doc, media.schema), [], true, where);
    }
    const ok = Object.entries(op.responses ?? {}).find(([status]) => /^2\d\d$/.test(status));
    const content = ok ? Object.keys(resolveRef<{ content?: Json }>(doc, ok[1]).content ?? {}) : [];
    const answers = content.length === 0 || content.some((c) => c === 'application/json' || c.endsWith('+json')) ? 'json' : 'text';
    const paginated = params.some((p) => p.in === 'query' && p.name === 'cursor');
    const successor = op['x-successor'] ? commandOf.get(op['x-successor']) : undefined;
    if (op['x-successor'] && !successor) throw new Error(`${where}: x-successor ${op['x-successor']} names no operation`);
    rows.push({
      tag: op.tags?.[0],
      operationId: op.operationId,
      command: commandOf.get(op.operationId)!,
      summary: op.summary ?? op.operationId,
      description: paragraphs(op.description),
      method: commandMethod(where, method),
      path: route,
      args,
      query: query.filter((o) => o.flag !== 'cursor' || paginated),
      body,
      bodyRequired,
      bodyEncoding,
      idempotencyKey: params.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'),
      auth: authOf(doc, op),
      list: paginated ? { columns: columnsOf(doc, op) } : null,
      answers,
      ...(op.deprecated
        ? { deprecation: { ...(op['x-deprecated-at'] ? { since: op['x-deprecated-at'] } : {}), ...(op['x-sunset'] ? { sunset: op['x-sunset'] } : {}), ...(successor ? { successor } : {}) } }
        : {}),
    });
  }
  const seen = new Map<string, string>();
  for (const row of rows) {
    const key = row.command.join(' ');
    const other = seen.get(key);
    if (other) throw new Error(`${row.operationId} and ${other} would both be \`remit ${key}\``);
    seen.set(key, row.operationId);
  }
  return rows.sort((a, b) => a.command.join(' ').localeCompare(b.command.join(' ')));
}

/** Each command group's help line: its tag's description, or for a version, the resources under it. */
export function cliGroups(doc: Document, operations: readonly Row[]): Record<string, string> {
  const groups: Record<string, string> = {};
  for (const op of operations) {
    for (let depth = 1; depth < op.command.length; depth++) {
      const key = op.command.slice(0, depth).join(' ');
      if (groups[key] !== undefined) continue;
      const under = [...new Set(operations.filter((o) => o.command.slice(0, depth).join(' ') === key).map((o) => o.command[depth]!))];
      const tag = depth === op.command.length - 1 ? (doc.tags ?? []).find((t) => t.name === op.tag) : undefined;
      groups[key] = tag?.description ? oneLine(tag.description) : `The ${key} resources: ${under.join(', ')}`;
    }
  }
  return Object.fromEntries(Object.entries(groups).sort(([a], [b]) => a.localeCompare(b)));
}

export function renderCliOperations(doc: Document, header: string): string {
  const operations = cliOperations(doc);
  const rows = operations.map(({ tag: _tag, ...row }) => `  ${JSON.stringify(row)},`);
  const groups = Object.entries(cliGroups(doc, operations)).map(([key, description]) => `  ${JSON.stringify(key)}: ${JSON.stringify(description)},`);
  return `${header}
import type { CliOperation } from '../operation.js';

/** Every operation of the spec as a command, sorted by command. */
export const operations: readonly CliOperation[] = [
${rows.join('\n')}
];

/** The help line of each command group (\`customers\`, \`v2\`, \`v2 payments\`). */
export const groups: Readonly<Record<string, string>> = {
${groups.join('\n')}
};
`;
}
