/**
 * A fast reader for the YAML most OpenAPI documents are written in: block mappings and sequences
 * indented with spaces, plain scalars (on one line or folded over several in a mapping value),
 * single- and double-quoted scalars on one line, literal block scalars (`|`, `|-`), flow
 * collections on one line (`[a, b]`, `{a: 1}`), and comments. Plain scalars are typed as the
 * `yaml` package types them (YAML 1.2 core schema: null, booleans, integers in decimal, octal and
 * hex, floats, .inf, .nan), and mapping keys become strings the way it makes them.
 *
 * Anything else (anchors and aliases, tags, directives, several documents, folded `>` scalars,
 * multi-line quoted or flow scalars, complex keys, tabs, CR line ends, duplicate keys, and every
 * error) gives undefined, and the caller hands the text to the `yaml` package, so the result is
 * always the one `yaml` would give; this reader only skips its cost (its parser is several times
 * slower, and most of a command's run time on a large YAML document when the code is not yet warm).
 */

/** Thrown inside the reader when the text leaves the subset; never escapes parseYamlSubset. */
const OUTSIDE = Symbol('outside the subset');

// Characters that cannot start a plain scalar (YAML 1.2 c-indicator); '-', '?' and ':' can when
// followed by a non-space, which is checked separately.
const INDICATORS = new Set(['-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`']);
const FLOW_INDICATORS = new Set([',', '[', ']', '{', '}']);

// Characters whose presence sends the text to the full parser: tabs, CR, BOM, control characters,
// and the Unicode line and paragraph separators.
const UNSUPPORTED_CHARACTERS = /[\t\r\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0085\u2028\u2029]/;

// The longest implicit key YAML allows.
const MAX_KEY_LENGTH = 1024;

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
  N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029', ' ': ' ', '"': '"', '/': '/', '\\': '\\',
};
const HEX_ESCAPE_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

function outside(): never {
  throw OUTSIDE;
}

/** The document as `yaml`'s `parse` gives it, or undefined when the text is outside the subset. */
export function parseYamlSubset(text: string): unknown {
  if (UNSUPPORTED_CHARACTERS.test(text)) return undefined;
  try {
    return new Reader(text).document();
  } catch (error) {
    if (error === OUTSIDE) return undefined;
    throw error;
  }
}

/** A plain scalar's value under the YAML 1.2 core schema, as the `yaml` package resolves it. */
export function plainValue(text: string): unknown {
  const first = text.charCodeAt(0);
  // Only these can start a null, boolean or number: most strings stop here.
  if (text !== '' && !'~nNtTfF0123456789+-.'.includes(text[0] as string)) return text;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(text)) return null;
  if (/^(?:[Tt]rue|TRUE)$/.test(text)) return true;
  if (/^(?:[Ff]alse|FALSE)$/.test(text)) return false;
  if (first === 0x30 /* 0 */ && /^0o[0-7]+$/.test(text)) return parseInt(text.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(text)) return parseInt(text, 10);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(text)) {
    return text.slice(-3).toLowerCase() === 'nan' ? NaN : text[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(text)) return parseFloat(text);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(text)) return parseFloat(text);
  return text;
}

/** A mapping key as the `yaml` package makes it a property name. */
function keyString(value: unknown): string {
  return value === null ? '' : String(value);
}

function indentOf(line: string): number {
  let n = 0;
  while (line.charCodeAt(n) === 0x20) n++;
  return n;
}

function isSequenceEntry(content: string): boolean {
  return content[0] === '-' && (content.length === 1 || content[1] === ' ');
}

/** Whether `c` (the character after '-', '?' or ':') makes that character start a plain scalar. */
function canStartPlain(content: string): boolean {
  const first = content[0] as string;
  if (!INDICATORS.has(first)) return true;
  if (first !== '-' && first !== '?' && first !== ':') return false;
  const next = content[1];
  return next !== undefined && next !== ' ';
}

/** The index of a comment's '#' (at the start or after a space), or -1. */
function commentStart(text: string, from = 0): number {
  for (let i = text.indexOf('#', from); i !== -1; i = text.indexOf('#', i + 1)) {
    if (i === 0 || text[i - 1] === ' ') return i;
  }
  return -1;
}

