/**
 * spec/processor.proto binds both sides of the processor protocol: the generated code is the
 * file's, the simulator refuses and fails only with the codes it lists and the statuses it names
 * for them, and the adapter passes on exactly those refusals, taking any other answer, from any
 * server, as a broken contract rather than a decision.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { create, fromBinary, toBinary, type DescEnum, type JsonObject } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { expect } from 'chai';
import {
  FailureCode,
  FailureCodeSchema,
  FailureSchema,
  FaultPoint,
  ProcessorService,
  RefusalCode,
  RefusalCodeSchema,
  RefusalSchema,
  SimulatorControlService,
  file_processor,
} from '../../generated/processor/processor_pb.js';
import { createProcessorClient, ProcessorContractError, ProcessorUnavailableError } from '../../src/processor/client.js';
import { Metrics } from '../../src/platform/metrics.js';
import { startProcessorSimulator, type ProcessorSimulator } from '../../src/processor/simulator/server.js';
import { GoogleRpcStatusSchema } from '../helpers/grpc-status.js';
import { metricValue } from '../helpers/metrics.js';
import { rejection } from '../helpers/rejection.js';

const PROTO_PATH = fileURLToPath(new URL('../../spec/processor.proto', import.meta.url));
const PROTOCOLS = ['http', 'grpc'] as const;

/**
 * The status the contract names for each value of one of its code enums, read from the file: a
 * comment line `// STATUS: …` applies to the values below it, up to the next such line.
 */
async function statusesNamedIn(enumName: string): Promise<Map<string, string>> {
  const text = await readFile(PROTO_PATH, 'utf8');
  const body = new RegExp(`enum ${enumName} \\{([^}]*)\\}`).exec(text)?.[1];
  if (!body) throw new Error(`no enum ${enumName} in spec/processor.proto`);
  const statuses = new Map<string, string>();
  let current: string | undefined;
  for (const line of body.split('\n')) {
    const comment = /^\s*\/\/ ([A-Z_]+):/.exec(line);
    if (comment) current = comment[1];
    const value = /^\s*([A-Z_]+) = \d+;/.exec(line);
    if (value && current) statuses.set(value[1]!, current);
  }
  return statuses;
}

/** `FAILED_PRECONDITION` as Connect's Code names it: `FailedPrecondition`. */
function connectCode(status: string): Code {
  const name = status
    .toLowerCase()
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  const code = (Code as unknown as Record<string, Code | undefined>)[name];
  if (code === undefined) throw new Error(`${status} is not a gRPC status`);
  return code;
}

/** The values of a code enum the contract lists, without UNSPECIFIED, by their full names. */
const listed = (e: DescEnum) => e.values.filter((v) => v.number !== 0).map((v) => v.name);

