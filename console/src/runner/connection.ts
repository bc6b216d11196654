/**
 * Before a run: one cheap authenticated read (`customers.list({ limit: 1 })`, no retries), so the
 * page can say plainly that the key is wrong, lacks a scope, is throttled, or that the API does not
 * answer at all, instead of a run in which every step fails alike.
 */
import { APIConnectionError, APIError, RemitError } from '../../../sdk/src/index.js';
import { createClient } from './sdk-call.js';
import type { ConnectionCheck } from './types.js';

/** Short: the check runs before every run, and a server that does not answer should be said so soon. */
const CHECK_TIMEOUT_MS = 10_000;

export async function checkConnection(options: { baseURL: string; apiKey: string; fetch?: typeof fetch }): Promise<ConnectionCheck> {
  if (options.apiKey.trim() === '') return { ok: false, kind: 'unauthorized', message: 'No API key: enter one (`npm start` prints the demo account\'s key).' };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const client = createClient({
    baseURL: options.baseURL,
    apiKey: options.apiKey.trim(),
    maxRetries: 0,
    timeout: CHECK_TIMEOUT_MS,
    fetch: (url, init) => fetchImpl(url, init),
  });
  try {
    await client.customers.list({ limit: 1 });
    return { ok: true };
  } catch (error) {
    return describeFailure(error, options.baseURL);
  }
}

function describeFailure(error: unknown, baseURL: string): ConnectionCheck {
  if (error instanceof APIError) {
    const said = `${error.status}${error.code ? ` ${error.code}` : ''}`;
    const detail = error.problem?.detail ? ` ${error.problem.detail}` : '';
    switch (error.status) {
      case 401:
        return { ok: false, kind: 'unauthorized', message: `The API does not know this key, or it was revoked (${said}). Check it: \`npm start\` prints the demo account's key.` };
      case 403:
        return { ok: false, kind: 'forbidden', message: `This key may not read (${said}): the collections need a key with the read and write scopes.` };
      case 429: {
        const retryAfter = error.headers.get('retry-after');
        return { ok: false, kind: 'rate_limited', message: `The API is throttling this key or this address (${said}).${detail}${retryAfter && !detail ? ` Try again in ${retryAfter} s.` : ''}` };
      }
      default:
        return { ok: false, kind: 'error', message: `The API answered ${said}.${detail}${error.requestId ? ` (request ${error.requestId})` : ''}` };
    }
  }
  if (error instanceof APIConnectionError) {
    return { ok: false, kind: 'unreachable', message: `The API at ${baseURL} does not answer (${error.message}). Is it running?` };
  }
  const message = error instanceof RemitError || error instanceof Error ? error.message : String(error);
  return { ok: false, kind: 'error', message: `Could not check the connection: ${message}` };
}
