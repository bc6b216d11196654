/**
 * The processor's report (`ListTransactions`): its pages and cursors, shared by both protocols,
 * and its JSON form, which sends 64-bit integers as numbers and which the simulator can make drift
 * from the contract the way real providers' reports do.
 */
import { createHash } from 'node:crypto';
import { create, toJson, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import {
  ListTransactionsResponseSchema,
  RefusalCode,
  ReportDrift,
  TransactionSchema,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
  type Transaction,
} from '../../../generated/processor/processor_pb.js';
import { randomBase62 } from '../../platform/ids.js';
import { refused, type Ledger, type Outcome } from './ledger.js';

const PAGE_SIZE_DEFAULT = 100;
const PAGE_SIZE_MAX = 500;

// ---------------------------------------------------------------------------------------------
// Cursors: base64url of `<last sequence returned>.<tag>`, the tag a short hash of that sequence
// and the window, so that a cursor is opaque to the caller and refused with any window but its own
// or with its sequence changed.

const TAG_LENGTH = 8;
const CURSOR_TEXT = new RegExp(`^([1-9][0-9]{0,15})\\.([A-Za-z0-9_-]{${TAG_LENGTH}})$`);

function cursorTag(sequence: number, fromUnixMs: bigint, toUnixMs: bigint): string {
  return createHash('sha256').update(`${sequence}:${fromUnixMs}:${toUnixMs}`).digest('base64url').slice(0, TAG_LENGTH);
}

export function encodeCursor(sequence: number, fromUnixMs: bigint, toUnixMs: bigint): string {
  return Buffer.from(`${sequence}.${cursorTag(sequence, fromUnixMs, toUnixMs)}`, 'utf8').toString('base64url');
}

/** The sequence number a cursor continues after (0 for an empty one), or `undefined` when it is not one given for this window. */
export function decodeCursor(cursor: string, fromUnixMs: bigint, toUnixMs: bigint): number | undefined {
  if (cursor === '') return 0;
  // Node's decoder skips characters outside the alphabet; only the canonical spelling is a cursor.
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor) return undefined;
  const match = CURSOR_TEXT.exec(text);
  if (!match) return undefined;
  const sequence = Number(match[1]);
  return match[2] === cursorTag(sequence, fromUnixMs, toUnixMs) ? sequence : undefined;
}

// ---------------------------------------------------------------------------------------------

/** One page of the report, or the refusal of a request that breaks the rules spec/processor.proto states for it. */
export function transactionPage(ledger: Ledger, req: ListTransactionsRequest): Outcome<ListTransactionsResponse> {
  const { fromUnixMs, toUnixMs } = req;
  if (toUnixMs <= fromUnixMs) return refused(RefusalCode.INVALID_REQUEST, 'to_unix_ms must be after from_unix_ms.');
  const size = req.pageSize === 0 ? PAGE_SIZE_DEFAULT : req.pageSize;
  if (size < 1 || size > PAGE_SIZE_MAX) return refused(RefusalCode.INVALID_REQUEST, `page_size must be 1 to ${PAGE_SIZE_MAX} (or 0 for ${PAGE_SIZE_DEFAULT}).`);
  const after = decodeCursor(req.cursor, fromUnixMs, toUnixMs);
  if (after === undefined) return refused(RefusalCode.INVALID_REQUEST, 'cursor is not one this processor gave for this window.');
  const { transactions, last, hasMore } = ledger.transactions(fromUnixMs, toUnixMs, after, size);
  const nextCursor = hasMore ? encodeCursor(last, fromUnixMs, toUnixMs) : '';
  return { ok: true, value: create(ListTransactionsResponseSchema, { transactions, nextCursor, hasMore }) };
}

/** The last transaction of the page before the one `req` asks for; `undefined` for a first page. */
export function previousTransaction(ledger: Ledger, req: ListTransactionsRequest): Transaction | undefined {
  const after = decodeCursor(req.cursor, req.fromUnixMs, req.toUnixMs);
  return after ? ledger.transactionAt(after) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The JSON form.

type JsonTransaction = Record<string, JsonValue>;

/**
 * A transaction as the report's JSON sends it: proto3 JSON, except that `amount` and
 * `createdUnixMs` are always present and are JSON numbers (both are at most 2^53 - 1).
 */
function transactionJson(t: Transaction): JsonTransaction {
  const json = toJson(TransactionSchema, t) as JsonObject;
  const out: JsonTransaction = {};
  // In field order, with the two integers in their places whether proto3 JSON left them out or not.
  for (const field of TransactionSchema.fields) {
    if (field.localName === 'amount') out[field.jsonName] = Number(t.amount);
    else if (field.localName === 'createdUnixMs') out[field.jsonName] = Number(t.createdUnixMs);
    else if (json[field.jsonName] !== undefined) out[field.jsonName] = json[field.jsonName]!;
  }
  return out;
}

/** Renames a key in place, keeping its position among the others. */
function renameKey(object: JsonTransaction, from: string, to: string): JsonTransaction {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k === from ? to : k, v]));
}

/**
 * The report page as JSON: `transactions`, `nextCursor` and `hasMore` always present, each
 * transaction as `transactionJson` writes it, then changed as `drift` says. `previous` is the last
 * transaction of the page before, which REPORT_DRIFT_REPEATED_ITEM sends again.
 */
export function reportJson(page: ListTransactionsResponse, drift: ReportDrift, previous?: Transaction): JsonObject {
  let transactions = page.transactions.map(transactionJson);
  const body: JsonObject = {};
  switch (drift) {
    case ReportDrift.NONE:
      break;
    case ReportDrift.EXTRA_FIELDS:
      transactions = transactions.map((t) => ({ ...t, network: 'visa', risk: { score: 12 } }));
      body.requestId = `req_${randomBase62(20)}`;
      break;
    case ReportDrift.NULL_OPTIONAL:
      transactions = transactions.map((t) => ({ ...t, refundId: t.refundId ?? null, declineCode: t.declineCode ?? null, reference: t.reference ?? null }));
      break;
    case ReportDrift.NULL_AMOUNT:
      if (transactions[0]) transactions[0] = { ...transactions[0], amount: null };
      break;
    case ReportDrift.UNKNOWN_ENUM:
      if (transactions[0]) transactions[0] = { ...transactions[0], chargeStatus: 'CHARGE_STATUS_PARTIALLY_CAPTURED' };
      break;
    case ReportDrift.NUMBER_AS_STRING:
      transactions = transactions.map((t) => ({ ...t, amount: String(t.amount), createdUnixMs: String(t.createdUnixMs) }));
      break;
    case ReportDrift.RENAMED_FIELD:
      transactions = transactions.map((t) => renameKey(t, 'amount', 'amountMinor'));
      break;
    case ReportDrift.REPEATED_ITEM:
      if (previous) transactions.unshift(transactionJson(previous));
      break;
  }
  return { transactions, nextCursor: page.nextCursor, hasMore: page.hasMore, ...body };
}
