/**
 * Keyset pagination on (created_at, id), newest first (events break ties on their write sequence).
 * A page costs the same at any depth: the next page starts strictly after the last row of this
 * one, through the list's composite index, with no OFFSET to skip over.
 *
 * A cursor is opaque and tamper-evident: base64url of an HMAC-SHA256 tag (16 bytes) followed by a
 * small JSON payload — the list that issued it, the position of the page's last row, and a hash of
 * the filters it was issued for. The tag also covers the account whose list it is, without
 * carrying it: a cursor is valid only for the account it was issued to. The key is shared by every
 * instance through the database. A forged or altered cursor, one from another list or another
 * account's list, or one replayed with different filters is a 400 `invalid_cursor`, never a 500
 * and never a silently wrong page.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AppError } from './errors.js';
import { ID_PATTERN } from './ids.js';

export const DEFAULT_LIMIT = 20;

const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
const TAG_BYTES = 16;
/** Longer than any cursor this module issues (about 150 characters); the spec caps it at 512. */
const MAX_CURSOR_CHARS = 512;

/** Event lists break ties on their write sequence rather than on the id. */
export const SEQUENCE_PATTERN = /^[1-9][0-9]{0,17}$/;

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
  /** The list that issued the cursor. */
  l: string;
  /** Hash of the filters it was issued for. */
  f: string;
  /** Position: created_at (ISO) and the tie-breaker of the page's last row. */
  t: string;
  i: string;
}

/** The list a cursor belongs to: which list, and whose. */
export interface CursorScope {
  readonly list: string;
  readonly account: string;
}

/** The filters of a list request, as part of a cursor's identity (limit may change between pages). */
export type ListFilter = Readonly<Record<string, unknown>>;

/** Absent and empty filters are the same filter (the validator may hand over `created: {}`). */
function filterHash(filter: ListFilter): string {
  const present = Object.entries(filter).filter(
    ([, value]) => value !== undefined && !(typeof value === 'object' && value !== null && Object.keys(value).length === 0),
  );
  return createHash('sha256')
    .update(canonicalize(Object.fromEntries(present)) ?? '{}')
    .digest('base64url')
    .slice(0, 16);
}

export class CursorCodec {
  private key: Promise<Buffer> | undefined;

  /** `loadKey` is asked once, on first use, and again only if it failed. */
  constructor(private readonly loadKey: () => Promise<Buffer>) {}

  private async hmacKey(): Promise<Buffer> {
    this.key ??= this.loadKey().catch((err: unknown) => {
      this.key = undefined;
      throw err;
    });
    return this.key;
  }

  /** Signs the payload together with the account (account ids never contain NUL). */
  private static tag(key: Buffer, account: string, json: Buffer): Buffer {
    return createHmac('sha256', key).update(account).update('\0').update(json).digest().subarray(0, TAG_BYTES);
  }

  async encode(scope: CursorScope, filter: ListFilter, position: Position): Promise<string> {
    const payload: CursorPayload = { l: scope.list, f: filterHash(filter), t: position.created.toISOString(), i: position.id };
    const json = Buffer.from(JSON.stringify(payload));
    return Buffer.concat([CursorCodec.tag(await this.hmacKey(), scope.account, json), json]).toString('base64url');
  }

  /**
   * Reads a cursor issued by `scope`'s list for `filter`. `tiebreak` is the shape of the second key
   * of the list's order (an id unless said otherwise).
   */
  async decode(scope: CursorScope, filter: ListFilter, cursor: string, tiebreak: RegExp = ID_PATTERN): Promise<Position> {
    const forged = () =>
      new AppError('invalid_cursor', 'The cursor was not issued by this list for this account. Start again without a cursor.');
    if (cursor.length > MAX_CURSOR_CHARS) throw forged();
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length <= TAG_BYTES) throw forged();
    const tag = raw.subarray(0, TAG_BYTES);
    const json = raw.subarray(TAG_BYTES);
    if (!timingSafeEqual(tag, CursorCodec.tag(await this.hmacKey(), scope.account, json))) throw forged();

    // Signed by this server, so well-formed; checked all the same, since a bug here would be a 500.
    let payload: unknown;
    try {
      payload = JSON.parse(json.toString('utf8'));
    } catch {
      throw forged();
    }
    if (typeof payload !== 'object' || payload === null) throw forged();
    const { l, f, t, i } = payload as Partial<CursorPayload>;
    if (l !== scope.list || typeof t !== 'string' || typeof i !== 'string' || !tiebreak.test(i)) throw forged();
    if (f !== filterHash(filter)) {
      throw new AppError(
        'invalid_cursor',
        'The cursor was issued for different filters. Send the same filters as the request that returned it, or start again without a cursor.',
      );
    }
    const created = new Date(t);
    // Outside PostgreSQL's timestamp range the query itself would fail.
    if (Number.isNaN(created.getTime()) || created.getTime() < 0 || created.getTime() > MAX_TIME_MS) throw forged();
    return { created, id: i };
  }

  /**
   * Builds the envelope from `limit + 1` rows fetched newest first: the extra row only says whether
   * another page follows.
   */
  async page<Row extends Position, T>(
    scope: CursorScope,
    filter: ListFilter,
    rows: Row[],
    limit: number,
    toResource: (row: Row) => T,
    positionOf: (row: Row) => Position = (row) => row,
  ): Promise<ListPage<T>> {
    const hasMore = rows.length > limit;
    const pageRows = hasMore ? rows.slice(0, limit) : rows;
    const last = pageRows.at(-1);
    return {
      object: 'list',
      data: pageRows.map(toResource),
      has_more: hasMore,
      next_cursor: hasMore && last ? await this.encode(scope, filter, positionOf(last)) : null,
    };
  }
}

export function toUnixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export interface CreatedRange {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * Bounds on `created_at` as a half-open interval of whole Unix seconds, `from <= created_at < until`.
 * The database compares them with the stored (sub-second) timestamps.
 */
export interface CreatedBounds {
  readonly fromS?: number;
  readonly untilS?: number;
}

/**
 * `created[gte]=…` and friends (Unix seconds) as the interval the repositories compare with. The
 * API shows `created` in whole seconds, so the bounds mean whole seconds too: an item shown as
 * `created: X` was stored somewhere in [X, X+1), and is inside `gte=X` and `lte=X`, outside `gt=X`
 * and `lt=X`. Comparing the stored milliseconds with X·1000 instead would put `X.500` inside `gt=X`
 * (a poller using `gt=<last created>` gets it twice) and outside `lte=X` (a report loses it).
 */
export function fromUnixSeconds(range: CreatedRange): CreatedBounds {
  const lower = [range.gte, range.gt === undefined ? undefined : range.gt + 1].filter((v): v is number => v !== undefined);
  const upper = [range.lt, range.lte === undefined ? undefined : range.lte + 1].filter((v): v is number => v !== undefined);
  return {
    fromS: lower.length > 0 ? Math.max(...lower) : undefined,
    untilS: upper.length > 0 ? Math.min(...upper) : undefined,
  };
}
