/**
 * Cursor pagination: the codec that seals cursors, and every list's handling of limits, cursors and
 * filters through the API. A cursor is only good for the list, the account and the filters that
 * issued it, on any instance sharing the database; anything else is a 400 `invalid_cursor`, never a
 * 500 and never a silently wrong page. And it is opaque: its bytes give away nothing of the
 * position it holds.
 *
 * - The codec: any single flipped bit of the nonce, ciphertext or tag, a payload sealed with
 *   another key, a cursor of another list, another account or other filters, and truncated,
 *   oversized or malformed cursors are all refused; cursors are of one length, under 512
 *   characters, and the same each time for the same position (a synthetic nonce), so a page read
 *   twice is the same bytes; cursors sealed with random nonces still open.
 * - Every list: limits 0, 101, -1, 1.5 and `abc` refused, 20 items by default, walks whose limit
 *   changes from page to page, the refusals above through the API, and a filter changed mid-walk.
 * - Payments filtered by status, customer and created range together, walked with the cursor,
 *   return exactly the rows the same query selects in SQL, in the same order.
 * - Two instances on one database continue each other's walks; an instance on another database
 *   (another key) refuses them.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { AppError } from '../src/platform/errors.js';
import type { Db } from '../src/platform/db.js';
import { newId } from '../src/platform/ids.js';
import { CursorCodec, SEQUENCE_PATTERN, toUnixSeconds, type CursorScope, type ListFilter, type Position } from '../src/platform/pagination.js';
import { createTestApp, openSharedDatabase, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';
import { rejection } from './helpers/rejection.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PADDED_PAYLOAD_BYTES = 96;
const KEY_INFO = 'remit/pagination-cursor/aes-256-gcm/v1';
const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);
const POSITION: Position = { created: new Date('2026-03-04T05:06:07.089Z'), id: 'cus_0123456789ABCDEFGHIJab' };
const ACCOUNT = 'acct_0123456789ABCDEFGHIJab';
const OTHER_ACCOUNT = 'acct_0123456789ABCDEFGHIJac';

/** The list `list` of `account` (ACCOUNT unless said otherwise). */
function at(list: string, account = ACCOUNT): CursorScope {
  return { list, account };
}

/** The AES key the documented format derives from the shared secret. */
function aesKeyOf(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), KEY_INFO, 32));
}

/** The additional authenticated data of the documented format: the account and the list. */
const aadOf = (scope: CursorScope) => Buffer.from(JSON.stringify([scope.account, scope.list]));

/**
 * A cursor as the documented format builds it: base64url(nonce || AES-256-GCM ciphertext || tag)
 * under `aesKey`, with `[account, list]` as AAD. An object payload is serialised and padded as the
 * codec pads it; a string or bytes are encrypted as they are.
 */
function sealWith(aesKey: Buffer, payload: unknown, scope: CursorScope, nonce: Uint8Array = randomBytes(NONCE_BYTES)): string {
  const plain = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload).padEnd(PADDED_PAYLOAD_BYTES, ' '));
  const cipher = createCipheriv('aes-256-gcm', aesKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadOf(scope));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** `sealWith` under the key a server whose shared secret is `secret` derives. */
function seal(secret: Buffer, payload: unknown, scope: CursorScope = at('customers'), nonce?: Uint8Array): string {
  return sealWith(aesKeyOf(secret), payload, scope, nonce);
}

/** The plaintext of a cursor, read the way the documented format says; throws if it does not authenticate. */
function plaintextOf(cursor: string, scope: CursorScope, secret = KEY): Buffer {
  const raw = Buffer.from(cursor, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', aesKeyOf(secret), raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aadOf(scope));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
}

/** The payload of a cursor: the test reads it to know what the codec put in. */
function payloadOf(cursor: string, scope: CursorScope, secret = KEY): Record<string, unknown> {
  return JSON.parse(plaintextOf(cursor, scope, secret).toString('utf8'));
}

async function expectInvalidCursor(promise: Promise<unknown>, detail?: RegExp): Promise<void> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(AppError);
  expect((err as AppError).code).to.equal('invalid_cursor');
  expect((err as AppError).status).to.equal(400);
  if (detail) expect((err as AppError).message).to.match(detail);
}

const NOT_THIS_LIST = /not issued by this list/;
const OTHER_FILTERS = /issued for different filters/;

