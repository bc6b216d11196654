/**
 * The processor's report (`ProcessorService.ListTransactions`), read as JSON and parsed by rule.
 *
 * Reports are where processors drift: a field appears, a value turns `null`, a number arrives as a
 * string, an enum grows, a field is renamed, a page repeats an item. The report is read in the
 * Connect protocol's JSON form whatever `PROCESSOR_PROTOCOL` says (binary Protobuf would hide most
 * of those changes, not prevent them), and every page passes a schema written to the contract's
 * JSON mapping before anything is stored:
 *
 * - additive drift is tolerated: unknown fields are ignored; the fields the contract documents as
 *   optional (`refundId`, `reference`, `metadata`, `declineCode`) may be absent or `null` and are
 *   normalised to `null`; a 64-bit integer may be a JSON number or a decimal string, as proto3
 *   JSON allows;
 * - breaking drift is refused with what it broke: the field's path, what the contract expects and
 *   what was received (`ReportDriftError`). A required field absent or `null`, a value of another
 *   type, an enum value the contract does not list: none of them is guessed at.
 */
import { z } from 'zod';
import { parseRetryAfterMs } from '../platform/retry-after.js';

export type ReportTransactionType = 'charge' | 'capture' | 'void' | 'refund';
export type ReportChargeStatus = 'authorized' | 'captured' | 'voided' | 'declined';

/** One transaction of the report, normalised. */
export interface ReportTransaction {
  readonly id: string;
  readonly type: ReportTransactionType;
  readonly charge_id: string;
  readonly refund_id: string | null;
  readonly amount: number;
  readonly currency: string;
  /** The charge's status right after this transaction. */
  readonly charge_status: ReportChargeStatus;
  readonly reference: string | null;
  readonly idempotency_key: string;
  readonly applied_at: Date;
  readonly metadata: Readonly<Record<string, string>>;
  readonly decline_code: 'card_declined' | null;
}

export interface ReportPage {
  readonly transactions: readonly ReportTransaction[];
  /** Where the next page starts; `null` at the end of the window. */
  readonly nextCursor: string | null;
}

export interface ReportQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly cursor: string | null;
  readonly pageSize: number;
}

/** One field the processor's answer broke, as a run records it. */
export interface DriftIssue {
  readonly path: string;
  readonly expected: string;
  readonly received: string;
}

/** A report page that breaks the contract: nothing from it may be stored. */
export class ReportDriftError extends Error {
  constructor(readonly issues: readonly DriftIssue[]) {
    const [first] = issues;
    super(first ? `the processor's report broke its contract at ${first.path}: expected ${first.expected}, received ${first.received}` : "the processor's report broke its contract");
    this.name = 'ReportDriftError';
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INTEGER = 'an integer from 0 to 2^53 - 1 (a JSON number, or a decimal string)';

const int64 = z.union([z.number().int().min(0).max(MAX_SAFE), z.string().regex(/^(0|[1-9][0-9]{0,15})$/).transform(Number)]).refine((n) => n <= MAX_SAFE);

const TYPES = { TRANSACTION_TYPE_CHARGE: 'charge', TRANSACTION_TYPE_CAPTURE: 'capture', TRANSACTION_TYPE_VOID: 'void', TRANSACTION_TYPE_REFUND: 'refund' } as const;
const STATUSES = { CHARGE_STATUS_AUTHORIZED: 'authorized', CHARGE_STATUS_CAPTURED: 'captured', CHARGE_STATUS_VOIDED: 'voided', CHARGE_STATUS_DECLINED: 'declined' } as const;
const DECLINES = { DECLINE_CODE_UNSPECIFIED: null, DECLINE_CODE_CARD_DECLINED: 'card_declined' } as const;

function enumOf<T extends Record<string, unknown>>(names: T) {
  return z.enum(Object.keys(names) as [keyof T & string, ...(keyof T & string)[]]).transform((name) => names[name] as T[keyof T]);
}

const text = (max: number) => z.string().min(1).max(max);

const transactionSchema = z.object({
  id: text(255),
  type: enumOf(TYPES),
  chargeId: text(255),
  refundId: text(255).nullish(),
  amount: int64,
  currency: z.string().regex(/^[A-Za-z]{3}$/),
  chargeStatus: enumOf(STATUSES),
  reference: z.string().max(255).nullish(),
  idempotencyKey: text(255),
  createdUnixMs: int64,
  metadata: z.record(z.string(), z.string()).nullish(),
  declineCode: enumOf(DECLINES).nullish(),
});

const pageSchema = z.object({
  transactions: z.array(transactionSchema).max(1_000).nullish(),
  nextCursor: z.string().max(1_024).nullish(),
  hasMore: z.boolean().nullish(),
});

/** What each field must be, in the words a run's failure shows. */
const EXPECTED: Record<string, string> = {
  id: 'a string of 1 to 255 characters',
  type: `one of ${Object.keys(TYPES).join(', ')}`,
  chargeId: 'a string of 1 to 255 characters',
  refundId: 'a string of 1 to 255 characters, or null',
  amount: INTEGER,
  currency: 'a three-letter currency code',
  chargeStatus: `one of ${Object.keys(STATUSES).join(', ')}`,
  reference: 'a string of at most 255 characters, or null',
  idempotencyKey: 'a string of 1 to 255 characters',
  createdUnixMs: INTEGER,
  metadata: 'an object of strings, or null',
  declineCode: `one of ${Object.keys(DECLINES).join(', ')}, or null`,
  transactions: 'an array of at most 1,000 transactions',
  nextCursor: 'a string, or null',
  hasMore: 'a boolean, or null',
};

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(the page)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown; parent: unknown } {
  let node: unknown = root;
  let parent: unknown;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return { found: false, value: undefined, parent: node };
    parent = node;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: node, parent };
}

