/** What every report format shares: the names of the two sides and the summary wording. */
import type { Summary } from './finding.js';

export interface Sources {
  readonly base: string;
  readonly revision: string;
}

export function summaryText(counts: Summary): string {
  if (counts.total === 0) return 'no changes';
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${counts.breaking} breaking, ${plural(counts.warning, 'warning')}, ${counts.info} info`;
}