describe('processor contract (spec/processor.proto)', function () {
  this.timeout(20_000);

  describe('the generated code', () => {
    /**
     * What a descriptor says about the wire: names, numbers, types and presence. Type names are
     * compared by their last part and map fields as `map<key, value>`, as protobufjs writes both
     * differently from protoc (relative names, `Metadata` for `MetadataEntry`) without changing the wire.
     */
    function shape(file: FileDescriptorProto): JsonObject {
      const simple = (typeName: string) => typeName.slice(typeName.lastIndexOf('.') + 1);
      const message = (m: DescriptorProto): JsonObject => {
        const entries = new Map(m.nestedType.filter((n) => n.options?.mapEntry).map((n) => [n.name, n]));
        return {
          name: m.name,
          fields: m.field.map((f) => {
            const entry = entries.get(simple(f.typeName));
            const type = entry ? `map<${entry.field.map((e) => e.type + simple(e.typeName)).join(', ')}>` : `${f.type}${simple(f.typeName)}`;
            // proto3 `optional` is a synthetic oneof named after the field.
            const optional = m.oneofDecl.some((o) => o.name === `_${f.name}`);
            return [f.name, f.number, entry ? 'map' : f.label, type, optional];
          }),
          nested: m.nestedType.filter((n) => !n.options?.mapEntry).map(message),
          enums: m.enumType.map((e) => [e.name, e.value.map((v) => [v.name, v.number])]),
        };
      };
      return {
        package: file.package,
        messages: file.messageType.map(message),
        enums: file.enumType.map((e) => [e.name, e.value.map((v) => [v.name, v.number])]),
        services: file.service.map((s) => [s.name, s.method.map((m) => [m.name, simple(m.inputType), simple(m.outputType), m.clientStreaming, m.serverStreaming, m.options?.idempotencyLevel ?? 0])]),
      };
    }

    it('describes exactly what spec/processor.proto does, as another compiler reads it', () => {
      // @grpc/proto-loader parses the file with protobufjs, independently of buf and protoc-gen-es.
      const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true });
      const entry = definition['remit.processor.v1.Charge'] as { fileDescriptorProtos: Buffer[] };
      const [parsed] = entry.fileDescriptorProtos.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      expect(shape(file_processor.proto)).to.deep.equal(shape(parsed!));
    });
  });

  describe('the simulator', () => {
    let sim: ProcessorSimulator;
    before(async () => {
      sim = await startProcessorSimulator();
    });
    after(() => sim.close());
    beforeEach(() => sim.reset());

    for (const protocol of PROTOCOLS) {
      it(`refuses and fails over ${protocol} only with the codes the contract lists, each with the status it names and one detail, using every one`, async () => {
        const transport: Transport = protocol === 'http' ? createConnectTransport({ baseUrl: sim.url, httpVersion: '1.1' }) : createGrpcTransport({ baseUrl: sim.url });
        const processor = createClient(ProcessorService, transport);
        const control = createClient(SimulatorControlService, transport);
        const errors: ConnectError[] = [];
        const expectError = async (call: Promise<unknown>) => {
          const err = await rejection(call);
          expect(err).to.be.instanceOf(ConnectError);
          errors.push(err as ConnectError);
        };
        const charge = async (amount: bigint, capture: boolean, key = `k-${errors.length}-${amount}`) => (await processor.createCharge({ idempotencyKey: key, amount, currency: 'usd', capture })).charge!;

        const captured = await charge(1_000n, true, 'captured');
        const authorized = await charge(1_000n, false);
        const declined = await charge(1_402n, false);
        const voided = await charge(1_000n, false);
        await processor.voidCharge({ idempotencyKey: 'void', chargeId: voided.id });

        await expectError(processor.createCharge({ idempotencyKey: 'bad', amount: 0n, currency: 'usd' }));
        await expectError(processor.createCharge({ idempotencyKey: '', amount: 1n, currency: 'usd' }));
        await expectError(control.getLedger({}));
        await expectError(processor.getCharge({ chargeId: 'ch_unknown' }));
        await expectError(processor.captureCharge({ idempotencyKey: 'c1', chargeId: captured.id }));
        await expectError(processor.captureCharge({ idempotencyKey: 'c2', chargeId: voided.id }));
        await expectError(processor.voidCharge({ idempotencyKey: 'v1', chargeId: declined.id }));
        await expectError(processor.createRefund({ idempotencyKey: 'r1', chargeId: authorized.id, amount: 1n }));
        await expectError(processor.createCharge({ idempotencyKey: 'captured', amount: 999n, currency: 'usd', capture: true }));
        await expectError(processor.createRefund({ idempotencyKey: 'r2', chargeId: captured.id, amount: 1_001n }));
        sim.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
        for (let i = 0; i < 2; i++) await expectError(processor.getCharge({ chargeId: captured.id }));

        const refusalStatus = await statusesNamedIn('RefusalCode');
        const failureStatus = await statusesNamedIn('FailureCode');
        const refusals = new Set<string>();
        const failures = new Set<string>();
        for (const err of errors) {
          expect(err.details, err.message).to.have.length(1);
          const [refusal] = err.findDetails(RefusalSchema);
          const [failure] = err.findDetails(FailureSchema);
          const name = refusal ? RefusalCodeSchema.value[refusal.code]!.name : FailureCodeSchema.value[failure!.code]!.name;
          const named = (refusal ? refusalStatus : failureStatus).get(name);
          expect(named, `${name} has a status in spec/processor.proto`).to.be.a('string');
          expect(Code[err.code], name).to.equal(Code[connectCode(named!)]);
          (refusal ? refusals : failures).add(name);
        }
        expect([...refusals].sort(), 'every refusal code the contract lists is one the simulator gives').to.deep.equal(listed(RefusalCodeSchema).sort());
        expect([...failures].sort()).to.deep.equal(listed(FailureCodeSchema).sort());
      });
    }
  });

  describe('the adapter', () => {

    interface Detail {
      readonly typeName: string;
      readonly value: Uint8Array;
    }
    /** What the fake processor answers every call with: a message as proto JSON, or an error. */
    type FakeAnswer = { readonly message: JsonObject } | { readonly status: string; readonly message: string; readonly details: readonly Detail[] };

    interface FakeProcessor {
      readonly url: string;
      answer: FakeAnswer;
      requests: number;
      close(): Promise<void>;
    }

    /** The HTTP status the Connect protocol gives each code. */
    const CONNECT_HTTP_STATUS: Record<string, number> = {
      INVALID_ARGUMENT: 400,
      NOT_FOUND: 404,
      ALREADY_EXISTS: 409,
      PERMISSION_DENIED: 403,
      FAILED_PRECONDITION: 400,
      OUT_OF_RANGE: 400,
      UNAUTHENTICATED: 401,
      UNAVAILABLE: 503,
      INTERNAL: 500,
      UNKNOWN: 500,
      DATA_LOSS: 500,
      RESOURCE_EXHAUSTED: 429,
      ABORTED: 409,
    };

    /** A processor of the test's own speaking the Connect protocol, its JSON written by hand. */
    async function fakeConnectProcessor(): Promise<FakeProcessor> {
      const server: Server = createServer((req, res) => {
        fake.requests += 1;
        req.resume();
        req.on('end', () => respond(res));
      });
      const fake: FakeProcessor = {
        url: '',
        answer: { message: {} },
        requests: 0,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
      function respond(res: ServerResponse): void {
        const a = fake.answer;
        if (!('status' in a)) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(a.message));
          return;
        }
        const details = a.details.map((d) => ({ type: d.typeName, value: Buffer.from(d.value).toString('base64').replace(/=+$/, '') }));
        res.writeHead(CONNECT_HTTP_STATUS[a.status]!, { 'content-type': 'application/json' }).end(JSON.stringify({ code: a.status.toLowerCase(), message: a.message, details }));
      }
      server.keepAliveTimeout = 100;
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return Object.assign(fake, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }

    /** A processor of the test's own speaking gRPC with @grpc/grpc-js, details in grpc-status-details-bin. */
    async function fakeGrpcProcessor(): Promise<FakeProcessor> {
      const definition = protoLoader.loadSync(PROTO_PATH, { longs: String, enums: String, defaults: false, oneofs: false });
      const loaded = grpc.loadPackageDefinition(definition) as unknown as { remit: { processor: { v1: Record<string, grpc.ServiceClientConstructor> } } };
      const server = new grpc.Server();
      const fake: FakeProcessor = {
        url: '',
        answer: { message: {} },
        requests: 0,
        close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      };
      const handle: grpc.handleUnaryCall<unknown, unknown> = (_call, callback) => {
        fake.requests += 1;
        const a = fake.answer;
        if (!('status' in a)) return callback(null, a.message);
        const code = grpc.status[a.status as keyof typeof grpc.status] as grpc.status;
        const metadata = new grpc.Metadata();
        const status = create(GoogleRpcStatusSchema, {
          code,
          message: a.message,
          details: a.details.map((d) => ({ typeUrl: `type.googleapis.com/${d.typeName}`, value: d.value })),
        } as never);
        metadata.set('grpc-status-details-bin', Buffer.from(toBinary(GoogleRpcStatusSchema, status)));
        callback({ code, details: a.message, metadata });
      };
      server.addService(loaded.remit.processor.v1.ProcessorService!.service, { CreateCharge: handle, CaptureCharge: handle, VoidCharge: handle, CreateRefund: handle });
      const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
      return Object.assign(fake, { url: `http://127.0.0.1:${port}` });
    }

    const refusal = (code: number): Detail => ({ typeName: RefusalSchema.typeName, value: toBinary(RefusalSchema, create(RefusalSchema, { code })) });
    const failure = (code: FailureCode): Detail => ({ typeName: FailureSchema.typeName, value: toBinary(FailureSchema, create(FailureSchema, { code })) });
    const GOOD_CHARGE = { id: 'ch_1', amount: '100', currency: 'usd', status: 'CHARGE_STATUS_CAPTURED', amountCaptured: '100', idempotencyKey: 'pay_1' };

    for (const protocol of PROTOCOLS) {
      describe(`over ${protocol}, against a processor of the test's own`, () => {
        let fake: FakeProcessor;
        let metrics: Metrics;
        before(async () => {
          fake = protocol === 'http' ? await fakeConnectProcessor() : await fakeGrpcProcessor();
        });
        after(() => fake.close());
        beforeEach(() => {
          fake.requests = 0;
          metrics = new Metrics({ processMetrics: false });
        });

        const opened: { close(): void }[] = [];
        afterEach(() => opened.splice(0).forEach((c) => c.close()));
        // A breaker that opens at the first failure: a contract error that counted as one would show.
        const client = (breakerThreshold = 1) => {
          const c = createProcessorClient({ url: fake.url, protocol, timeoutMs: 2_000, maxRetries: 1, breakerThreshold, breakerHalfOpenMs: 60_000, backoffInitialMs: 1, backoffMaxMs: 2, metrics });
          opened.push(c);
          return c;
        };

        it('passes on every refusal code the contract lists, sent with the status it names, as a refusal with that code', async () => {
          const statuses = await statusesNamedIn('RefusalCode');
          for (const name of listed(RefusalCodeSchema)) {
            const value = RefusalCodeSchema.values.find((v) => v.name === name)!.number;
            fake.answer = { status: statuses.get(name)!, message: `refused ${name}`, details: [refusal(value)] };
            const c = client();
            expect(await c.captureCharge('pay_1:capture', 'ch_1')).to.deep.equal({ ok: false, refusal: { code: RefusalCode[value]!.toLowerCase(), message: `refused ${name}` } });
            expect(c.health()).to.equal('up');
          }
          expect(fake.requests).to.equal(listed(RefusalCodeSchema).length);
        });

        it('throws ProcessorContractError, without a retry and without opening the breaker, on a refusal outside the contract', async () => {
          const outside: [string, FakeAnswer][] = [
            ['no detail', { status: 'FAILED_PRECONDITION', message: 'no detail', details: [] }],
            ['a code the contract does not list', { status: 'FAILED_PRECONDITION', message: 'unlisted', details: [refusal(99)] }],
            ['REFUSAL_CODE_UNSPECIFIED', { status: 'FAILED_PRECONDITION', message: 'unspecified', details: [refusal(RefusalCode.UNSPECIFIED)] }],
            ['a Failure detail on a refusal status', { status: 'NOT_FOUND', message: 'failure', details: [failure(FailureCode.PROCESSOR_ERROR)] }],
            ['PERMISSION_DENIED without detail', { status: 'PERMISSION_DENIED', message: 'denied', details: [] }],
          ];
          for (const [what, answer] of outside) {
            fake.answer = answer;
            const c = client();
            const before = fake.requests;
            const err = await rejection(c.voidCharge('pay_1:void', 'ch_1'));
            expect(err, what).to.be.instanceOf(ProcessorContractError);
            expect(fake.requests - before, what).to.equal(1);
            expect(c.health(), what).to.equal('up');
          }
          expect(await metricValue(metrics, 'remit_processor_calls_total', { call: 'void', outcome: 'contract_error' })).to.equal(outside.length);
        });

        it('throws ProcessorContractError on an answer whose charge the contract does not allow', async () => {
          const outside: [string, JsonObject][] = [
            ['no charge', {}],
            ['CHARGE_STATUS_UNSPECIFIED', { charge: { ...GOOD_CHARGE, status: 'CHARGE_STATUS_UNSPECIFIED' } }],
            ['a status the contract does not list', { charge: { ...GOOD_CHARGE, status: 99 } }],
            ['an amount beyond 2^53 - 1', { charge: { ...GOOD_CHARGE, amount: '9007199254740992' } }],
            ['a negative amount', { charge: { ...GOOD_CHARGE, amountRefunded: '-1' } }],
          ];
          for (const [what, message] of outside) {
            fake.answer = { message };
            const c = client();
            const err = await rejection(c.captureCharge('pay_1:capture', 'ch_1'));
            expect(err, what).to.be.instanceOf(ProcessorContractError);
            expect(c.health(), what).to.equal('up');
          }
          expect(fake.requests).to.equal(outside.length);
          fake.answer = { message: { charge: GOOD_CHARGE } };
          expect(await client().captureCharge('pay_1:capture', 'ch_1')).to.deep.equal({
            ok: true,
            value: { id: 'ch_1', amount: 100, currency: 'usd', status: 'captured', amount_captured: 100, amount_refunded: 0, decline_code: null },
          });
        });

        it('retries every failure status once with maxRetries 1, counting each attempt by what it was', async () => {
          const failures: [string, string][] = [
            ['UNAVAILABLE', 'unavailable'],
            ['INTERNAL', 'internal'],
            ['UNKNOWN', 'internal'],
            ['DATA_LOSS', 'internal'],
            ['ABORTED', 'internal'],
            ['RESOURCE_EXHAUSTED', 'throttled'],
          ];
          for (const [status, outcome] of failures) {
            fake.answer = { status, message: `failed ${status}`, details: status === 'UNAVAILABLE' ? [failure(FailureCode.PROCESSOR_UNAVAILABLE)] : [] };
            metrics = new Metrics({ processMetrics: false });
            const before = fake.requests;
            const err = await rejection(client(10).createCharge('pay_1', { amount: 100, currency: 'usd', capture: true }));
            expect(err, status).to.be.instanceOf(ProcessorUnavailableError);
            expect(fake.requests - before, status).to.equal(2);
            const attempts = await Promise.all([1, 2].map((n) => metricValue(metrics, 'remit_processor_attempts_total', { call: 'charge', attempt: String(n), outcome })));
            expect(attempts, status).to.deep.equal([1, 1]);
          }
        });
      });
    }
  });
});
