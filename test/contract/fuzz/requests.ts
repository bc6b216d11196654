/**
 * Requests for one operation, built from its parameters and request body in the spec: valid ones,
 * and mutations of those that break exactly one thing (a body member, the media type, a
 * parameter, the cursor, the credentials), so that the request as a whole is invalid.
 */
import type { Express } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import type { ErrorCode } from '../../../src/platform/errors.js';
import { breakValue, invalidNumbers, invalidStrings, type StringTransport, type Violation } from './invalid-values.js';
import type { OperationSpec, ParameterSpec, Schema, SecuritySpec } from './operations.js';
import { typesOf, validValue, type Gen, type IdSource } from './valid-values.js';

export interface FuzzRequest {
  readonly method: OperationSpec['method'];
  /** Raw (unencoded) values of the path parameters. */
  readonly pathParams: Readonly<Record<string, string>>;
  /** Raw query pairs, in order; a name may repeat. */
  readonly query: readonly (readonly [string, string])[];
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: {
    /** The JSON value, when the body is one. */
    readonly json?: unknown;
    readonly text: string;
    /** null sends no Content-Type at all. */
    readonly contentType: string | null;
  };
  /** Whether the request pages with a cursor the list issued, for the filters it was issued for. */
  readonly issuedCursor?: boolean;
  /** For a mutated request: what was broken, and the codes the spec gives that refusal. */
  readonly mutation?: Mutated;
}

export interface Mutated {
  readonly label: string;
  readonly expected: readonly ErrorCode[];
}

const mutated = (label: string, ...expected: ErrorCode[]): Mutated => ({ label, expected });

export interface Credentials {
  /** A secret that satisfies the requirement (scheme and scopes). */
  satisfying(security: SecuritySpec): string;
  /**
   * Secrets that are valid somewhere but do not satisfy the requirement (another scheme's, a key
   * without the scope), each with the code the refusal carries.
   */
  notSatisfying(security: SecuritySpec): { readonly secret: string; readonly refusal: ErrorCode }[];
}

export interface RequestContext {
  readonly ids: IdSource;
  readonly credentials: Credentials;
  /** A key never sent before. */
  readonly freshIdempotencyKey: () => string;
  readonly requestId: string;
  /** Cursors really issued (with no filters) by each list operation, by operationId. */
  readonly cursors: ReadonlyMap<string, string>;
  /** The operation's other versions (see otherVersionsOf): the same list, whose cursors it takes. */
  readonly otherVersions: ReadonlySet<string>;
  readonly bodyLimitBytes: number;
}

const isIdempotencyKey = (p: ParameterSpec) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key';
/** The spec's list convention: `cursor` pages, `limit` may change between pages, anything else is a filter. */
const isCursor = (p: ParameterSpec) => p.in === 'query' && p.name === 'cursor';
const isFilter = (p: ParameterSpec) => p.in === 'query' && p.name !== 'cursor' && p.name !== 'limit';

function queryPairs(param: ParameterSpec, value: unknown): [string, string][] {
  if (param.style === 'deepObject' && value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([key, v]) => [`${param.name}[${key}]`, String(v)]);
  }
  return [[param.name, String(value)]];
}

const withoutParam = (query: FuzzRequest['query'], name: string) => query.filter(([k]) => k !== name && !k.startsWith(`${name}[`));

export function validRequest(op: OperationSpec, g: Gen, ctx: RequestContext): FuzzRequest {
  const pathParams: Record<string, string> = {};
  let query: [string, string][] = [];
  const headers: Record<string, string> = { 'Request-Id': ctx.requestId };
  if (op.security) headers.Authorization = `Bearer ${ctx.credentials.satisfying(op.security)}`;
  let realCursor = false;
  for (const param of op.parameters) {
    if (param.in === 'path') pathParams[param.name] = String(validValue(param.schema, g, ctx.ids));
    else if (isIdempotencyKey(param)) headers[param.name] = ctx.freshIdempotencyKey();
    else if (!param.required && !g(fc.boolean)) continue;
    else if (isCursor(param)) {
      // Half the time a cursor this list really issued (valid only without filters), otherwise a
      // well-formed one it never issued, which must be a 400 invalid_cursor.
      const issued = ctx.cursors.get(op.operationId);
      realCursor = issued !== undefined && g(fc.boolean);
      query.push([param.name, realCursor ? issued! : String(validValue(param.schema, g, ctx.ids))]);
    } else if (param.in === 'query') query.push(...queryPairs(param, validValue(param.schema, g, ctx.ids)).filter(([, v]) => v !== '' || param.allowEmptyValue));
    else if (param.in === 'header') headers[param.name] = String(validValue(param.schema, g, ctx.ids));
  }
  if (realCursor) query = query.filter(([name]) => !op.parameters.some((p) => isFilter(p) && (name === p.name || name.startsWith(`${p.name}[`))));
  let body: FuzzRequest['body'];
  if (op.requestBody && (op.requestBody.required || g(fc.boolean))) {
    const json = validValue(op.requestBody.schema, g, ctx.ids);
    body = { json, text: encodeBody(json, op.requestBody.contentType), contentType: op.requestBody.contentType };
  }
  return { method: op.method, pathParams, query, headers, body, issuedCursor: realCursor };
}