/** The index of the ':' that ends a plain implicit key (followed by a space or the end), or -1. */
function keyColon(content: string): number {
  for (let i = content.indexOf(':'); i !== -1; i = content.indexOf(':', i + 1)) {
    if (i + 1 === content.length || content[i + 1] === ' ') {
      const hash = commentStart(content);
      return hash !== -1 && hash < i ? -1 : i;
    }
  }
  return -1;
}

/** A quoted scalar starting at `start` and closed on the same line: its value and the index after it. */
function quoted(line: string, start: number): [string, number] {
  const quote = line[start];
  let value = '';
  if (quote === "'") {
    let from = start + 1;
    for (;;) {
      const close = line.indexOf("'", from);
      if (close === -1) outside();
      value += line.slice(from, close);
      if (line[close + 1] !== "'") return [value, close + 1];
      value += "'";
      from = close + 2;
    }
  }
  let i = start + 1;
  for (;;) {
    const close = line.indexOf('"', i);
    const escape = line.indexOf('\\', i);
    if (close === -1) outside();
    if (escape === -1 || escape > close) return [value + line.slice(i, close), close + 1];
    value += line.slice(i, escape);
    const code = line[escape + 1] as string;
    const simple = ESCAPES[code];
    if (simple !== undefined) {
      value += simple;
      i = escape + 2;
      continue;
    }
    const length = HEX_ESCAPE_LENGTH[code];
    if (length === undefined) outside();
    const hex = line.substr(escape + 2, length);
    if (hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) outside();
    const point = parseInt(hex, 16);
    if (point > 0x10ffff) outside();
    value += String.fromCodePoint(point);
    i = escape + 2 + length;
  }
}

/** Nothing but spaces and perhaps a comment may follow a value on its line. */
function expectLineEnd(line: string, from: number): void {
  let i = from;
  while (line[i] === ' ') i++;
  if (i === line.length) return;
  if (line[i] === '#' && i > from) return;
  outside();
}

function setKey(map: Record<string, unknown>, key: string, value: unknown): void {
  // A repeated key is an error for `yaml`; __proto__ it defines specially, and << may be a merge.
  if (key === '__proto__' || key === '<<' || key.length > MAX_KEY_LENGTH || Object.hasOwn(map, key)) outside();
  map[key] = value;
}

class Reader {
  private readonly lines: string[];
  /** The next line to read. */
  private next = 0;

  constructor(text: string) {
    this.lines = text.split('\n');
  }

  document(): unknown {
    const first = this.nextContent();
    if (first === -1 || indentOf(this.lines[first] as string) !== 0) outside();
    const value = this.blockNode(first, 0);
    if (this.nextContent() !== -1) outside();
    return value;
  }

  /** The index of the next line with content (not blank, not a comment), or -1; does not consume it. */
  private nextContent(): number {
    const { lines } = this;
    for (let i = this.next; i < lines.length; i++) {
      const line = lines[i] as string;
      const indent = indentOf(line);
      if (indent === line.length || line[indent] === '#') continue;
      if (indent === 0 && (line.startsWith('---') || line.startsWith('...') || line[0] === '%')) outside();
      return i;
    }
    return -1;
  }

  /** The mapping or sequence whose first line, `at`, is indented by `indent`. */
  private blockNode(at: number, indent: number): unknown {
    const content = (this.lines[at] as string).slice(indent);
    this.next = at;
    if (isSequenceEntry(content)) return this.sequence(indent);
    if (isKeyLine(content)) return this.mapping(indent);
    return outside();
  }

  /**
   * The next entry of the block at `indent`: its line and its text from `indent` on, or undefined
   * where the block ends (the text runs out, or a line is indented less). A line indented more
   * than its block's entries is outside the subset.
   */
  private entryAt(indent: number): { at: number; content: string } | undefined {
    const at = this.nextContent();
    if (at === -1) return undefined;
    const line = this.lines[at] as string;
    const lineIndent = indentOf(line);
    if (lineIndent < indent) return undefined;
    if (lineIndent > indent) outside();
    return { at, content: line.slice(indent) };
  }

