/**
 * A multi-file spec made one document: each file a `$ref` names (`./common.yaml#/components/schemas/Money`,
 * `schemas/pet.json`, `../shared.yaml#/Pet`; no fragment means the whole file) is read once, the
 * way the top document was read (from disk, or with `git show` from the same commit), parsed as
 * YAML or JSON, and put into the top document under `x-api-diff-bundled`, keyed by its path from
 * the top document's directory; every reference to it becomes a local `#/x-api-diff-bundled/<file>/…`
 * pointer, so the comparison, which follows local pointers only, reads it as if it were inline.
 *
 * A file's own references, local `#/…` ones included, are relative to that file, and are
 * rewritten the same way as what they name is reached (objects are walked once, so a schema that
 * refers to itself through another file ends). A reference back into the top document becomes a
 * plain local pointer. References inside data (examples, defaults, const, enum, `x-` extensions)
 * are left alone, as everywhere else.
 *
 * Refused, naming the file holding the reference and the reference's pointer: a URL (nothing is
 * fetched), a file that does not exist or git cannot show, a file that is not YAML or JSON, a
 * fragment that is not a JSON pointer or does not resolve, and, reading from git, a path outside
 * the repository.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { valueAt, type Json, type JsonObject } from './json.js';
import { parseText, walkRefs, type OpenApiDocument } from './parse.js';
import { decode, gitReason, readGitFile, type Place } from './source.js';
import { SpecError } from './spec-error.js';

/** The key of the top document under which the files its references name are put. */
export const BUNDLE_KEY = 'x-api-diff-bundled';

interface File {
  readonly place: Place;
  /** How messages name it: the source as given for the top document, a path or `ref:path` for others. */
  readonly display: string;
  /** Its key under BUNDLE_KEY; undefined for the top document. */
  readonly key: string | undefined;
  readonly root: Json;
}

function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** A pointer as the fragment of a `$ref` (which is URI-decoded when read back). */
function localRef(pointer: string): string {
  return '#' + pointer.replaceAll('%', '%25');
}

/** Where `relative` (a bundle key: a path from the top document's directory) is, seen from the top document at `top`. */
export function placeFrom(top: Place, relative: string): Place | undefined {
  if (top.kind === 'file') return { kind: 'file', file: path.resolve(path.dirname(top.file), relative) };
  if (relative.startsWith('/')) return undefined;
  const repoPath = path.posix.normalize(path.posix.join(path.posix.dirname(top.path), relative));
  return repoPath === '..' || repoPath.startsWith('../') ? undefined : { ...top, path: repoPath };
}

/** The bytes at a place; throws (a file that does not exist, a path git cannot show). */
export function readPlace(place: Place): Buffer {
  return place.kind === 'file' ? readFileSync(place.file) : readGitFile(place.ref, place.path, place.cwd);
}

export class Bundler {
  /** The bytes of every file bundled, by its key under BUNDLE_KEY. */
  readonly read = new Map<string, Buffer>();
  private readonly files = new Map<string, File>();
  private readonly walked = new WeakSet<object>();
  private readonly pending: [File, Json, string][] = [];
  private top: File | undefined;
  private bundled: JsonObject | undefined;

  constructor(
    /** The top document's source as given (`spec/openapi.yaml`, `main:spec/openapi.yaml`). */
    private readonly source: string,
    private readonly place: Place,
    private readonly cwd: string,
  ) {}

  /** For parseSpec: the local `$ref` that replaces `ref`, found at `at` in the top document. */
  readonly resolve = (document: OpenApiDocument, ref: string, at: () => string): string => {
    if (!this.top) {
      this.top = { place: this.place, display: this.source, key: undefined, root: document };
      this.files.set(this.id(this.place), this.top);
    }
    const local = this.rewrite(this.top, ref, at);
    // What the new files refer to, in turn, until nothing is left.
    for (let next = this.pending.pop(); next; next = this.pending.pop()) {
      const [file, value, pointer] = next;
      walkRefs(value, pointer, (holder, where) => {
        holder.$ref = this.rewrite(file, holder.$ref as string, where);
      }, this.walked);
    }
    return local;
  };

  private id(place: Place): string {
    return place.kind === 'file' ? place.file : place.path;
  }

