/**
 * What the command loads only when it compares two documents or prints the rule catalogue: the
 * comparison and the catalogue, most of api-diff's code (see cli-start.ts).
 */
export { diff } from './diff.js';
export { formatRuleTable } from './format-rules.js';