function describe(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Parses one page, or throws ReportDriftError naming every field it broke (at most 10). */
export function parseReportPage(json: unknown): ReportPage {
  const parsed = pageSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((issue): DriftIssue => {
      const at = valueAt(json, issue.path);
      const field = [...issue.path].reverse().find((p) => typeof p === 'string');
      let received = at.found ? describe(at.value) : 'nothing (the field is absent)';
      if (!at.found && at.parent !== null && typeof at.parent === 'object') {
        const unknown = Object.keys(at.parent).filter((k) => !(k in transactionSchema.shape) && !(k in pageSchema.shape));
        if (unknown.length > 0) received += `; fields the contract does not know: ${unknown.slice(0, 5).join(', ')}`;
      }
      return { path: pathOf(issue.path), expected: (typeof field === 'string' && EXPECTED[field]) || issue.message, received };
    });
    throw new ReportDriftError(issues);
  }
  const page = parsed.data;
  const transactions = (page.transactions ?? []).map(
    (t): ReportTransaction => ({
      id: t.id,
      type: t.type,
      charge_id: t.chargeId,
      refund_id: t.refundId ?? null,
      amount: t.amount,
      currency: t.currency.toUpperCase(),
      charge_status: t.chargeStatus,
      reference: t.reference ?? null,
      idempotency_key: t.idempotencyKey,
      applied_at: new Date(t.createdUnixMs),
      metadata: t.metadata ?? {},
      decline_code: t.declineCode ?? null,
    }),
  );
  const more = page.hasMore ?? false;
  if (more && !page.nextCursor) throw new ReportDriftError([{ path: 'nextCursor', expected: 'a cursor when hasMore is true', received: describe(page.nextCursor ?? null) }]);
  return { transactions, nextCursor: more ? page.nextCursor! : null };
}

/** What one request for a page ended with. */
export type ReportAttempt =
  | { readonly outcome: 'page'; readonly page: ReportPage }
  | { readonly outcome: 'throttled'; readonly retryAfterMs: number }
  | { readonly outcome: 'failed'; readonly reason: string };

/** A refusal of the report request itself (a 4xx other than 429): a bug on one side, not worth a retry. */
export class ReportRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportRefusedError';
  }
}

const REPORT_PATH = '/remit.processor.v1.ProcessorService/ListTransactions';
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** How long a 429 asks to wait: its `Retry-After` (seconds or an HTTP date), 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  return parseRetryAfterMs(header ?? undefined, now) ?? 1000;
}

/**
 * One request for one page, with its own timeout: a page, a throttle (429 and how long to wait),
 * or a failure worth retrying (a timeout, a dropped connection, a 5xx). A page that breaks the
 * contract throws ReportDriftError; a refused request throws ReportRefusedError.
 */
export async function requestReportPage(baseUrl: string, query: ReportQuery, timeoutMs: number): Promise<ReportAttempt> {
  const body = JSON.stringify({ fromUnixMs: String(query.fromMs), toUnixMs: String(query.toMs), cursor: query.cursor ?? '', pageSize: query.pageSize });
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${baseUrl.replace(/\/+$/, '')}${REPORT_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'connect-protocol-version': '1', 'connect-timeout-ms': String(timeoutMs) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_ANSWER_BYTES) {
      await response.body?.cancel();
      throw new ReportRefusedError(`the processor's report page is ${declared} bytes, more than ${MAX_ANSWER_BYTES}`);
    }
    text = await response.text();
  } catch (err) {
    if (err instanceof ReportRefusedError) throw err;
    const name = (err as Error).name;
    return { outcome: 'failed', reason: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection' };
  }
  if (response.status === 429) return { outcome: 'throttled', retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  if (response.status >= 500 || response.status === 408) return { outcome: 'failed', reason: `status ${response.status}` };
  if (response.status !== 200) throw new ReportRefusedError(`the processor refused the report request: ${response.status} ${text.slice(0, 200)}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ReportDriftError([{ path: '(the page)', expected: 'a JSON document', received: describe(text.slice(0, 60)) }]);
  }
  return { outcome: 'page', page: parseReportPage(json) };
}
