/**
 * The p-th percentile by nearest rank: the smallest value at least p % of the values are at or
 * below, always one of the values (a run's p99 is a latency one of its requests really had).
 * 0 for no values, so a run that sent nothing shows 0 rather than NaN.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}