  private mapping(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (let entry = this.entryAt(indent); entry; entry = this.entryAt(indent)) {
      const { at, content } = entry;
      if (isSequenceEntry(content)) outside();
      const [key, rest] = splitKey(content);
      this.next = at + 1;
      setKey(map, key, this.value(rest, indent, true));
    }
    return map;
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (let entry = this.entryAt(indent); entry; entry = this.entryAt(indent)) {
      const { at, content } = entry;
      if (!isSequenceEntry(content)) break;
      let offset = 1;
      while (content[offset] === ' ') offset++;
      const rest = content.slice(offset);
      this.next = at + 1;
      if (rest !== '' && rest[0] !== '#' && (isSequenceEntry(rest) || isKeyLine(rest))) {
        // `- key: value` or `- - item`: a collection that starts on the entry's line, read as if
        // the line were indented to where it starts.
        const column = indent + offset;
        this.lines[at] = ' '.repeat(column) + rest;
        items.push(this.blockNode(at, column));
      } else {
        items.push(this.value(content.slice(1), indent, false));
      }
    }
    return items;
  }

  /**
   * The value after `key:` or `- `: `rest` is what follows on the line, `parentIndent` the
   * indentation of the mapping or sequence it belongs to.
   */
  private value(rest: string, parentIndent: number, inMapping: boolean): unknown {
    let start = 0;
    while (rest[start] === ' ') start++;
    if (start === rest.length || rest[start] === '#') {
      if (start === 0 && rest[0] === '#') outside(); // a comment needs a space before it
      const at = this.nextContent();
      if (at === -1) return null;
      const line = this.lines[at] as string;
      const indent = indentOf(line);
      if (indent > parentIndent) return this.blockNode(at, indent);
      if (inMapping && indent === parentIndent && isSequenceEntry(line.slice(indent))) {
        this.next = at;
        return this.sequence(indent);
      }
      return null;
    }
    const text = start === 0 ? rest : rest.slice(start);
    switch (text[0]) {
      case '|':
        return this.literal(text, parentIndent);
      case '[':
      case '{': {
        const [value, end] = flowNode(text, 0);
        expectLineEnd(text, end);
        return value;
      }
      case '"':
      case "'": {
        const [value, end] = quoted(text, 0);
        expectLineEnd(text, end);
        return value;
      }
    }
    if (!canStartPlain(text)) outside();
    return this.plain(text, parentIndent, inMapping);
  }

  /** A plain scalar, folded with the more indented lines that continue it (in a mapping value only). */
  private plain(first: string, parentIndent: number, mayContinue: boolean): unknown {
    const hash = commentStart(first);
    let text = (hash === -1 ? first : first.slice(0, hash)).trimEnd();
    if (text.includes(': ') || text.endsWith(':')) outside();
    if (hash !== -1) return plainValue(text);

    const { lines } = this;
    let folded = false;
    let blank = 0;
    for (let i = this.next; i < lines.length; i++) {
      const line = lines[i] as string;
      const indent = indentOf(line);
      if (indent === line.length) {
        blank++;
        continue;
      }
      if (indent <= parentIndent || line[indent] === '#') break;
      if (!mayContinue) outside();
      let part = line.slice(indent);
      if (INDICATORS.has(part[0] as string)) outside();
      const partHash = commentStart(part);
      if (partHash !== -1) part = part.slice(0, partHash);
      part = part.trimEnd();
      if (part.includes(': ') || part.endsWith(':')) outside();
      text += blank === 0 ? ' ' + part : '\n'.repeat(blank) + part;
      folded = true;
      blank = 0;
      this.next = i + 1;
      if (partHash !== -1) break;
    }
    return folded ? text : plainValue(text);
  }

  /** A literal block scalar (`|` or `|-`); its lines are those indented more than `parentIndent`. */
  private literal(header: string, parentIndent: number): string {
    let at = 1;
    const strip = header[1] === '-';
    if (strip) at++;
    expectLineEnd(header, at);

    const { lines } = this;
    let indent = -1;
    let i = this.next;
    let leadingBlank = 0;
    for (; i < lines.length; i++) {
      const line = lines[i] as string;
      const lineIndent = indentOf(line);
      if (lineIndent === line.length) {
        leadingBlank = Math.max(leadingBlank, lineIndent);
        continue;
      }
      indent = lineIndent;
      break;
    }
    if (indent <= parentIndent) return ''; // no content: the next line belongs to the parent
    if (leadingBlank > indent) outside();

    const content: string[] = [];
    let end = this.next;
    for (i = this.next; i < lines.length; i++) {
      const line = lines[i] as string;
      const lineIndent = indentOf(line);
      if (lineIndent === line.length) {
        if (lineIndent > indent) outside();
        content.push('');
        continue;
      }
      if (lineIndent < indent) {
        if (lineIndent > parentIndent) outside();
        break;
      }
      content.push(line.slice(indent));
      end = i + 1;
    }
    // Trailing blank lines are chomped (clip keeps one line break, strip none).
    content.length = content.length - (i - end);
    this.next = end;
    return content.join('\n') + (strip ? '' : '\n');
  }
}

