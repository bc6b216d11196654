/**
 * Binds the spec to Express: express-openapi-validator validates every request (and, unless turned
 * off, every response) and dispatches to the handler registered under the operation's operationId.
 *
 * The validator matches a request by compiling and trying the route pattern of every path in its
 * document, on every request, so its cost grows with the size of the spec. Remit therefore gives
 * each resource (`/v1/customers`, `/v1/api_keys`, `/admin/accounts`, `/health`, …) its own
 * validator holding only that resource's paths, and picks the resource with one Map lookup on the
 * request path's prefix: the per-request work stays constant however many resources the spec gains.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OperationId } from '../../../generated/server/operations.js';
import type { Logger } from '../logger.js';
import { observed } from './observe.js';
import { envelopeOf, type Handlers, type Principal, type UntypedHandler } from './handlers.js';
import type { RequestEnvelope } from '../idempotency/index.js';
import { operationsOf, resolveRef, type OpenApiDocument } from '../spec.js';
import { boundBodies } from './body-bounds.js';
import { deprecation } from './deprecation.js';
import { assertValidatorChain, orderOperationStages } from './pipeline.js';
import { rejectUnstorableStrings } from './string-guard.js';
import { noneMatchNames, strongEtag } from './conditional.js';
import { matchedOperationId } from './matched.js';
import { clientAddress } from './rate-limit.js';

export type { OpenApiDocument };

/** The operationId of every operation in the document that has one. */
export function operationIdsOf(doc: OpenApiDocument): string[] {
  return operationsOf(doc).flatMap((op) => (op.operationId === undefined ? [] : [op.operationId]));
}

/** `/v1/customers/{id}` → `/v1/customers`; `/health` → `/health`. */
export function resourcePrefix(path: string): string {
  const segments = path.split('/').filter(Boolean);
  const literal: string[] = [];
  for (const s of segments) {
    if (s.includes('{')) break;
    literal.push(s);
    if (literal.length === 2 || !/^(v\d+|admin)$/.test(literal[0]!)) break;
  }
  return `/${literal.join('/')}`;
}

/** `#/components/schemas/Payment` → `['schemas', 'Payment']`. */
const COMPONENT_REF = /^#\/components\/([^/]+)\/([^/]+)$/;

/**
 * The components `root` reaches, transitively: every `$ref` (and every other string naming a
 * component, such as a discriminator's mapping) inside it, inside what those name, and so on.
 * Security schemes are kept whole: operations name them by key, not by `$ref`.
 */
function reachableComponents(doc: OpenApiDocument, root: unknown): NonNullable<OpenApiDocument['components']> {
  const all = (doc.components ?? {}) as Record<string, Record<string, unknown>>;
  const kept: Record<string, Record<string, unknown>> = { securitySchemes: { ...(all.securitySchemes ?? {}) } };
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      const match = COMPONENT_REF.exec(value);
      const [, kind, name] = match ?? [];
      if (!kind || !name || kept[kind]?.[name] !== undefined || all[kind]?.[name] === undefined) continue;
      (kept[kind] ??= {})[name] = all[kind][name];
      pending.push(all[kind][name]);
    } else if (Array.isArray(value)) pending.push(...value);
    else if (value !== null && typeof value === 'object') pending.push(...Object.values(value));
  }
  return kept as NonNullable<OpenApiDocument['components']>;
}

/**
 * The document split into one sub-document per resource prefix, each with only the components
 * its paths reach, and without the `webhooks` the API sends. The validator preprocesses every schema of the document it is given, at start-up
 * and in one go: given the whole catalogue once per resource, it held the event loop for seconds,
 * long enough for the first database connections to time out on a loaded machine.
 */
export function splitByResource(doc: OpenApiDocument): Map<string, OpenApiDocument> {
  const groups = new Map<string, OpenApiDocument>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const prefix = resourcePrefix(path);
    const group = groups.get(prefix) ?? { ...doc, paths: {} };
    group.paths![path] = item;
    groups.set(prefix, group);
  }
  for (const [prefix, group] of groups) {
    // What Remit sends rather than serves (`webhooks`) is not the validator's to check.
    const { webhooks: _sent, components: _all, ...served } = group;
    groups.set(prefix, { ...served, components: reachableComponents(doc, served) } as OpenApiDocument);
  }
  return groups;
}

export interface ApiRouterOptions {
  readonly spec: OpenApiDocument;
  readonly handlers: Handlers;
  /** Authenticates by the matched operation's security requirement; runs before request validation. */
  readonly authenticate: RequestHandler;
  /** Counts the request against its principal's quota; runs after authentication, before validation. */
  readonly limit?: RequestHandler;
  /** Checks the key's scopes; runs after the rate limit. */
  readonly authorize?: RequestHandler;
  /** Reads the request body; runs after the rate limit, so nobody's body is parsed before they are counted. */
  readonly body?: RequestHandler[];
  readonly validateResponses: boolean;
  /** Checks every answer's headers against the spec; given when responses are validated. */
  readonly checkHeaders?: RequestHandler;
  readonly log: Logger;
  /** The clock deprecated operations' sunsets are read against (ms since the epoch); the system's when absent. */
  readonly now?: () => number;
}

