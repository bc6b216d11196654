/**
 * From what a caller of `remit.request` names (a method, a path template, whether the API
 * deduplicates it, whether it takes the client's credentials) to the call the transport sends: an
 * operation record shaped as the generated ones, so the retry policy, the Idempotency-Key and the
 * deprecation notices treat it as they treat those. Everything is checked before anything is sent,
 * and no message quotes a value the caller passed: a body or a header may hold a secret.
 */
import { RemitError } from '../core/errors.js';
import type { RawOperation, RawRequestArgs } from '../core/raw-request.js';
import type { OperationSpec } from '../generated/resources.js';
import type { EncodedBody, PlannedCall } from './http-transport.js';

const METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export function plannedRawCall(operation: RawOperation, args: RawRequestArgs | undefined): PlannedCall {
  if (typeof operation !== 'object' || operation === null) {
    throw new RemitError('request() takes the operation first: remit.request({ method: "GET", path: "/health" }).');
  }
  const { method, path, idempotent = false, authenticate = true } = operation as Partial<Record<keyof RawOperation, unknown>>;
  if (typeof method !== 'string' || !METHODS.includes(method)) {
    throw new RemitError(`The operation's method must be one of ${METHODS.join(', ')}, not ${typeof method === 'string' ? method : typeof method}.`);
  }
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#]/.test(path)) {
    throw new RemitError('The operation\'s path must be a path template of the API, starting with "/" and without a query (pass it as query), e.g. "/v1/payments/{id}".');
  }
  if (typeof idempotent !== 'boolean') throw new RemitError('The operation\'s idempotent must be true or false.');
  if (typeof authenticate !== 'boolean') throw new RemitError('The operation\'s authenticate must be true or false.');
  const { path: pathParams = {}, query, body, bodyEncoding = 'json', options } = args ?? {};
  if (typeof pathParams !== 'object' || pathParams === null) throw new RemitError('path must be an object of the path template\'s values, e.g. path: { id: "pay_…" }.');

  const spec: OperationSpec = {
    operationId: `${method} ${path}`,
    method: method as RawOperation['method'],
    path,
    pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!),
    queryParams: [],
    // What makes a POST repeatable to the retry policy, as it does for the generated operations.
    headerParams: idempotent ? ['Idempotency-Key'] : [],
    body: method === 'GET' ? 'none' : 'optional',
    unsafe: method !== 'GET',
    paginated: false,
  };
  return {
    route: { spec, authenticate, answer: 'any', cacheable: false },
    path: pathParams,
    query,
    body: encodeBody(spec, body, bodyEncoding),
    options,
  };
}

function encodeBody(spec: OperationSpec, body: unknown, encoding: unknown): EncodedBody | undefined {
  if (encoding !== 'json' && encoding !== 'form') throw new RemitError('bodyEncoding must be "json" or "form".');
  if (body === undefined) return undefined;
  if (spec.method === 'GET') throw new RemitError('A GET sends no body: pass its parameters as query.');
  if (encoding === 'json') {
    const text = JSON.stringify(body) as string | undefined;
    if (text === undefined) throw new RemitError('The body cannot be sent as JSON.');
    return { text, contentType: 'application/json' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RemitError('A form body must be a flat record of strings, e.g. { grant_type: "client_credentials" }.');
  }
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new RemitError(`A form body must be a flat record of strings: \`${name}\` is a ${value === null ? 'null' : typeof value}.`);
    form.append(name, value);
  }
  return { text: form.toString(), contentType: 'application/x-www-form-urlencoded' };
}