/** A form operation's body is sent as a form (each member a parameter), any other as JSON. */
const FORM = 'application/x-www-form-urlencoded';
const isForm = (op: OperationSpec) => op.requestBody?.contentType === FORM;

function encodeBody(json: unknown, contentType: string): string {
  if (contentType !== FORM || json === null || typeof json !== 'object' || Array.isArray(json)) return JSON.stringify(json);
  const pairs = Object.entries(json as Record<string, unknown>).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((item): [string, string] => [k, String(item)]));
  return new URLSearchParams(pairs).toString();
}

/** Whether a form can carry `value` as it is: a form has strings only, so any other type would arrive as a string. */
function formCarries(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

// ── Mutations ────────────────────────────────────────────────────────────────────────────────

const HEADER_CHARACTERS = fc.oneof(
  fc.constantFrom(' ', '\t'),
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
);

/** How each parameter location carries a string, for building invalid values the server really receives. */
const TRANSPORTS: Record<ParameterSpec['in'], StringTransport> = {
  // HTTP drops a header value's leading and trailing whitespace (RFC 9110 §5.5).
  header: { alphabet: HEADER_CHARACTERS, seen: (s) => s.replace(/^[ \t]+|[ \t]+$/g, '') },
  // `..`, `.` and an empty segment would address another route, not a malformed id. A lone
  // surrogate has no UTF-8 form, so no URL can carry it.
  path: { unusable: (s) => s === '' || s === '.' || s === '..' || !s.isWellFormed() },
  query: { unusable: (s) => !s.isWellFormed() },
  cookie: {},
};

/** A string that is not a number at all, as the validator coerces query strings (`+s == s`). */
const notNumeric = fc.string({ maxLength: 12 }).filter((s) => Number.isNaN(Number(s)));

/** Strings a parameter of `schema` must refuse, labelled. */
function invalidParameterValues(param: ParameterSpec, schema: Schema, near: string | undefined): fc.Arbitrary<Violation>[] {
  const empty = param.in === 'query' && !param.allowEmptyValue ? [fc.constant({ label: 'empty, which allowEmptyValue does not allow', value: '' })] : [];
  const types = typesOf(schema);
  if (types.includes('integer') || types.includes('number')) {
    return [...invalidNumbers(schema).map((arb) => arb.map((v) => ({ label: v.label, value: String(v.value) }))), notNumeric.map((value) => ({ label: 'not a number', value })), ...empty];
  }
  return [...invalidStrings(schema, near, TRANSPORTS[param.in]), ...empty];
}

type Mutation = (op: OperationSpec, req: FuzzRequest, g: Gen, ctx: RequestContext) => FuzzRequest | undefined;

const mutateBodyMember: Mutation = (op, req, g, ctx) => {
  if (!op.requestBody || !req.body || req.body.json === undefined) return undefined;
  const broken = breakValue(op.requestBody.schema, req.body.json, g, ctx.ids);
  if (!broken) return undefined;
  if (isForm(op)) {
    if (!formCarries(broken.value)) return undefined;
    return { ...req, body: { json: broken.value, text: encodeBody(broken.value, FORM), contentType: req.body.contentType }, mutation: mutated(`body ${broken.label}`, 'validation_failed') };
  }
  // A bare JSON scalar is not a JSON text the strict parser takes: malformed_json, as bad-input.test.ts pins.
  const expected: ErrorCode[] = broken.value !== null && typeof broken.value === 'object' ? ['validation_failed'] : ['validation_failed', 'malformed_json'];
  return { ...req, body: { json: broken.value, text: JSON.stringify(broken.value), contentType: req.body.contentType }, mutation: mutated(`body ${broken.label}`, ...expected) };
};

const mutateBodySyntax: Mutation = (op, req, g) => {
  if (!op.requestBody || !req.body) return undefined;
  const json = req.body.text;
  const text = g(() =>
    fc.oneof(
      fc.nat({ max: Math.max(0, json.length - 2) }).map((n) => json.slice(0, n + 1)),
      fc.constant(`${json} trailing`),
      fc.constant(json.replace(/"/g, "'")),
      fc.constant(`\uFEFF${json.slice(0, -1)}`),
      fc.constantFrom('{', '}', '{"a":', 'undefined', 'NaN', '{a:1}', "{'a':1}", '[1,]', '{"a":1,}', '\u0000'),
      fc.string({ minLength: 1, maxLength: 40 }),
    ).filter((s) => !isJson(s)),
  );
  return { ...req, body: { text, contentType: req.body.contentType }, mutation: mutated('a body that is not JSON', 'malformed_json') };
};

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const mutateContentType: Mutation = (op, req, g) => {
  if (!op.requestBody || !req.body) return undefined;
  const contentType = g(() =>
    fc.constantFrom(
      null,
      'text/plain',
      'text/html',
      'application/xml',
      ...(isForm(op) ? ['application/json'] : ['application/x-www-form-urlencoded']),
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/merge-patch+json',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'json',
    ),
  );
  return { ...req, body: { text: req.body.text, contentType }, mutation: mutated(`the ${isForm(op) ? 'form' : 'JSON'} body sent as ${contentType ?? 'no Content-Type'}`, 'unsupported_media_type') };
};

const mutateBodySize: Mutation = (op, req, g, ctx) => {
  if (!op.requestBody || !req.body) return undefined;
  const extra = g(fc.integer, { min: ctx.bodyLimitBytes + 1, max: ctx.bodyLimitBytes * 2 });
  const json = req.body.json && typeof req.body.json === 'object' && !Array.isArray(req.body.json) ? { ...req.body.json, padding: 'x'.repeat(extra) } : 'x'.repeat(extra);
  return { ...req, body: { text: encodeBody(json, op.requestBody.contentType), contentType: req.body.contentType }, mutation: mutated(`a body over the ${ctx.bodyLimitBytes}-byte limit`, 'payload_too_large') };
};

const mutateMissingParameter: Mutation = (op, req, g) => {
  const required = op.parameters.filter((p) => p.required && p.in !== 'path');
  if (required.length === 0) return undefined;
  const param = g(() => fc.constantFrom(...required));
  if (param.in === 'header') {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.toLowerCase() !== param.name.toLowerCase()));
    // The spec gives a missing Idempotency-Key a code of its own.
    const expected: ErrorCode = isIdempotencyKey(param) ? 'idempotency_key_required' : 'validation_failed';
    return { ...req, headers, mutation: mutated(`without the required header ${param.name}`, expected) };
  }
  return { ...req, query: withoutParam(req.query, param.name), mutation: mutated(`without the required query parameter ${param.name}`, 'validation_failed') };
};

const mutateParameterValue: Mutation = (op, req, g) => {
  const candidates = op.parameters
    .filter((p) => p.in !== 'cookie')
    .flatMap((p) => {
      // A deepObject parameter is broken member by member, or sent as a scalar.
      if (p.style === 'deepObject') {
        const members = Object.entries(p.schema.properties ?? {}).map(([key, schema]) => ({ param: p, key: `${p.name}[${key}]`, schema }));
        return [...members, { param: p, key: p.name, schema: { type: 'object' } as Schema }];
      }
      return [{ param: p, key: p.name, schema: p.schema }];
    });
  if (candidates.length === 0) return undefined;
  const { param, key, schema } = g(() => fc.constantFrom(...candidates));
  const near = param.in === 'path' ? req.pathParams[param.name] : param.in === 'header' ? req.headers[param.name] : req.query.find(([k]) => k === key)?.[1];
  const arbs = schema.type === 'object' ? [notNumeric.map((value) => ({ label: 'a scalar where an object is expected', value }))] : invalidParameterValues(param, schema, near);
  if (arbs.length === 0) return undefined;
  const violation = g(() => fc.oneof(...arbs));
  const value = String(violation.value);
  const label = violation.label;
  const mutation = mutated(`${param.in} ${key} ${label}`, 'validation_failed');
  if (param.in === 'path') return { ...req, pathParams: { ...req.pathParams, [param.name]: value }, mutation };
  if (param.in === 'header') {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.toLowerCase() !== param.name.toLowerCase()));
    return { ...req, headers: { ...headers, [param.name]: value }, mutation };
  }
  const query = key === param.name ? withoutParam(req.query, param.name) : req.query.filter(([k]) => k !== key);
  return { ...req, query: [...query, [key, value]], mutation };
};

