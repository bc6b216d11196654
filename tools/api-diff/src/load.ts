/**
 * `loadSpec`: a path or `git-ref:path` to a parsed, checked OpenAPI 3 document, with the files its
 * `$ref`s name bundled into it (bundle.ts), read from the same place as the document.
 */
import { Bundler, placeFrom, readPlace } from './bundle.js';
import { parseSpec, type OpenApiDocument } from './parse.js';
import { decode, openSource, type Place } from './source.js';

export interface LoadOptions {
  /** Where relative paths and git refs are read from; the process's working directory by default. */
  readonly cwd?: string;
}

/** A loaded document and the bytes it was made from. */
export interface Loaded {
  readonly document: OpenApiDocument;
  readonly bytes: Buffer;
  /** The bytes of each file its references named, by its path from the document's directory. */
  readonly bundled: ReadonlyMap<string, Buffer>;
}

export function loadSpec(source: string, options: LoadOptions = {}): OpenApiDocument {
  return loadSources(source, options).document;
}

export function loadSources(source: string, options: LoadOptions = {}): Loaded {
  const cwd = options.cwd ?? process.cwd();
  const { bytes, place } = openSource(source, cwd);
  const bundler = new Bundler(source, place, cwd);
  const document = parseSpec(decode(bytes), source, { resolveExternal: bundler.resolve });
  return { document, bytes, bundled: bundler.read };
}

/**
 * Whether `source` reads as exactly the bytes `loaded` was made from: the same document, and the
 * same bytes in each file its references named, at the same place relative to it. Such a source
 * loads to an equal document, so comparing the two has nothing to report; the bytes are compared
 * as read, before any decoding or parsing. Anything that cannot be read is a difference (loading
 * it then says why).
 */
export function sameInputs(loaded: Loaded, source: string, options: LoadOptions = {}): boolean {
  let place: Place;
  try {
    const opened = openSource(source, options.cwd ?? process.cwd());
    if (!opened.bytes.equals(loaded.bytes)) return false;
    place = opened.place;
  } catch {
    return false;
  }
  for (const [relative, bytes] of loaded.bundled) {
    const other = placeFrom(place, relative);
    try {
      if (!other || !readPlace(other).equals(bytes)) return false;
    } catch {
      return false;
    }
  }
  return true;
}