describe('CursorCodec', () => {
  const codec = () => new CursorCodec(async () => KEY);

  it('decodes what it encodes, for ids and for event sequences', async () => {
    const c = codec();
    const filter = { status: 'succeeded', created: { gte: 1 } };
    const decoded = await c.decode(at('payments'), filter, await c.encode(at('payments'), filter, POSITION));
    expect(decoded.created.getTime()).to.equal(POSITION.created.getTime());
    expect(decoded.id).to.equal(POSITION.id);

    const seq = { created: POSITION.created, id: '9007199254740993' };
    const event = await c.decode(at('events'), {}, await c.encode(at('events'), {}, seq), SEQUENCE_PATTERN);
    expect(event.id).to.equal('9007199254740993');
    expect(event.created.toISOString()).to.equal(POSITION.created.toISOString());
  });

  it('issues cursors in the documented format, so the tests below can forge them', async () => {
    const scope = at('customers');
    const cursor = await codec().encode(scope, { email: 'a@example.com' }, POSITION);
    expect(cursor).to.match(/^[A-Za-z0-9_-]+$/);
    expect(cursor).to.have.length(166);
    const plain = plaintextOf(cursor, scope);
    expect(plain).to.have.length(PADDED_PAYLOAD_BYTES);
    const payload = payloadOf(cursor, scope);
    expect(payload).to.have.all.keys('f', 't', 'i');
    expect(payload).to.include({ t: POSITION.created.toISOString(), i: POSITION.id });
    expect(payload.f).to.match(/^[A-Za-z0-9_-]{16}$/);
    // The same plaintext under the same nonce is the same cursor, bit for bit.
    expect(seal(KEY, plain, scope, Buffer.from(cursor, 'base64url').subarray(0, NONCE_BYTES))).to.equal(cursor);
  });

  it('keeps every cursor the lists issue the same length and well under 512 characters', async () => {
    const c = codec();
    const lengths = new Set<number>();
    for (const [list, id, tiebreak] of [
      ['customers', newId('cus'), undefined],
      ['refunds', newId('re'), undefined],
      ['events', '1', SEQUENCE_PATTERN],
      ['events', '999999999999999999', SEQUENCE_PATTERN],
    ] as const) {
      const filter = { email: 'someone.with.a.long.address@example.com', created: { gte: 1, lt: 9_999_999_999 } };
      const cursor = await c.encode(at(list), filter, { created: new Date(Date.UTC(9999, 11, 31)), id });
      expect((await c.decode(at(list), filter, cursor, tiebreak)).id).to.equal(id);
      lengths.add(cursor.length);
    }
    // The number of digits of a sequence does not show either.
    expect([...lengths]).to.deep.equal([166]);
    // The longest id any list accepts still fits.
    const longest = `cus_${'a'.repeat(64)}`;
    const cursor = await c.encode(at('customers'), {}, { created: POSITION.created, id: longest });
    expect(cursor.length).to.be.below(256);
    expect((await c.decode(at('customers'), {}, cursor)).id).to.equal(longest);
  });

  // An events cursor used to carry the table-wide `seq` in the clear: two of a tenant's own cursors
  // a day apart measured every other tenant's traffic in between.
  it('reveals nothing of the position in its bytes, and is the same each time for the same position', async () => {
    const c = codec();
    const seq = '8123456789012345';
    const position = { created: POSITION.created, id: seq };
    const cursors = await Promise.all(Array.from({ length: 50 }, () => c.encode(at('events'), {}, position)));
    const texts = [
      seq,
      POSITION.created.toISOString(),
      POSITION.created.toISOString().slice(0, 10),
      String(POSITION.created.getTime()),
      String(toUnixSeconds(POSITION.created)),
      '"i":"',
      '"t":"',
      '"f":"',
    ];
    for (const cursor of cursors) {
      const raw = Buffer.from(cursor, 'base64url');
      for (const text of texts) {
        expect(raw.includes(text, 0, 'utf8'), text).to.equal(false);
        expect(raw.includes(Buffer.from(text, 'utf16le')), text).to.equal(false);
      }
      const decoded = await c.decode(at('events'), {}, cursor, SEQUENCE_PATTERN);
      expect(decoded).to.deep.equal({ created: POSITION.created, id: seq });
    }
    // A synthetic nonce: the same position, list, account and filters seal to the same cursor...
    expect(new Set(cursors).size).to.equal(1);
    // ...and anything else to another, with another nonce.
    const others = await Promise.all([
      c.encode(at('events'), {}, { created: POSITION.created, id: '8123456789012346' }),
      c.encode(at('events'), {}, { created: new Date(POSITION.created.getTime() + 1), id: seq }),
      c.encode(at('events'), { type: 'payment.created' }, position),
      c.encode(at('events', 'acct_other'), {}, position),
      c.encode(at('payments'), {}, { created: POSITION.created, id: POSITION.id }),
    ]);
    const nonces = [cursors[0]!, ...others].map((cursor) => Buffer.from(cursor, 'base64url').subarray(0, NONCE_BYTES).toString('hex'));
    expect(new Set(nonces).size).to.equal(nonces.length);
  });

  it('opens a cursor sealed with a random nonce, as cursors were before the nonce was synthetic', async () => {
    const c = codec();
    const filter = { email: 'a@example.com' };
    const issued = await c.encode(at('customers'), filter, POSITION);
    const randomNonce = seal(KEY, JSON.parse(plaintextOf(issued, at('customers')).toString('utf8')), at('customers'), randomBytes(NONCE_BYTES));
    expect(randomNonce).to.not.equal(issued);
    expect(await c.decode(at('customers'), filter, randomNonce)).to.deep.equal(POSITION);
  });

  it('rejects a cursor with any single bit of its nonce, ciphertext or tag flipped', async () => {
    const c = codec();
    const filter = { email: 'a@example.com', created: { gte: 10, lt: 20 } };
    const raw = Buffer.from(await c.encode(at('customers'), filter, POSITION), 'base64url');
    expect(raw.length).to.equal(NONCE_BYTES + PADDED_PAYLOAD_BYTES + TAG_BYTES);
    let tried = 0;
    for (let byte = 0; byte < raw.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const altered = Buffer.from(raw);
        altered[byte] = altered[byte]! ^ (1 << bit);
        await expectInvalidCursor(c.decode(at('customers'), filter, altered.toString('base64url')), NOT_THIS_LIST);
        tried++;
      }
    }
    expect(tried).to.equal(raw.length * 8);
  });

  it('rejects a payload re-encrypted with another key: another database, or the secret used without HKDF', async () => {
    const scope = at('customers');
    const genuine = await codec().encode(scope, {}, POSITION);
    const plain = plaintextOf(genuine, scope);
    const nonce = Buffer.from(genuine, 'base64url').subarray(0, NONCE_BYTES);
    // The control: sealed by hand under this server's key, it is accepted.
    expect((await codec().decode(scope, {}, seal(KEY, plain, scope))).id).to.equal(POSITION.id);
    for (const forged of [seal(OTHER_KEY, plain, scope), seal(OTHER_KEY, plain, scope, nonce), sealWith(KEY, plain, scope), sealWith(KEY, plain, scope, nonce)]) {
      await expectInvalidCursor(codec().decode(scope, {}, forged), NOT_THIS_LIST);
    }
    const otherServer = new CursorCodec(async () => OTHER_KEY);
    await expectInvalidCursor(codec().decode(scope, {}, await otherServer.encode(scope, {}, POSITION)), NOT_THIS_LIST);
    await expectInvalidCursor(otherServer.decode(scope, {}, genuine), NOT_THIS_LIST);
  });

  it('rejects a cursor issued by the old codec (HMAC tag and readable JSON), as any other stranger', async () => {
    const scope = at('customers');
    const json = Buffer.from(JSON.stringify({ l: 'customers', f: payloadOf(await codec().encode(scope, {}, POSITION), scope).f, t: POSITION.created.toISOString(), i: POSITION.id }));
    const tag = createHmac('sha256', KEY).update(ACCOUNT).update('\0').update(json).digest().subarray(0, 16);
    await expectInvalidCursor(codec().decode(scope, {}, Buffer.concat([tag, json]).toString('base64url')), NOT_THIS_LIST);
  });

  it('rejects a cursor issued by another list', async () => {
    const c = codec();
    const cursor = await c.encode(at('customers'), {}, POSITION);
    for (const list of ['api_keys', 'payments', 'refunds', 'events', 'Customers', '']) {
      await expectInvalidCursor(c.decode(at(list), {}, cursor, /.*/), NOT_THIS_LIST);
    }
    // The AAD is what binds it: the same plaintext sealed for the other list is that list's.
    const theirs = seal(KEY, plaintextOf(cursor, at('customers')), at('payments'));
    expect((await c.decode(at('payments'), {}, theirs)).id).to.equal(POSITION.id);
    await expectInvalidCursor(c.decode(at('customers'), {}, theirs), NOT_THIS_LIST);
  });

  it('rejects a cursor for list A of account X on list A of account Y and on list B of account X', async () => {
    const c = codec();
    const cursor = await c.encode(at('payments', ACCOUNT), {}, POSITION);
    expect((await c.decode(at('payments', ACCOUNT), {}, cursor)).id).to.equal(POSITION.id);
    await expectInvalidCursor(c.decode(at('payments', OTHER_ACCOUNT), {}, cursor), NOT_THIS_LIST);
    await expectInvalidCursor(c.decode(at('refunds', ACCOUNT), {}, cursor), NOT_THIS_LIST);
    // Nor can the two be traded for each other where the boundary between them would fall.
    const joined = await c.encode(at('b', 'acct_a'), {}, POSITION);
    for (const [list, account] of [['', 'acct_ab'], ['acct_ab', ''], ['\0b', 'acct_a'], ['b', 'acct_a\0']] as const) {
      await expectInvalidCursor(c.decode(at(list, account), {}, joined), NOT_THIS_LIST);
    }
  });

  it("rejects a cursor issued for the same list of another account, though its payload does not name the account", async () => {
    const c = codec();
    const cursor = await c.encode(at('payments'), {}, POSITION);
    expect(plaintextOf(cursor, at('payments')).toString('utf8')).not.to.contain('acct_');
    expect((await c.decode(at('payments'), {}, cursor)).id).to.equal(POSITION.id);
    for (const account of [OTHER_ACCOUNT, ACCOUNT.toLowerCase(), `${ACCOUNT} `, '']) {
      await expectInvalidCursor(c.decode(at('payments', account), {}, cursor), NOT_THIS_LIST);
    }
    // The same plaintext sealed for the other account is that account's cursor, and only its.
    const theirs = seal(KEY, plaintextOf(cursor, at('payments')), at('payments', OTHER_ACCOUNT));
    expect((await c.decode(at('payments', OTHER_ACCOUNT), {}, theirs)).id).to.equal(POSITION.id);
    await expectInvalidCursor(c.decode(at('payments'), {}, theirs), NOT_THIS_LIST);
  });

  it('rejects a cursor replayed with different filters, saying so', async () => {
    const c = codec();
    const issued = { status: 'succeeded', customer: 'cus_A', created: { gte: 100 } };
    const cursor = await c.encode(at('payments'), issued, POSITION);
    const changed: ListFilter[] = [
      { ...issued, status: 'failed' },
      { ...issued, customer: 'cus_B' },
      { ...issued, customer: undefined },
      { ...issued, created: { gte: 101 } },
      { ...issued, created: { gte: 100, lt: 200 } },
      { ...issued, created: undefined },
      {},
      { ...issued, extra: 'x' },
    ];
    for (const filter of changed) await expectInvalidCursor(c.decode(at('payments'), filter, cursor), OTHER_FILTERS);
    // The same filters in another key order are the same filters.
    const same = await c.decode(at('payments'), { created: { gte: 100 }, customer: 'cus_A', status: 'succeeded' }, cursor);
    expect(same.id).to.equal(POSITION.id);
  });

  it('treats an absent filter and one set to undefined as the same filter', async () => {
    const c = codec();
    const bare = await c.encode(at('customers'), {}, POSITION);
    expect((await c.decode(at('customers'), { email: undefined, created: undefined }, bare)).id).to.equal(POSITION.id);
    const explicit = await c.encode(at('customers'), { email: undefined, created: undefined }, POSITION);
    expect((await c.decode(at('customers'), {}, explicit)).id).to.equal(POSITION.id);
    // The same plaintext, hence (synthetic nonce) the same cursor.
    expect(plaintextOf(explicit, at('customers')).equals(plaintextOf(bare, at('customers')))).to.equal(true);
    expect(explicit).to.equal(bare);
  });

  it('treats an empty created range as no range, and a non-empty one as a different filter', async () => {
    const c = codec();
    const bare = await c.encode(at('payments'), { status: 'succeeded' }, POSITION);
    expect((await c.decode(at('payments'), { status: 'succeeded', created: {} }, bare)).id).to.equal(POSITION.id);
    await expectInvalidCursor(c.decode(at('payments'), { status: 'succeeded', created: { gte: 1 } }, bare), /different filters/);
  });

  it('rejects a cursor over 512 characters, a truncated, an empty one and one that is not base64url', async () => {
    const c = codec();
    const genuine = await c.encode(at('customers'), {}, POSITION);
    const raw = Buffer.from(genuine, 'base64url');
    for (const cursor of [
      'A'.repeat(513),
      genuine + 'A'.repeat(513 - genuine.length),
      genuine + 'AAAA',
      raw.subarray(0, raw.length - 1).toString('base64url'),
      raw.subarray(0, NONCE_BYTES + TAG_BYTES).toString('base64url'),
      raw.subarray(1).toString('base64url'),
      '',
      '!!!!',
      '%%%%%%%%',
      'not base64 at all!',
      '====',
      // Node's decoder would skip the foreign characters and find the genuine bytes.
      `${genuine}=`,
      `${genuine.slice(0, 40)}.${genuine.slice(40)}`,
      `${genuine.slice(0, 40)}+${genuine.slice(40)}`,
    ]) {
      await expectInvalidCursor(c.decode(at('customers'), {}, cursor), NOT_THIS_LIST);
    }
  });

  it('rejects a correctly sealed payload that is not a well-formed position', async () => {
    const c = codec();
    const ok = { f: payloadOf(await c.encode(at('customers'), {}, POSITION), at('customers')).f, t: POSITION.created.toISOString(), i: POSITION.id };
    // The control: this hand-made cursor is accepted, so each rejection below is due to its one change.
    expect((await c.decode(at('customers'), {}, seal(KEY, ok))).id).to.equal(POSITION.id);
    const bad: unknown[] = [
      'not json',
      '[]',
      '42',
      '"customers"',
      '',
      Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
      randomBytes(PADDED_PAYLOAD_BYTES),
      { ...ok, f: undefined },
      { ...ok, f: 7 },
      { ...ok, t: undefined },
      { ...ok, t: 12 },
      { ...ok, t: 'not-a-date' },
      { ...ok, t: '1969-12-31T23:59:59.999Z' },
      { ...ok, t: '+010000-01-01T00:00:00.000Z' },
      { ...ok, i: undefined },
      { ...ok, i: 7 },
      { ...ok, i: "cus_x' or 1=1 --" },
      { ...ok, i: `cus_${'a'.repeat(65)}` },
    ];
    for (const payload of bad) {
      const err = await rejection(c.decode(at('customers'), {}, seal(KEY, payload)));
      expect(err, JSON.stringify(payload)).to.be.instanceOf(AppError);
      expect((err as AppError).code).to.equal('invalid_cursor');
    }
    // A sequence is not an id, and an id is not a sequence.
    await expectInvalidCursor(c.decode(at('events'), {}, await c.encode(at('events'), {}, { created: POSITION.created, id: '42' })));
    await expectInvalidCursor(c.decode(at('customers'), {}, await c.encode(at('customers'), {}, POSITION), SEQUENCE_PATTERN));
  });

  // `null` parses as JSON; without the codec's check that the payload is an object, destructuring
  // it would throw a TypeError, which the API would answer as a 500.
  it('rejects a correctly sealed payload of JSON null as invalid_cursor, not a TypeError', async () => {
    await expectInvalidCursor(codec().decode(at('customers'), {}, seal(KEY, 'null')), NOT_THIS_LIST);
  });

  it('asks for the key once across many calls', async () => {
    let calls = 0;
    const c = new CursorCodec(async () => {
      calls++;
      return KEY;
    });
    const cursors = await Promise.all(Array.from({ length: 20 }, (_, n) => c.encode(at('customers'), {}, { ...POSITION, id: `cus_${n}` })));
    const decoded = await Promise.all(cursors.map((cursor) => c.decode(at('customers'), {}, cursor)));
    expect(decoded.map((p) => p.id)).to.deep.equal(Array.from({ length: 20 }, (_, n) => `cus_${n}`));
    await expectInvalidCursor(c.decode(at('customers'), {}, 'AAAA'));
    expect(calls).to.equal(1);
  });

  it('asks for the key again after loading it failed, and then keeps it', async () => {
    let calls = 0;
    const c = new CursorCodec(async () => {
      calls++;
      if (calls === 1) throw new Error('database unavailable');
      return KEY;
    });
    const failures = await Promise.all(Array.from({ length: 5 }, () => rejection(c.encode(at('customers'), {}, POSITION))));
    for (const err of failures) expect((err as Error).message).to.equal('database unavailable');
    expect(calls).to.equal(1);
    const cursor = await c.encode(at('customers'), {}, POSITION);
    expect((await c.decode(at('customers'), {}, cursor)).id).to.equal(POSITION.id);
    await Promise.all(Array.from({ length: 10 }, () => c.decode(at('customers'), {}, cursor)));
    expect(calls).to.equal(2);
    // The key it now holds is the one a codec that never failed holds: each opens the other's cursors.
    expect((await codec().decode(at('customers'), {}, cursor)).id).to.equal(POSITION.id);
    expect((await c.decode(at('customers'), {}, await codec().encode(at('customers'), {}, POSITION))).id).to.equal(POSITION.id);
    expect(payloadOf(cursor, at('customers'))).to.include({ i: POSITION.id });
  });
});

