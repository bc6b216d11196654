/**
 * For a terminal or CI log: a summary line, then the findings grouped by operation, the groups with
 * breaking changes first, one line per finding with where to look.
 */
import { compareByOperation, levelRank, operationLabel, summarize, type Finding } from './finding.js';
import { summaryText, type Sources } from './format-common.js';

export function groupByOperation(findings: readonly Finding[]): { label: string; findings: Finding[] }[] {
  const groups = new Map<string, Finding[]>();
  for (const finding of [...findings].sort(compareByOperation)) {
    const label = operationLabel(finding.location);
    const group = groups.get(label);
    if (group) group.push(finding);
    else groups.set(label, [finding]);
  }
  const worst = (list: Finding[]) => Math.min(...list.map((f) => levelRank(f.level)));
  return [...groups.entries()]
    .map(([label, list]) => ({ label, findings: list }))
    .sort((a, b) => worst(a.findings) - worst(b.findings) || compareByOperation(a.findings[0] as Finding, b.findings[0] as Finding));
}

export function formatText(findings: readonly Finding[], sources?: Sources): string {
  const lines = [`api-diff: ${summaryText(summarize(findings))}${sources ? ` (${sources.base} → ${sources.revision})` : ''}`];
  for (const group of groupByOperation(findings)) {
    lines.push('', group.label);
    for (const finding of group.findings) {
      lines.push(`  ${finding.level.padEnd(8)}  ${finding.id}: ${finding.message}  [${finding.location.document}#${finding.location.pointer}]`);
    }
  }
  return lines.join('\n') + '\n';
}
