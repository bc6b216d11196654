/**
 * `loadSpec`: a path or `git-ref:path` to a parsed, checked OpenAPI 3 document.
 */
import { parseSpec, type OpenApiDocument } from './parse.js';
import { readSource } from './source.js';

export interface LoadOptions {
  /** Where relative paths and git refs are read from; the process's working directory by default. */
  readonly cwd?: string;
}

export function loadSpec(source: string, options: LoadOptions = {}): OpenApiDocument {
  const text = readSource(source, options.cwd ?? process.cwd());
  return parseSpec(text, source);
}