type AnyHandler = UntypedHandler;

function responseContentType(req: Request, status: number): string | undefined {
  const responses = (req as Request & { openapi?: { schema?: { responses?: Record<string, { content?: object }> } } }).openapi?.schema?.responses;
  const content = responses?.[String(status)]?.content;
  return content ? Object.keys(content)[0] : undefined;
}

/** How `bind` sends an operation's JSON answers. */
interface Sending {
  /** The operation answers `304` to a matching If-None-Match (the spec declares one). */
  readonly conditional: boolean;
  /** The validator's response middleware wraps `res.json`: send through it so the body is checked. */
  readonly validateResponses: boolean;
}

/**
 * A JSON answer, serialised once. A conditional operation's 200 carries the ETag of exactly these
 * bytes and becomes a bodiless 304 when the request's If-None-Match names it. Without response
 * validation the bytes are written as they are; with it, `res.json` is called so that the
 * validator's wrapper checks the body (serialising a tagged answer a second time: development and
 * test only).
 */
function sendJson(req: Request, res: Response, status: number, body: unknown, sending: Sending): void {
  const tagged = sending.conditional && status === 200;
  // Nothing to tag and a validator to pass: its res.json serialises, once.
  if (sending.validateResponses && !tagged) {
    res.json(body);
    return;
  }
  const text = JSON.stringify(body);
  if (tagged) {
    const etag = strongEtag(text);
    res.setHeader('ETag', etag);
    if (noneMatchNames(req.get('if-none-match'), etag)) {
      res.status(304).end();
      return;
    }
  }
  if (sending.validateResponses) {
    res.json(body);
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(text);
}

/** Adapts a typed handler to Express: builds its context, sends its reply. */
function bind(operationId: OperationId, handler: AnyHandler, log: Logger, sending: Sending): RequestHandler {
  return async (req: Request, res: Response) => {
    // The validator has checked params, query and body against this operation's schemas, which
    // are exactly the types the handler was compiled against.
    const base = {
      params: req.params as never,
      query: req.query as never,
      body: req.body as never,
      headers: req.headers,
      method: req.method,
      path: req.originalUrl.split('?')[0]!,
      principal: (res.locals.principal as Principal | undefined) ?? { kind: 'anonymous' as const },
      requestId: res.locals.requestId as string,
    };
    let envelope: RequestEnvelope | undefined;
    let handlerLog: Logger | undefined;
    const reply = await handler({
      ...base,
      // Read only by the handlers that need them (the token endpoint), so computed on demand.
      get origin() {
        return `${req.protocol}://${req.host}`;
      },
      get clientAddress() {
        return clientAddress(req);
      },
      get envelope() {
        return (envelope ??= envelopeOf(base, (outcome) => (observed(res).idempotency = outcome)));
      },
      // Built only for a handler that logs: most requests log nothing but their one request line.
      get log() {
        return (handlerLog ??= log.child({ operationId, requestId: base.requestId }));
      },
    } as never);
    res.status(reply.status);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    const type = responseContentType(req, reply.status);
    if (reply.body === undefined) res.end();
    else if (!type || type === 'application/json') sendJson(req, res, reply.status, reply.body, sending);
    else res.type(type).send(reply.body);
  };
}

/** The operationIds whose spec declares a `304` answer: conditional reads. */
function conditionalOperations(doc: OpenApiDocument): Set<string> {
  const ids = new Set<string>();
  for (const { operationId, operation } of operationsOf<{ responses?: Record<string, unknown> }>(doc)) {
    if (operationId && operation.responses?.['304'] !== undefined) ids.add(operationId);
  }
  return ids;
}

/** The operationIds that take an `Idempotency-Key` header. */
function idempotentOperations(doc: OpenApiDocument): Set<string> {
  const ids = new Set<string>();
  for (const { operationId, operation, pathParameters } of operationsOf<{ parameters?: unknown[] }>(doc)) {
    if (!operationId) continue;
    const parameters = [...pathParameters, ...(operation.parameters ?? [])].map((p) => resolveRef<{ name?: string; in?: string }>(doc, p));
    if (parameters.some((p) => p.in === 'header' && p.name?.toLowerCase() === 'idempotency-key')) ids.add(operationId);
  }
  return ids;
}

/**
 * Every answer of an operation that takes an Idempotency-Key says whether it is a replay: `false`
 * from the moment the operation is matched, turned `true` by the idempotency layer when it answers
 * with a stored response.
 */
function markReplayable(doc: OpenApiDocument): RequestHandler {
  const idempotent = idempotentOperations(doc);
  return (req, res, next) => {
    const operationId = matchedOperationId(req);
    if (operationId && idempotent.has(operationId)) res.setHeader('Idempotent-Replayed', 'false');
    next();
  };
}

export interface ChainStages {
  readonly validateResponses: boolean;
  /** The fields of a deprecated operation's answers, and its 410 after the sunset (see deprecation.ts). */
  readonly deprecation?: RequestHandler;
  /** Checks each answer's headers against the spec (see response-headers.ts); with response validation. */
  readonly checkHeaders?: RequestHandler;
  readonly authenticate: RequestHandler;
  readonly limit?: RequestHandler;
  readonly authorize?: RequestHandler;
  readonly body?: RequestHandler[];
  /** Refuses a parsed body larger than any valid one (see body-bounds.ts); runs before validation. */
  readonly boundBody?: RequestHandler;
  readonly resolve: (operationId: string | undefined) => RequestHandler;
}

/**
 * One express-openapi-validator chain over `doc`, with Remit's stages placed between operation
 * matching and request validation. `resolve` returns the Express handler for a matched operation.
 */
export function createValidatorChain(doc: OpenApiDocument, options: ChainStages): RequestHandler[] {
  const chain = OpenApiValidator.middleware({
    apiSpec: doc as never,
    validateApiSpec: false, // the whole document is linted and validated by `make check`; no need to repeat it per resource
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
    validateResponses: options.validateResponses ? { removeAdditional: false } : false,
    validateSecurity: false,
    validateFormats: true,
    ajvFormats: { mode: 'full' },
    ignoreUndocumented: false,
    operationHandlers: {
      basePath: '',
      resolver: (_basePath: string, route: { openApiRoute: string; method: string }) => {
        const operation = doc.paths?.[route.openApiRoute]?.[route.method.toLowerCase() as 'get'] as { operationId?: string } | undefined;
        return options.resolve(operation?.operationId);
      },
    },
  });
  // Remit's operation stages go right after the validator's operation match, in the order the
  // pipeline declares (src/platform/http/pipeline.ts, where each stage says why it is there).
  const at = assertValidatorChain(chain.map((mw) => mw.name), { validateResponses: options.validateResponses });
  const stages = orderOperationStages({
    deprecation: options.deprecation,
    checkHeaders: options.checkHeaders,
    replayFlag: markReplayable(doc),
    authenticate: options.authenticate,
    limit: options.limit,
    authorize: options.authorize,
    body: options.body,
    boundBody: options.boundBody,
    stringGuard: rejectUnstorableStrings(),
  });
  chain.splice(at, 0, ...stages);
  return chain;
}

export function buildApiRouter(options: ApiRouterOptions): Router {
  const { spec, handlers, authenticate, limit, authorize, body, validateResponses, checkHeaders, log } = options;
  const boundBody = boundBodies(spec);
  // Built from the whole document: a deprecated operation's successor may live in another resource.
  const sunsetting = deprecation(spec, options.now);
  const conditional = conditionalOperations(spec);
  const routers = new Map<string, Router>();

  for (const [prefix, subDoc] of splitByResource(spec)) {
    const chain = createValidatorChain(subDoc, {
      validateResponses,
      deprecation: sunsetting,
      checkHeaders,
      authenticate,
      limit,
      authorize,
      body,
      boundBody,
      resolve: (operationId) => {
        const handler = operationId ? (handlers[operationId as OperationId] as unknown as AnyHandler | undefined) : undefined;
        if (!operationId || !handler) throw new Error(`no handler for operation ${operationId ?? '(without operationId)'} in ${prefix}`);
        return bind(operationId as OperationId, handler, log, { conditional: conditional.has(operationId), validateResponses });
      },
    });
    // Each resource's chain sits in a router of its own, reached by one Map lookup: mounting the
    // chains side by side would make Express walk every resource's layers on every request.
    const sub = express.Router();
    sub.use(...chain);
    routers.set(prefix, sub);
  }

  // Every operation must have a handler, checked up front rather than on the first request.
  for (const operationId of operationIdsOf(spec)) {
    if (typeof handlers[operationId as OperationId] !== 'function') throw new Error(`no handler for operation ${operationId}`);
  }

  const router = express.Router();
  router.use((req, res, next) => {
    // HEAD is GET without the body, wherever GET is served (RFC 9110 §9.3.2): load balancers probe
    // /health and /ready with it. Node decided when the request arrived that a HEAD answer has no
    // body, so the operation runs as GET (counted, validated and answered with the same headers)
    // and nothing of its body is sent. The request log has already read the method as sent.
    if (req.method === 'HEAD') req.method = 'GET';
    const sub = routers.get(resourcePrefix(req.path));
    if (sub) sub(req, res, next);
    else next();
  });
  return router;
}
