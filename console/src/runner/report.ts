/** A run's report from its step results: totals, statuses and latencies over every HTTP attempt. */
import type { Collection, RunReport, StepResult } from './types.js';

export function buildReport(collection: Collection, run: { startedAt: Date; durationMs: number; iterations: number; steps: StepResult[]; aborted: boolean }): RunReport {
  const attempts = run.steps.flatMap((s) => s.attempts);
  const assertions = run.steps.flatMap((s) => s.assertions);
  const statusCounts: Record<string, number> = {};
  for (const a of attempts) {
    const key = a.status === null ? 'network' : String(a.status);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
  }
  const passedSteps = run.steps.filter((s) => s.passed).length;
  const passedAssertions = assertions.filter((a) => a.passed).length;
  return {
    collectionId: collection.id,
    collectionName: collection.name,
    startedAt: run.startedAt.toISOString(),
    durationMs: run.durationMs,
    iterations: run.iterations,
    steps: run.steps,
    totals: {
      steps: run.steps.length,
      passedSteps,
      failedSteps: run.steps.length - passedSteps,
      assertions: assertions.length,
      passedAssertions,
      failedAssertions: assertions.length - passedAssertions,
      requests: attempts.length,
    },
    statusCounts,
    latencies: attempts.map((a) => a.latencyMs),
    ...(run.aborted ? { aborted: true } : {}),
  };
}
