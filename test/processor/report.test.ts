/**
 * The processor's report (`ListTransactions`) as the simulator serves it: its pages over a time
 * window, its cursors, its rate limit, the drift its JSON form can be given, and the record of
 * every call a test of the reader checks. The JSON form is called with plain `fetch`, as a reader
 * using the Connect protocol over HTTP/1.1 would; gRPC with @grpc/grpc-js reading
 * spec/processor.proto, independently of the simulator's own stack; and one test reads it with a
 * Connect-ES client over every wire, as Remit's processor adapter reads the processor.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary, fromJson, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { expect } from 'chai';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { GoogleRpcStatusSchema, type GoogleRpcStatus } from '../helpers/grpc-status.js';
import {
  ChargeStatus,
  DeclineCode,
  FaultPoint,
  ListTransactionsResponseSchema,
  ProcessorService,
  RefusalCode,
  RefusalSchema,
  ReportDrift,
  TransactionType,
  type ListTransactionsResponse,
  type Operation,
} from '../../generated/processor/processor_pb.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';

const PROTO_PATH = fileURLToPath(new URL('../../spec/processor.proto', import.meta.url));
const SERVICE = '/remit.processor.v1.ProcessorService';
const REPORT = `${SERVICE}/ListTransactions`;

interface Window {
  readonly fromUnixMs: number;
  readonly toUnixMs: number;
}

interface ReportRequest extends Window {
  readonly cursor?: string;
  readonly pageSize?: number;
}

/** A JSON answer: its status, headers and parsed body. */
interface JsonAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: JsonObject;
}

/** A gRPC answer: the page decoded, or the status code with the call's trailing metadata. */
type GrpcAnswer = { readonly ok: true; readonly page: ListTransactionsResponse } | { readonly ok: false; readonly code: grpc.status; readonly metadata: grpc.Metadata; readonly refusal: RefusalCode | undefined };

type GrpcCallback = (err: grpc.ServiceError | null, value?: JsonValue) => void;
type GrpcMethod = (request: JsonValue, metadata: grpc.Metadata, options: grpc.CallOptions, callback: GrpcCallback) => grpc.ClientUnaryCall;

let sim: ProcessorSimulator;
let client: grpc.Client;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as JsonObject };
}

/** One report page in JSON, asserting nothing about it. */
const jsonPage = (request: ReportRequest, headers?: Record<string, string>) => post(REPORT, request, headers);

/** One report page over gRPC. */
function grpcPage(request: ReportRequest): Promise<GrpcAnswer> {
  const fn = (client as unknown as Record<string, GrpcMethod>).ListTransactions!.bind(client);
  return new Promise((resolve) => {
    fn({ ...request } as JsonValue, new grpc.Metadata(), {}, (err, value) => {
      if (!err) return resolve({ ok: true, page: fromJson(ListTransactionsResponseSchema, value ?? {}) });
      const [bin] = err.metadata.get('grpc-status-details-bin') as Buffer[];
      const status = bin && (fromBinary(GoogleRpcStatusSchema, bin) as unknown as GoogleRpcStatus);
      const detail = status?.details.find((d) => d.typeUrl === 'type.googleapis.com/remit.processor.v1.Refusal');
      const refusal = detail ? fromBinary(RefusalSchema, detail.value).code : undefined;
      resolve({ ok: false, code: err.code, metadata: err.metadata, refusal });
    });
  });
}

function okPage(answer: GrpcAnswer): ListTransactionsResponse {
  if (!answer.ok) throw new Error(`expected a page, got gRPC status ${grpc.status[answer.code]}`);
  return answer.page;
}

/** Calls a book-changing RPC in JSON and returns its answer, which must be a success. */
async function apply(method: string, body: Record<string, unknown>): Promise<JsonObject> {
  const answer = await post(`${SERVICE}/${method}`, body);
  expect(answer.status, `${method} ${JSON.stringify(answer.body)}`).to.equal(200);
  return answer.body;
}

async function charge(key: string, amount: number, capture = false, extra: Record<string, unknown> = {}): Promise<string> {
  const { charge: made } = (await apply('CreateCharge', { idempotencyKey: key, amount, currency: 'usd', capture, ...extra })) as { charge: { id: string } };
  return made.id;
}

const operations = (): Operation[] => sim.ledger().operations;

