/**
 * `make generate`: regenerates the server's `generated/` and the SDK's `sdk/src/generated/` from
 * `spec/openapi.yaml`, and the card-processor protocol's messages and services from `spec/processor.proto`.
 *
 *   generated/schema.ts               openapi-typescript: `paths`, `components`, `operations`
 *   generated/server/operations.ts    the operation table the server binds handlers against
 *   generated/processor/processor_pb.ts  protoc-gen-es over spec/processor.proto (run by buf, both
 *                                     from node_modules; buf.gen.yaml), for the adapter and the simulator
 *   sdk/src/generated/schema.ts       the same openapi-typescript output, so the SDK package
 *                                     imports nothing outside sdk/
 *   sdk/src/generated/resources.ts    the SDK's operation table, types and resource namespaces
 *   cli/src/generated/operations.ts   the `remit` command line's commands (scripts/generate-cli.ts)
 *
 * Output depends only on the specs (no timestamps, sorted where order is not the spec's own), so
 * `--check` can regenerate into memory and fail when the committed files are stale.
 *
 * Usage: tsx scripts/generate.ts [--spec <file>] [--proto-dir <dir>] [--out <dir>] [--sdk-out <dir>] [--check]
 *   --proto-dir  the directory holding the processor contract (default: spec/ of this checkout,
 *              also when --spec names another file); its code goes to `<--out>/processor/`
 *   --out      the server's generated directory (default: generated/)
 *   --sdk-out  the SDK's generated directory (default: sdk/src/generated next to --out's parent,
 *              so `--out <tree>/generated` writes `<tree>/sdk/src/generated` and never the
 *              working tree's SDK); the CLI's is `cli/src/generated` beside the SDK's package
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { HTTP_METHODS, resolveRef } from '../src/platform/spec.js';
import { renderCliOperations } from './generate-cli.js';
import { placementOf, upperFirst, type OpenApiDocument, type OperationObject, type ParameterObject, type Ref } from './spec-operations.js';
import openapiTS, { astToString } from 'openapi-typescript';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..');
const UNSAFE_METHODS = new Set(['post', 'put', 'patch', 'delete']);

interface OperationEntry {
  operationId: string;
  summary: string | undefined;
  description: string | undefined;
  method: string;
  path: string;
  tag: string | null;
  pathParams: string[];
  queryParams: string[];
  headerParams: string[];
  body: 'none' | 'optional' | 'required';
  scopes: string[];
  securitySchemes: string[];
  paginated: boolean;
  /** The operation's `x-sdk-method`, when it names its SDK method itself. */
  sdkMethod: string | undefined;
  /** Present when the operation is `deprecated: true`: its dates and successor, as the spec gives them. */
  deprecation: { since: string | undefined; sunset: string | undefined; successor: string | undefined } | undefined;
}

function deref<T>(doc: OpenApiDocument, value: T | Ref): T {
  return resolveRef<T>(doc, value);
}