const mutateUnknownQuery: Mutation = (op, req, g) => {
  const declared = new Set(op.parameters.filter((p) => p.in === 'query').map((p) => p.name));
  const name = g(() => fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((n) => !declared.has(n)));
  const value = g(() => fc.string({ maxLength: 12 }));
  return { ...req, query: [...req.query, [name, value]], mutation: mutated(`an unknown query parameter '${name}'`, 'validation_failed') };
};

const mutateRepeatedQuery: Mutation = (op, req, g, ctx) => {
  const scalars = op.parameters.filter((p) => p.in === 'query' && p.style !== 'deepObject');
  if (scalars.length === 0) return undefined;
  const param = g(() => fc.constantFrom(...scalars));
  const value = String(validValue(param.schema, g, ctx.ids));
  return { ...req, query: [...withoutParam(req.query, param.name), [param.name, value], [param.name, value]], mutation: mutated(`the query parameter '${param.name}' given twice`, 'validation_failed') };
};

const BASE64URL = /^[A-Za-z0-9_-]$/;

const mutateCursor: Mutation = (op, req, g, ctx) => {
  const cursorParam = op.parameters.find(isCursor);
  if (!cursorParam) return undefined;
  const issued = ctx.cursors.get(op.operationId);
  const others = [...ctx.cursors].filter(([id]) => id !== op.operationId && !ctx.otherVersions.has(id)).map(([, c]) => c);
  const scalarFilters = op.parameters.filter((p) => isFilter(p) && p.style !== 'deepObject');
  const forged = fc
    .tuple(fc.uint8Array({ minLength: 0, maxLength: 16 }), fc.jsonValue({ maxDepth: 2 }))
    .map(([tag, payload]) => Buffer.concat([Buffer.from(tag), Buffer.from(JSON.stringify(payload) ?? 'null')]).toString('base64url'))
    .filter((c) => c.length > 0 && c.length <= 512);
  const variants: fc.Arbitrary<{ label: string; cursor: string; extra?: [string, string] }>[] = [
    forged.map((cursor) => ({ label: 'a forged cursor', cursor })),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,200}$/).map((cursor) => ({ label: 'a random base64url cursor', cursor })),
  ];
  if (issued) {
    // A middle character: the last one may only carry padding bits and decode to the same bytes.
    const tampered = fc
      .tuple(fc.nat({ max: Math.max(0, issued.length - 3) }), fc.stringMatching(/^[A-Za-z0-9_-]$/))
      .filter(([at, c]) => issued[at] !== c && BASE64URL.test(c))
      .map(([at, c]) => issued.slice(0, at) + c + issued.slice(at + 1));
    variants.push(tampered.map((cursor) => ({ label: 'an issued cursor with one character changed', cursor })));
    const filter = scalarFilters.length > 0 ? g(() => fc.constantFrom(...scalarFilters)) : undefined;
    const value = filter && String(validValue(filter.schema, g, ctx.ids));
    if (filter && value) {
      variants.push(fc.constant({ label: `an issued cursor sent with a filter it was not issued for (${filter.name})`, cursor: issued, extra: [filter.name, value] as [string, string] }));
    }
  }
  if (others.length > 0) variants.push(fc.constantFrom(...others).map((cursor) => ({ label: "another list's cursor", cursor })));
  const { label, cursor, extra } = g(() => fc.oneof(...variants));
  let query = withoutParam(req.query, cursorParam.name).filter(([name]) => !op.parameters.some((p) => isFilter(p) && (name === p.name || name.startsWith(`${p.name}[`))));
  if (extra) query = [...query, extra];
  return { ...req, query: [...query, [cursorParam.name, cursor]], mutation: mutated(label, 'invalid_cursor') };
};

