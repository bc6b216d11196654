/**
 * The fetch every request of a run goes through, the SDK's included: it records each HTTP attempt
 * (a retry is an attempt of its own, numbered by the `Remit-Retry-Count` the SDK sends), and passes
 * each answer's rate-limit fields on, so a wait step knows how much of a quota is left.
 *
 * The body is read here, so an attempt's latency is the whole exchange, not just its headers; the
 * caller gets a copy of the answer with the same status, headers and bytes.
 */
import type { AttemptRecord } from './types.js';

export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

export interface AttemptSink {
  attempt(record: AttemptRecord, headers: Headers | null): void;
}

/** Statuses whose answer must not have a body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

export function recordingFetch(base: typeof fetch, sink: AttemptSink): FetchFunction {
  return async (url, init) => {
    const started = performance.now();
    const target = new URL(url);
    const record = {
      method: (init.method ?? 'GET').toUpperCase(),
      path: `${target.pathname}${target.search}`,
      retryCount: retryCountOf(init.headers),
    };
    try {
      const response = await base(url, init);
      const body = NULL_BODY.has(response.status) ? null : await response.arrayBuffer();
      sink.attempt({ ...record, status: response.status, latencyMs: performance.now() - started }, response.headers);
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (error) {
      sink.attempt({ ...record, status: null, latencyMs: performance.now() - started }, null);
      throw error;
    }
  };
}

function retryCountOf(headers: RequestInit['headers']): number {
  const value = new Headers(headers).get('remit-retry-count');
  const n = value === null ? 0 : Number(value);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