/** Every page of the window in JSON, `pageSize` at a time. */
async function allJsonPages(window: Window, pageSize: number): Promise<JsonObject[]> {
  const pages: JsonObject[] = [];
  let cursor = '';
  for (;;) {
    const answer = await jsonPage({ ...window, cursor, pageSize });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    pages.push(answer.body);
    if (answer.body.hasMore !== true) return pages;
    cursor = answer.body.nextCursor as string;
  }
}

async function allGrpcPages(window: Window, pageSize: number): Promise<ListTransactionsResponse[]> {
  const pages: ListTransactionsResponse[] = [];
  let cursor = '';
  for (;;) {
    const page = okPage(await grpcPage({ ...window, cursor, pageSize }));
    pages.push(page);
    if (!page.hasMore) return pages;
    cursor = page.nextCursor;
  }
}

/**
 * Books in three spells a few milliseconds apart: before the window, in it, and after it. The
 * window is the middle spell's operations exactly; an authorization made before it is captured in
 * it, and one made in it is captured after it.
 */
interface Books {
  readonly window: Window;
  /** The sequence numbers of the operations in the window. */
  readonly inWindow: bigint[];
  readonly ids: { readonly early: string; readonly captured: string; readonly voided: string; readonly declined: string; readonly late: string };
}

async function makeBooks(): Promise<Books> {
  const early = await charge('pay_early', 1100);
  await charge('pay_before', 1200, true);
  await sleep(5);
  const firstIn = operations().length + 1;
  await apply('CaptureCharge', { chargeId: early, idempotencyKey: 'pay_early:capture' });
  const captured = await charge('pay_captured', 1500, true, { reference: 'pay_captured', metadata: { order: 'o-1' } });
  const voided = await charge('pay_voided', 1600);
  await apply('VoidCharge', { chargeId: voided, idempotencyKey: 'pay_voided:void' });
  const declined = await charge('pay_declined', 1402, true);
  const late = await charge('pay_late', 1700);
  const refund = (await apply('CreateRefund', { chargeId: captured, amount: 500, idempotencyKey: 're_1' })) as { refund: { id: string } };
  expect(refund.refund.id).to.match(/^rf_/);
  await apply('CreateRefund', { chargeId: captured, amount: 300, idempotencyKey: 're_2' });
  const lastIn = operations().length;
  await sleep(5);
  await apply('CaptureCharge', { chargeId: late, idempotencyKey: 'pay_late:capture' });
  await charge('pay_after', 1800);

  const ops = operations();
  const inside = ops.slice(firstIn - 1, lastIn);
  const window = { fromUnixMs: Number(inside[0]!.atUnixMs), toUnixMs: Number(inside.at(-1)!.atUnixMs) + 1 };
  // The spells are apart: nothing before or after the middle one falls in its window.
  const inWindow = ops.filter((o) => Number(o.atUnixMs) >= window.fromUnixMs && Number(o.atUnixMs) < window.toUnixMs).map((o) => o.sequence);
  expect(inWindow).to.deep.equal(inside.map((o) => o.sequence));
  return { window, inWindow, ids: { early, captured, voided, declined, late } };
}

const idsOf = (pages: readonly ListTransactionsResponse[]) => pages.flatMap((p) => p.transactions.map((t) => t.id));
const jsonTransactions = (pages: readonly JsonObject[]) => pages.flatMap((p) => p.transactions as JsonObject[]);

