/**
 * The three report formats. Every one lists the same findings in a deterministic order: text for a
 * terminal or CI log, markdown for a PR comment, JSON for other tools.
 */
import { formatJson } from './format-json.js';
import { formatMarkdown } from './format-markdown.js';
import { formatText } from './format-text.js';
import type { Finding } from './finding.js';
import type { Sources } from './format-common.js';

export const FORMATS = ['text', 'json', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

export function formatFindings(findings: readonly Finding[], format: Format, sources?: Sources): string {
  switch (format) {
    case 'text':
      return formatText(findings, sources);
    case 'markdown':
      return formatMarkdown(findings, sources);
    case 'json':
      return formatJson(findings);
  }
}
