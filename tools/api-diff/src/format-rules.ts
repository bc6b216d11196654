/** The catalogue as a markdown table: what the README's rule table must be (a test checks it). */
import { RULES } from './rules.js';

export function formatRuleTable(): string {
  const lines = ['| Rule | Level | Catches |', '|---|---|---|'];
  for (const [id, rule] of Object.entries(RULES)) lines.push(`| \`${id}\` | ${rule.level} | ${rule.description.replaceAll('|', '\\|')} |`);
  return lines.join('\n') + '\n';
}