/** Whether a line's content is `key: …` (a plain or quoted implicit key). */
function isKeyLine(content: string): boolean {
  const first = content[0];
  if (first === '"' || first === "'") {
    try {
      const [, end] = quoted(content, 0);
      let i = end;
      while (content[i] === ' ') i++;
      return content[i] === ':' && (i + 1 === content.length || content[i + 1] === ' ');
    } catch (error) {
      if (error === OUTSIDE) return false;
      throw error;
    }
  }
  return keyColon(content) !== -1;
}

/** `key: rest` split into the key as a property name and what follows the ':'. */
function splitKey(content: string): [string, string] {
  const first = content[0];
  if (first === '"' || first === "'") {
    const [key, end] = quoted(content, 0);
    let i = end;
    while (content[i] === ' ') i++;
    if (content[i] !== ':' || (i + 1 < content.length && content[i + 1] !== ' ')) outside();
    return [key, content.slice(i + 1)];
  }
  if (!canStartPlain(content)) outside();
  const colon = keyColon(content);
  if (colon === -1) outside();
  const raw = content.slice(0, colon).trimEnd();
  if (raw === '') outside();
  return [keyString(plainValue(raw)), content.slice(colon + 1)];
}

function skipSpaces(text: string, at: number): number {
  let i = at;
  while (text[i] === ' ') i++;
  return i;
}

/** A flow collection or scalar starting at `at` and ending on the same line: its value and the index after it. */
function flowNode(text: string, at: number): [unknown, number] {
  const first = text[at];
  if (first === '[') {
    const items: unknown[] = [];
    let i = skipSpaces(text, at + 1);
    if (text[i] === ']') return [items, i + 1];
    for (;;) {
      const [item, end] = flowNode(text, i);
      items.push(item);
      i = skipSpaces(text, end);
      if (text[i] === ',') {
        i = skipSpaces(text, i + 1);
        if (text[i] === ']') outside(); // a trailing comma
        continue;
      }
      if (text[i] === ']') return [items, i + 1];
      return outside(); // a pair inside a sequence, or the end of the line
    }
  }
  if (first === '{') {
    const map: Record<string, unknown> = {};
    let i = skipSpaces(text, at + 1);
    if (text[i] === '}') return [map, i + 1];
    for (;;) {
      const [key, keyEnd] = text[i] === '"' || text[i] === "'" ? quoted(text, i) : flowPlain(text, i);
      i = skipSpaces(text, keyEnd);
      if (text[i] !== ':' || text[i + 1] !== ' ') outside();
      i = skipSpaces(text, i + 1);
      if (text[i] === ',' || text[i] === '}') outside(); // a key without a value
      const [value, end] = flowNode(text, i);
      setKey(map, keyString(key), value);
      i = skipSpaces(text, end);
      if (text[i] === ',') {
        i = skipSpaces(text, i + 1);
        if (text[i] === '}') outside();
        continue;
      }
      if (text[i] === '}') return [map, i + 1];
      return outside();
    }
  }
  if (first === '"' || first === "'") return quoted(text, at);
  const [raw, end] = flowPlain(text, at);
  return [plainValue(raw as string), end];
}

/** A plain scalar inside a flow collection: its text (not yet typed) and the index after it. */
function flowPlain(text: string, at: number): [unknown, number] {
  const rest = text.slice(at);
  if (rest === '' || !canStartPlain(rest)) outside();
  let i = at;
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (FLOW_INDICATORS.has(c)) break;
    if (c === ':') {
      const next = text[i + 1];
      if (next === undefined || next === ' ' || FLOW_INDICATORS.has(next)) break;
    }
    if (c === '#' && text[i - 1] === ' ') outside();
  }
  const raw = text.slice(at, i).trimEnd();
  if (raw === '') outside();
  return [raw, i];
}
