/**
 * The metric names a PromQL expression reads, found by tokenizing it the way PromQL's lexer does
 * rather than by grepping for words: strings, label matchers (`{job="x"}`), range and subquery
 * brackets (`[1m]`, `[10m:1m]`), the label lists of `by`/`without`/`on`/`ignoring`/`group_left`/
 * `group_right`, function and aggregation names, keywords, numbers, durations, comments and
 * Grafana's variables (`$instance`, `${x}`, `[[x]]`, `$__rate_interval`) are all told apart from
 * the identifiers that select series. `{__name__="x"}` names `x`.
 */

type Token =
  | { readonly kind: 'ident'; readonly text: string }
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'number' }
  | { readonly kind: 'variable' }
  | { readonly kind: 'punct'; readonly text: string };

/** Words that are never a metric name where they stand (PromQL's keywords and aggregation operators). */
const KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'start', 'end',
  'atan2', 'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'limitk', 'limit_ratio',
]);

/** Followed by a parenthesised list of label names, not of expressions. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+/;
const NUMBER = /^(?:0x[0-9a-f]+|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)/i;
const IDENT = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const GRAFANA_VARIABLE = /^(?:\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*|\[\[[^\]]*\]\])/;
const PUNCT = /^(?:==|!=|<=|>=|=~|!~|[-+*/%^=<>(){}[\],:@])/;

export class PromqlSyntaxError extends Error {}

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const ch = expr[i]!;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if (ch === '#') {
      const newline = expr.indexOf('\n', i);
      i = newline === -1 ? expr.length : newline + 1;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      let text = '';
      while (j < expr.length && expr[j] !== ch) {
        if (expr[j] === '\\' && ch !== '`') j += 1;
        text += expr[j] ?? '';
        j += 1;
      }
      if (j >= expr.length) throw new PromqlSyntaxError(`unterminated string at ${i} in ${expr}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
      continue;
    }
    const variable = GRAFANA_VARIABLE.exec(rest);
    if (variable) {
      tokens.push({ kind: 'variable' });
      i += variable[0].length;
      continue;
    }
    const duration = DURATION.exec(rest) ?? NUMBER.exec(rest);
    if (duration && /[\d.]/.test(ch)) {
      tokens.push({ kind: 'number' });
      i += duration[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const punct = PUNCT.exec(rest);
    if (punct) {
      tokens.push({ kind: 'punct', text: punct[0] });
      i += punct[0].length;
      continue;
    }
    throw new PromqlSyntaxError(`unexpected ${JSON.stringify(ch)} at ${i} in ${expr}`);
  }
  return tokens;
}

const isPunct = (t: Token | undefined, text: string) => t?.kind === 'punct' && t.text === text;

/** The index just past the bracket that closes the one at `open`. */
function skipBalanced(tokens: readonly Token[], open: number, opener: string, closer: string): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], opener)) depth += 1;
    else if (isPunct(tokens[i], closer)) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  throw new PromqlSyntaxError(`unbalanced ${opener}${closer}`);
}

/** Every distinct metric (or recording rule) name `expr` selects series by, in order of appearance. */
export function metricNamesIn(expr: string): string[] {
  const tokens = tokenize(expr);
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  for (let i = 0; i < tokens.length; ) {
    const token = tokens[i]!;
    if (isPunct(token, '[')) {
      // A range or a subquery: durations and variables only.
      i = skipBalanced(tokens, i, '[', ']');
      continue;
    }
    if (isPunct(token, '{')) {
      // Label matchers: label names, operators and strings; `__name__="x"` names a metric.
      const end = skipBalanced(tokens, i, '{', '}');
      for (let j = i + 1; j < end - 1; j++) {
        const label = tokens[j]!;
        const value = tokens[j + 2];
        if (label.kind === 'ident' && label.text === '__name__' && isPunct(tokens[j + 1], '=') && value?.kind === 'string') add(value.text);
      }
      i = end;
      continue;
    }
    if (token.kind !== 'ident') {
      i += 1;
      continue;
    }
    const word = token.text;
    const next = tokens[i + 1];
    if (LABEL_LIST_KEYWORDS.has(word.toLowerCase())) {
      i = isPunct(next, '(') ? skipBalanced(tokens, i + 1, '(', ')') : i + 1;
      continue;
    }
    const keyword = KEYWORDS.has(word.toLowerCase()) || /^(?:inf|nan)$/i.test(word);
    const call = isPunct(next, '(');
    if (!keyword && !call) add(word);
    i += 1;
  }
  return names;
}
