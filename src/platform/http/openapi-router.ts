/**
 * Binds the spec to Express: express-openapi-validator validates every request (and, unless turned
 * off, every response) and dispatches to the handler registered under the operation's operationId.
 *
 * The validator matches a request by compiling and trying the route pattern of every path in its
 * document, on every request, so its cost grows with the size of the spec. Remit therefore gives
 * each resource (`/v1/customers`, `/v1/api_keys`, `/admin/accounts`, `/health`, …) its own
 * validator holding only that resource's paths: Express picks the resource by prefix, and the
 * validator's per-request work stays constant however many resources the spec gains.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import type { OperationId } from '../../../generated/server/operations.js';
import type { Logger } from '../logger.js';
import type { Handlers, Principal, UntypedHandler } from './handlers.js';
import { rejectUnstorableStrings } from './string-guard.js';

export type OpenApiDocument = OpenAPIV3.DocumentV3_1;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

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

/** The document split into one sub-document per resource prefix, sharing every component. */
export function splitByResource(doc: OpenApiDocument): Map<string, OpenApiDocument> {
  const groups = new Map<string, OpenApiDocument>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const prefix = resourcePrefix(path);
    const group = groups.get(prefix) ?? { ...doc, paths: {} };
    group.paths![path] = item;
    groups.set(prefix, group);
  }
  // Longest prefix first, so `/v1/customers` is tried before a shorter prefix that contains it.
  return new Map([...groups.entries()].sort(([a], [b]) => b.length - a.length || a.localeCompare(b)));
}

export interface ApiRouterOptions {
  readonly spec: OpenApiDocument;
  readonly handlers: Handlers;
  /** Authenticates by the matched operation's security requirement; runs before request validation. */
  readonly authenticate: RequestHandler;
  readonly validateResponses: boolean;
  readonly log: Logger;
}

type AnyHandler = UntypedHandler;

function responseContentType(req: Request, status: number): string | undefined {
  const responses = (req as Request & { openapi?: { schema?: { responses?: Record<string, { content?: object }> } } }).openapi?.schema?.responses;
  const content = responses?.[String(status)]?.content;
  return content ? Object.keys(content)[0] : undefined;
}

/** Adapts a typed handler to Express: builds its context, sends its reply. */
function bind(operationId: OperationId, handler: AnyHandler, log: Logger): RequestHandler {
  return async (req: Request, res: Response) => {
    // The validator has checked params, query and body against this operation's schemas, which
    // are exactly the types the handler was compiled against.
    const reply = await handler({
      params: req.params as never,
      query: req.query as never,
      body: req.body as never,
      headers: req.headers,
      principal: (res.locals.principal as Principal | undefined) ?? { kind: 'anonymous' },
      requestId: res.locals.requestId as string,
      log: (req as Request & { log?: Logger }).log ?? log.child({ operationId }),
    } as never);
    res.status(reply.status);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    const type = responseContentType(req, reply.status);
    if (reply.body === undefined) res.end();
    else if (!type || type === 'application/json') res.json(reply.body);
    else res.type(type).send(reply.body);
  };
}

export function buildApiRouter(options: ApiRouterOptions): Router {
  const { spec, handlers, authenticate, validateResponses, log } = options;
  const router = express.Router();
  const bound = new Set<string>();

  for (const [prefix, subDoc] of splitByResource(spec)) {
    const chain = OpenApiValidator.middleware({
      apiSpec: subDoc as never,
      validateApiSpec: false, // the whole document is linted and validated by `make check`; no need to repeat it per resource
      validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
      validateResponses: validateResponses ? { removeAdditional: false } : false,
      validateSecurity: false,
      validateFormats: true,
      ajvFormats: { mode: 'full' },
      ignoreUndocumented: false,
      operationHandlers: {
        basePath: '',
        resolver: (_basePath: string, route: { openApiRoute: string; method: string }) => {
          const operation = subDoc.paths?.[route.openApiRoute]?.[route.method.toLowerCase() as 'get'] as { operationId?: string } | undefined;
          const operationId = operation?.operationId as OperationId | undefined;
          const handler = operationId ? (handlers[operationId] as unknown as AnyHandler | undefined) : undefined;
          if (!operationId || !handler) throw new Error(`no handler for ${route.method} ${route.openApiRoute}`);
          bound.add(operationId);
          return bind(operationId, handler, log);
        },
      },
    });
    // Authentication runs right after the validator has matched the operation (it needs the
    // operation's security requirement) and before the request is validated: an anonymous
    // malformed request is a 401, not a 400 that describes the schema to a stranger.
    const metadataAt = chain.findIndex((mw) => mw.name === 'metadataMiddleware');
    if (metadataAt < 0) throw new Error('express-openapi-validator: metadata middleware not found; check the pinned version');
    chain.splice(metadataAt + 1, 0, authenticate, rejectUnstorableStrings());
    router.use(prefix, ...chain);
  }

  // Every operation must have a handler, checked up front rather than on the first request.
  for (const item of Object.values(spec.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = (item as Record<string, { operationId?: string } | undefined>)[method];
      if (op?.operationId && typeof handlers[op.operationId as OperationId] !== 'function') {
        throw new Error(`no handler for operation ${op.operationId}`);
      }
    }
  }
  return router;
}
