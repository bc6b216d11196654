/**
 * Handler types derived from the generated `operations` type: a handler's parameters, body and
 * every status/body pair it may return come from the spec. Change the spec, run `make generate`,
 * and `npm run typecheck` lists every handler that no longer matches.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { operations } from '../../../generated/schema.js';
import type { OperationId } from '../../../generated/server/operations.js';
import type { RequestEnvelope } from '../idempotency/index.js';
import type { Logger } from '../logger.js';

type Op<K extends OperationId> = operations[K];
type OrEmpty<T> = [T] extends [never] ? Record<string, never> : [T] extends [undefined] ? Record<string, never> : T;
type Responses<K extends OperationId> = Op<K>['responses'];
type ProblemMediaType = 'application/problem+json';
/** The non-problem media types a response declares (none: a response without a body). */
type ReplyMediaTypes<R> = R extends { content: infer C } ? Exclude<keyof C, ProblemMediaType> : 'none';
type BodyOf<R> = R extends { content: infer C } ? C[Exclude<keyof C, ProblemMediaType>] : undefined;
/** Statuses a handler returns: those whose documented response is not a problem document. */
type ReplyStatus<K extends OperationId> = {
  [S in keyof Responses<K>]: S extends number ? ([ReplyMediaTypes<Responses<K>[S]>] extends [never] ? never : S) : never;
}[keyof Responses<K>];

export type PathParams<K extends OperationId> = OrEmpty<NonNullable<Op<K>['parameters']['path']>>;
export type QueryParams<K extends OperationId> = OrEmpty<NonNullable<Op<K>['parameters']['query']>>;
export type RequestBody<K extends OperationId> =
  Op<K> extends { requestBody?: infer B }
    ? NonNullable<B> extends { content: { 'application/json': infer J } }
      ? J
      : NonNullable<B> extends { content: { 'application/x-www-form-urlencoded': infer F } }
        ? F
        : undefined
    : undefined;

/**
 * One of the responses the spec declares for operation K, with its status and body. Errors are
 * not returned but thrown (AppError), and become problem documents in one place.
 */
export type Reply<K extends OperationId> = {
  [S in ReplyStatus<K>]: {
    readonly status: S;
    readonly body: BodyOf<Responses<K>[S]>;
    readonly headers?: Readonly<Record<string, string>>;
  };
}[ReplyStatus<K>];

/** Who is calling, established by the auth middleware from the operation's security requirement. */
export type Principal =
  | { readonly kind: 'api_key'; readonly accountId: string; readonly keyId: string; readonly scopes: readonly string[] }
  | { readonly kind: 'oauth'; readonly accountId: string; readonly clientId: string; readonly scopes: readonly string[] }
  | { readonly kind: 'admin' }
  | { readonly kind: 'anonymous' };

export interface HandlerContext<K extends OperationId> {
  readonly params: PathParams<K>;
  readonly query: QueryParams<K>;
  readonly body: RequestBody<K>;
  readonly headers: IncomingHttpHeaders;
  readonly method: string;
  /** The request path as sent, without the query string. */
  readonly path: string;
  readonly principal: Principal;
  readonly requestId: string;
  /** The scheme and host the request was sent to (`https://api.example.com`), as `trust proxy` lets it be read. */
  readonly origin: string;
  /** The client's address as the per-address limits count it. */
  readonly clientAddress: string;
  /**
   * The calling account, the Idempotency-Key, method, path and request id, as every use case takes
   * them. Built once, here; only operations secured by an API key have one (others throw).
   */
  readonly envelope: RequestEnvelope;
  readonly log: Logger;
}

export type Handler<K extends OperationId> = (ctx: HandlerContext<K>) => Promise<Reply<K>>;

/** What the binder sees of any handler: the shape every Reply<K> has. */
export type UntypedHandler = (ctx: HandlerContext<never>) => Promise<{ status: number; body: unknown; headers?: Readonly<Record<string, string>> }>;

/** A component's handlers: exactly the operations K, each typed from the spec. */
export type HandlersFor<K extends OperationId> = { readonly [P in K]: Handler<P> };

/** Every operation in the spec has a handler; a missing one fails the type check. */
export type Handlers = HandlersFor<OperationId>;

/**
 * The complete handler map. Besides requiring every operation, it rejects keys that name no
 * operation: `satisfies` alone lets extra keys through when the map is built by spreading, and a
 * handler for an operation removed from the spec would otherwise linger unnoticed.
 */
export function defineHandlers<H extends Handlers>(handlers: H & Record<Exclude<keyof H, OperationId>, never>): Handlers {
  return handlers;
}

/** The calling account for operations secured by an API key or an access token. */
export function accountIdOf(principal: Principal): string {
  if (principal.kind !== 'api_key' && principal.kind !== 'oauth') throw new Error(`operation needs an account's principal, got ${principal.kind}`);
  return principal.accountId;
}

/** The scopes the caller holds: its key's or its token's; none for the admin or nobody. */
export function scopesOf(principal: Principal): readonly string[] {
  return principal.kind === 'api_key' || principal.kind === 'oauth' ? principal.scopes : [];
}

/** The request's `Idempotency-Key` (its shape already checked against the spec), if any. */
function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['idempotency-key'];
  return typeof value === 'string' ? value : undefined;
}

/** A handler's view of its request as use cases take it (see HandlerContext.envelope). */
export function envelopeOf(
  request: { principal: Principal; headers: IncomingHttpHeaders; method: string; path: string; requestId: string },
  observe?: RequestEnvelope['observe'],
): RequestEnvelope {
  return { accountId: accountIdOf(request.principal), key: idempotencyKeyOf(request.headers), method: request.method, path: request.path, requestId: request.requestId, observe };
}

/** Says whether an answer is replayed from a stored idempotent response (see the spec's header). */
export function replayHeaders(replayed: boolean): Record<string, string> {
  return { 'Idempotent-Replayed': replayed ? 'true' : 'false' };
}
