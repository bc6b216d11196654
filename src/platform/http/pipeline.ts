/**
 * The stages every request passes, in order, declared once. `mountPipeline` (for the app) and
 * `createValidatorChain` (for each resource's operations) build from this list and nothing else,
 * so the order the docs describe (docs/architecture.md) is the order the code runs.
 *
 * Stages marked `validator` are express-openapi-validator's own middleware, found in its chain by
 * name; `operation` stages are Remit's, placed between the validator's operation match and its
 * request validation. `assertValidatorChain` fails at start-up, and its test fails in CI, if a new
 * validator version no longer has those middleware in that order.
 */
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';

export const PIPELINE = [
  // Every answer names its request (header, problem body, log line); a well-formed incoming id is kept.
  { stage: 'requestId', at: 'app' },
  // nosniff, no-referrer, no framing, CSP; HSTS over TLS.
  { stage: 'securityHeaders', at: 'app' },
  // One JSON log line and the request's metrics per request, written when it ends; no query values or credentials.
  { stage: 'observe', at: 'app' },
  // The pages' files (Swagger UI and the reference page's script, the console's build), counted against the address's ops budget.
  { stage: 'pageFiles', at: 'app' },
  // The resource's router is picked by path prefix; HEAD is served as GET from here on.
  { stage: 'resourceRouter', at: 'app' },
  // The validator finds the operation (or answers 404/405) and annotates the request with it.
  { stage: 'operationMatch', at: 'validator', middleware: 'metadataMiddleware' },
  // A deprecated operation's answers carry Deprecation, Sunset and Link, errors included; from its sunset on it answers 410.
  { stage: 'deprecation', at: 'operation' },
  // Wraps the response so every answer's headers are checked against the spec (with response validation).
  { stage: 'checkHeaders', at: 'operation' },
  // Idempotent-Replayed: false on every answer of an operation that takes a key, until a replay says true.
  { stage: 'replayFlag', at: 'operation' },
  // Who is calling, by the operation's security requirement; before validation, so strangers see no schema.
  { stage: 'authenticate', at: 'operation' },
  // The request counts against its principal's quotas, valid or not.
  { stage: 'limit', at: 'operation' },
  // The key's scopes, after counting: a key spends its own quota on what it may not do.
  { stage: 'authorize', at: 'operation' },
  // Only now is the body read: JSON, UTF-8, at most BODY_LIMIT_BYTES.
  { stage: 'body', at: 'operation' },
  // A body with a collection beyond its schema's bound is refused before validation walks it.
  { stage: 'boundBody', at: 'operation' },
  // NUL and lone surrogates anywhere, which PostgreSQL cannot store as sent.
  { stage: 'stringGuard', at: 'operation' },
  // The validator checks parameters, headers and body against the operation.
  { stage: 'requestValidation', at: 'validator', middleware: 'requestMiddleware' },
  // The validator wraps res.json to check the answer's body against the spec (only when responses are validated).
  { stage: 'responseValidation', at: 'validator', middleware: 'responseMiddleware', only: 'validateResponses' },
  // The handler bound to the operationId runs and answers.
  { stage: 'handler', at: 'validator', middleware: 'operationHandlersMiddleware' },
  // A path no resource router claimed: 404.
  { stage: 'unmatchedRoute', at: 'app' },
  // An error answer nothing counted (404, 405) is counted against the address's ops budget.
  { stage: 'uncountedErrors', at: 'error' },
  // Every error becomes an RFC 9457 problem; unknown ones a generic 500, detail in the log.
  { stage: 'problem', at: 'error' },
] as const;

type Entry = (typeof PIPELINE)[number];
export type AppStage = Extract<Entry, { at: 'app' }>['stage'];
export type ErrorStage = Extract<Entry, { at: 'error' }>['stage'];
export type OperationStage = Extract<Entry, { at: 'operation' }>['stage'];

/** The operation stages' handlers, by stage; a stage without handlers (e.g. no rate limits) is skipped. */
export type OperationStages = Partial<Record<OperationStage, RequestHandler | readonly RequestHandler[]>>;

const handlersOf = <H>(value: H | readonly H[] | undefined): H[] => (value === undefined ? [] : Array.isArray(value) ? [...value] : [value as H]);

/** The operation stages in pipeline order. */
export function orderOperationStages(stages: OperationStages): RequestHandler[] {
  return PIPELINE.filter((e): e is Extract<Entry, { at: 'operation' }> => e.at === 'operation').flatMap((e) => handlersOf(stages[e.stage]));
}

/** The validator middleware the pipeline relies on, in the order it relies on, given how the validator was built. */
function validatorMiddleware(options: { readonly validateResponses: boolean }): string[] {
  return PIPELINE.flatMap((e) => ('middleware' in e && (!('only' in e) || options[e.only]) ? [e.middleware] : []));
}

/**
 * Where the operation stages go in the validator's chain (right after its operation match), after
 * checking that the chain still has the middleware the pipeline names, in that order. Response
 * validation is in the chain only when responses are validated (production turns it off).
 */
export function assertValidatorChain(names: readonly string[], options: { readonly validateResponses: boolean }): number {
  const wanted = validatorMiddleware(options);
  const positions = wanted.map((name) => names.indexOf(name));
  const missing = wanted.filter((_, i) => positions[i]! < 0);
  if (missing.length > 0 || positions.some((p, i) => i > 0 && p < positions[i - 1]!)) {
    throw new Error(
      `express-openapi-validator's chain is [${names.join(', ')}]; the pipeline needs ${wanted.join(' → ')} in that order` +
        (missing.length > 0 ? ` (missing: ${missing.join(', ')})` : '') +
        '. A validator upgrade changed its internals: see src/platform/http/pipeline.ts.',
    );
  }
  return positions[0]! + 1;
}

export interface AppStages {
  readonly app: Record<AppStage, readonly (RequestHandler | [string | string[], ...RequestHandler[]])[]>;
  readonly error: Record<ErrorStage, readonly ErrorRequestHandler[]>;
}

/** Mounts the app-wide and error stages in pipeline order. `[path, ...handlers]` mounts on a path. */
export function mountPipeline(app: Express, stages: AppStages): void {
  for (const entry of PIPELINE) {
    if (entry.at === 'app') {
      for (const use of stages.app[entry.stage]) {
        if (Array.isArray(use)) {
          const [path, ...handlers] = use as [string | string[], ...RequestHandler[]];
          app.use(path, ...handlers);
        } else app.use(use as RequestHandler);
      }
    } else if (entry.at === 'error') {
      for (const handler of stages.error[entry.stage]) app.use(handler);
    }
  }
}
