/**
 * How far `remit listen` has read the account's events. Events are listed by `created` (whole
 * seconds), and a transaction that began earlier can commit after a later one: an event may appear
 * with a `created` older than the newest already read. So each poll reads back a lookback window
 * before the newest `created` seen, and the ids already handled inside that window are kept to
 * skip them. Older ids are pruned: no poll reads that far back again.
 */
import { readFile } from 'node:fs/promises';
import { positionPath, writeFileAtomically } from './listen-files.js';

/** How far before the newest `created` seen each poll reads again, in seconds. */
export const LOOKBACK_SECONDS = 60;

const FORMAT_VERSION = 1;

/** The newest `created` seen and the ids handled inside the lookback window before it. */
export class Position {
  #newest: number | undefined;
  readonly #seen: Map<string, number>;

  constructor(newest: number | undefined = undefined, seen: Iterable<readonly [string, number]> = []) {
    this.#newest = newest;
    this.#seen = new Map(seen);
  }

  /** The newest `created` seen, in seconds; undefined while the account has no events. */
  get newest(): number | undefined {
    return this.#newest;
  }

  /** How many ids are kept. */
  get size(): number {
    return this.#seen.size;
  }

  /** Whether the event was already handled (forwarded, printed or skipped by the filter). */
  has(id: string): boolean {
    return this.#seen.has(id);
  }

  /** Marks the event handled; it moves the window when it is the newest yet. */
  record(id: string, created: number): void {
    this.#seen.set(id, created);
    if (this.#newest === undefined || created > this.#newest) this.#newest = created;
  }

  /** The lower bound of the next poll (`created[gte]`), or undefined to read every event. */
  since(): number | undefined {
    return this.#newest === undefined ? undefined : Math.max(0, this.#newest - LOOKBACK_SECONDS);
  }

  /** Forgets the ids the next poll cannot return again. */
  prune(): void {
    const since = this.since();
    if (since === undefined) return;
    for (const [id, created] of this.#seen) if (created < since) this.#seen.delete(id);
  }

  toJSON(): { version: number; newest: number | null; seen: Record<string, number> } {
    return { version: FORMAT_VERSION, newest: this.#newest ?? null, seen: Object.fromEntries(this.#seen) };
  }

  /** The position a file holds, or undefined when it is not one. */
  static parse(text: string): Position | undefined {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null) return undefined;
    const { version, newest, seen } = value as Record<string, unknown>;
    if (version !== FORMAT_VERSION) return undefined;
    if (newest !== null && !isSeconds(newest)) return undefined;
    if (typeof seen !== 'object' || seen === null || Array.isArray(seen)) return undefined;
    const entries = Object.entries(seen as Record<string, unknown>);
    if (!entries.every((entry): entry is [string, number] => isSeconds(entry[1]))) return undefined;
    return new Position(newest ?? undefined, entries);
  }
}

function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The saved position of one profile on one API, in its file under listen's directory. */
export class PositionStore {
  readonly path: string;
  readonly #baseURL: string;

  constructor(dir: string, profile: string, baseURL: string) {
    this.path = positionPath(dir, profile, baseURL);
    this.#baseURL = baseURL;
  }

  /** The saved position; undefined when there is none, `'unreadable'` when the file is not one. */
  async load(): Promise<Position | 'unreadable' | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return Position.parse(text) ?? 'unreadable';
  }

  async save(position: Position): Promise<void> {
    // The base URL is written for whoever reads the file; the file's name already tells APIs apart.
    await writeFileAtomically(this.path, `${JSON.stringify({ base_url: this.#baseURL, ...position.toJSON() })}\n`);
  }
}
