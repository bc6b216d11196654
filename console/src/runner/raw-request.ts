/**
 * A step's `request`, sent with fetch for what no SDK would send: a body that is not JSON, another
 * Content-Type, no key or a wrong one, a route the API does not have. It goes through the same
 * recording fetch as the SDK's requests, bounded by the same per-attempt timeout.
 */
import { answered, parseBody, unanswered, type Exchange } from './exchange.js';
import type { FetchFunction } from './recorder.js';
import { STEP_TIMEOUT_MS } from './sdk-call.js';
import { AbortedError } from './timing.js';
import type { RawRequest } from './types.js';

export async function sendRaw(request: RawRequest, context: { baseURL: string; apiKey: string; fetch: FetchFunction; signal?: AbortSignal }): Promise<Exchange> {
  const headers = new Headers(request.headers);
  const key = request.apiKey === undefined ? context.apiKey : request.apiKey;
  if (key !== null && !headers.has('authorization')) headers.set('Authorization', `Bearer ${key}`);
  let body = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
  }

  const controller = new AbortController();
  const stop = () => controller.abort();
  context.signal?.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, STEP_TIMEOUT_MS);
  try {
    const response = await context.fetch(`${context.baseURL.replace(/\/+$/, '')}${request.path}`, {
      method: request.method,
      headers,
      body,
      signal: controller.signal,
    });
    return answered(response.status, response.headers, parseBody(await response.text()));
  } catch (error) {
    if (context.signal?.aborted) throw new AbortedError('stopped');
    if (controller.signal.aborted) return unanswered(`no answer within ${STEP_TIMEOUT_MS} ms`);
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return unanswered(`${error instanceof Error ? error.message : String(error)}${cause}`);
  } finally {
    clearTimeout(timer);
    context.signal?.removeEventListener('abort', stop);
  }
}
