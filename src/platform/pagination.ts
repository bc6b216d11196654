/**
 * Keyset pagination on (created_at, id), newest first (events break ties on their write sequence).
 * A page costs the same at any depth: the next page starts strictly after the last row of this
 * one, through the list's composite index, with no OFFSET to skip over.
 *
 * A cursor is opaque, not merely tamper-evident: it is encrypted as well as authenticated, because
 * the position it carries says more than the page. An events cursor ends at a `seq`, a sequence
 * shared by every account, so a readable cursor would let a tenant measure everyone else's volume
 * by comparing two of its own; the created_at says when the row was written, to the millisecond.
 *
 * The cursor is base64url (no padding) of
 *
 *     nonce (12 bytes) || AES-256-GCM ciphertext of a small JSON payload || GCM tag (16 bytes)
 *
 * where the payload is `{"f": filter hash, "t": created_at ISO, "i": tie-breaker}`, padded with
 * spaces to 96 bytes, and the additional authenticated data is `JSON.stringify([account, list])`:
 * a cursor names neither whose list it is nor which, yet opens only for the list and the account
 * it was issued for. GCM keeps the length of what it encrypts, so without the padding the length
 * of a cursor would still tell how many digits the sequence has. Every cursor the lists issue is
 * 166 characters, far below the spec's 512.
 *
 * The nonce is synthetic (the SIV construction): the first 12 bytes of HMAC-SHA256, under a key of
 * its own, of the associated data and the padded payload. The same position of the same list and
 * filters therefore always seals to the same cursor, so a page read twice is the same bytes and
 * keeps its ETag (conditional requests), while two different payloads get different nonces except
 * with the probability of a 96-bit collision, the same bound random nonces have. What equal cursors
 * tell a client (that two of its pages end at the same item) it can already read off the pages.
 * Decoding takes the nonce from the cursor, so cursors sealed with random nonces still open.
 *
 * The AES key is HKDF-SHA256 (no salt, info `remit/pagination-cursor/aes-256-gcm/v1`) of the
 * `cursor_hmac` secret generated into the database at migration, the nonce key the same with info
 * `remit/pagination-cursor/siv-nonce/v1`: every instance on the database derives the same keys with
 * nothing to configure, and the raw secret is never used as a key itself. A change of format should
 * change the info strings, so that the old cursors stop opening rather than being misread.
 *
 * A forged or altered cursor, one from another list or another account's list, one from another
 * database, or one replayed with different filters is a 400 `invalid_cursor`, never a 500 and
 * never a silently wrong page; only the last says why, since the client can fix it. Cursors issued
 * before this format (an HMAC tag followed by readable JSON) fail the same way: a client holding
 * one mid-walk is told once to start again without a cursor.
 */
import type { components } from '../../generated/schema.js';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AppError } from './errors.js';
import { ID_PATTERN } from './ids.js';

export const DEFAULT_LIMIT = 20;

const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
const KEY_INFO = 'remit/pagination-cursor/aes-256-gcm/v1';
const NONCE_KEY_INFO = 'remit/pagination-cursor/siv-nonce/v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Room for every position the lists issue (a sequence of 18 digits, an id of 34 characters). */
const PADDED_PAYLOAD_CHARS = 96;
/** Longer than any cursor this module issues (166 characters); the spec caps it at 512. */
const MAX_CURSOR_CHARS = 512;
/** Node's decoder skips characters outside the alphabet; a cursor holding any is not one of ours. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Event lists break ties on their write sequence rather than on the id. */
export const SEQUENCE_PATTERN = /^[1-9][0-9]{0,17}$/;

export interface Position {
  readonly created: Date;
  readonly id: string;
}

/** A page of a list, as the spec's `ListEnvelope` defines every list answer. */
export type ListPage<T> = components['schemas']['ListEnvelope'] & { data: T[] };

/** Encrypted, so its size is the cursor's: one-letter keys. The list and account are not in it but bound to it. */
interface CursorPayload {
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

/** A JSON array, so no account id or list name can be made to read as another pair. */
function associatedData(scope: CursorScope): Buffer {
  return Buffer.from(JSON.stringify([scope.account, scope.list]));
}

export class CursorCodec {
  private key: Promise<{ readonly aes: Buffer; readonly nonce: Buffer }> | undefined;

  /**
   * `loadKey` gives the shared secret the cursor key is derived from. It is asked once, on first
   * use, and again only if it failed.
   */
  constructor(private readonly loadKey: () => Promise<Buffer>) {}

  private async keys(): Promise<{ readonly aes: Buffer; readonly nonce: Buffer }> {
    this.key ??= this.loadKey()
      .then((secret) => ({
        aes: Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), KEY_INFO, 32)),
        nonce: Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), NONCE_KEY_INFO, 32)),
      }))
      .catch((err: unknown) => {
        this.key = undefined;
        throw err;
      });
    return this.key;
  }

  async encode(scope: CursorScope, filter: ListFilter, position: Position): Promise<string> {
    const payload: CursorPayload = { f: filterHash(filter), t: position.created.toISOString(), i: position.id };
    // ASCII (the filter hash is base64url, ids and sequences are alphanumeric), so characters are bytes.
    const json = JSON.stringify(payload).padEnd(PADDED_PAYLOAD_CHARS, ' ');
    const keys = await this.keys();
    const aad = associatedData(scope);
    const nonce = createHmac('sha256', keys.nonce).update(aad).update(json, 'utf8').digest().subarray(0, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.aes, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const sealed = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * Reads a cursor issued by `scope`'s list for `filter`. `tiebreak` is the shape of the second key
   * of the list's order (an id unless said otherwise).
   */
  async decode(scope: CursorScope, filter: ListFilter, cursor: string, tiebreak: RegExp = ID_PATTERN): Promise<Position> {
    const forged = () =>
      new AppError('invalid_cursor', 'The cursor was not issued by this list for this account. Start again without a cursor.');
    if (cursor.length > MAX_CURSOR_CHARS || !BASE64URL.test(cursor)) throw forged();
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length <= NONCE_BYTES + TAG_BYTES) throw forged();
    const key = (await this.keys()).aes;
    let json: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(scope));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      json = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    } catch {
      // Another key, another list or account, or any altered bit: GCM cannot tell them apart, nor should the client.
      throw forged();
    }

    // Sealed by this server, so well-formed; checked all the same, since a bug here would be a 500.
    let payload: unknown;
    try {
      payload = JSON.parse(json);
    } catch {
      throw forged();
    }
    if (typeof payload !== 'object' || payload === null) throw forged();
    const { f, t, i } = payload as Partial<CursorPayload>;
    if (typeof f !== 'string' || typeof t !== 'string' || typeof i !== 'string' || !tiebreak.test(i)) throw forged();
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

/** `created[gt|gte|lt|lte]`, the spec's CreatedRange parameter. */
export type CreatedRange = components['parameters']['CreatedRange'];

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
