/**
 * api-diff as a library: load two documents, diff them, format the findings.
 *
 *   import { diff, loadSpec } from '../tools/api-diff/src/index.js';
 *   const findings = diff(loadSpec('origin/main:spec/openapi.yaml'), loadSpec('spec/openapi.yaml'));
 */
export { diff, type DiffOptions } from './diff.js';
export { DEFAULT_MIN_SUNSET_NOTICE_DAYS } from './sunset.js';
export { loadSpec, type LoadOptions } from './load.js';
export { parseSpec, type OpenApiDocument } from './parse.js';
export { SpecError } from './spec-error.js';
export { LEVELS, RULES, isRuleId, type Level, type Rule, type RuleId } from './rules.js';
export type { Effect, Flow } from './rule.js';
export { compareFindings, summarize, type Finding, type Location, type Summary } from './finding.js';
export { formatFindings, FORMATS, type Format } from './format.js';
export type { Sources } from './format-common.js';
