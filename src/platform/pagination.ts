/**
 * Keyset pagination on (created_at, id), newest first. A cursor names the last row of the page it
 * came from and the list that issued it; it is opaque to clients (base64url JSON).
 */
import { AppError } from './errors.js';
import { ID_PATTERN } from './ids.js';

export const DEFAULT_LIMIT = 20;

const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

export interface Position {
  readonly created: Date;
  readonly id: string;
}

export interface ListPage<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

interface CursorPayload {
  l: string;
  t: string;
  i: string;
}

export function encodeCursor(list: string, position: Position): string {
  const payload: CursorPayload = { l: list, t: position.created.toISOString(), i: position.id };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** Reads a cursor issued by `list`; anything else is a 400 `invalid_cursor`, never a 500. */
export function decodeCursor(list: string, cursor: string): Position {
  const invalid = () => new AppError('invalid_cursor', 'The cursor was not issued by this list. Start again without a cursor.');
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof payload !== 'object' || payload === null) throw invalid();
  const { l, t, i } = payload as Partial<CursorPayload>;
  if (l !== list || typeof t !== 'string' || typeof i !== 'string' || !ID_PATTERN.test(i)) throw invalid();
  const created = new Date(t);
  // Outside PostgreSQL's timestamp range the query itself would fail.
  if (Number.isNaN(created.getTime()) || created.getTime() < 0 || created.getTime() > MAX_TIME_MS) throw invalid();
  return { created, id: i };
}

/**
 * Builds the envelope from `limit + 1` rows fetched newest first: the extra row only says whether
 * another page follows.
 */
export function toListPage<Row extends Position, T>(list: string, rows: Row[], limit: number, toResource: (row: Row) => T): ListPage<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    object: 'list',
    data: pageRows.map(toResource),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(list, last) : null,
  };
}

export function toUnixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
