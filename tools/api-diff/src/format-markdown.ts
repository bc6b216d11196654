/**
 * For a PR comment: a heading with the counts, a table of what needs a reviewer's attention
 * (breaking and warning, breaking first), and the additive changes folded away below it so a large
 * change still reads at a glance.
 */
import { operationLabel, sortFindings, summarize, type Finding } from './finding.js';
import { summaryText, type Sources } from './format-common.js';

function cell(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(text: string): string {
  return text.includes('`') ? cell(text) : `\`${cell(text)}\``;
}

function table(findings: readonly Finding[]): string[] {
  const rows = ['| Level | Operation | Rule | Change | Where |', '|---|---|---|---|---|'];
  for (const f of findings) {
    const level = f.level === 'breaking' ? '**breaking**' : f.level;
    rows.push(`| ${level} | ${code(operationLabel(f.location))} | \`${f.id}\` | ${cell(f.message)} | ${code(`${f.location.document}#${f.location.pointer}`)} |`);
  }
  return rows;
}

export function formatMarkdown(findings: readonly Finding[], sources?: Sources): string {
  const sorted = sortFindings(findings);
  const attention = sorted.filter((f) => f.level !== 'info');
  const additive = sorted.filter((f) => f.level === 'info');
  const lines = [`### API changes: ${summaryText(summarize(findings))}`];
  if (sources) lines.push('', `Comparing \`${cell(sources.base)}\` (base) with \`${cell(sources.revision)}\` (revision).`);
  if (attention.length > 0) lines.push('', ...table(attention));
  if (additive.length > 0) {
    lines.push('', `<details><summary>${additive.length} additive change${additive.length === 1 ? '' : 's'}</summary>`, '', ...table(additive), '', '</details>');
  }
  return lines.join('\n') + '\n';
}
