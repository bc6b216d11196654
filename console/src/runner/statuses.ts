/** A burst's statuses, summed up for its row. */

/** e.g. `200 ×200, 429 ×40`. */
export function statusLine(statuses: (number | null)[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) {
    const key = s === null ? 'no answer' : String(s);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s} ×${n}`).join(', ');
}

/** The most frequent status; on a tie, the lowest. */
export function mostFrequent(statuses: (number | null)[]): number | null {
  const counts = new Map<number | null, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  let best: number | null = null;
  let bestCount = 0;
  for (const [status, n] of counts) {
    if (n > bestCount || (n === bestCount && status !== null && (best === null || status < best))) {
      best = status;
      bestCount = n;
    }
  }
  return best;
}