type ListName = 'customers' | 'api_keys' | 'payments' | 'refunds' | 'events';

interface ListSpec {
  readonly name: ListName;
  readonly path: string;
  /** A list whose cursors this one must refuse. */
  readonly other: ListName;
  /** Whether the list takes filters (all but API keys take `created`). */
  readonly filtered: boolean;
}

const LISTS: readonly ListSpec[] = [
  { name: 'customers', path: '/v1/customers', other: 'payments', filtered: true },
  { name: 'api_keys', path: '/v1/api_keys', other: 'customers', filtered: false },
  { name: 'payments', path: '/v1/payments', other: 'refunds', filtered: true },
  { name: 'refunds', path: '/v1/refunds', other: 'events', filtered: true },
  { name: 'events', path: '/v1/events', other: 'payments', filtered: true },
];

const pathOf = (name: ListName) => LISTS.find((l) => l.name === name)!.path;

/** The list's rows for these accounts, in the order the list promises, read from the database. */
async function orderedRows(db: Db, name: ListName, accountIds: readonly string[]): Promise<{ id: string; account_id: string }[]> {
  const q = db(name).select('id', 'account_id').whereIn('account_id', accountIds);
  if (name === 'customers') q.whereNull('deleted_at');
  const tiebreak = name === 'events' ? 'seq' : 'id';
  return q.orderBy([{ column: 'created_at', order: 'desc' }, { column: tiebreak, order: 'desc' }]);
}

