/**
 * `ReadCache`: the last answer to each read, kept with its `ETag` so the next call of the same read
 * can ask whether it changed. Given to a client (`new Remit({ apiKey, readCache: new ReadCache() })`),
 * every GET it makes sends `If-None-Match` with the tag it holds; a `304` answer returns the kept
 * body (a fresh copy each time), and a `200` replaces it. The API still authenticates, counts and
 * reads; what a poller that changed nothing saves is the body, on the wire and in parsing.
 *
 * Kept in this process's memory, least recently used first out, per API key and URL. It holds what
 * the reads returned, personal data included, for as long as the client lives: opt in where that
 * is wanted.
 */
export interface ReadCacheOptions {
  /** Reads kept at most; the least recently used goes first. Default 1,000. */
  maxEntries?: number;
}

interface Entry {
  readonly etag: string;
  readonly text: string;
}

export const DEFAULT_READ_CACHE_ENTRIES = 1_000;

export class ReadCache {
  readonly maxEntries: number;
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<string, Entry>();

  constructor(options: ReadCacheOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_READ_CACHE_ENTRIES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxEntries must be a positive integer, not ${String(max)}.`);
    this.maxEntries = max;
  }

  /** How many reads are kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** Forgets every read. */
  clear(): void {
    this.#entries.clear();
  }

  /** @internal The kept answer for `key`, now the most recently used. */
  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** @internal Keeps `text` as the answer for `key`, tagged `etag`. */
  set(key: string, etag: string, text: string): void {
    this.#entries.delete(key);
    this.#entries.set(key, { etag, text });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
