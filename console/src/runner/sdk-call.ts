/**
 * A step's `call` made through the SDK, as an application would make it: a method found by its
 * name on the client (`v2.payments.capture`), its arguments, then its request options. The answer
 * is read with `.withResponse()`, and a refusal from the SDK's typed errors (`APIError` carries the
 * status, the headers and the problem document), so both read alike to the assertions.
 */
import { APIConnectionError, APIError, APIUserAbortError, Remit, type RequestOptions } from '../../../sdk/src/index.js';
import { answered, unanswered, type Exchange } from './exchange.js';
import type { FetchFunction } from './recorder.js';
import type { CallOptions, ClientSettings, Json } from './types.js';

/** Per attempt, unless a step says otherwise: long enough for a slow laptop, short enough to notice a hang. */
export const STEP_TIMEOUT_MS = 30_000;

type Method = (...args: unknown[]) => PromiseLike<unknown> & { withResponse(): Promise<{ data: unknown; response: Response }> };

/** Namespaces of the client that are not API calls (`webhooks` verifies deliveries offline). */
const NOT_CALLS = new Set(['webhooks']);

let callNames: readonly string[] | undefined;

/** Every call a step can name: the client's resource methods, e.g. `customers.create`, `v2.refunds.list`. */
export function sdkCallNames(): readonly string[] {
  callNames ??= listCalls();
  return callNames;
}

function listCalls(): string[] {
  const client = new Remit({ apiKey: 'names-only', fetch: () => Promise.reject(new Error('not for sending')) });
  const names: string[] = [];
  const visit = (value: object, prefix: string) => {
    for (const [key, member] of Object.entries(value)) {
      if (NOT_CALLS.has(key) && prefix === '') continue;
      if (typeof member === 'function') names.push(`${prefix}${key}`);
      else if (member !== null && typeof member === 'object') visit(member, `${prefix}${key}.`);
    }
  };
  visit(client, '');
  return names.sort();
}

export function createClient(settings: { baseURL: string; apiKey: string; fetch: FetchFunction } & ClientSettings): Remit {
  return new Remit({
    apiKey: settings.apiKey,
    baseURL: settings.baseURL,
    // A step sees what the API answered; one that wants the SDK's retries says so.
    maxRetries: Number(settings.maxRetries ?? 0),
    timeout: settings.timeout ?? STEP_TIMEOUT_MS,
    fetch: settings.fetch,
    // The collections assert Deprecation, Sunset and Link themselves: no console warning.
    onDeprecation: () => {},
  });
}

export class UnknownCallError extends Error {}

function methodOf(client: Remit, call: string): Method {
  if (!sdkCallNames().includes(call)) throw new UnknownCallError(`"${call}" is not an SDK method (e.g. customers.create, v2.payments.capture)`);
  const path = call.split('.');
  let target: unknown = client;
  for (const key of path) target = (target as Record<string, unknown>)[key];
  return target as Method;
}

/**
 * Calls `call` with `args` and then the options. The SDK's methods take their options last, after
 * any optional arguments, so missing ones are passed as undefined; `Function.length` says how many
 * come first (the generated methods declare no defaults, and test/console/engine.test.ts checks that
 * the options of every method land in place). A refusal is an answer; only a stop is thrown.
 */
export async function callSdk(client: Remit, call: string, args: readonly Json[], options: CallOptions & { signal?: AbortSignal }): Promise<Exchange> {
  const method = methodOf(client, call);
  const before = method.length - 1;
  if (args.length > before) throw new UnknownCallError(`${call} takes ${before} argument${before === 1 ? '' : 's'} before its options; the step gives ${args.length}`);
  const padded = [...args, ...Array<undefined>(before - args.length).fill(undefined)];
  const requestOptions: RequestOptions = {
    ...options,
    maxRetries: options.maxRetries === undefined ? undefined : Number(options.maxRetries),
  };
  try {
    const { data, response } = await method(...padded, requestOptions).withResponse();
    return answered(response.status, response.headers, data);
  } catch (error) {
    if (error instanceof APIUserAbortError) throw error;
    if (error instanceof APIError) return answered(error.status, error.headers, error.problem);
    if (error instanceof APIConnectionError) return unanswered(error.message);
    return unanswered(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The method and path `call` sends, with `args` as written (`GET /v1/customers/{{customer}}`): a
 * client whose fetch only notes the request, for the row of a step that could not be sent.
 */
export async function describeCall(call: string, args: readonly Json[], baseURL: string): Promise<{ method: string; path: string }> {
  let seen = { method: '', path: '' };
  const probe = createClient({
    apiKey: 'probe',
    baseURL,
    fetch: async (url, init) => {
      const target = new URL(url);
      seen = { method: (init.method ?? 'GET').toUpperCase(), path: decodeURIComponent(`${target.pathname}${target.search}`) };
      throw new Error('not sent');
    },
  });
  await callSdk(probe, call, args, {}).catch(() => undefined);
  return seen;
}