function collectOperations(doc: OpenApiDocument): OperationEntry[] {
  const entries: OperationEntry[] = [];
  for (const [route, item] of Object.entries(doc.paths)) {
    const shared = (item.parameters ?? []).map((p) => deref<ParameterObject>(doc, p));
    for (const method of HTTP_METHODS) {
      const op = item[method] as OperationObject | undefined;
      if (!op) continue;
      if (!op.operationId) throw new Error(`${method.toUpperCase()} ${route} has no operationId`);
      const own = (op.parameters ?? []).map((p) => deref<ParameterObject>(doc, p));
      // Operation-level parameters override path-level ones with the same name and location.
      const byKey = new Map<string, ParameterObject>();
      for (const p of [...shared, ...own]) byKey.set(`${p.in}:${p.name}`, p);
      const params = [...byKey.values()];
      const body = op.requestBody ? deref<{ required?: boolean }>(doc, op.requestBody) : undefined;
      const security = op.security ?? doc.security ?? [];
      const queryParams = params.filter((p) => p.in === 'query').map((p) => p.name);
      entries.push({
        operationId: op.operationId,
        summary: op.summary,
        description: op.description,
        method: method.toUpperCase(),
        path: route,
        tag: op.tags?.[0] ?? null,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams,
        headerParams: params.filter((p) => p.in === 'header').map((p) => p.name),
        body: body ? (body.required ? 'required' : 'optional') : 'none',
        scopes: [...new Set(security.flatMap((req) => Object.values(req).flat()))].sort(),
        securitySchemes: [...new Set(security.flatMap((req) => Object.keys(req)))].sort(),
        paginated: queryParams.includes('cursor'),
        sdkMethod: op['x-sdk-method'],
        deprecation: op.deprecated === true
          ? { since: op['x-deprecated-at'], sunset: op['x-sunset'], successor: op['x-successor'] }
          : undefined,
      });
    }
  }
  return entries.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

function header(what: string, from = 'spec/openapi.yaml'): string {
  return `// Generated by scripts/generate.ts from ${from} (${what}). Do not edit: run \`make generate\`.\n`;
}

function renderServerOperations(ops: OperationEntry[]): string {
  const rows = ops.map((o) => `  ${o.operationId}: ${JSON.stringify({
    method: o.method, path: o.path, tag: o.tag, scopes: o.scopes, securitySchemes: o.securitySchemes, body: o.body,
  })},`);
  return `${header('operation table')}
/** Every operation in the spec, keyed by operationId: what the server binds a handler to. */
export const operations = {
${rows.join('\n')}
} as const;

export type OperationId = keyof typeof operations;

export const operationIds = Object.keys(operations) as OperationId[];
`;
}

/** A JSDoc block from spec prose; a comment terminator inside the prose is escaped so it cannot end the block early. */
function jsdoc(indent: string, ...paragraphs: (string | undefined)[]): string {
  const lines = paragraphs
    .filter((p): p is string => typeof p === 'string' && p.trim() !== '')
    .flatMap((p, i) => [...(i > 0 ? [''] : []), ...p.trim().replace(/\*\//g, '*\\/').split('\n')]);
  if (lines.length === 0) return '';
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l.trimEnd()}` : ''}`).join('\n')}\n${indent} */\n`;
}

/** Where an operation sits in the client: `client.<resource>.<method>`, or `client.<version>.<resource>.<method>`. */
interface SdkPlacement {
  readonly version: string | null;
  readonly resource: string;
  readonly method: string;
}

/** The operations of one namespace: `payments`, or `payments` under the version `v2`. */
interface SdkNamespace {
  readonly version: string | null;
  readonly resource: string;
  readonly tag: { name: string; description?: string };
  readonly ops: OperationEntry[];
}

/** How a user calls the placed method, without the client: `payments.create`, `v2.payments.create`. */
function sdkCall(p: SdkPlacement): string {
  return [p.version, p.resource, p.method].filter((part): part is string => part !== null).join('.');
}

/**
 * The `@deprecated` tag of a deprecated operation's method, from the spec's `x-successor` and
 * `x-sunset`: what to call instead, as the user writes it, and the day the operation stops answering.
 */
function deprecatedTag(op: OperationEntry, placements: ReadonlyMap<string, SdkPlacement>): string | undefined {
  if (!op.deprecation) return undefined;
  const { successor, sunset } = op.deprecation;
  const placed = successor ? placements.get(successor) : undefined;
  const instead = placed ? `Use \`client.${sdkCall(placed)}()\` (\`${successor}\`)` : successor ? `Use the operation \`${successor}\`` : 'The API deprecated this operation';
  return `@deprecated ${instead}${sunset ? `; this operation stops answering on ${sunset} (its Sunset).` : '.'}`;
}

/**
 * The SDK's generated core (`sdk/src/generated/resources.ts`): the operation table, the request and
 * response types of each operation, a named type per schema, and `RemitResources`, the typed
 * namespaces (`customers.create`, `payments.list`, `v2.payments.create`, …) over the `Transport`
 * the hand-written runtime implements. Only types are imported from the runtime (`sdk/src/core/`),
 * so the generated file decides the shape of the API and the runtime decides how a call travels.
 *
 * A tag with `x-sdk-resource` makes a namespace; with `x-sdk-version` too (e.g. `v2`), the
 * namespace sits under that version (`client.v2.payments`) and its methods are named as the
 * unversioned ones are (`createPaymentV2` → `create`). A deprecated operation's row carries its
 * dates and successor, for the runtime's deprecation notices, and its method a `@deprecated` tag.
 */
function renderSdkResources(doc: OpenApiDocument, ops: OperationEntry[]): string {
  const tags = (doc.tags ?? []).filter((t) => t['x-sdk-resource']);
  const tagByName = new Map(tags.map((t) => [t.name, t]));
  const sdkOps = ops.filter((o) => o.tag !== null && tagByName.has(o.tag));
  const placements = new Map<string, SdkPlacement>();
  // Namespaces by `<version>/<resource>`, the version empty for the unversioned ones.
  const groups = new Map<string, SdkNamespace>();
  for (const op of sdkOps) {
    const tag = tagByName.get(op.tag!)!;
    const resource = tag['x-sdk-resource']!;
    const version = tag['x-sdk-version'] ?? null;
    placements.set(op.operationId, placementOf(op.operationId, op.sdkMethod, resource, version));
    const key = `${version ?? ''}/${resource}`;
    const group = groups.get(key) ?? { version, resource, tag, ops: [] };
    group.ops.push(op);
    groups.set(key, group);
  }
  const topLevel = new Set([...groups.values()].filter((g) => g.version === null).map((g) => g.resource));
  for (const g of groups.values()) {
    if (g.version !== null && topLevel.has(g.version)) throw new Error(`the SDK version ${g.version} and the resource ${g.version} would share client.${g.version}`);
  }
  const opIds = new Set(ops.map((o) => o.operationId));
  for (const op of sdkOps) {
    const successor = op.deprecation?.successor;
    if (successor !== undefined && !opIds.has(successor)) throw new Error(`${op.operationId}: x-successor ${successor} names no operation`);
  }

  const specRows = sdkOps.map((o) => {
    const successor = o.deprecation?.successor;
    const placed = successor ? placements.get(successor) : undefined;
    const deprecation = o.deprecation && {
      since: o.deprecation.since,
      sunset: o.deprecation.sunset,
      successor: successor ? { operationId: successor, call: placed ? sdkCall(placed) : undefined } : undefined,
    };
    return `  ${o.operationId}: ${JSON.stringify({
      operationId: o.operationId, method: o.method, path: o.path, pathParams: o.pathParams, queryParams: o.queryParams,
      headerParams: o.headerParams, body: o.body, unsafe: UNSAFE_METHODS.has(o.method.toLowerCase()), paginated: o.paginated,
      deprecation,
    })},`;
  });

  const renderNamespace = (group: SdkNamespace, indent: string): string => {
    const inner = `${indent}  `;
    const seen = new Map<string, string>();
    const methods = group.ops.map((o) => {
      const placement = placements.get(o.operationId)!;
      const name = placement.method;
      const clash = seen.get(name);
      if (clash) throw new Error(`${o.operationId} and ${clash} both become ${sdkCall(placement)}`);
      seen.set(name, o.operationId);
      const args: string[] = o.pathParams.map((p) => `${p}: string`);
      const call: string[] = [o.pathParams.length > 0 ? `path: { ${o.pathParams.join(', ')} }` : 'path: {}'];
      if (o.body !== 'none') {
        args.push(`body${o.body === 'optional' ? '?' : ''}: RequestBody<'${o.operationId}'>`);
        call.push('body');
      }
      if (o.queryParams.length > 0) {
        args.push(`query?: QueryParams<'${o.operationId}'>`);
        call.push('query');
      }
      args.push('options?: RequestOptions');
      call.push('options');
      const comment = jsdoc(inner, o.summary && `${o.summary}.`, o.description, `\`${o.method} ${o.path}\` (\`${o.operationId}\`)`, deprecatedTag(o, placements));
      const signature = o.paginated
        ? `PagePromise<ListItem<'${o.operationId}'>> =>\n${inner}  this.#transport.requestPage(operationSpecs.${o.operationId}, { ${call.join(', ')} })`
        : `APIPromise<SuccessBody<'${o.operationId}'>> =>\n${inner}  this.#transport.request(operationSpecs.${o.operationId}, { ${call.join(', ')} })`;
      return `${comment}${inner}${name}: (${args.join(', ')}): ${signature},`;
    });
    const summary = group.tag.description ? `${group.tag.name}: ${group.tag.description}` : group.tag.name;
    return `${jsdoc(indent, summary)}${indent}${group.version === null ? `readonly ${group.resource} =` : `${group.resource}:`} {\n${methods.join('\n')}\n${indent}}${group.version === null ? ';' : ','}`;
  };

  const sorted = [...groups.values()].sort((a, b) => a.resource.localeCompare(b.resource));
  const resources = sorted.filter((g) => g.version === null).map((g) => renderNamespace(g, '  '));
  const versions = [...new Set(sorted.flatMap((g) => (g.version === null ? [] : [g.version])))].sort();
  for (const version of versions) {
    const members = sorted.filter((g) => g.version === version);
    const names = members.map((g) => `\`${version}.${g.resource}\``).join(', ');
    const comment = jsdoc('  ', `API ${version}: ${names}, with the same method names as the unversioned namespaces and the types of ${version}.`);
    resources.push(`${comment}  readonly ${version} = {\n${members.map((g) => renderNamespace(g, '    ')).join('\n\n')}\n  };`);
  }

  const schemaNames = Object.keys(doc.components?.schemas ?? {}).sort();
  const schemaAliases = schemaNames.map((n) => `export type ${n} = components['schemas']['${n}'];`);
  const paramAliases = sdkOps
    .filter((o) => o.queryParams.length > 0)
    .map((o) => `export type ${upperFirst(o.operationId)}Params = QueryParams<'${o.operationId}'>;`);

  return `${header('SDK resources')}
import type { APIPromise } from '../core/api-promise.js';
import type { PagePromise } from '../core/pagination.js';
import type { RequestOptions } from '../core/request-options.js';
import type { components, operations } from './schema.js';

export interface OperationSpec {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'TRACE';
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly queryParams: readonly string[];
  readonly headerParams: readonly string[];
  readonly body: 'none' | 'optional' | 'required';
  /** Not safe by HTTP semantics: the runtime sends an Idempotency-Key with it. */
  readonly unsafe: boolean;
  /** Takes \`cursor\` and answers with the list envelope. */
  readonly paginated: boolean;
  /** Present when the spec marks the operation \`deprecated\`. */
  readonly deprecation?: OperationDeprecation;
}

/** A deprecated operation, as the spec describes it (\`x-deprecated-at\`, \`x-sunset\`, \`x-successor\`). */
export interface OperationDeprecation {
  /** The day it was deprecated (\`YYYY-MM-DD\`). */
  readonly since?: string;
  /** The day it stops answering (\`YYYY-MM-DD\`); from then on it answers \`410\` \`api_version_sunset\`. */
  readonly sunset?: string;
  /** The operation to use instead, and the method that calls it (\`v2.payments.create\`) when the SDK has one. */
  readonly successor?: { readonly operationId: string; readonly call?: string };
}

/** Every operation the SDK exposes, keyed by operationId. */
export const operationSpecs = {
${specRows.join('\n')}
} as const satisfies Record<string, OperationSpec>;

export type SdkOperationId = keyof typeof operationSpecs;

type Op<K extends SdkOperationId> = operations[K];
type Json<C> = C extends { content: { 'application/json': infer B } } ? B : never;
type SuccessStatus = 200 | 201 | 202 | 203 | 204;

export type QueryParams<K extends SdkOperationId> = Op<K> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
export type RequestBody<K extends SdkOperationId> = Op<K> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;
export type SuccessBody<K extends SdkOperationId> = {
  [S in keyof Op<K>['responses']]: S extends SuccessStatus ? Json<Op<K>['responses'][S]> : never;
}[keyof Op<K>['responses']];
/** The item type of a list operation's \`data\`. */
export type ListItem<K extends SdkOperationId> = SuccessBody<K> extends { data: (infer I)[] } ? I : never;

export interface CallArgs {
  readonly path: Record<string, string>;
  readonly query?: object;
  readonly body?: unknown;
  readonly options?: RequestOptions;
}

/** What the hand-written runtime implements: one logical call (with its retries) per method call. */
export interface Transport {
  request<T>(spec: OperationSpec, args: CallArgs): APIPromise<T>;
  /** A list operation: the first page, which knows how to fetch the pages after it. */
  requestPage<Item>(spec: OperationSpec, args: CallArgs): PagePromise<Item>;
}

// The spec's schemas, by name.
${schemaAliases.join('\n')}

// The query parameters of each list operation.
${paramAliases.join('\n')}

/** The typed resource namespaces (\`customers.create\`, \`payments.list\`, \`v2.payments.create\`, …) over a transport. */
export abstract class RemitResources {
  readonly #transport: Transport;

  protected constructor(transport: Transport) {
    this.#transport = transport;
  }

${resources.join('\n\n')}
}
`;
}

/**
 * The processor's code: `buf generate` with protoc-gen-es, both from node_modules (no remote
 * plugin, nothing downloaded), into a scratch directory, read back by file name. The output
 * depends only on spec/processor.proto and the pinned plugin.
 */
async function generateProcessor(protoDir: string): Promise<Record<string, string>> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'remit-proto-'));
  try {
    const bin = path.join(ROOT, 'node_modules/.bin');
    const buf = spawnSync(path.join(bin, 'buf'), ['generate', path.relative(ROOT, protoDir) || '.', '--template', 'buf.gen.yaml', '-o', scratch], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
    });
    if (buf.status !== 0) throw new Error(`buf generate failed: ${buf.stderr || buf.error?.message}`);
    const dir = path.join(scratch, 'generated/processor');
    const names = (await readdir(dir)).sort();
    const marked = async (name: string) => `${header('protoc-gen-es code', `spec/${name.replace(/_pb\.ts$/, '.proto')}`)}\n${await readFile(path.join(dir, name), 'utf8')}`;
    return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await marked(name)] as const)));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      spec: { type: 'string', default: path.join(ROOT, 'spec/openapi.yaml') },
      'proto-dir': { type: 'string', default: path.join(ROOT, 'spec') },
      out: { type: 'string', default: path.join(ROOT, 'generated') },
      'sdk-out': { type: 'string' },
      check: { type: 'boolean', default: false },
    },
  });
  const specPath = path.resolve(values.spec!);
  const outDir = path.resolve(values.out!);
  const sdkOutDir = path.resolve(values['sdk-out'] ?? path.join(path.dirname(outDir), 'sdk/src/generated'));
  const cliOutDir = path.join(path.dirname(sdkOutDir), '../../cli/src/generated');
  const doc = parseYaml(await readFile(specPath, 'utf8')) as OpenApiDocument;
  const ops = collectOperations(doc);
  const ids = ops.map((o) => o.operationId);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`operationId ${dup} is used twice`);

  const ast = await openapiTS(pathToFileURL(specPath), { alphabetize: false, exportType: false });
  const schema = `${header('openapi-typescript types')}\n${astToString(ast)}`;
  const processor = await generateProcessor(path.resolve(values['proto-dir']!));
  const files: Record<string, string> = {
    [path.join(outDir, 'schema.ts')]: schema,
    [path.join(outDir, 'server/operations.ts')]: renderServerOperations(ops),
    ...Object.fromEntries(Object.entries(processor).map(([name, content]) => [path.join(outDir, 'processor', name), content])),
    [path.join(sdkOutDir, 'schema.ts')]: schema,
    [path.join(sdkOutDir, 'resources.ts')]: renderSdkResources(doc, ops),
    [path.join(cliOutDir, 'operations.ts')]: renderCliOperations(doc as Parameters<typeof renderCliOperations>[0], header('CLI commands')),
  };

  const stale: string[] = [];
  for (const [target, content] of Object.entries(files)) {
    if (values.check) {
      const current = await readFile(target, 'utf8').catch(() => null);
      if (current !== content) stale.push(path.relative(ROOT, target));
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  if (values.check) {
    if (stale.length > 0) {
      console.error(`generated code is stale (run \`make generate\` and commit): ${stale.join(', ')}`);
      process.exitCode = 1;
    } else {
      console.log(`generated/, sdk/src/generated/ and cli/src/generated/ are fresh (${Object.keys(files).length} files, ${ops.length} operations)`);
    }
  } else {
    const where = [outDir, sdkOutDir, cliOutDir].map((d) => path.relative(ROOT, d) || '.').join(' and ');
    console.log(`generated ${Object.keys(files).length} files for ${ops.length} operations into ${where}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});
