/** The catalogue as markdown tables: what the README's rule tables must be (a test checks it). */
import { RULES } from './rules.js';

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** "292 rules: 120 breaking, 30 warning, 142 info". */
export function formatRuleCounts(): string {
  const rules = Object.values(RULES);
  const count = (level: string) => rules.filter((rule) => rule.level === level).length;
  return `${rules.length} rules: ${count('breaking')} breaking, ${count('warning')} warning, ${count('info')} info.`;
}

export function formatRuleTable(): string {
  const lines = [formatRuleCounts(), '', '| Rule | Level | Flow, effect | Catches |', '|---|---|---|---|'];
  for (const [id, rule] of Object.entries(RULES)) lines.push(`| \`${id}\` | ${rule.level === rule.derived ? rule.level : `**${rule.level}**`} | ${rule.flow}, ${rule.effect} | ${cell(rule.description)} |`);
  return lines.join('\n') + '\n';
}

/** The rules whose level is not the one their flow and effect give, with the reason. */
export function formatExceptionTable(): string {
  const lines = ['| Rule | Level | Not | Because |', '|---|---|---|---|'];
  for (const [id, rule] of Object.entries(RULES)) {
    if (rule.level !== rule.derived) lines.push(`| \`${id}\` | ${rule.level} | ${rule.derived} | ${cell(rule.because ?? '')} |`);
  }
  return lines.join('\n') + '\n';
}
