/**
 * The processor simulator as its two kinds of callers meet it, over each wire it serves on its
 * one port: the Connect protocol's JSON over HTTP/1.1, called with plain `fetch` as an integrator
 * would with curl, and gRPC over HTTP/2, called with @grpc/grpc-js and @grpc/proto-loader reading
 * spec/processor.proto. Neither caller shares code with the simulator's own stack (Connect), so
 * every test here is also proof that the simulator speaks both protocols as others implement them.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  create,
  fromBinary,
  fromJson,
  fromJsonString,
  toJson,
  toJsonString,
  type DescMessage,
  type DescMethod,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import { expect } from 'chai';
import {
  ChargeStatus,
  DeclineCode,
  FailureCode,
  FailureSchema,
  FaultPoint,
  OperationKind,
  ProcessorService,
  RefundStatus,
  RefusalCode,
  RefusalSchema,
  SimulatorControlService,
  StreamOperationsResponseSchema,
  type Charge,
  type CreateChargeRequest,
  type Refund,
  type StreamOperationsRequestSchema,
  type StreamOperationsResponse,
} from '../../generated/processor/processor_pb.js';
import { FaultSettingsError, startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { GoogleRpcStatusSchema, type GoogleRpcStatus } from '../helpers/grpc-status.js';

const PROTO_PATH = fileURLToPath(new URL('../../spec/processor.proto', import.meta.url));
const P = ProcessorService.method;
const C = SimulatorControlService.method;

// ---------------------------------------------------------------------------------------------
// One way to call the simulator per wire, answering in the same terms: the decoded message, or
// the status code's name (as the Connect protocol spells it) with the detail the error carried.

type Unary<I extends DescMessage, O extends DescMessage> = DescMethod & { readonly input: I; readonly output: O };

interface Refused {
  readonly ok: false;
  /** `not_found`, `failed_precondition`, …; `connection_closed` when the call was dropped without a status. */
  readonly code: string;
  readonly message: string;
  readonly refusal: RefusalCode | undefined;
  readonly failure: FailureCode | undefined;
  /** How many details the error carried. */
  readonly details: number;
  readonly replayed: boolean;
  header(name: string): string | undefined;
}
type Answer<T> = { readonly ok: true; readonly message: T; readonly replayed: boolean } | Refused;

interface CallOptions {
  /** The control token: the simulator's own unless given; `null` for none. */
  readonly authorization?: string | null;
  /** The caller gives up after this long. */
  readonly deadlineMs?: number;
}

interface OperationStream {
  /** The next message, `undefined` once the stream has ended; rejects when none comes within 2 s. */
  next(): Promise<StreamOperationsResponse | undefined>;
  cancel(): void;
  /** How the stream ended: `ok`, or a status code's name. */
  readonly ended: Promise<string>;
}

interface Wire {
  readonly name: string;
  unary<I extends DescMessage, O extends DescMessage>(method: Unary<I, O>, request: MessageInitShape<I>, options?: CallOptions): Promise<Answer<MessageShape<O>>>;
  streamOperations(request: MessageInitShape<typeof StreamOperationsRequestSchema>): OperationStream;
  /** What the caller sees of a dropped call. */
  readonly dropped: { readonly code: string };
  close(): void;
}

function detailsOf(details: readonly { typeName: string; value: Uint8Array }[]): Pick<Refused, 'refusal' | 'failure' | 'details'> {
  let refusal: RefusalCode | undefined;
  let failure: FailureCode | undefined;
  for (const d of details) {
    if (d.typeName === RefusalSchema.typeName) refusal = fromBinary(RefusalSchema, d.value).code;
    if (d.typeName === FailureSchema.typeName) failure = fromBinary(FailureSchema, d.value).code;
  }
  return { refusal, failure, details: details.length };
}

function authorizationFor(method: DescMethod, options: CallOptions, sim: ProcessorSimulator): string | undefined {
  if (options.authorization === null) return undefined;
  if (options.authorization !== undefined) return options.authorization;
  return method.parent.typeName === SimulatorControlService.typeName ? `Bearer ${sim.controlToken}` : undefined;
}

/** A small queue that turns pushed stream messages into awaited ones. */
function messageQueue<T>() {
  const items: T[] = [];
  const waiting: ((value: T | undefined) => void)[] = [];
  let done = false;
  return {
    push(item: T) {
      const w = waiting.shift();
      if (w) w(item);
      else items.push(item);
    },
    end() {
      done = true;
      for (const w of waiting.splice(0)) w(undefined);
    },
    next(): Promise<T | undefined> {
      if (items.length > 0) return Promise.resolve(items.shift());
      if (done) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no stream message within 2 s')), 2_000);
        waiting.push((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      });
    },
  };
}

/** The Connect protocol's JSON with `fetch`: what `curl -H 'content-type: application/json' -d …` does. */
function connectWire(sim: ProcessorSimulator): Wire {
  const path = (method: DescMethod) => `${sim.url}/${method.parent.typeName}/${method.name}`;
  return {
    name: 'the Connect protocol (JSON over HTTP/1.1, fetch)',
    dropped: { code: 'connection_closed' },
    async unary(method, request, options = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const authorization = authorizationFor(method, options, sim);
      if (authorization) headers.authorization = authorization;
      let res: Response;
      let text: string;
      try {
        res = await fetch(path(method), {
          method: 'POST',
          headers,
          body: toJsonString(method.input, create(method.input, request)),
          ...(options.deadlineMs ? { signal: AbortSignal.timeout(options.deadlineMs) } : {}),
        });
        text = await res.text();
      } catch (err) {
        const code = (err as Error).name === 'TimeoutError' ? 'deadline_exceeded' : 'connection_closed';
        return { ok: false, code, message: String(err), refusal: undefined, failure: undefined, details: 0, replayed: false, header: () => undefined };
      }
      const replayed = res.headers.get('idempotent-replayed') === 'true';
      if (res.status === 200) return { ok: true, message: fromJsonString(method.output, text), replayed };
      const body = JSON.parse(text) as { code: string; message?: string; details?: { type: string; value: string }[] };
      return {
        ok: false,
        code: body.code,
        message: body.message ?? '',
        ...detailsOf((body.details ?? []).map((d) => ({ typeName: d.type, value: Buffer.from(d.value, 'base64') }))),
        replayed,
        header: (name) => res.headers.get(name) ?? undefined,
      };
    },
    streamOperations(request) {
      const queue = messageQueue<StreamOperationsResponse>();
      const abort = new AbortController();
      const json = Buffer.from(toJsonString(P.streamOperations.input, create(P.streamOperations.input, request)));
      // A streaming call's messages are enveloped: one flags byte, a 32-bit length, the message.
      const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), json]);
      envelope.writeUInt32BE(json.length, 1);
      const ended = (async (): Promise<string> => {
        try {
          const res = await fetch(path(P.streamOperations), { method: 'POST', headers: { 'content-type': 'application/connect+json' }, body: envelope, signal: abort.signal });
          if (res.status !== 200) return ((await res.json()) as { code: string }).code;
          let buffered = Buffer.alloc(0);
          for await (const chunk of res.body!) {
            buffered = Buffer.concat([buffered, Buffer.from(chunk as Uint8Array)]);
            while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
              const flags = buffered[0]!;
              const message = JSON.parse(buffered.subarray(5, 5 + buffered.readUInt32BE(1)).toString('utf8')) as JsonValue & { error?: { code: string } };
              buffered = buffered.subarray(5 + buffered.readUInt32BE(1));
              // Flag 0x02 is the end of the stream, with the error if there was one.
              if (flags & 0x02) return message.error?.code ?? 'ok';
              queue.push(fromJson(StreamOperationsResponseSchema, message));
            }
          }
          return 'connection_closed';
        } catch (err) {
          return abort.signal.aborted ? 'canceled' : `failed: ${String(err)}`;
        } finally {
          queue.end();
        }
      })();
      return { next: () => queue.next(), cancel: () => abort.abort(), ended };
    },
    close() {},
  };
}

