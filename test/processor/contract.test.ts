/**
 * spec/processor.yaml binds both sides of the processor protocol: the simulator's answers validate
 * against it and use every code it lists, the simulator takes its request rules from the file
 * itself, and the adapter refuses an answer whose code the contract does not list.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { failureCodeValues, refusalCodeValues, type components } from '../../generated/processor.js';
import { createProcessorClient, ProcessorContractError, type ProcessorCharge, type ProcessorRefund, type ProcessorRefusal } from '../../src/processor/client.js';
import { PROCESSOR_SPEC_PATH, startProcessorSimulator, type Charge, type ProcessorSimulator, type Refund } from '../../src/processor/simulator/server.js';
import { rejection } from '../helpers/rejection.js';

type Schemas = components['schemas'];
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

interface Answer {
  readonly request: string;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

describe('processor contract (spec/processor.yaml)', function () {
  this.timeout(20_000);

  describe('the simulator', () => {
    let sim: ProcessorSimulator;
    const answers: Answer[] = [];

    async function call(method: string, url: string, options: { body?: unknown; key?: string | null; token?: string | null } = {}): Promise<Answer> {
      const headers: Record<string, string> = {};
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (method === 'POST' && url.startsWith('/v1') && options.key !== null) headers['idempotency-key'] = options.key ?? randomUUID();
      if (url.startsWith('/control') && options.token !== null) headers.authorization = `Bearer ${options.token ?? sim.controlToken}`;
      const res = await fetch(`${sim.url}${url}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
      const text = await res.text();
      const answer = { request: `${method} ${url}`, status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
      answers.push(answer);
      return answer;
    }

    async function charge(body: Record<string, unknown>): Promise<Charge> {
      const res = await call('POST', '/v1/charges', { body: { amount: 1000, currency: 'usd', capture: false, ...body } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body as unknown as Charge;
    }

    before(async () => {
      sim = await startProcessorSimulator({ validateResponses: true });
    });
    after(() => sim.close());

    it('answers a run of charges, captures, voids, refunds, refusals and faults only as the contract allows, using every code it lists', async () => {
      await call('GET', '/health');
      const authorized = await charge({ reference: 'order-1' });
      const captured = await charge({ capture: true });
      const declined = await charge({ amount: 1402, capture: true });
      const toVoid = await charge({});
      await call('GET', `/v1/charges/${authorized.id}`);
      await call('GET', '/v1/charges/ch_unknown');

      expect((await call('POST', `/v1/charges/${authorized.id}/capture`, { body: {} })).status).to.equal(200);
      await call('POST', `/v1/charges/${authorized.id}/capture`);
      await call('POST', `/v1/charges/${authorized.id}/void`);
      expect((await call('POST', `/v1/charges/${toVoid.id}/void`)).status).to.equal(200);
      await call('POST', `/v1/charges/${toVoid.id}/capture`);
      await call('POST', `/v1/charges/${declined.id}/void`);
      await call('POST', '/v1/charges/ch_unknown/capture');

      expect((await call('POST', '/v1/refunds', { body: { charge: captured.id, amount: 400 }, key: 'refund-1' })).status).to.equal(201);
      const replay = await call('POST', '/v1/refunds', { body: { charge: captured.id, amount: 400 }, key: 'refund-1' });
      expect(replay.status).to.equal(201);
      await call('POST', '/v1/refunds', { body: { charge: captured.id, amount: 401 }, key: 'refund-1' });
      await call('POST', '/v1/refunds', { body: { charge: captured.id, amount: 601 } });
      await call('POST', '/v1/refunds', { body: { charge: toVoid.id, amount: 1 } });
      await call('POST', '/v1/refunds', { body: { charge: 'ch_unknown', amount: 1 } });

      await call('POST', '/v1/charges', { body: { amount: 100, currency: 'usd', capture: true }, key: null });
      await call('POST', '/v1/charges', { body: { amount: 0, currency: 'usd', capture: true } });
      await call('GET', '/v1/nothing');

      await call('GET', '/control/ledger');
      await call('GET', '/control/faults');
      await call('PUT', '/control/faults', { body: { latency_ms: 1 } });
      await call('PUT', '/control/faults', { body: { error_rate: 2 } });
      await call('GET', '/control/ledger', { token: null });
      await call('POST', '/control/reset');

      for (const fault_point of ['before', 'after'] as const) {
        sim.setFaults({ error_rate: 1, fault_point });
        for (let i = 0; i < 2; i++) await call('POST', '/v1/charges', { body: { amount: 100, currency: 'usd', capture: true } });
      }
      sim.reset();

      // An answer that breaks the contract would have been replaced by a 500 internal_error.
      const broken = answers.filter((a) => a.body.code === 'internal_error');
      expect(broken, JSON.stringify(broken, null, 2)).to.deep.equal([]);

      // The validator leaves 5xx answers alone; their shape is checked here instead.
      const refusals = new Set<string>();
      const failures = new Set<string>();
      for (const a of answers) {
        if (a.status < 400) continue;
        expect(Object.keys(a.body).sort(), a.request).to.deep.equal(['code', 'message']);
        expect(a.body.message, a.request).to.be.a('string');
        const codes: readonly string[] = a.status < 500 ? refusalCodeValues : failureCodeValues;
        expect(codes, `${a.request} answered ${a.status}`).to.include(a.body.code);
        (a.status < 500 ? refusals : failures).add(String(a.body.code));
      }
      expect([...refusals].sort(), 'every refusal code the contract lists is one the simulator gives').to.deep.equal([...refusalCodeValues].sort());
      expect([...failures].sort()).to.deep.equal(failureCodeValues.filter((c) => c !== 'internal_error').sort());
    });

    describe('against an altered copy of the contract', () => {
      let dir: string;

      before(async () => {
        dir = await mkdtemp(path.join(os.tmpdir(), 'remit-processor-contract-'));
      });
      after(() => rm(dir, { recursive: true, force: true }));

      async function altered(change: (schemas: Record<string, { properties: Record<string, Record<string, unknown>>; required?: string[] }>) => void): Promise<string> {
        const doc = parseYaml(await readFile(PROCESSOR_SPEC_PATH, 'utf8')) as { components: { schemas: never } };
        change(doc.components.schemas);
        const file = path.join(dir, `${randomUUID()}.yaml`);
        await writeFile(file, stringifyYaml(doc));
        return file;
      }

      it('takes its request rules from the contract file', async () => {
        const contract = await altered((schemas) => {
          schemas.ChargeCreateRequest!.properties.amount = { type: 'integer', minimum: 1, maximum: 500 };
        });
        const own = await startProcessorSimulator({ contract });
        try {
          const post = (amount: number) =>
            fetch(`${own.url}/v1/charges`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
              body: JSON.stringify({ amount, currency: 'usd', capture: true }),
            });
          expect((await post(500)).status).to.equal(201);
          const refused = await post(501);
          expect(refused.status).to.equal(400);
          expect(await refused.json()).to.deep.include({ code: 'invalid_request' }).and.have.property('message').that.matches(/amount/);
          expect(own.ledger().charges).to.have.length(1);
        } finally {
          await own.close();
        }
      });

      it('replaces an answer that breaks the contract with a 500 internal_error naming the violation', async () => {
        const contract = await altered((schemas) => {
          delete schemas.Charge!.properties.reference;
          schemas.Charge!.required = schemas.Charge!.required!.filter((name) => name !== 'reference');
        });
        const own = await startProcessorSimulator({ contract, validateResponses: true });
        try {
          const res = await fetch(`${own.url}/v1/charges`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': 'broken' },
            body: JSON.stringify({ amount: 100, currency: 'usd', capture: true }),
          });
          expect(res.status).to.equal(500);
          const body = (await res.json()) as { code: string; message: string };
          expect(body.code).to.equal('internal_error');
          expect(body.message).to.match(/spec\/processor\.yaml.*additional properties/);
        } finally {
          await own.close();
        }
      });
    });
  });

  describe('the adapter', () => {
    let server: Server;
    let url: string;
    let answer: { status: number; body: unknown };
    let requests = 0;

    before(async () => {
      server = createServer((req, res) => {
        requests += 1;
        req.resume();
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => {
      requests = 0;
    });

    const client = () => createProcessorClient({ url, timeoutMs: 1000, maxRetries: 2, breakerThreshold: 1, breakerHalfOpenMs: 60_000, backoffInitialMs: 1 });

    it('passes on every refusal code the contract lists as a refusal with that code', async () => {
      for (const code of refusalCodeValues) {
        answer = { status: 409, body: { code, message: `refused: ${code}` } };
        expect(await client().captureCharge('pay_1:capture', 'ch_1')).to.deep.equal({ ok: false, refusal: { code, message: `refused: ${code}` } });
      }
      expect(requests).to.equal(refusalCodeValues.length);
    });

    it('throws ProcessorContractError, without a retry and without opening the breaker, on a 4xx outside the contract', async () => {
      const outside: unknown[] = [
        { code: 'charge_exploded', message: 'a code the contract does not list' },
        { code: 'processor_error', message: 'a 5xx code on a 4xx' },
        { code: 'charge_voided' },
        { message: 'no code' },
        ['charge_voided'],
        null,
      ];
      for (const body of outside) {
        answer = { status: 409, body };
        const c = client();
        const before = requests;
        const err = await rejection(c.voidCharge('pay_1:void', 'ch_1'));
        expect(err, JSON.stringify(body)).to.be.instanceOf(ProcessorContractError);
        expect(requests - before, JSON.stringify(body)).to.equal(1);
        expect(c.health()).to.equal('up');
      }
    });

    it('takes its types from the contract, as the simulator does', () => {
      const refusal: Equal<ProcessorRefusal['code'], Schemas['RefusalCode']> = true;
      const charge: Equal<ProcessorCharge, Charge> & Equal<Charge, Schemas['Charge']> = true;
      const refund: Equal<ProcessorRefund, Refund> & Equal<Refund, Schemas['Refund']> = true;
      expect([refusal, charge, refund]).to.deep.equal([true, true, true]);
    });
  });
});