describe('list pagination through the API', () => {
  let t: TestApp;
  let a: TestAccount;
  let b: TestAccount;

  const bearer = (acct: TestAccount) => ({ Authorization: `Bearer ${acct.secret}` });
  const list = (path: string, query: Record<string, unknown>, acct: TestAccount = a) => request(t.app).get(path).query(query).set(bearer(acct));

  async function created(acct: TestAccount, path: string, body: object): Promise<{ id: string }> {
    const res = await request(t.app).post(path).set(bearer(acct)).set('Idempotency-Key', randomUUID()).send(body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  /** The first page's cursor (A's rows unless said otherwise). */
  async function cursorOf(path: string, query: Record<string, unknown> = {}, acct: TestAccount = a): Promise<{ cursor: string; ids: string[] }> {
    const res = await list(path, { limit: 5, ...query }, acct);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.has_more).to.equal(true);
    expect(res.body.next_cursor).to.be.a('string');
    return { cursor: res.body.next_cursor, ids: res.body.data.map((r: { id: string }) => r.id) };
  }

  /** Every page, following next_cursor, with the given limits in turn. */
  async function walk(path: string, query: Record<string, unknown>, limits: readonly number[], acct: TestAccount = a): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 500; page++) {
      const limit = limits[page % limits.length]!;
      const res = await list(path, { ...query, limit, ...(cursor ? { cursor } : {}) }, acct);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      ids.push(...res.body.data.map((r: { id: string }) => r.id));
      cursor = res.body.next_cursor ?? undefined;
      expect(res.body.has_more).to.equal(cursor !== undefined);
      if (cursor) expect(res.body.data).to.have.length(limit);
      else return ids;
    }
    throw new Error('the walk did not end');
  }

  before(async function () {
    this.timeout(120_000);
    t = await createTestApp();
    a = await t.createAccount('Paging account');
    b = await t.createAccount('Another paging account');
    // B's rows are made between A's, so that A's cursor positions fall in the middle of B's rows.
    const bigA = await created(a, '/v1/payments', { amount: 100_000, currency: 'EUR' });
    const bigB = await created(b, '/v1/payments', { amount: 100_000, currency: 'EUR' });
    for (let n = 0; n < 22; n++) {
      await created(a, '/v1/customers', { email: `a${n}@example.com` });
      await t.createKey(a, ['read']);
      await created(a, '/v1/payments', { amount: 1000 + n, currency: 'EUR' });
      await created(a, '/v1/refunds', { payment: bigA.id, amount: 100 });
      if (n % 2 === 0) {
        await created(b, '/v1/customers', { email: `b${n}@example.com` });
        await t.createKey(b, ['read']);
        await created(b, '/v1/payments', { amount: 2000 + n, currency: 'EUR' });
        await created(b, '/v1/refunds', { payment: bigB.id, amount: 100 });
      }
    }
  });
  after(() => t?.close());

  for (const spec of LISTS) {
    describe(`GET ${spec.path}`, () => {
      it('rejects limit 0, 101, -1, 1.5 and abc with 400 validation_failed naming /query/limit', async () => {
        for (const limit of [0, 101, -1, 1.5, 'abc']) {
          const res = await list(spec.path, { limit });
          expectProblem(res, 400, 'validation_failed');
          expect(res.body.errors.map((e: { path: string }) => e.path), `limit=${limit}`).to.include('/query/limit');
        }
      });

      it('returns 20 items by default, the newest first', async () => {
        const expected = (await orderedRows(t.db, spec.name, [a.id])).map((r) => r.id);
        expect(expected.length).to.be.greaterThan(20);
        const res = await list(spec.path, {});
        expect(res.status).to.equal(200);
        expect(res.body.data.map((r: { id: string }) => r.id)).to.deep.equal(expected.slice(0, 20));
        expect(res.body.has_more).to.equal(true);
        expect(res.body.next_cursor).to.be.a('string');
      });

      it('walks every item once, in order, when the limit changes from page to page', async () => {
        const expected = (await orderedRows(t.db, spec.name, [a.id])).map((r) => r.id);
        expect(await walk(spec.path, {}, [3, 1, 7, 20, 2])).to.deep.equal(expected);
        expect(await walk(spec.path, {}, [100])).to.deep.equal(expected);
      });

      it('rejects a forged, a truncated and an altered cursor with 400 invalid_cursor', async () => {
        const { cursor } = await cursorOf(spec.path);
        // Sanity: the genuine cursor is accepted.
        expect((await list(spec.path, { cursor })).status).to.equal(200);
        const changedAt = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
        const bad = [
          randomBytes(90).toString('base64url'),
          randomBytes(12).toString('base64url'),
          cursor.slice(0, -1),
          cursor.slice(0, Math.floor(cursor.length / 2)),
          cursor.slice(1),
          // In the nonce (its 12 bytes are the first 16 characters), in the ciphertext, in the tag
          // (the last 22) and near the end (the last character may carry only padding bits, so it
          // is not one of them).
          ...[0, 10, 15, 16, 21, 22, 40, Math.floor(cursor.length / 2), cursor.length - 22, cursor.length - 2].map((at) => changedAt(cursor, at)),
        ];
        for (const forged of bad) {
          expect(forged).not.to.equal(cursor);
          const res = await list(spec.path, { cursor: forged });
          expectProblem(res, 400, 'invalid_cursor');
          expect(res.body.detail).to.match(NOT_THIS_LIST);
        }
      });

      it(`rejects a cursor issued by the ${spec.other} list with 400 invalid_cursor`, async () => {
        const { cursor } = await cursorOf(pathOf(spec.other));
        const res = await list(spec.path, { cursor });
        expectProblem(res, 400, 'invalid_cursor');
        expect(res.body.detail).to.match(NOT_THIS_LIST);
      });

      // A client that serves several accounts and mixes up their cursors must not get a page of
      // the other account's list starting at an arbitrary position: B's rows fall on both sides of
      // A's cursor, so accepting it would silently skip B's newer rows.
      it("rejects another account's cursor for the same list with 400 invalid_cursor, and accepts that account's own", async () => {
        const { cursor } = await cursorOf(spec.path);
        const res = await list(spec.path, { cursor }, b);
        expectProblem(res, 400, 'invalid_cursor');
        expect(res.body.detail).to.match(NOT_THIS_LIST);
        expect(JSON.stringify(res.body)).not.to.contain(a.id);

        const own = await cursorOf(spec.path, {}, b);
        const next = await list(spec.path, { cursor: own.cursor }, b);
        expect(next.status, JSON.stringify(next.body)).to.equal(200);
        expect(next.body.data.length).to.be.greaterThan(0);
        const theirs = await list(spec.path, { cursor: own.cursor }, a);
        expectProblem(theirs, 400, 'invalid_cursor');
      });

      if (spec.filtered) {
        it('rejects a cursor whose created range changed or was dropped mid-walk, and accepts it with the same range', async () => {
          const { cursor } = await cursorOf(spec.path, { 'created[gte]': 0 });
          const same = await list(spec.path, { 'created[gte]': 0, cursor });
          expect(same.status, JSON.stringify(same.body)).to.equal(200);
          for (const query of [{ 'created[gte]': 1 }, {}, { 'created[gte]': 0, 'created[lt]': 9_999_999_999 }, { 'created[gt]': 0 }]) {
            const res = await list(spec.path, { ...query, cursor });
            expectProblem(res, 400, 'invalid_cursor');
            expect(res.body.detail).to.match(OTHER_FILTERS);
          }
        });
      }
    });
  }

  describe('GET /v1/events cursors', () => {
    const seqOf = async (id: string): Promise<{ seq: string; created: Date }> => {
      const row: { seq: string | number; created_at: Date } = await t.db('events').where({ id }).first('seq', 'created_at');
      return { seq: String(row.seq), created: row.created_at };
    };

    // `seq` counts every account's events: a tenant able to read it off its own cursors could
    // watch everyone else's volume.
    it("do not show the sequence or the time of the page's last event, and are the same each time the page is read", async () => {
      const first = await list('/v1/events', { limit: 5 });
      const again = await list('/v1/events', { limit: 5 });
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(again.body.data).to.deep.equal(first.body.data);
      const { seq, created } = await seqOf(first.body.data.at(-1).id);
      // Long enough that the random bytes of a cursor hold it by chance about once in 10^5 runs.
      expect(seq).to.match(/^[0-9]{3,}$/);
      const cursors: string[] = [first.body.next_cursor, again.body.next_cursor];
      // The same page, the same bytes: a page read twice keeps its ETag.
      expect(cursors[0]).to.equal(cursors[1]);
      expect(again.headers.etag).to.equal(first.headers.etag);
      for (const cursor of cursors) {
        const raw = Buffer.from(cursor, 'base64url');
        for (const text of [seq, `"${seq}"`, created.toISOString(), String(created.getTime()), String(toUnixSeconds(created))]) {
          expect(raw.includes(text), text).to.equal(false);
        }
      }
      // Both are the app's own, for the same position.
      const [one, two] = await Promise.all(cursors.map((cursor) => list('/v1/events', { limit: 5, cursor })));
      expect(one!.status, JSON.stringify(one!.body)).to.equal(200);
      expect(one!.body.data).to.have.length(5);
      expect(two!.body.data).to.deep.equal(one!.body.data);
    });

    it('are all the same length, whatever the number of digits of the sequence', async () => {
      const lengths = new Set<number>();
      const digits = new Set<number>();
      let cursor: string | undefined;
      do {
        const res = await list('/v1/events', { limit: 4, ...(cursor ? { cursor } : {}) });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        cursor = res.body.next_cursor ?? undefined;
        if (cursor) {
          lengths.add(cursor.length);
          digits.add((await seqOf(res.body.data.at(-1).id)).seq.length);
        }
      } while (cursor);
      expect(digits.size).to.be.at.least(2);
      expect([...lengths]).to.deep.equal([166]);
    });
  });

  describe('GET /v1/payments with filters changed mid-walk', () => {
    let customer: string;
    before(async () => {
      customer = (await created(a, '/v1/customers', { email: 'filter@example.com' })).id;
    });

    it('rejects the cursor when the status, the customer or the created range changes', async () => {
      const walked = { status: 'succeeded', 'created[gte]': 1_000 };
      const { cursor } = await cursorOf('/v1/payments', walked);
      const control = await list('/v1/payments', { ...walked, cursor });
      expect(control.status, JSON.stringify(control.body)).to.equal(200);
      expect(control.body.data.length).to.be.greaterThan(0);
      for (const query of [
        { ...walked, status: 'failed' },
        { ...walked, customer },
        { ...walked, 'created[gte]': 1_001 },
        { status: 'succeeded' },
        { 'created[gte]': 1_000 },
      ]) {
        const res = await list('/v1/payments', { ...query, cursor });
        expectProblem(res, 400, 'invalid_cursor');
        expect(res.body.detail).to.match(OTHER_FILTERS);
      }
    });

    it('accepts the same filters sent in another order', async () => {
      const { cursor } = await cursorOf('/v1/payments', { status: 'succeeded', 'created[gte]': 1_000, 'created[lte]': 9_999_999_999 });
      const res = await request(t.app)
        .get(`/v1/payments?created%5Blte%5D=9999999999&cursor=${cursor}&created%5Bgte%5D=1000&status=succeeded`)
        .set(bearer(a));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    });
  });

  describe('GET /v1/customers with the email filter changed mid-walk', () => {
    it('rejects a cursor issued without an email filter when one is added', async () => {
      const { cursor } = await cursorOf('/v1/customers');
      const res = await list('/v1/customers', { email: 'a1@example.com', cursor });
      expectProblem(res, 400, 'invalid_cursor');
      expect(res.body.detail).to.match(OTHER_FILTERS);
    });
  });

  describe('GET /v1/payments with status, customer and created range combined', () => {
    it('walks with limit 2 through exactly the rows SQL selects, in the same order', async () => {
      const acct = await t.createAccount('Combined filters account');
      const customers = [
        (await created(acct, '/v1/customers', { email: 'one@example.com' })).id,
        (await created(acct, '/v1/customers', { email: 'two@example.com' })).id,
      ];
      const ids: string[] = [];
      for (let n = 0; n < 40; n++) {
        const body: Record<string, unknown> = { currency: 'EUR', amount: n % 5 === 1 ? 1402 : 1000 + n };
        if (n % 5 === 3) body.capture_method = 'manual';
        if (n % 10 !== 9) body.customer = customers[n % 2];
        ids.push((await created(acct, '/v1/payments', body)).id);
      }
      // Spread over minutes, four to a timestamp so ties are broken by id across page boundaries.
      const base = Math.floor(Date.now() / 1000) - 3600;
      for (const [n, id] of ids.entries()) {
        await t.db('payments').where({ id }).update({ created_at: new Date((base + Math.floor(n / 4) * 60) * 1000) });
      }
      const gte = base + 2 * 60;
      const lte = base + 8 * 60;
      const query = { status: 'succeeded', customer: customers[0], 'created[gte]': gte, 'created[lte]': lte };

      const expected: string[] = await t
        .db('payments')
        .where({ account_id: acct.id, status: 'succeeded', customer_id: customers[0] })
        .where('created_at', '>=', new Date(gte * 1000))
        .where('created_at', '<=', new Date(lte * 1000))
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .pluck('id');
      expect(expected.length).to.be.at.least(5);

      const got = await walk('/v1/payments', query, [2], acct);
      expect(got).to.deep.equal(expected);
      const rows = await t.db('payments').whereIn('id', got).select('status', 'customer_id', 'created_at');
      for (const row of rows) {
        expect(row.status).to.equal('succeeded');
        expect(row.customer_id).to.equal(customers[0]);
        expect(row.created_at.getTime()).to.be.within(gte * 1000, lte * 1000);
      }
    });
  });
});