const mutateCredentials: Mutation = (op, req, g, ctx) => {
  if (!op.security) return undefined;
  const wrong = ctx.credentials.notSatisfying(op.security);
  const authorization = g(() =>
    fc.oneof(
      fc.constant(null),
      fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Token abc', 'Bearer sk_', 'Bearer a b'),
      fc.stringMatching(/^sk_[A-Za-z0-9]{22}_[A-Za-z0-9_-]{43}$/).map((s) => `Bearer ${s}`),
      ...(wrong.length > 0 ? [fc.constantFrom(...wrong).map((w) => `Bearer ${w.secret}`)] : []),
    ),
  );
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
  if (authorization !== null) headers.Authorization = authorization;
  const shown = authorization === null ? 'no Authorization header' : `Authorization '${authorization.replace(/^(Bearer\s+\S{6})\S+/, '$1…')}'`;
  const label = `credentials that do not satisfy ${op.security.scheme}: ${shown}`;
  if (authorization === null) return { ...req, headers, mutation: mutated(label, 'authentication_required') };
  const refusal = wrong.find((w) => authorization === `Bearer ${w.secret}`)?.refusal ?? 'invalid_api_key';
  return { ...req, headers, mutation: mutated(label, refusal) };
};

/** Each kind of mutation with its weight: breaking the body and the parameters is where the schemas are richest. */
const MUTATIONS: Record<string, { readonly weight: number; readonly mutate: Mutation }> = {
  'body member': { weight: 4, mutate: mutateBodyMember },
  'body syntax': { weight: 1, mutate: mutateBodySyntax },
  'content type': { weight: 1, mutate: mutateContentType },
  'body size': { weight: 1, mutate: mutateBodySize },
  'missing parameter': { weight: 1, mutate: mutateMissingParameter },
  'parameter value': { weight: 3, mutate: mutateParameterValue },
  'unknown query parameter': { weight: 1, mutate: mutateUnknownQuery },
  'repeated query parameter': { weight: 1, mutate: mutateRepeatedQuery },
  cursor: { weight: 2, mutate: mutateCursor },
  credentials: { weight: 1, mutate: mutateCredentials },
};

