/** A run's failures as the tests print them: one line per failed step or assertion, with its reason. */
import type { RunReport } from '../../console/src/runner/engine.js';

export function failuresOf(report: RunReport): string[] {
  return report.steps.flatMap((s) => {
    const where = `${report.collectionId} #${s.iteration + 1} "${s.name}"`;
    const lines = s.error ? [`${where}: ${s.error}`] : [];
    for (const a of s.assertions) if (!a.passed) lines.push(`${where}: ${a.description}: ${a.reason}`);
    if (!s.passed && lines.length === 0) lines.push(`${where}: failed without a reason`);
    return lines;
  });
}
