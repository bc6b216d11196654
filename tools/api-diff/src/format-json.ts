/** `{ summary, findings }`, findings breaking first: stable input for other tools. */
import { sortFindings, summarize, type Finding } from './finding.js';

export function formatJson(findings: readonly Finding[]): string {
  return JSON.stringify({ summary: summarize(findings), findings: sortFindings(findings) }, null, 2) + '\n';
}