type GrpcCallback = (err: grpc.ServiceError | null, value?: JsonValue) => void;
type GrpcMethod = (request: JsonValue, metadata: grpc.Metadata, options: grpc.CallOptions, callback: GrpcCallback) => grpc.ClientUnaryCall;

function grpcCodeName(code: grpc.status): string {
  // gRPC spells it CANCELLED, the Connect protocol `canceled`; the rest agree.
  return code === grpc.status.CANCELLED ? 'canceled' : grpc.status[code].toLowerCase();
}

/** gRPC with @grpc/grpc-js, its messages read from spec/processor.proto by @grpc/proto-loader. */
function grpcWire(sim: ProcessorSimulator): Wire {
  // Longs and enums as proto JSON spells them, so the messages read back with protobuf-es's fromJson.
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: false, oneofs: false });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { remit: { processor: { v1: Record<string, grpc.ServiceClientConstructor> } } };
  const target = new URL(sim.url).host;
  const clients = {
    [ProcessorService.typeName]: new loaded.remit.processor.v1.ProcessorService!(target, grpc.credentials.createInsecure()),
    [SimulatorControlService.typeName]: new loaded.remit.processor.v1.SimulatorControlService!(target, grpc.credentials.createInsecure()),
  };
  const metadataFor = (authorization: string | undefined) => {
    const metadata = new grpc.Metadata();
    if (authorization) metadata.set('authorization', authorization);
    return metadata;
  };
  return {
    name: 'gRPC (binary over HTTP/2, @grpc/grpc-js)',
    dropped: { code: 'internal' },
    unary(method, request, options = {}) {
      const client = clients[method.parent.typeName]!;
      const fn = (client as unknown as Record<string, GrpcMethod>)[method.name]!.bind(client);
      return new Promise((resolve) => {
        let headers = new grpc.Metadata();
        const call = fn(
          toJson(method.input, create(method.input, request)),
          metadataFor(authorizationFor(method, options, sim)),
          options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {},
          (err, value) => {
            const header = (name: string) => {
              const v = headers.get(name)[0] ?? err?.metadata?.get(name)[0];
              return v === undefined ? undefined : String(v);
            };
            const replayed = header('idempotent-replayed') === 'true';
            if (!err) return resolve({ ok: true, message: fromJson(method.output, value ?? {}), replayed });
            const [bin] = err.metadata.get('grpc-status-details-bin') as Buffer[];
            let details: Pick<Refused, 'refusal' | 'failure' | 'details'> = { refusal: undefined, failure: undefined, details: 0 };
            if (bin) {
              const status = fromBinary(GoogleRpcStatusSchema, bin) as unknown as GoogleRpcStatus;
              // The detailed status must be the status itself, with its details. Connect
              // percent-encodes grpc-message as a URI component and grpc-js decodes it as a URI,
              // leaving `%3A` and the like in `details`: the Status carries the message as sent.
              expect(status.code).to.equal(err.code);
              expect(status.message).to.equal(decodeURIComponent(err.details));
              details = detailsOf(status.details.map((any) => ({ typeName: any.typeUrl.replace(/^type\.googleapis\.com\//, ''), value: any.value })));
            }
            resolve({ ok: false, code: grpcCodeName(err.code), message: decodeURIComponent(err.details), ...details, replayed, header });
          },
        );
        call.on('metadata', (m: grpc.Metadata) => {
          headers = m;
        });
      });
    },
    streamOperations(request) {
      const queue = messageQueue<StreamOperationsResponse>();
      const client = clients[ProcessorService.typeName]!;
      const call = (client as unknown as Record<string, (req: JsonValue) => grpc.ClientReadableStream<JsonValue>>).StreamOperations!.call(
        client,
        toJson(P.streamOperations.input, create(P.streamOperations.input, request)),
      );
      call.on('data', (m: JsonValue) => queue.push(fromJson(StreamOperationsResponseSchema, m)));
      // The status follows every end, an error included; the error event itself says nothing more.
      call.on('error', () => {});
      const ended = new Promise<string>((resolve) => {
        call.on('status', (s: grpc.StatusObject) => {
          queue.end();
          resolve(s.code === grpc.status.OK ? 'ok' : grpcCodeName(s.code));
        });
      });
      return { next: () => queue.next(), cancel: () => call.cancel(), ended };
    },
    close() {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------

let sim: ProcessorSimulator;

const CHARGE = { amount: 1000n, currency: 'usd', capture: false } as const;

function refusedWith(answer: Answer<unknown>, code: string, refusal: RefusalCode): void {
  expect(answer.ok, JSON.stringify(answer, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).to.equal(false);
  if (answer.ok) return;
  expect({ code: answer.code, refusal: answer.refusal && RefusalCode[answer.refusal], details: answer.details }).to.deep.equal({ code, refusal: RefusalCode[refusal], details: 1 });
  expect(answer.message).to.be.a('string').and.not.equal('');
}

function value<T>(answer: Answer<T>): T {
  if (!answer.ok) throw new Error(`expected an answer, got ${answer.code} ${answer.refusal === undefined ? '' : RefusalCode[answer.refusal]}: ${answer.message}`);
  return answer.message;
}

const countOps = (kind: OperationKind) => sim.ledger().operations.filter((o) => o.kind === kind).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('processor simulator', () => {
  before(async () => {
    sim = await startProcessorSimulator();
  });
  after(() => sim.close());

  for (const makeWire of [connectWire, grpcWire]) {
    describe(`over ${makeWire.name === 'connectWire' ? 'the Connect protocol' : 'gRPC'}`, () => {
      let wire: Wire;
      before(() => {
        wire = makeWire(sim);
      });
      after(() => wire.close());
      beforeEach(() => sim.reset());

      type ChargeInit = Partial<Omit<CreateChargeRequest, '$typeName' | '$unknown'>>;
      const createCharge = (init: ChargeInit = {}, key = `key-${Math.random()}`) =>
        wire.unary(P.createCharge, { ...CHARGE, idempotencyKey: key, ...init });
      const charge = async (init: ChargeInit = {}, key?: string): Promise<Charge> => value(await createCharge(init, key)).charge!;
      const capture = (chargeId: string, key = `cap-${Math.random()}`) => wire.unary(P.captureCharge, { chargeId, idempotencyKey: key });
      const voidCharge = (chargeId: string, key = `void-${Math.random()}`) => wire.unary(P.voidCharge, { chargeId, idempotencyKey: key });
      const refund = (chargeId: string, amount: bigint, key = `rf-${Math.random()}`) => wire.unary(P.createRefund, { chargeId, amount, idempotencyKey: key });
      const getCharge = (chargeId: string) => wire.unary(P.getCharge, { chargeId });

      describe('charges', () => {
        it('authorizes a charge when capture is false', async () => {
          const made = await charge({ amount: 2500n, currency: 'eur', reference: 'order-17' }, 'auth-1');
          expect(made).to.deep.include({
            amount: 2500n,
            currency: 'eur',
            status: ChargeStatus.AUTHORIZED,
            amountCaptured: 0n,
            amountRefunded: 0n,
            declineCode: DeclineCode.UNSPECIFIED,
            reference: 'order-17',
            idempotencyKey: 'auth-1',
          });
          expect(made.id).to.match(/^ch_[A-Za-z0-9]{20}$/);
          expect(Number(made.createdUnixMs)).to.be.closeTo(Date.now(), 60_000);
          expect(sim.ledger().charges).to.deep.equal([made]);
        });

        it('captures a charge at once when capture is true', async () => {
          const made = await charge({ amount: 1234n, capture: true });
          expect(made.status).to.equal(ChargeStatus.CAPTURED);
          expect(made.amountCaptured).to.equal(1234n);
          expect(made.reference).to.equal(undefined);
        });

        it('declines every amount whose last three digits are 402, and only those', async () => {
          for (const amount of [402n, 1402n, 25402n]) {
            const made = await charge({ amount, capture: true });
            expect(made.status, String(amount)).to.equal(ChargeStatus.DECLINED);
            expect(made.declineCode).to.equal(DeclineCode.CARD_DECLINED);
            expect(made.amountCaptured).to.equal(0n);
          }
          for (const amount of [401n, 403n, 4020n, 1042n]) {
            expect((await charge({ amount, capture: true })).status, String(amount)).to.equal(ChargeStatus.CAPTURED);
          }
          // A declined charge is recorded, moving nothing.
          expect(sim.ledger().operations.map((o) => [o.kind, o.amount])).to.deep.equal([
            [OperationKind.CHARGE, 0n],
            [OperationKind.CHARGE, 0n],
            [OperationKind.CHARGE, 0n],
            [OperationKind.CHARGE, 401n],
            [OperationKind.CHARGE, 403n],
            [OperationKind.CHARGE, 4020n],
            [OperationKind.CHARGE, 1042n],
          ]);
        });

        it('answers GetCharge with the charge as it is now, and NOT_FOUND charge_not_found for an unknown one', async () => {
          const made = await charge();
          value(await capture(made.id));
          const got = value(await getCharge(made.id)).charge!;
          expect(got).to.deep.include({ id: made.id, status: ChargeStatus.CAPTURED, amountCaptured: 1000n });
          refusedWith(await getCharge('ch_doesnotexist'), 'not_found', RefusalCode.CHARGE_NOT_FOUND);
        });

        it('refuses a request that breaks the contract’s rules with INVALID_ARGUMENT invalid_request, and records nothing', async () => {
          const bad: ChargeInit[] = [
            { amount: 0n },
            { amount: -1n },
            { amount: 9_007_199_254_740_992n },
            { currency: 'us' },
            { currency: 'usd1' },
            { currency: '' },
            { reference: 'x'.repeat(256) },
            { statementDescriptor: 'abcd' },
            { statementDescriptor: '12345' },
            { statementDescriptor: 'Remit * order' },
          ];
          for (const init of bad) refusedWith(await createCharge(init), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          const made = await charge({ capture: true });
          refusedWith(await refund(made.id, 0n), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          refusedWith(await capture(''), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          expect(sim.ledger().operations).to.have.length(1);
        });

        it('lets a key whose request was refused as invalid be used again once the request is fixed', async () => {
          refusedWith(await createCharge({ amount: 0n }, 'fix-me'), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          const fixed = await createCharge({ amount: 1n }, 'fix-me');
          expect(fixed.ok && fixed.replayed).to.equal(false);
          expect(value(fixed).charge!.amount).to.equal(1n);
        });
      });

      describe('idempotency', () => {
        it('requires an idempotency key on every call that changes the books, 1 to 255 visible ASCII characters', async () => {
          refusedWith(await createCharge({}, ''), 'invalid_argument', RefusalCode.IDEMPOTENCY_KEY_REQUIRED);
          const made = await charge({ capture: true });
          refusedWith(await capture(made.id, ''), 'invalid_argument', RefusalCode.IDEMPOTENCY_KEY_REQUIRED);
          refusedWith(await voidCharge(made.id, ''), 'invalid_argument', RefusalCode.IDEMPOTENCY_KEY_REQUIRED);
          refusedWith(await refund(made.id, 1n, ''), 'invalid_argument', RefusalCode.IDEMPOTENCY_KEY_REQUIRED);
          for (const key of ['k'.repeat(256), 'has space', 'tab\tkey', 'café']) {
            refusedWith(await createCharge({}, key), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          }
          expect((await charge({}, 'k'.repeat(255))).idempotencyKey).to.equal('k'.repeat(255));
          expect(countOps(OperationKind.CHARGE)).to.equal(2);
        });

        it('answers the same request under the same key with the first answer and idempotent-replayed, applying nothing new', async () => {
          const first = await createCharge({ amount: 700n, reference: 'r-1' }, 'same-key');
          expect(first.ok && first.replayed).to.equal(false);
          const again = await createCharge({ amount: 700n, reference: 'r-1' }, 'same-key');
          expect(again.replayed).to.equal(true);
          expect(value(again)).to.deep.equal(value(first));
          const ledger = sim.ledger();
          expect(ledger.charges).to.have.length(1);
          expect(ledger.operations).to.have.length(1);
          expect(ledger.stats!.replays).to.equal(1n);
        });

        it('replays the answer as it was, even after the charge has moved on', async () => {
          const made = await charge({}, 'create-then-capture');
          value(await capture(made.id));
          const replay = await createCharge({}, 'create-then-capture');
          expect(replay.replayed).to.equal(true);
          expect(value(replay).charge!.status).to.equal(ChargeStatus.AUTHORIZED);
        });

        it('refuses a different request under a used key with ALREADY_EXISTS idempotency_key_reused', async () => {
          await charge({ amount: 100n }, 'reused');
          refusedWith(await createCharge({ amount: 101n }, 'reused'), 'already_exists', RefusalCode.IDEMPOTENCY_KEY_REUSED);
          // The charge id is part of the request: one key cannot capture two charges.
          const a = await charge();
          const b = await charge();
          value(await capture(a.id, 'cap'));
          refusedWith(await capture(b.id, 'cap'), 'already_exists', RefusalCode.IDEMPOTENCY_KEY_REUSED);
          expect(countOps(OperationKind.CAPTURE)).to.equal(1);
          expect(sim.ledger().charges.find((c) => c.id === b.id)!.status).to.equal(ChargeStatus.AUTHORIZED);
        });

        it('scopes keys by kind of operation, so a charge and its capture may share one', async () => {
          const made = await charge({}, 'shared');
          const captured = await capture(made.id, 'shared');
          expect(value(captured).charge!.status).to.equal(ChargeStatus.CAPTURED);
          expect(captured.replayed).to.equal(false);
        });

        it('records refusals too, so a replayed refusal is the same refusal', async () => {
          const made = await charge({ capture: true });
          const refusal = await capture(made.id, 'late-capture');
          refusedWith(refusal, 'failed_precondition', RefusalCode.CHARGE_ALREADY_CAPTURED);
          const replay = await capture(made.id, 'late-capture');
          refusedWith(replay, 'failed_precondition', RefusalCode.CHARGE_ALREADY_CAPTURED);
          expect(replay.replayed).to.equal(true);
          expect(!replay.ok && !refusal.ok && replay.message).to.equal(!refusal.ok && refusal.message);
        });

        it('applies 50 concurrent identical requests under one key exactly once', async () => {
          sim.setFaults({ latencyMs: 20 });
          const answers = await Promise.all(Array.from({ length: 50 }, () => createCharge({ amount: 5000n, capture: true }, 'concurrent')));
          const charges = answers.map((a) => value(a).charge!);
          expect(new Set(charges.map((c) => c.id)).size).to.equal(1);
          expect(answers.filter((a) => a.replayed)).to.have.length(49);
          expect(countOps(OperationKind.CHARGE)).to.equal(1);
          expect(sim.ledger().stats!.requests).to.equal(50n);
        });
      });

      describe('capture and void', () => {
        it('captures an authorized charge once; a second capture or a void is FAILED_PRECONDITION charge_already_captured', async () => {
          const made = await charge({ amount: 900n });
          expect(value(await capture(made.id)).charge).to.deep.include({ id: made.id, status: ChargeStatus.CAPTURED, amountCaptured: 900n });
          refusedWith(await capture(made.id), 'failed_precondition', RefusalCode.CHARGE_ALREADY_CAPTURED);
          refusedWith(await voidCharge(made.id), 'failed_precondition', RefusalCode.CHARGE_ALREADY_CAPTURED);
          expect(countOps(OperationKind.CAPTURE)).to.equal(1);
          expect(countOps(OperationKind.VOID)).to.equal(0);
        });

        it('voids an authorized charge once; a capture or a second void is FAILED_PRECONDITION charge_voided', async () => {
          const made = await charge();
          expect(value(await voidCharge(made.id)).charge).to.deep.include({ status: ChargeStatus.VOIDED, amountCaptured: 0n });
          refusedWith(await capture(made.id), 'failed_precondition', RefusalCode.CHARGE_VOIDED);
          refusedWith(await voidCharge(made.id), 'failed_precondition', RefusalCode.CHARGE_VOIDED);
          expect(countOps(OperationKind.VOID)).to.equal(1);
          expect(countOps(OperationKind.CAPTURE)).to.equal(0);
        });

        it('refuses to capture or void a declined charge with charge_declined', async () => {
          const made = await charge({ amount: 3402n });
          refusedWith(await capture(made.id), 'failed_precondition', RefusalCode.CHARGE_DECLINED);
          refusedWith(await voidCharge(made.id), 'failed_precondition', RefusalCode.CHARGE_DECLINED);
          expect(sim.ledger().operations.map((o) => o.kind)).to.deep.equal([OperationKind.CHARGE]);
        });

        it('answers NOT_FOUND charge_not_found for a capture or void of an unknown charge', async () => {
          refusedWith(await capture('ch_missing'), 'not_found', RefusalCode.CHARGE_NOT_FOUND);
          refusedWith(await voidCharge('ch_missing'), 'not_found', RefusalCode.CHARGE_NOT_FOUND);
          expect(sim.ledger().operations).to.deep.equal([]);
        });
      });

      describe('refunds', () => {
        it('accumulates partial refunds up to the captured amount, then refuses with OUT_OF_RANGE amount_exceeds_refundable', async () => {
          const made = await charge({ capture: true });
          const first: Refund = value(await refund(made.id, 300n, 'rf-1')).refund!;
          expect(first).to.deep.include({ chargeId: made.id, amount: 300n, status: RefundStatus.SUCCEEDED, idempotencyKey: 'rf-1' });
          expect(first.id).to.match(/^rf_[A-Za-z0-9]{20}$/);
          expect(value(await getCharge(made.id)).charge!.amountRefunded).to.equal(300n);

          refusedWith(await refund(made.id, 701n), 'out_of_range', RefusalCode.AMOUNT_EXCEEDS_REFUNDABLE);
          value(await refund(made.id, 700n));
          expect(value(await getCharge(made.id)).charge!.amountRefunded).to.equal(1000n);
          refusedWith(await refund(made.id, 1n), 'out_of_range', RefusalCode.AMOUNT_EXCEEDS_REFUNDABLE);
          expect(sim.ledger().refunds.map((r) => r.amount)).to.deep.equal([300n, 700n]);
          expect(countOps(OperationKind.REFUND)).to.equal(2);
        });

        it('replays a refund under the same key instead of refunding twice', async () => {
          const made = await charge({ capture: true });
          const first = await refund(made.id, 400n, 'refund-once');
          const again = await refund(made.id, 400n, 'refund-once');
          expect(again.replayed).to.equal(true);
          expect(value(again)).to.deep.equal(value(first));
          expect(sim.ledger().charges[0]!.amountRefunded).to.equal(400n);
        });

        it('refunds only captured charges (FAILED_PRECONDITION charge_not_captured), and NOT_FOUND for an unknown one', async () => {
          const authorized = await charge();
          const voided = await charge();
          value(await voidCharge(voided.id));
          const declined = await charge({ amount: 402n, capture: true });
          for (const c of [authorized, voided, declined]) refusedWith(await refund(c.id, 1n), 'failed_precondition', RefusalCode.CHARGE_NOT_CAPTURED);
          refusedWith(await refund('ch_missing', 1n), 'not_found', RefusalCode.CHARGE_NOT_FOUND);
          expect(sim.ledger().refunds).to.have.length(0);
        });
      });

      describe('the ledger as operations', () => {
        it('pages ListOperations after a cursor, and the last cursor later gives what was applied since', async () => {
          const made: Charge[] = [];
          for (let i = 0; i < 5; i++) made.push(await charge({ amount: BigInt(100 + i) }, `op-${i}`));
          const pages: string[][] = [];
          let cursor = '';
          for (;;) {
            const page = value(await wire.unary(P.listOperations, { cursor, pageSize: 2 }));
            pages.push(page.operations.map((o) => o.idempotencyKey));
            cursor = page.nextCursor;
            if (page.operations.length < 2) break;
          }
          expect(pages).to.deep.equal([['op-0', 'op-1'], ['op-2', 'op-3'], ['op-4']]);
          expect(cursor).to.equal('5');

          value(await capture(made[0]!.id, 'op-5'));
          const since = value(await wire.unary(P.listOperations, { cursor }));
          expect(since.operations.map((o) => [o.sequence, o.kind, o.target])).to.deep.equal([[6n, OperationKind.CAPTURE, made[0]!.id]]);
          expect(since.nextCursor).to.equal('6');

          refusedWith(await wire.unary(P.listOperations, { cursor: 'abc' }), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          refusedWith(await wire.unary(P.listOperations, { pageSize: 1001 }), 'invalid_argument', RefusalCode.INVALID_REQUEST);
        });

        it('streams the operations after a cursor and ends, without follow', async () => {
          for (let i = 0; i < 3; i++) await charge({}, `s-${i}`);
          const stream = wire.streamOperations({ cursor: '1' });
          const got: [string, string][] = [];
          for (let m = await stream.next(); m; m = await stream.next()) got.push([m.operation!.idempotencyKey, m.cursor]);
          expect(got).to.deep.equal([
            ['s-1', '2'],
            ['s-2', '3'],
          ]);
          expect(await stream.ended).to.equal('ok');
        });

        it('with follow, delivers each new operation on the open stream until the caller cancels', async () => {
          await charge({}, 'f-0');
          const stream = wire.streamOperations({ follow: true });
          expect((await stream.next())!.operation!.idempotencyKey).to.equal('f-0');

          const made = await charge({}, 'f-1');
          const live = (await stream.next())!;
          expect([live.operation!.kind, live.operation!.target, live.cursor]).to.deep.equal([OperationKind.CHARGE, made.id, '2']);

          stream.cancel();
          expect(await stream.ended).to.equal('canceled');
          // The simulator serves on, and a new stream resumes from the cursor the last message gave.
          await charge({}, 'f-2');
          const resumed = wire.streamOperations({ cursor: live.cursor });
          expect((await resumed.next())!.operation!.idempotencyKey).to.equal('f-2');
          expect(await resumed.next()).to.equal(undefined);
          expect(await resumed.ended).to.equal('ok');
        });
      });

      describe('control API', () => {
        it('refuses every control call without the control token, or with another one, with UNAUTHENTICATED unauthorized', async () => {
          await charge({ capture: true });
          const calls = [
            (authorization: string | null) => wire.unary(C.getLedger, {}, { authorization }),
            (authorization: string | null) => wire.unary(C.getFaults, {}, { authorization }),
            (authorization: string | null) => wire.unary(C.updateFaults, { errorRate: 1 }, { authorization }),
            (authorization: string | null) => wire.unary(C.reset, {}, { authorization }),
          ];
          for (const send of calls) {
            for (const authorization of [null, 'Bearer wrong-token-0123456789abcdef', `Basic ${sim.controlToken}`, `Bearer ${sim.controlToken}x`]) {
              const answer = await send(authorization);
              refusedWith(answer, 'unauthenticated', RefusalCode.UNAUTHORIZED);
              if (!answer.ok) expect(answer.header('www-authenticate')).to.match(/^Bearer /);
            }
          }
          expect(sim.ledger().charges).to.have.length(1);
          expect(value(await wire.unary(C.getFaults, {})).settings!.errorRate).to.equal(0);
        });

        it('merges partial fault settings and answers with all of them', async () => {
          const updated = value(await wire.unary(C.updateFaults, { errorRate: 0.25, latencyMs: 5 })).settings!;
          expect(updated).to.deep.include({ latencyMs: 5, latencyJitterMs: 0, errorRate: 0.25, timeoutRate: 0, dropRate: 0, faultPoint: FaultPoint.RANDOM, hangMs: 60_000, seed: 1n });
          value(await wire.unary(C.updateFaults, { faultPoint: FaultPoint.AFTER }));
          expect(value(await wire.unary(C.getFaults, {})).settings).to.deep.include({ errorRate: 0.25, latencyMs: 5, faultPoint: FaultPoint.AFTER });
          // Presence, not value, decides what changes: an explicit 0 sets it back.
          value(await wire.unary(C.updateFaults, { errorRate: 0 }));
          expect(sim.setFaults({})).to.deep.include({ errorRate: 0, latencyMs: 5 });
        });

        it('refuses invalid fault settings with INVALID_ARGUMENT invalid_request and keeps the previous ones', async () => {
          const bad: MessageInitShape<typeof C.updateFaults.input>[] = [
            { errorRate: 1.5 },
            { dropRate: -0.1 },
            { errorRate: 0.5, dropRate: 0.3, timeoutRate: 0.3 },
            { latencyMs: -1 },
            { hangMs: -5 },
            { faultPoint: FaultPoint.UNSPECIFIED },
          ];
          for (const patch of bad) refusedWith(await wire.unary(C.updateFaults, patch), 'invalid_argument', RefusalCode.INVALID_REQUEST);
          expect(value(await wire.unary(C.getFaults, {})).settings).to.deep.include({ errorRate: 0, dropRate: 0, latencyMs: 0, faultPoint: FaultPoint.RANDOM });
          expect(() => sim.setFaults({ errorRate: 2 })).to.throw(FaultSettingsError, /errorRate/);
          expect(sim.setFaults({ errorRate: 0.5, dropRate: 0.5 })).to.deep.include({ errorRate: 0.5, dropRate: 0.5 });
        });

        it('serves the same ledger as ledger(), and is never faulted', async () => {
          await charge({ capture: true });
          sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
          expect(value(await wire.unary(C.getLedger, {}))).to.deep.equal(sim.ledger());
          expect(value(await wire.unary(C.getFaults, {})).settings!.errorRate).to.equal(1);
        });

        it('resets the ledger, the idempotency records, the stats and the faults', async () => {
          await charge({}, 'before-reset');
          sim.setFaults({ errorRate: 0.5, seed: 9n });
          value(await wire.unary(C.reset, {}));
          const ledger = sim.ledger();
          expect([ledger.charges, ledger.refunds, ledger.operations]).to.deep.equal([[], [], []]);
          expect(ledger.stats).to.deep.include({ requests: 0n, replays: 0n });
          expect(ledger.stats!.faults).to.deep.include({ error: 0n, timeout: 0n, drop: 0n });
          expect(value(await wire.unary(C.getFaults, {})).settings).to.deep.include({ errorRate: 0, seed: 1n });
          const again = await createCharge({}, 'before-reset');
          expect(again.replayed).to.equal(false);
          expect(countOps(OperationKind.CHARGE)).to.equal(1);
        });
      });

      describe('fault injection', () => {
        it('faults about errorRate of the calls, and applies none of those faulted before the operation', async () => {
          sim.setFaults({ errorRate: 0.3, faultPoint: FaultPoint.BEFORE, seed: 424242n });
          const answers: Answer<unknown>[] = [];
          for (let batch = 0; batch < 4; batch += 1) {
            answers.push(...(await Promise.all(Array.from({ length: 50 }, () => createCharge({ capture: true })))));
          }
          const failed = answers.filter((a) => !a.ok);
          const created = answers.filter((a) => a.ok).length;
          expect(failed.length).to.be.within(35, 85);
          expect(new Set(failed.map((a) => !a.ok && a.code))).to.deep.equal(new Set(['unavailable', 'internal']));
          const ledger = sim.ledger();
          expect(ledger.charges).to.have.length(created);
          expect(ledger.stats!.faults!.error).to.equal(BigInt(failed.length));
          expect(ledger.stats!.requests).to.equal(200n);
        });

        it('fails with UNAVAILABLE processor_unavailable and INTERNAL processor_error, each with its Failure detail', async () => {
          sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
          const answers = [await getCharge('ch_any'), await getCharge('ch_any')];
          expect(answers.map((a) => !a.ok && [a.code, a.failure === undefined ? undefined : FailureCode[a.failure], a.refusal, a.details])).to.deep.equal([
            ['unavailable', 'PROCESSOR_UNAVAILABLE', undefined, 1],
            ['internal', 'PROCESSOR_ERROR', undefined, 1],
          ]);
        });

        it('repeats the same fault sequence for the same seed', async () => {
          const run = async (seed: bigint) => {
            sim.setFaults({ errorRate: 0.5, faultPoint: FaultPoint.BEFORE, seed });
            const codes: string[] = [];
            for (let i = 0; i < 30; i += 1) {
              const a = await getCharge('ch_any');
              codes.push(a.ok ? 'ok' : a.code);
            }
            return codes;
          };
          const first = await run(7n);
          // An in-process caller may give the seed as a plain number; it is the same seed.
          expect(await run(7 as unknown as bigint)).to.deep.equal(first);
          expect(first).to.include('not_found').and.to.include('unavailable').and.to.include('internal');
          expect(await run(8n)).to.not.deep.equal(first);
        });

        const faults = [
          { kind: 'error', rate: 'errorRate', seen: () => ['unavailable'] },
          { kind: 'drop', rate: 'dropRate', seen: () => [wire.dropped.code] },
          { kind: 'timeout', rate: 'timeoutRate', seen: () => ['deadline_exceeded'] },
        ] as const;
        for (const { kind, rate, seen } of faults) {
          for (const point of ['before', 'after'] as const) {
            it(`${kind} ${point} the operation: the caller sees a failure, the charge is applied ${point === 'after' ? 'once' : 'not at all'}, and a retry with the key ${point === 'after' ? 'replays it' : 'applies it'}`, async () => {
              sim.setFaults({ [rate]: 1, faultPoint: point === 'before' ? FaultPoint.BEFORE : FaultPoint.AFTER, hangMs: 600_000 });
              const failed = await wire.unary(P.createCharge, { ...CHARGE, idempotencyKey: `${kind}-${point}` }, { deadlineMs: 300 });
              expect(failed.ok).to.equal(false);
              if (!failed.ok) expect(seen()).to.include(failed.code);
              const ledger = sim.ledger();
              expect(ledger.stats!.faults![kind]).to.equal(1n);
              expect(ledger.charges).to.have.length(point === 'after' ? 1 : 0);

              sim.setFaults({ [rate]: 0 });
              const retried = await wire.unary(P.createCharge, { ...CHARGE, idempotencyKey: `${kind}-${point}` });
              expect(retried.replayed).to.equal(point === 'after');
              expect(value(retried).charge!.id).to.equal(sim.ledger().charges[0]!.id);
              expect(sim.ledger().operations).to.have.length(1);
            });
          }
        }

        it('drops a call without any status or detail', async () => {
          sim.setFaults({ dropRate: 1, faultPoint: FaultPoint.BEFORE });
          const dropped = await getCharge('ch_any');
          expect(dropped.ok).to.equal(false);
          if (!dropped.ok) expect([dropped.code, dropped.details]).to.deep.equal([wire.dropped.code, 0]);
        });
      });
    });
  }

  describe('on one port for both wires', () => {
    let connect: Wire;
    let grpcCaller: Wire;
    before(() => {
      connect = connectWire(sim);
      grpcCaller = grpcWire(sim);
    });
    after(() => {
      connect.close();
      grpcCaller.close();
    });
    beforeEach(() => sim.reset());

    it('keeps one set of books: a request sent as JSON and retried as binary under the same key is a replay', async () => {
      const first = value(await connect.unary(P.createCharge, { ...CHARGE, reference: 'both', idempotencyKey: 'cross-wire' }));
      const again = await grpcCaller.unary(P.createCharge, { ...CHARGE, reference: 'both', idempotencyKey: 'cross-wire' });
      expect(again.replayed).to.equal(true);
      expect(value(again)).to.deep.equal(first);
      const refused = await grpcCaller.unary(P.createCharge, { ...CHARGE, amount: 1001n, idempotencyKey: 'cross-wire' });
      refusedWith(refused, 'already_exists', RefusalCode.IDEMPOTENCY_KEY_REUSED);
      expect(sim.ledger().operations).to.have.length(1);
    });

    it('tells HTTP/1.1 from HTTP/2 however the first bytes arrive: a POST sent a byte at a time is HTTP/1.1', async () => {
      const { hostname, port } = new URL(sim.url);
      const body = JSON.stringify({ chargeId: 'ch_none' });
      const request = `POST /remit.processor.v1.ProcessorService/GetCharge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, async () => {
          // `P` and `PO` are also the start of HTTP/2's preface (`PRI * HTTP/2.0…`).
          for (const part of [request.slice(0, 1), request.slice(1, 2), request.slice(2)]) {
            socket.write(part);
            await new Promise((r) => setTimeout(r, 30));
          }
        });
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
      expect(answer.split('\r\n', 1)[0]).to.equal('HTTP/1.1 404 Not Found');
      expect(answer).to.include('"code":"not_found"');
    });

    it('streams over gRPC what was applied over the Connect protocol, as it is applied', async () => {
      const stream = grpcCaller.streamOperations({ follow: true });
      const made = value(await connect.unary(P.createCharge, { ...CHARGE, idempotencyKey: 'seen-live' })).charge!;
      expect((await stream.next())!.operation!.target).to.equal(made.id);
      stream.cancel();
      expect(await stream.ended).to.equal('canceled');
    });
  });

  describe('the Connect protocol as curl sees it', () => {
    const url = (path: string) => `${sim.url}${path}`;
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const CREATE = '/remit.processor.v1.ProcessorService/CreateCharge';

    beforeEach(() => sim.reset());

    it('takes and answers Protobuf’s canonical JSON: camelCase fields, int64 as strings, enums by name', async () => {
      const res = await post(CREATE, JSON.stringify({ idempotencyKey: 'curl-1', amount: '2500', currency: 'eur', capture: true, reference: 'order-9' }));
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json');
      const body = (await res.json()) as { charge: Record<string, unknown> };
      expect(body.charge).to.include({ amount: '2500', currency: 'eur', status: 'CHARGE_STATUS_CAPTURED', amountCaptured: '2500', reference: 'order-9', idempotencyKey: 'curl-1' });
      expect(body.charge.createdUnixMs).to.match(/^[0-9]+$/);
      // Zero values are left out, as proto JSON does.
      expect(body.charge).to.not.have.any.keys('amountRefunded', 'declineCode', 'amount_refunded');
      // A number is accepted for an int64 too; the key and the request make it the same call.
      const again = await post(CREATE, JSON.stringify({ currency: 'eur', reference: 'order-9', amount: 2500, capture: true, idempotencyKey: 'curl-1' }));
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(await again.json()).to.deep.equal(body);
    });

    it('keeps a charge’s metadata, replays it whatever the order of its entries, and refuses metadata beyond its bounds', async () => {
      const first = await post(CREATE, '{"idempotencyKey":"meta-1","amount":"100","currency":"usd","metadata":{"order":"o-1","cart":"c-9"}}');
      expect(first.status).to.equal(200);
      const body = (await first.json()) as { charge: { metadata: Record<string, string> } };
      expect(body.charge.metadata).to.deep.equal({ order: 'o-1', cart: 'c-9' });
      const reordered = await post(CREATE, '{"metadata":{"cart":"c-9","order":"o-1"},"currency":"usd","amount":100,"idempotencyKey":"meta-1"}');
      expect(reordered.status).to.equal(200);
      expect(reordered.headers.get('idempotent-replayed')).to.equal('true');
      expect(await reordered.json()).to.deep.equal(body);

      const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
      for (const [metadata, message] of [
        [tooMany, 'at most 50 keys'],
        [{ 'no spaces': 'v' }, 'metadata key'],
        [{ ['k'.repeat(41)]: 'v' }, 'metadata key'],
        [{ long: 'v'.repeat(501) }, 'at most 500 characters'],
      ] as const) {
        const res = await post(CREATE, JSON.stringify({ idempotencyKey: 'meta-bad', amount: 100, currency: 'usd', metadata }));
        expect(res.status, message).to.equal(400);
        expect(((await res.json()) as { message: string }).message).to.include(message);
      }
      expect(sim.ledger().charges).to.have.length(1);
    });

    it('answers a call whose deadline passes while it is held (a timeout fault) with deadline_exceeded, not a dropped connection', async () => {
      sim.setFaults({ timeoutRate: 1, faultPoint: FaultPoint.BEFORE, hangMs: 600_000 });
      const started = Date.now();
      const res = await post(CREATE, JSON.stringify({ idempotencyKey: 'late-1', amount: 1000, currency: 'usd' }), { 'connect-timeout-ms': '200' });
      expect(res.status).to.equal(504);
      expect(((await res.json()) as { code: string }).code).to.equal('deadline_exceeded');
      expect(Date.now() - started, 'answered at the deadline, not at the hang limit').to.be.below(5_000);
      expect(sim.ledger().charges).to.have.length(0);
    });

    it('does not apply a call whose deadline passed during its latency', async () => {
      sim.setFaults({ latencyMs: 1_000 });
      const res = await post(CREATE, JSON.stringify({ idempotencyKey: 'late-2', amount: 1000, currency: 'usd' }), { 'connect-timeout-ms': '150' });
      expect(res.status).to.equal(504);
      expect(((await res.json()) as { code: string }).code).to.equal('deadline_exceeded');
      // Past the latency the call would have taken: still nothing applied.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(sim.ledger().charges).to.have.length(0);
      expect(sim.ledger().stats!.requests).to.equal(1n);
    });

    it('answers each refusal and failure with the HTTP status the Connect protocol gives its code, and a JSON error with the detail', async () => {
      const made = (await (await post(CREATE, JSON.stringify({ idempotencyKey: 'c', amount: 1000, currency: 'usd' }))).json()) as { charge: { id: string } };
      const cases: [string, string, number, string, string][] = [
        [CREATE, JSON.stringify({ idempotencyKey: 'x', amount: 0, currency: 'usd' }), 400, 'invalid_argument', 'REFUSAL_CODE_INVALID_REQUEST'],
        ['/remit.processor.v1.ProcessorService/GetCharge', JSON.stringify({ chargeId: 'ch_none' }), 404, 'not_found', 'REFUSAL_CODE_CHARGE_NOT_FOUND'],
        [CREATE, JSON.stringify({ idempotencyKey: 'c', amount: 1001, currency: 'usd' }), 409, 'already_exists', 'REFUSAL_CODE_IDEMPOTENCY_KEY_REUSED'],
        ['/remit.processor.v1.ProcessorService/CreateRefund', JSON.stringify({ idempotencyKey: 'r', chargeId: made.charge.id, amount: 1 }), 400, 'failed_precondition', 'REFUSAL_CODE_CHARGE_NOT_CAPTURED'],
      ];
      for (const [path, body, status, code, refusal] of cases) {
        const res = await post(path, body);
        expect(res.status, `${path} ${body}`).to.equal(status);
        const error = (await res.json()) as { code: string; message: string; details: { type: string; value: string; debug?: unknown }[] };
        expect(error.code).to.equal(code);
        expect(error.message).to.be.a('string').and.not.equal('');
        expect(error.details.map((d) => [d.type, RefusalCode[fromBinary(RefusalSchema, Buffer.from(d.value, 'base64')).code]])).to.deep.equal([
          ['remit.processor.v1.Refusal', refusal.replace('REFUSAL_CODE_', '')],
        ]);
      }
      sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      const statuses: [number, string][] = [];
      for (let i = 0; i < 2; i++) {
        const res = await post(CREATE, JSON.stringify({ idempotencyKey: 'f', amount: 1, currency: 'usd' }));
        statuses.push([res.status, ((await res.json()) as { code: string }).code]);
      }
      expect(statuses).to.deep.equal([
        [503, 'unavailable'],
        [500, 'internal'],
      ]);
    });

    it('answers a body that is not JSON with 400 invalid_argument, and records nothing', async () => {
      for (const body of ['{"amount": 100,', 'amount=100', '{"amount": "ten"}']) {
        const res = await post(CREATE, body);
        expect(res.status, body).to.equal(400);
        expect(((await res.json()) as { code: string }).code).to.equal('invalid_argument');
      }
      expect(sim.ledger().stats!.requests).to.equal(0n);
    });

    it('answers a route it does not serve with 404', async () => {
      for (const [method, path] of [
        ['POST', '/remit.processor.v1.ProcessorService/DeleteCharge'],
        ['POST', '/remit.processor.v1.Elsewhere/CreateCharge'],
        ['GET', '/v1/charges'],
        ['POST', '/nothing'],
      ] as const) {
        const res = await fetch(url(path), { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(res.status, `${method} ${path}`).to.equal(404);
        expect(((await res.json()) as { code: string }).code).to.equal('unimplemented');
      }
    });

    it('answers the control API with 401 and www-authenticate without the token, and serves it with the token', async () => {
      const ledger = '/remit.processor.v1.SimulatorControlService/GetLedger';
      const refused = await post(ledger, '{}');
      expect(refused.status).to.equal(401);
      expect(refused.headers.get('www-authenticate')).to.equal('Bearer realm="processor-control"');
      expect(((await refused.json()) as { code: string }).code).to.equal('unauthenticated');
      const served = await post(ledger, '{}', { authorization: `Bearer ${sim.controlToken}` });
      expect(served.status).to.equal(200);
      expect(await served.json()).to.have.keys('stats');
    });

    it('answers GET /health without a token, and is never faulted', async () => {
      sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
      const res = await fetch(url('/health'));
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 'ok' });
      expect(sim.ledger().stats!.requests).to.equal(0n);
    });

    it('close() ends hanging calls at once, over both wires', async function () {
      this.timeout(5_000);
      const own = await startProcessorSimulator({ faults: { timeoutRate: 1, hangMs: 600_000 } });
      const wires = [connectWire(own), grpcWire(own)];
      try {
        const hanging = wires.map((w) => w.unary(P.getCharge, { chargeId: 'ch_any' }));
        // Wait until both calls have reached the simulator before closing.
        while (own.ledger().stats!.faults!.timeout < 2n) await sleep(10);
        await own.close();
        const answers = await Promise.all(hanging);
        expect(answers.map((a) => a.ok)).to.deep.equal([false, false]);
      } finally {
        for (const w of wires) w.close();
      }
    });
  });

  describe('gRPC as @grpc/grpc-js sees it', () => {
    beforeEach(() => sim.reset());

    it('sends each refusal as its gRPC status, with google.rpc.Status in grpc-status-details-bin holding one Refusal', async () => {
      const definition = protoLoader.loadSync(PROTO_PATH, { longs: String, enums: String, defaults: false, oneofs: false });
      const loaded = grpc.loadPackageDefinition(definition) as unknown as { remit: { processor: { v1: Record<string, grpc.ServiceClientConstructor> } } };
      const client = new loaded.remit.processor.v1.ProcessorService!(new URL(sim.url).host, grpc.credentials.createInsecure());
      try {
        const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
          (client as unknown as Record<string, GrpcMethod>).CaptureCharge!.call(client, { idempotencyKey: 'k', chargeId: 'ch_none' }, new grpc.Metadata(), {}, (e) => (e ? resolve(e) : reject(new Error('answered'))));
        });
        expect(err.code).to.equal(grpc.status.NOT_FOUND);
        expect(err.details).to.equal('No charge "ch_none".');
        const [bin] = err.metadata.get('grpc-status-details-bin') as Buffer[];
        const status = fromBinary(GoogleRpcStatusSchema, bin!) as unknown as GoogleRpcStatus;
        expect([status.code, status.message]).to.deep.equal([grpc.status.NOT_FOUND, 'No charge "ch_none".']);
        expect(status.details.map((d) => d.typeUrl)).to.deep.equal(['type.googleapis.com/remit.processor.v1.Refusal']);
        expect(fromBinary(RefusalSchema, status.details[0]!.value).code).to.equal(RefusalCode.CHARGE_NOT_FOUND);
      } finally {
        client.close();
      }
    });
  });
});