  private rewrite(from: File, ref: string, at: () => string): string {
    const fail = (reason: string) => new SpecError(this.source, `${from.display}: $ref ${JSON.stringify(ref)} at ${at() || '/'} ${reason}`);
    const hash = ref.indexOf('#');
    const reference = hash === -1 ? ref : ref.slice(0, hash);
    const fragment = hash === -1 ? '' : ref.slice(hash + 1);
    if (/^[a-z][a-z0-9+.-]*:/i.test(reference) || reference.startsWith('//')) {
      if (/^(https?:)?\/\//i.test(reference)) throw fail('is a URL: api-diff reads files only, and fetches nothing');
      throw fail('is not a relative file reference');
    }
    let relative: string;
    let pointer = '';
    try {
      relative = decodeURIComponent(reference);
      if (fragment !== '') pointer = decodeURIComponent(fragment);
    } catch {
      throw fail('is not a valid URI reference');
    }
    if (pointer !== '' && !pointer.startsWith('/')) throw fail('has a fragment that is not a JSON pointer (#/…)');

    const file = relative === '' ? from : this.open(from, relative, fail);
    const target = valueAt(file.root, pointer);
    if (target === undefined) throw fail(`does not resolve: ${file.display} has nothing at ${pointer || '/'}`);
    if (file.key === undefined) return localRef(pointer);
    if (typeof target === 'object' && target !== null && !this.walked.has(target)) this.pending.push([file, target, pointer]);
    return localRef(`/${BUNDLE_KEY}/${escapeToken(file.key)}${pointer}`);
  }

  /** The file `relative` names from `from`, read and parsed once. */
  private open(from: File, relative: string, fail: (reason: string) => SpecError): File {
    let place: Place;
    let key: string;
    let display: string;
    if (from.place.kind === 'file') {
      const file = path.resolve(path.dirname(from.place.file), relative);
      place = { kind: 'file', file };
      display = path.relative(this.cwd, file) || file;
      key = this.place.kind === 'file' ? path.relative(path.dirname(this.place.file), file).split(path.sep).join('/') : file;
    } else {
      if (relative.startsWith('/')) throw fail('names an absolute path, which cannot be read from git');
      const repoPath = path.posix.normalize(path.posix.join(path.posix.dirname(from.place.path), relative));
      if (repoPath === '..' || repoPath.startsWith('../')) throw fail(`names ${repoPath}, outside the repository`);
      place = { ...from.place, path: repoPath };
      display = `${from.place.ref}:${repoPath}`;
      key = this.place.kind === 'git' ? path.posix.relative(path.posix.dirname(this.place.path), repoPath) : repoPath;
    }
    const id = this.id(place);
    const known = this.files.get(id);
    if (known) return known;

    if (place.kind === 'file') {
      if (!existsSync(place.file)) throw fail(`names ${display}, which does not exist`);
      if (statSync(place.file).isDirectory()) throw fail(`names ${display}, a directory`);
    }
    let bytes: Buffer;
    try {
      bytes = readPlace(place);
    } catch (error) {
      throw fail(place.kind === 'file' ? `names ${display}, which cannot be read: ${(error as Error).message}` : `names ${display}, which git cannot show${gitReason(error)}`);
    }
    let root: unknown;
    try {
      root = parseText(decode(bytes));
    } catch (error) {
      throw fail(`names ${display}, which is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
    }
    if (typeof root !== 'object' || root === null) throw fail(`names ${display}, which is not a YAML or JSON document (its top level is ${root === null ? 'empty' : `a ${typeof root}`})`);

    const file: File = { place, display, key, root: root as Json };
    this.files.set(id, file);
    this.read.set(key, bytes);
    this.bundle()[key] = file.root;
    return file;
  }

  /** The object under BUNDLE_KEY in the top document, made on first use. */
  private bundle(): JsonObject {
    if (this.bundled) return this.bundled;
    const document = (this.top as File).root as JsonObject;
    if (Object.hasOwn(document, BUNDLE_KEY)) {
      throw new SpecError(this.source, `${this.source} has a top-level ${BUNDLE_KEY}, the key api-diff puts the files its $refs name under`);
    }
    this.bundled = {};
    document[BUNDLE_KEY] = this.bundled;
    return this.bundled;
  }
}
