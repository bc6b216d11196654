/**
 * Polls the instance's feed (`GET /console/feed`, every second) and keeps the last five minutes of
 * snapshots. The feed is guarded like /metrics: with METRICS_TOKEN set the page sends the token the
 * user entered; without it the feed is open, as /metrics is.
 */
import type { Feed } from './stats.js';

export const POLL_INTERVAL_MS = 1_000;
export const HISTORY = 300;

export type FeedState =
  | { kind: 'loading' }
  | { kind: 'ok'; snapshots: Feed[] }
  | { kind: 'token-required'; message: string }
  | { kind: 'metrics-off'; message: string }
  | { kind: 'unreachable'; message: string; snapshots: Feed[] };

export async function readFeed(token: string | undefined, signal?: AbortSignal): Promise<Feed | { status: number; detail: string } | 'unreachable'> {
  try {
    const res = await fetch('/console/feed', {
      headers: token ? { Authorization: `Bearer ${token}`, Accept: 'application/json' } : { Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
    if (res.ok) return (await res.json()) as Feed;
    const problem = (await res.json().catch(() => ({}))) as { detail?: string; title?: string };
    return { status: res.status, detail: problem.detail ?? problem.title ?? res.statusText };
  } catch {
    return 'unreachable';
  }
}