describe('cursors across API instances', () => {
  const noDrop = async () => {};
  let shared: Awaited<ReturnType<typeof openSharedDatabase>>;
  let one: TestApp;
  let two: TestApp;
  let elsewhere: TestApp;
  let acct: TestAccount;

  before(async () => {
    // The app on a database of its own first: its migration then opens its connections while no
    // other app in this process is still starting (compiling its validators), which could hold the
    // event loop past the pool's 3 s acquire timeout on a loaded machine.
    elsewhere = await createTestApp();
    shared = await openSharedDatabase(5);
    one = await createTestApp({ database: { db: shared.first, drop: noDrop } });
    two = await createTestApp({ database: { db: shared.second, drop: noDrop } });
    acct = await one.createAccount('Two instances');
    for (let n = 0; n < 7; n++) {
      const res = await request(one.app).post('/v1/customers').set('Authorization', `Bearer ${acct.secret}`).send({ email: `i${n}@example.com` });
      expect(res.status).to.equal(201);
      const pay = await request(one.app)
        .post('/v1/payments')
        .set('Authorization', `Bearer ${acct.secret}`)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: 1500 + n, currency: 'EUR' });
      expect(pay.status).to.equal(201);
    }
  });
  after(async () => {
    await Promise.all([one?.close(), two?.close(), elsewhere?.close()]);
    await shared?.drop();
  });

  for (const path of ['/v1/customers', '/v1/payments', '/v1/events']) {
    it(`continues a ${path} walk on a second instance on the same database`, async () => {
      const first = await request(one.app).get(path).query({ limit: 3 }).set('Authorization', `Bearer ${acct.secret}`);
      expect(first.status).to.equal(200);
      const cursor = first.body.next_cursor as string;
      expect(cursor).to.be.a('string');
      const onOne = await request(one.app).get(path).query({ limit: 3, cursor }).set('Authorization', `Bearer ${acct.secret}`);
      const onTwo = await request(two.app).get(path).query({ limit: 3, cursor }).set('Authorization', `Bearer ${acct.secret}`);
      expect(onTwo.status, JSON.stringify(onTwo.body)).to.equal(200);
      // The same page, with the same next cursor (both instances derive the same keys from the
      // database), and each instance continues from the other's.
      const { next_cursor: nextOnOne, ...pageOnOne } = onOne.body;
      const { next_cursor: nextOnTwo, ...pageOnTwo } = onTwo.body;
      expect(pageOnTwo).to.deep.equal(pageOnOne);
      expect(onTwo.body.data).to.have.length(3);
      const firstIds = new Set(first.body.data.map((r: { id: string }) => r.id));
      for (const r of onTwo.body.data) expect(firstIds.has(r.id)).to.equal(false);
      expect(nextOnOne).to.be.a('string');
      expect(nextOnTwo).to.be.a('string').and.equal(nextOnOne);
      const thirdOnTwo = await request(two.app).get(path).query({ limit: 3, cursor: nextOnOne }).set('Authorization', `Bearer ${acct.secret}`);
      const thirdOnOne = await request(one.app).get(path).query({ limit: 3, cursor: nextOnTwo }).set('Authorization', `Bearer ${acct.secret}`);
      expect(thirdOnTwo.status, JSON.stringify(thirdOnTwo.body)).to.equal(200);
      expect(thirdOnTwo.body.data.length).to.be.greaterThan(0);
      expect(thirdOnOne.body.data).to.deep.equal(thirdOnTwo.body.data);
    });
  }

  it('rejects a cursor issued by an instance on another database (another key)', async () => {
    const first = await request(one.app).get('/v1/customers').query({ limit: 3 }).set('Authorization', `Bearer ${acct.secret}`);
    const cursor = first.body.next_cursor as string;
    expect(cursor).to.be.a('string');
    const stranger = await elsewhere.createAccount('Another database');
    await request(elsewhere.app).post('/v1/customers').set('Authorization', `Bearer ${stranger.secret}`).send({ email: 'x@example.com' }).expect(201);
    const res = await request(elsewhere.app).get('/v1/customers').query({ limit: 3, cursor }).set('Authorization', `Bearer ${stranger.secret}`);
    expectProblem(res, 400, 'invalid_cursor');
    expect(res.body.detail).to.match(NOT_THIS_LIST);
    // Its own cursors work, so the refusal is about the key and nothing else.
    const own = await request(elsewhere.app).get('/v1/customers').query({ limit: 3 }).set('Authorization', `Bearer ${stranger.secret}`);
    expect(own.status).to.equal(200);
    const [local] = await elsewhere.db('server_secrets').where({ name: 'cursor_hmac' }).pluck('value');
    const [remote] = await one.db('server_secrets').where({ name: 'cursor_hmac' }).pluck('value');
    expect(Buffer.from(local).equals(Buffer.from(remote))).to.equal(false);
  });

  it('gives every instance on one database the same key', async () => {
    const position = { created: new Date('2026-01-01T00:00:00.000Z'), id: newId('cus') };
    const codecOf = (db: Db) =>
      new CursorCodec(async () => Buffer.from((await db('server_secrets').where({ name: 'cursor_hmac' }).first()).value));
    const cursor = await codecOf(shared.first).encode(at('customers'), {}, position);
    expect((await codecOf(shared.second).decode(at('customers'), {}, cursor)).id).to.equal(position.id);
  });
});
