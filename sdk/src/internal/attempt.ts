/**
 * One HTTP exchange, body included, bounded by a timeout and by the caller's signal, and what it
 * produced as the retry policy sees it. Shared by API calls and the OAuth token request, so both
 * time out, fail and retry alike.
 */
import type { Fetch } from '../core/request-options.js';
import type { AttemptOutcome } from './retry.js';

/** The attempt number the SDK sends on every request (the spec's `Remit-Retry-Count`): 0, then 1, 2, … on retries. */
export const RETRY_COUNT_HEADER = 'Remit-Retry-Count';

export type Attempt =
  | { readonly kind: 'response'; readonly response: Response; readonly text: string }
  | { readonly kind: 'connection-error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted'; readonly reason: unknown };

/** Sends one request and reads its whole body, within `timeout` ms; never throws. */
export async function sendAttempt(fetch: Fetch, url: string, init: RequestInit, timeout: number, signal: AbortSignal | undefined): Promise<Attempt> {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeout);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    const text = await response.text();
    return { kind: 'response', response, text };
  } catch (error) {
    if (signal?.aborted) return { kind: 'aborted', reason: signal.reason };
    if (timedOut) return { kind: 'timeout' };
    return { kind: 'connection-error', error };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

export function outcomeOf(attempt: Attempt, body: unknown): AttemptOutcome {
  if (attempt.kind !== 'response') return { kind: attempt.kind };
  const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
  return { kind: 'response', status: attempt.response.status, code: typeof code === 'string' ? code : undefined };
}

/** An error body: JSON when it parses, the text otherwise, undefined when empty. */
export function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Why a connection failed, in a few words: undici's "fetch failed" hides the reason in `cause`. */
export function connectionFailureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}