/** The mutation kinds that can apply to `op` at all. */
export function mutationKinds(op: OperationSpec): string[] {
  const has = (p: (x: ParameterSpec) => boolean) => op.parameters.some(p);
  return Object.keys(MUTATIONS).filter((kind) => {
    switch (kind) {
      case 'body syntax':
        // Any text is some form: only a JSON body can be malformed.
        return op.requestBody !== undefined && !isForm(op);
      case 'body member':
      case 'content type':
      case 'body size':
        return op.requestBody !== undefined;
      case 'missing parameter':
        return has((p) => p.required && p.in !== 'path');
      case 'parameter value':
        return op.parameters.length > 0;
      case 'repeated query parameter':
        return has((p) => p.in === 'query' && p.style !== 'deepObject');
      case 'cursor':
        return has(isCursor);
      case 'credentials':
        return op.security !== null;
      default:
        return true;
    }
  });
}

/** `req` (valid) with one thing broken; falls back to an unknown query parameter, which every operation refuses. */
export function invalidRequest(op: OperationSpec, req: FuzzRequest, g: Gen, ctx: RequestContext): FuzzRequest {
  const kind = g(() => fc.oneof(...mutationKinds(op).map((k) => ({ weight: MUTATIONS[k]!.weight, arbitrary: fc.constant(k) }))));
  return MUTATIONS[kind]!.mutate(op, req, g, ctx) ?? mutateUnknownQuery(op, req, g, ctx)!;
}

// ── Sending and showing ──────────────────────────────────────────────────────────────────────

export function urlOf(op: OperationSpec, req: FuzzRequest): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(req.pathParams[name] ?? ''));
  const query = req.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return query ? `${path}?${query}` : path;
}

export async function send(app: Express, op: OperationSpec, req: FuzzRequest): Promise<request.Response> {
  const agent = request(app) as unknown as Record<OperationSpec['method'], (url: string) => request.Test>;
  let test = agent[op.method](urlOf(op, req));
  for (const [name, value] of Object.entries(req.headers)) test = test.set(name, value);
  if (!req.body) return test;
  if (req.body.contentType === null) {
    // superagent would pick a Content-Type for a string body; a Buffer with the header removed sends none.
    test = test.send(Buffer.from(req.body.text));
    test.unset('Content-Type');
    return test;
  }
  return test.set('Content-Type', req.body.contentType).send(req.body.text);
}

const MAX_SHOWN_CHARS = 600;
const clip = (s: string) => (s.length > MAX_SHOWN_CHARS ? `${s.slice(0, MAX_SHOWN_CHARS)}… (${s.length} characters)` : s);

/** The exchange as a reader can replay it (secrets shortened). */
export function describeExchange(op: OperationSpec, req: FuzzRequest, res: request.Response): string {
  const lines = [`${op.method.toUpperCase()} ${clip(urlOf(op, req))}`];
  for (const [name, value] of Object.entries(req.headers)) lines.push(`${name}: ${name.toLowerCase() === 'authorization' ? value.replace(/^(Bearer\s+\S{6})\S+/, '$1…') : clip(JSON.stringify(value).slice(1, -1))}`);
  if (req.body) lines.push(`Content-Type: ${req.body.contentType ?? '(none)'}`, '', clip(req.body.text));
  lines.push(`→ ${res.status} ${res.headers['content-type'] ?? '(no content type)'}${res.headers['retry-after'] ? ` Retry-After: ${res.headers['retry-after']}` : ''}`);
  lines.push(clip(res.text ?? ''));
  return lines.join('\n');
}