describe('processor report (ListTransactions)', () => {
  before(async () => {
    sim = await startProcessorSimulator();
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: false, oneofs: false });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { remit: { processor: { v1: Record<string, grpc.ServiceClientConstructor> } } };
    client = new loaded.remit.processor.v1.ProcessorService!(new URL(sim.url).host, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  describe('pages of a window', () => {
    it('returns every transaction applied in the window exactly once, in order, and none outside it, over both protocols', async () => {
      const { window, inWindow } = await makeBooks();
      const expected = inWindow.map((s) => `txn_${s}`);
      expect(expected).to.have.length(8);

      const pages = await allGrpcPages(window, 3);
      expect(pages.map((p) => p.transactions.length)).to.deep.equal([3, 3, 2]);
      expect(idsOf(pages)).to.deep.equal(expected);
      expect(pages.map((p) => p.hasMore)).to.deep.equal([true, true, false]);
      expect(pages.at(-1)!.nextCursor).to.equal('');
      expect(new Set(pages.slice(0, -1).map((p) => p.nextCursor)).size).to.equal(2);

      // Exactly as many as the last page holds: the window has no more, so no cursor either.
      const json = await allJsonPages(window, 4);
      expect(json.map((p) => [(p.transactions as JsonObject[]).length, p.hasMore, p.nextCursor])).to.deep.equal([
        [4, true, json[0]!.nextCursor],
        [4, false, ''],
      ]);
      expect(jsonTransactions(json).map((t) => t.id)).to.deep.equal(expected);
      // The JSON pages read as the same messages with protobuf-es, numbers and all.
      const viaJson = json.map((p) => fromJson(ListTransactionsResponseSchema, p));
      expect(viaJson.flatMap((p) => p.transactions)).to.deep.equal(pages.flatMap((p) => p.transactions));

      // The window starts at its first instant (the first transaction's, above) and ends before its last.
      const atOf = new Map(operations().map((o) => [`txn_${o.sequence}`, o.atUnixMs]));
      const lastAt = Number(atOf.get(expected.at(-1)!));
      const shorter = idsOf([okPage(await grpcPage({ fromUnixMs: window.fromUnixMs, toUnixMs: lastAt }))]);
      expect(shorter).to.deep.equal(expected.filter((id) => Number(atOf.get(id)) < lastAt));
      expect(shorter).to.not.include(expected.at(-1));

      // One page for the whole window; a window holding nothing is an empty last page.
      expect(idsOf([okPage(await grpcPage(window))])).to.deep.equal(expected);
      const empty = await jsonPage({ fromUnixMs: window.toUnixMs + 60_000, toUnixMs: window.toUnixMs + 120_000 });
      expect(empty.body).to.deep.equal({ transactions: [], nextCursor: '', hasMore: false });
    });

    it('describes each transaction by its operation and its charge, with the charge’s status as that operation left it', async () => {
      const { window, ids } = await makeBooks();
      const transactions = okPage(await grpcPage(window)).transactions;
      const [refund1, refund2] = sim.ledger().refunds;
      const row = (t: (typeof transactions)[number]) => [t.type, t.chargeId, t.refundId, t.amount, t.chargeStatus, t.idempotencyKey, t.declineCode];
      expect(transactions.map(row)).to.deep.equal([
        // Authorized before the window, captured in it: the capture is in the report, the charge is not.
        [TransactionType.CAPTURE, ids.early, undefined, 1100n, ChargeStatus.CAPTURED, 'pay_early:capture', DeclineCode.UNSPECIFIED],
        [TransactionType.CHARGE, ids.captured, undefined, 1500n, ChargeStatus.CAPTURED, 'pay_captured', DeclineCode.UNSPECIFIED],
        // Voided later: its charge transaction still says AUTHORIZED.
        [TransactionType.CHARGE, ids.voided, undefined, 1600n, ChargeStatus.AUTHORIZED, 'pay_voided', DeclineCode.UNSPECIFIED],
        [TransactionType.VOID, ids.voided, undefined, 1600n, ChargeStatus.VOIDED, 'pay_voided:void', DeclineCode.UNSPECIFIED],
        [TransactionType.CHARGE, ids.declined, undefined, 0n, ChargeStatus.DECLINED, 'pay_declined', DeclineCode.CARD_DECLINED],
        // Captured after the window: in it, the charge is authorized.
        [TransactionType.CHARGE, ids.late, undefined, 1700n, ChargeStatus.AUTHORIZED, 'pay_late', DeclineCode.UNSPECIFIED],
        [TransactionType.REFUND, ids.captured, refund1!.id, 500n, ChargeStatus.CAPTURED, 're_1', DeclineCode.UNSPECIFIED],
        [TransactionType.REFUND, ids.captured, refund2!.id, 300n, ChargeStatus.CAPTURED, 're_2', DeclineCode.UNSPECIFIED],
      ]);
      // Every transaction is its operation: id, time, amount and key.
      const ops = operations();
      for (const t of transactions) {
        const op = ops.find((o) => `txn_${o.sequence}` === t.id)!;
        expect([t.createdUnixMs, t.amount, t.idempotencyKey, t.currency]).to.deep.equal([op.atUnixMs, op.amount, op.idempotencyKey, 'usd']);
      }
      // The charge's reference and metadata ride on every transaction of that charge, and only there.
      expect(transactions.map((t) => [t.chargeId === ids.captured, t.reference, t.metadata])).to.deep.equal(
        transactions.map((t) => (t.chargeId === ids.captured ? [true, 'pay_captured', { order: 'o-1' }] : [false, undefined, {}])),
      );
      // The charge as it is now has moved on from what the report says of its charge transaction.
      expect(sim.ledger().charges.find((c) => c.id === ids.late)!.status).to.equal(ChargeStatus.CAPTURED);
    });

    it('writes JSON with 64-bit integers as numbers, amount always present, and defaults left out as proto3 JSON does', async () => {
      const { window, ids } = await makeBooks();
      const answer = await jsonPage({ ...window, pageSize: 5 });
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('content-type')).to.equal('application/json');
      expect(Object.keys(answer.body)).to.deep.equal(['transactions', 'nextCursor', 'hasMore']);
      expect(answer.body.hasMore).to.equal(true);
      expect(answer.body.nextCursor).to.be.a('string').and.match(/^[A-Za-z0-9_-]+$/);
      const [capture, captured, , , declined] = answer.body.transactions as JsonObject[];
      const ops = operations();
      const at = (id: unknown) => Number(ops.find((o) => `txn_${o.sequence}` === id)!.atUnixMs);
      expect(captured).to.deep.equal({
        id: captured!.id,
        type: 'TRANSACTION_TYPE_CHARGE',
        chargeId: ids.captured,
        amount: 1500,
        currency: 'usd',
        chargeStatus: 'CHARGE_STATUS_CAPTURED',
        reference: 'pay_captured',
        idempotencyKey: 'pay_captured',
        createdUnixMs: at(captured!.id),
        metadata: { order: 'o-1' },
      });
      expect(capture).to.deep.equal({
        id: capture!.id,
        type: 'TRANSACTION_TYPE_CAPTURE',
        chargeId: ids.early,
        amount: 1100,
        currency: 'usd',
        chargeStatus: 'CHARGE_STATUS_CAPTURED',
        idempotencyKey: 'pay_early:capture',
        createdUnixMs: at(capture!.id),
      });
      // A declined charge moved nothing, and says so: `amount` is 0, not left out.
      expect(declined).to.deep.include({ amount: 0, chargeStatus: 'CHARGE_STATUS_DECLINED', declineCode: 'DECLINE_CODE_CARD_DECLINED' });
      expect(Object.keys(declined!)).to.include('amount');

      const last = await jsonPage({ ...window, pageSize: 5, cursor: answer.body.nextCursor as string });
      const refund = (last.body.transactions as JsonObject[]).at(-1)!;
      expect(refund).to.deep.include({ type: 'TRANSACTION_TYPE_REFUND', refundId: sim.ledger().refunds[1]!.id, amount: 300 });
      expect([last.body.nextCursor, last.body.hasMore]).to.deep.equal(['', false]);
    });
  });

  it('is read by a Connect-ES client, as Remit’s adapter reads the processor, in JSON over HTTP/1.1 and HTTP/2 and over gRPC alike', async () => {
    const { window } = await makeBooks();
    const expected = await allGrpcPages(window, 5);
    const request = { fromUnixMs: BigInt(window.fromUnixMs), toUnixMs: BigInt(window.toUnixMs), pageSize: 5 };
    sim.setFaults({ reportRetryAfterS: 9 });
    for (const transport of [
      createConnectTransport({ baseUrl: sim.url, httpVersion: '1.1' }),
      createConnectTransport({ baseUrl: sim.url, httpVersion: '2' }),
      createGrpcTransport({ baseUrl: sim.url }),
    ]) {
      const reader = createClient(ProcessorService, transport);
      sim.setFaults({ reportThrottleEvery: 2 });
      const first = await reader.listTransactions(request);
      expect(first).to.deep.equal(expected[0]);
      const throttled = await reader.listTransactions({ ...request, cursor: first.nextCursor }).then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      expect([throttled?.code, throttled?.metadata.get('retry-after')]).to.deep.equal([Code.ResourceExhausted, '9']);
      expect(await reader.listTransactions({ ...request, cursor: first.nextCursor })).to.deep.equal(expected[1]);
    }
  });

  describe('what a request may ask', () => {
    const refusedJson = (answer: JsonAnswer) => {
      const details = (answer.body.details ?? []) as { type: string; value: string }[];
      return [answer.status, answer.body.code, details.map((d) => [d.type, fromBinary(RefusalSchema, Buffer.from(d.value, 'base64')).code])];
    };
    const INVALID_JSON = [400, 'invalid_argument', [['remit.processor.v1.Refusal', RefusalCode.INVALID_REQUEST]]];

    it('takes a cursor only with the window it was given for; another window’s cursor, or one it never gave, is invalid_request', async () => {
      for (let i = 0; i < 3; i++) await charge(`pay_${i}`, 100 + i);
      const window = { fromUnixMs: 0, toUnixMs: Date.now() + 60_000 };
      const first = okPage(await grpcPage({ ...window, pageSize: 1 }));
      expect(first.hasMore).to.equal(true);
      expect(idsOf([okPage(await grpcPage({ ...window, pageSize: 1, cursor: first.nextCursor }))])).to.deep.equal(['txn_2']);

      const other = { fromUnixMs: 1, toUnixMs: window.toUnixMs };
      const tampered = Buffer.from(Buffer.from(first.nextCursor, 'base64url').toString('utf8').replace(/^1\./, '2.'), 'utf8').toString('base64url');
      for (const [request, what] of [
        [{ ...other, cursor: first.nextCursor }, 'another window'],
        [{ ...window, cursor: 'garbage' }, 'garbage'],
        [{ ...window, cursor: `${first.nextCursor}!` }, 'a character added'],
        [{ ...window, cursor: Buffer.from('1').toString('base64url') }, 'a bare sequence number'],
        [{ ...window, cursor: tampered }, 'its sequence changed'],
      ] as const) {
        expect(refusedJson(await jsonPage(request)), what).to.deep.equal(INVALID_JSON);
        const refused = await grpcPage(request);
        expect(refused.ok || [grpc.status[refused.code], refused.refusal], what).to.deep.equal(['INVALID_ARGUMENT', RefusalCode.INVALID_REQUEST]);
      }
      // The tampered cursor names a sequence the window holds: it was refused for its tag alone.
      expect(Buffer.from(tampered, 'base64url').toString('utf8')).to.match(/^2\.[A-Za-z0-9_-]+$/);
    });

    it('requires the window to end after it starts', async () => {
      for (const window of [
        { fromUnixMs: 1000, toUnixMs: 1000 },
        { fromUnixMs: 1000, toUnixMs: 999 },
      ]) {
        expect(refusedJson(await jsonPage(window)), JSON.stringify(window)).to.deep.equal(INVALID_JSON);
        const refused = await grpcPage(window);
        expect(refused.ok || grpc.status[refused.code]).to.equal('INVALID_ARGUMENT');
      }
      expect((await jsonPage({ fromUnixMs: 1000, toUnixMs: 1001 })).status).to.equal(200);
    });

    it('takes a page size of 1 to 500, 100 when 0, and refuses any other', async () => {
      for (let i = 0; i < 101; i++) await charge(`pay_${i}`, 100);
      const window = { fromUnixMs: 0, toUnixMs: Date.now() + 60_000 };
      const sizes = async (pageSize: number) => {
        const page = okPage(await grpcPage({ ...window, pageSize }));
        return [page.transactions.length, page.hasMore];
      };
      expect(await sizes(0)).to.deep.equal([100, true]);
      expect(await sizes(1)).to.deep.equal([1, true]);
      expect(await sizes(101)).to.deep.equal([101, false]);
      expect(await sizes(500)).to.deep.equal([101, false]);
      for (const pageSize of [501, -1, 100_000]) {
        expect(refusedJson(await jsonPage({ ...window, pageSize })), String(pageSize)).to.deep.equal(INVALID_JSON);
        const refused = await grpcPage({ ...window, pageSize });
        expect(refused.ok || grpc.status[refused.code], String(pageSize)).to.equal('INVALID_ARGUMENT');
      }
    });

    it('answers a body that is not a request in JSON with 400 invalid_argument, and records no call', async () => {
      for (const body of ['{"fromUnixMs": 1,', 'fromUnixMs=1', '{"fromUnixMs": "soon"}', '[]']) {
        const answer = await post(REPORT, body);
        expect([answer.status, answer.body.code], body).to.deep.equal([400, 'invalid_argument']);
        expect(answer.body.message).to.be.a('string').and.not.equal('');
      }
      // A field the contract does not have is skipped, as everywhere in the Connect protocol here.
      expect((await post(REPORT, { fromUnixMs: 0, toUnixMs: 1, addedLater: true })).status).to.equal(200);
      expect(sim.ledger().stats!.reportCalls.map((c) => c.outcome)).to.deep.equal(['ok']);
      expect(sim.ledger().stats!.requests).to.equal(1n);
    });
  });

  describe('the rate limit', () => {
    const window = { fromUnixMs: 0, toUnixMs: 4_102_444_800_000 };

    it('refuses every third call with 429 and Retry-After in JSON, and RESOURCE_EXHAUSTED with retry-after over gRPC, counting both protocols', async () => {
      await charge('pay_1', 100);
      sim.setFaults({ reportThrottleEvery: 3, reportRetryAfterS: 7 });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const answer = await jsonPage(window);
        statuses.push(answer.status);
        if (answer.status === 429) {
          expect(answer.headers.get('retry-after')).to.equal('7');
          expect(answer.body).to.have.keys('code', 'message');
          expect(answer.body.code).to.equal('resource_exhausted');
        } else {
          expect(answer.headers.get('retry-after')).to.equal(null);
        }
      }
      expect(statuses).to.deep.equal([200, 200, 429, 200, 200, 429, 200]);

      // Giving the setting again starts the count again; the calls may come over either protocol.
      sim.setFaults({ reportThrottleEvery: 3, reportRetryAfterS: 2 });
      const answers = [await grpcPage(window), (await jsonPage(window)).status, await grpcPage(window), await grpcPage(window), (await jsonPage(window)).status, await grpcPage(window)];
      const summary = answers.map((a) => (typeof a === 'number' ? a : a.ok ? 'ok' : [grpc.status[a.code], a.metadata.get('retry-after')]));
      expect(summary).to.deep.equal(['ok', 200, ['RESOURCE_EXHAUSTED', ['2']], 'ok', 200, ['RESOURCE_EXHAUSTED', ['2']]]);
      // The charge, then thirteen report calls, the refused ones included.
      expect(sim.ledger().stats!.requests).to.equal(14n);
    });

    it('lets a retry after a refusal through, so a reader that honours Retry-After fetches every page once', async () => {
      for (let i = 0; i < 5; i++) await charge(`pay_${i}`, 100 + i);
      sim.setFaults({ reportThrottleEvery: 2 });
      const seen: string[] = [];
      let cursor = '';
      let throttled = 0;
      for (let calls = 0; calls < 20; calls++) {
        const answer = await jsonPage({ ...window, cursor, pageSize: 2 });
        if (answer.status === 429) {
          throttled += 1;
          expect(answer.headers.get('retry-after')).to.equal('1');
          continue;
        }
        expect(answer.status).to.equal(200);
        seen.push(...(answer.body.transactions as JsonObject[]).map((t) => t.id as string));
        if (answer.body.hasMore !== true) break;
        cursor = answer.body.nextCursor as string;
      }
      expect(seen).to.deep.equal(['txn_1', 'txn_2', 'txn_3', 'txn_4', 'txn_5']);
      expect(throttled).to.equal(2);
      const calls = sim.ledger().stats!.reportCalls;
      expect(calls.map((c) => c.outcome)).to.deep.equal(['ok', 'throttled', 'ok', 'throttled', 'ok']);
      // Each throttled cursor is asked again, and no page is fetched twice.
      expect(calls[1]!.cursor).to.equal(calls[2]!.cursor);
      expect(calls[3]!.cursor).to.equal(calls[4]!.cursor);
      const fetched = calls.filter((c) => c.outcome === 'ok').map((c) => c.cursor);
      expect(new Set(fetched).size).to.equal(fetched.length);
    });

    it('throttles nothing by default or after a reset, and counts from the start again when the seed is given', async () => {
      const status = async () => (await jsonPage(window)).status;
      for (let i = 0; i < 4; i++) expect(await status()).to.equal(200);
      sim.setFaults({ reportThrottleEvery: 2 });
      expect(await status()).to.equal(200);
      sim.setFaults({ seed: 5n });
      expect([await status(), await status()]).to.deep.equal([200, 429]);
      sim.reset();
      expect([await status(), await status(), await status()]).to.deep.equal([200, 200, 200]);
    });

    it('takes the report settings through the control API, by their JSON names', async () => {
      const update = await post(
        '/remit.processor.v1.SimulatorControlService/UpdateFaults',
        { reportThrottleEvery: 2, reportRetryAfterS: 30, reportDrift: 'REPORT_DRIFT_NULL_AMOUNT' },
        { authorization: `Bearer ${sim.controlToken}` },
      );
      expect(update.status).to.equal(200);
      expect(update.body.settings).to.deep.include({ reportThrottleEvery: 2, reportRetryAfterS: 30, reportDrift: 'REPORT_DRIFT_NULL_AMOUNT' });
      await charge('pay_1', 100);
      const first = await jsonPage(window);
      expect(first.status).to.equal(200);
      expect((first.body.transactions as JsonObject[]).map((t) => [t.id, t.amount])).to.deep.equal([['txn_1', null]]);
      const second = await jsonPage(window);
      expect([second.status, second.headers.get('retry-after')]).to.deep.equal([429, '30']);
    });

    it('refuses report settings out of their bounds, and keeps the previous ones', () => {
      expect(sim.setFaults({})).to.deep.include({ reportThrottleEvery: 0, reportRetryAfterS: 1, reportDrift: ReportDrift.NONE });
      for (const bad of [{ reportThrottleEvery: -1 }, { reportRetryAfterS: -1 }, { reportRetryAfterS: 3601 }, { reportRetryAfterS: 1.5 }, { reportDrift: 99 as ReportDrift }]) {
        expect(() => sim.setFaults(bad), JSON.stringify(bad)).to.throw(/report/);
      }
      expect(sim.setFaults({})).to.deep.include({ reportThrottleEvery: 0, reportRetryAfterS: 1, reportDrift: ReportDrift.NONE });
      expect(sim.setFaults({ reportRetryAfterS: 3600, reportThrottleEvery: 2_147_483_647 })).to.deep.include({ reportRetryAfterS: 3600, reportThrottleEvery: 2_147_483_647 });
    });
  });

  describe('drift of the JSON form', () => {
    type Page = JsonObject & { transactions: JsonObject[] };
    /** What each mode does to a page as documented, from the undrifted page and the one before it. */
    const EXPECTED: Record<Exclude<ReportDrift, ReportDrift.NONE>, (page: Page, before: Page | undefined) => JsonObject> = {
      [ReportDrift.EXTRA_FIELDS]: (p) => ({ ...p, transactions: p.transactions.map((t) => ({ ...t, network: 'visa', risk: { score: 12 } })) }),
      [ReportDrift.NULL_OPTIONAL]: (p) => ({ ...p, transactions: p.transactions.map((t) => ({ ...t, refundId: t.refundId ?? null, declineCode: t.declineCode ?? null, reference: t.reference ?? null })) }),
      [ReportDrift.NULL_AMOUNT]: (p) => ({ ...p, transactions: p.transactions.map((t, i) => (i === 0 ? { ...t, amount: null } : t)) }),
      [ReportDrift.UNKNOWN_ENUM]: (p) => ({ ...p, transactions: p.transactions.map((t, i) => (i === 0 ? { ...t, chargeStatus: 'CHARGE_STATUS_PARTIALLY_CAPTURED' } : t)) }),
      [ReportDrift.NUMBER_AS_STRING]: (p) => ({ ...p, transactions: p.transactions.map((t) => ({ ...t, amount: String(t.amount), createdUnixMs: String(t.createdUnixMs) })) }),
      [ReportDrift.RENAMED_FIELD]: (p) => ({
        ...p,
        transactions: p.transactions.map(({ amount, ...rest }) => ({ ...rest, amountMinor: amount! })),
      }),
      [ReportDrift.REPEATED_ITEM]: (p, before) => ({ ...p, transactions: before ? [before.transactions.at(-1)!, ...p.transactions] : p.transactions }),
    };

    for (const [mode, expected] of Object.entries(EXPECTED).map(([m, f]) => [Number(m) as ReportDrift, f] as const)) {
      it(`${ReportDrift[mode]} changes the JSON answer as documented, and leaves gRPC as it was`, async () => {
        const { window } = await makeBooks();
        const cursors = ['', ...(await allGrpcPages(window, 3)).slice(0, -1).map((p) => p.nextCursor)];
        expect(cursors).to.have.length(3);
        const plain = await Promise.all(cursors.map(async (cursor) => (await jsonPage({ ...window, cursor, pageSize: 3 })).body as Page));
        const plainGrpc = await allGrpcPages(window, 3);

        sim.setFaults({ reportDrift: mode });
        const drifted: JsonObject[] = [];
        for (const cursor of cursors) {
          const answer = await jsonPage({ ...window, cursor, pageSize: 3 });
          expect(answer.status).to.equal(200);
          drifted.push(answer.body);
        }
        if (mode === ReportDrift.EXTRA_FIELDS) {
          for (const page of drifted) {
            expect(page.requestId).to.be.a('string').and.match(/^req_[A-Za-z0-9]+$/);
            delete page.requestId;
          }
        }
        expect(drifted).to.deep.equal(plain.map((page, i) => expected(page, plain[i - 1])));
        expect(drifted, 'the drift changed something').to.not.deep.equal(plain);
        expect(await allGrpcPages(window, 3)).to.deep.equal(plainGrpc);
      });
    }

    it('REPEATED_ITEM repeats the previous page’s last transaction identically, and at most page_size plus that one', async () => {
      const { window } = await makeBooks();
      sim.setFaults({ reportDrift: ReportDrift.REPEATED_ITEM });
      const pages = await allJsonPages(window, 3);
      expect(pages.map((p) => (p.transactions as JsonObject[]).length)).to.deep.equal([3, 4, 3]);
      for (let i = 1; i < pages.length; i++) {
        expect((pages[i]!.transactions as JsonObject[])[0]).to.deep.equal((pages[i - 1]!.transactions as JsonObject[]).at(-1));
      }
      const ids = jsonTransactions(pages).map((t) => t.id);
      expect(ids).to.have.length(10);
      expect(new Set(ids).size).to.equal(8);
    });
  });

  describe('the record of calls, and faults', () => {
    it('records every call over either protocol with its cursor, window, outcome, time and count; a reset clears them', async () => {
      for (let i = 0; i < 3; i++) await charge(`pay_${i}`, 100 + i);
      const window = { fromUnixMs: 0, toUnixMs: Date.now() + 60_000 };
      const started = Date.now();
      const first = okPage(await grpcPage({ ...window, pageSize: 2 }));
      expect((await jsonPage({ ...window, pageSize: 2, cursor: first.nextCursor })).status).to.equal(200);
      expect((await jsonPage({ ...window, cursor: 'nope' })).status).to.equal(400);
      sim.setFaults({ reportThrottleEvery: 4 });
      sim.setFaults({ reportThrottleEvery: 1 });
      expect(((await grpcPage(window)) as { code?: grpc.status }).code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
      sim.setFaults({ reportThrottleEvery: 0, errorRate: 1, faultPoint: FaultPoint.BEFORE });
      expect((await jsonPage(window)).status).to.equal(503);

      const calls = sim.ledger().stats!.reportCalls;
      const to = BigInt(window.toUnixMs);
      expect(calls.map((c) => [c.cursor, c.fromUnixMs, c.toUnixMs, c.outcome, c.transactions])).to.deep.equal([
        ['', 0n, to, 'ok', 2],
        [first.nextCursor, 0n, to, 'ok', 1],
        ['nope', 0n, to, 'invalid', 0],
        ['', 0n, to, 'throttled', 0],
        ['', 0n, to, 'error', 0],
      ]);
      for (const call of calls) expect(Number(call.atUnixMs)).to.be.within(started, Date.now());
      expect(calls.map((c) => c.atUnixMs)).to.deep.equal([...calls.map((c) => c.atUnixMs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

      // The control API reads the same record.
      const ledger = await post('/remit.processor.v1.SimulatorControlService/GetLedger', {}, { authorization: `Bearer ${sim.controlToken}` });
      expect(((ledger.body.stats as JsonObject).reportCalls as JsonObject[]).map((c) => c.outcome)).to.deep.equal(['ok', 'ok', 'invalid', 'throttled', 'error']);

      sim.reset();
      expect(sim.ledger().stats!.reportCalls).to.deep.equal([]);
    });

    it('applies the faults of every call: failures over both protocols, a dropped call, and a deadline passed during a hang', async () => {
      const window = { fromUnixMs: 0, toUnixMs: 1 };
      sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      const json = await jsonPage(window);
      expect([json.status, json.body.code]).to.deep.equal([503, 'unavailable']);
      const overGrpc = await grpcPage(window);
      expect(overGrpc.ok || grpc.status[overGrpc.code]).to.equal('INTERNAL');

      sim.setFaults({ errorRate: 0, dropRate: 1 });
      const dropped = await jsonPage(window).then(
        (a) => `answered ${a.status}`,
        (err: unknown) => (err instanceof TypeError ? 'connection closed' : String(err)),
      );
      expect(dropped).to.equal('connection closed');

      sim.setFaults({ dropRate: 0, timeoutRate: 1, hangMs: 600_000 });
      const startedAt = Date.now();
      const late = await jsonPage(window, { 'connect-timeout-ms': '100' });
      expect([late.status, late.body.code]).to.deep.equal([504, 'deadline_exceeded']);
      expect(Date.now() - startedAt).to.be.below(2_000);

      expect(sim.ledger().stats!.faults).to.deep.include({ error: 2n, drop: 1n, timeout: 1n });
      expect(sim.ledger().stats!.reportCalls.map((c) => c.outcome)).to.deep.equal(['error', 'error', 'error', 'error']);
    });

    it('answers after the latency in force, as every call', async () => {
      sim.setFaults({ latencyMs: 150 });
      const startedAt = Date.now();
      expect((await jsonPage({ fromUnixMs: 0, toUnixMs: 1 })).status).to.equal(200);
      expect(Date.now() - startedAt).to.be.at.least(140);
    });
  });
});
