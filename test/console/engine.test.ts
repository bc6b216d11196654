/**
 * The runner's engine against a real API: its assertions can fail, and say why with the expected
 * and the actual value; what goes wrong before an answer is a step's error, not a throw; the
 * connection check tells a wrong key from a server that is not there; a stop ends the run and
 * still cleans up.
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import { checkConnection, percentile, runCollection, type Collection, type RunEvent, type StepResult } from '../../console/src/runner/engine.js';
import { readPath } from '../../console/src/runner/paths.js';
import { callSdk, createClient, sdkCallNames } from '../../console/src/runner/sdk-call.js';
import { resolve, TemplateError } from '../../console/src/runner/template.js';
import { createTestApp, type TestAccount, type TestApp } from '../helpers/app.js';
import { listen, type Listening } from '../helpers/http-server.js';

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

function collection(id: string, steps: Collection['steps'], variables?: Collection['variables']): Collection {
  return { id, name: id, description: 'for the engine tests', steps, variables };
}

describe('console runner engine', () => {
  let t: TestApp;
  let server: Listening;
  let account: TestAccount;
  const run = (c: Collection, more: { iterations?: number; signal?: AbortSignal; onEvent?: (e: RunEvent) => void } = {}) =>
    runCollection(c, { baseURL: server.url, apiKey: account.secret, ...more });

  before(async () => {
    t = await createTestApp();
    server = await listen(t.app);
    account = await t.createAccount('Engine tests');
  });
  after(async () => {
    await server?.close();
    await t?.close();
  });

  describe('assertions', () => {
    it('fails every wrong expectation against the real API, naming the expected and the actual value', async () => {
      const wrong = collection('wrong-expectations', [
        {
          name: 'Create a customer',
          call: 'customers.create',
          args: [{ email: 'wrong-{{$unique}}@example.com', name: 'Ada' }],
          save: { customer: 'body.id' },
          expect: [
            { path: 'status', equals: 200 },
            { path: 'body.name', equals: 'Grace' },
            { path: 'headers.location', matches: '^/v2/' },
            { path: 'headers.idempotent-replayed', oneOf: ['true'] },
            { path: 'body.nickname', exists: true },
            { path: 'body.id', exists: false },
            { path: 'ratelimit.write.r', gt: 1_000_000 },
            { path: 'body.id', notEquals: '{{customer}}' },
          ],
        },
        {
          name: 'List one',
          call: 'customers.list',
          args: [{ limit: 1 }],
          expect: [
            { path: 'body.data[*].id', excludes: '{{customer}}' },
            { path: 'body.data[*].id', includes: 'cus_notthere' },
            { path: 'body.data', length: 5 },
            { path: 'body.has_more', lte: -1 },
          ],
        },
        {
          name: 'Read it three times',
          call: 'customers.retrieve',
          args: ['{{customer}}'],
          repeat: 3,
          concurrency: 3,
          expect: [
            { path: 'status', equals: 404 },
            { where: { path: 'status', equals: 429 }, count: { gte: 1 } },
            { some: { path: 'body.name', equals: 'Grace' } },
            { over: 'attempts', where: { path: 'retryCount', gte: 1 }, count: { gte: 1 } },
            { over: 'attempts', every: { path: 'latencyMs', lt: 0 } },
          ],
        },
        {
          name: 'Create two with one e-mail',
          call: 'customers.create',
          args: [{ email: 'same-{{$iteration}}@example.com' }],
          repeat: 2,
          concurrency: 1,
          expect: [{ distinct: 'body.email' }],
        },
      ]);

      const report = await run(wrong);

      const reasons = report.steps.flatMap((s) => s.assertions.map((a) => `${a.description} | ${a.reason}`));
      expect(report.totals.passedAssertions, reasons.join('\n')).to.equal(0);
      expect(report.totals.failedAssertions).to.equal(18);
      expect(report.steps.map((s) => s.passed)).to.deep.equal([false, false, false, false]);
      // Each reason says what was expected and what came.
      const customer = /cus_[A-Za-z0-9]+/.exec(reasons[5] ?? '')?.[0];
      expect(customer, reasons[5]).to.match(/^cus_/);
      const exact = [
        'status equals 200 | expected 200, got 201',
        'body.name equals "Grace" | expected "Grace", got "Ada"',
        `headers.location matches /^\\/v2\\// | expected a match of /^\\/v2\\//, got "/v1/customers/${customer}"`,
        'headers.idempotent-replayed is one of ["true"] | expected one of ["true"], got "false"',
        'body.nickname exists | expected a value, got nothing',
        `body.id is absent | expected nothing, got "${customer}"`,
        /^ratelimit\.write\.r > 1000000 \| expected > 1000000, got \d+$/,
        `body.id is not {{customer}} | expected anything but "${customer}", got it`,
        `body.data[*].id excludes {{customer}} | expected ["${customer}"] not to include "${customer}"`,
        `body.data[*].id includes "cus_notthere" | expected ["${customer}"] to include "cus_notthere"`,
        /^body\.data has length 5 \| expected length 5, got 1 \(\[\{"id":"cus_/,
        'body.has_more ≤ -1 | expected a number ≤ -1, got false',
        'status equals 404 | 3 of 3 responses fail; #1: expected 404, got 200',
        'responses where status equals 429: count ≥ 1 | expected ≥ 1, got 0 (0 of 3 responses selected; responses by status: 200 ×3)',
        'at least one of the responses: body.name equals "Grace" | none of 3 responses passes; the first: expected "Grace", got "Ada"',
        'attempts where retryCount ≥ 1: count ≥ 1 | expected ≥ 1, got 0 (0 of 3 attempts selected; attempts by status: 200 ×3)',
        /^every one of the attempts: latencyMs < 0 \| 3 of 3 attempts fail; #1: expected < 0, got \d/,
        /^responses: no two share body\.email \| expected 2 different values, but 1 values appear more than once, e\.g\. "same-0@example\.com" ×2/,
      ];
      expect(reasons).to.have.length(exact.length);
      exact.forEach((line, i) => (typeof line === 'string' ? expect(reasons[i]).to.equal(line) : expect(reasons[i]).to.match(line)));
    });

    it('passes what holds, so a failure is not the runner failing everything', async () => {
      const report = await run(
        collection('right-expectations', [
          {
            name: 'Create a customer',
            call: 'customers.create',
            args: [{ email: 'right-{{$unique}}@example.com', name: 'Ada' }],
            save: { customer: 'body.id' },
            expect: [
              { path: 'status', equals: 201 },
              { path: 'headers.location', equals: '/v1/customers/{{customer}}' },
              { path: 'body.metadata', equals: {} },
              { path: 'ratelimit.write.q', gte: 1 },
            ],
          },
        ]),
      );
      expect(report.steps[0]!.assertions.map((a) => a.passed)).to.deep.equal([true, true, true, true]);
      expect(report.steps[0]!.passed).to.equal(true);
    });
  });

  describe('steps that cannot run', () => {
    it('reports a missing template value as the step\'s error, sends nothing, and goes on', async () => {
      const events: RunEvent[] = [];
      const report = await run(
        collection('missing-value', [
          { name: 'Retrieve what was never saved', call: 'customers.retrieve', args: ['{{nobody}}'], expect: [{ path: 'status', equals: 200 }] },
          { name: 'An unknown method', call: 'customers.explode', args: [] },
          { name: 'Then list', call: 'customers.list', args: [{ limit: 1 }], expect: [{ path: 'status', equals: 200 }] },
        ]),
        { onEvent: (e) => events.push(e) },
      );

      const [missing, unknown, list] = report.steps as [StepResult, StepResult, StepResult];
      expect(missing.passed).to.equal(false);
      expect(missing.error).to.include('{{nobody}}').and.to.include('nothing named "nobody" was saved');
      expect(missing.attempts).to.deep.equal([]);
      expect(missing.assertions).to.deep.equal([]);
      expect([missing.method, missing.path], 'what it would have sent').to.deep.equal(['GET', '/v1/customers/{{nobody}}']);
      expect(unknown.error).to.equal('"customers.explode" is not an SDK method (e.g. customers.create, v2.payments.capture)');
      expect(list.passed).to.equal(true);
      expect(report.totals).to.include({ steps: 3, failedSteps: 2, requests: 1 });
      expect(events.map((e) => (e.type === 'step-start' ? `start ${e.index}` : `end ${e.result.index}`))).to.deep.equal(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    });

    it('starts every iteration with nothing saved', async () => {
      const report = await run(
        collection('fresh-iterations', [
          { name: 'Use what a later step saves', call: 'customers.retrieve', args: ['{{later}}'] },
          { name: 'Save it', call: 'customers.create', args: [{ email: 'iter-{{$unique}}@example.com' }], save: { later: 'body.id' } },
        ]),
        { iterations: 2 },
      );
      expect(report.steps.map((s) => `${s.iteration}:${s.index}:${s.passed}`)).to.deep.equal(['0:0:false', '0:1:true', '1:0:false', '1:1:true']);
    });

    it('records a request that got no answer as a network error', async () => {
      const report = await runCollection(collection('no-server', [{ name: 'List', call: 'customers.list', args: [{ limit: 1 }], expect: [{ path: 'status', equals: 200 }] }]), {
        baseURL: `http://127.0.0.1:${await closedPort()}`,
        apiKey: account.secret,
      });
      const [step] = report.steps as [StepResult];
      expect(step.status).to.equal(null);
      expect(step.error).to.match(/^Connection error/);
      expect(step.assertions[0]!.reason).to.match(/^expected 200, got null \(Connection error/);
      expect(report.statusCounts).to.deep.equal({ network: 1 });
    });
  });

  describe('checkConnection', () => {
    it('says ok for a key that may read', async () => {
      expect(await checkConnection({ baseURL: server.url, apiKey: account.secret })).to.deep.equal({ ok: true });
    });

    it('says unauthorized for a wrong key', async () => {
      const result = await checkConnection({ baseURL: server.url, apiKey: 'sk_wrong_0123456789' });
      expect(result).to.include({ ok: false, kind: 'unauthorized' });
      expect(result.ok === false && result.message).to.include('401 invalid_api_key');
    });

    it('says forbidden for a key without the read scope', async () => {
      const writeOnly = await t.createKey(account, ['write']);
      expect(await checkConnection({ baseURL: server.url, apiKey: writeOnly.secret })).to.include({ ok: false, kind: 'forbidden' });
    });

    it('says unreachable when nothing listens', async () => {
      const baseURL = `http://127.0.0.1:${await closedPort()}`;
      const result = await checkConnection({ baseURL, apiKey: account.secret });
      expect(result).to.include({ ok: false, kind: 'unreachable' });
      expect(result.ok === false && result.message).to.include(baseURL);
    });
  });

  describe('stopping a run', () => {
    it('ends the step in flight, runs no further step but the cleanup ones, and says it was stopped', async () => {
      const controller = new AbortController();
      const started = performance.now();
      const report = await run(
        collection('stopped', [
          { name: 'Create a key', call: 'apiKeys.create', args: [{ scopes: ['read'] }], save: { keyId: 'body.id' } },
          { name: 'Wait for what never comes', call: 'customers.list', args: [{ limit: 1 }], poll: { timeoutMs: 20_000, intervalMs: 100 }, expect: [{ path: 'status', equals: 299 }] },
          { name: 'Not run after the stop', call: 'customers.list', args: [{ limit: 1 }] },
          { name: 'Revoke the key', cleanup: true, call: 'apiKeys.revoke', args: ['{{keyId}}'], expect: [{ path: 'status', equals: 200 }] },
          { name: 'Nothing to clean up', cleanup: true, call: 'webhookEndpoints.delete', args: ['{{neverMade}}'] },
        ]),
        {
          iterations: 3,
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type === 'step-start' && e.index === 1) setTimeout(() => controller.abort(), 300);
          },
        },
      );

      expect(performance.now() - started).to.be.lessThan(10_000);
      expect(report.aborted).to.equal(true);
      expect(report.steps.map((s) => [s.name, s.passed, s.error ?? ''])).to.deep.equal([
        ['Create a key', true, ''],
        ['Wait for what never comes', false, 'stopped by the user'],
        ['Revoke the key', true, ''],
      ]);
      expect(report.steps[1]!.attempts.length, 'the requests the stopped step made are kept').to.be.greaterThan(0);
      expect(report.totals.requests).to.equal(report.steps.reduce((n, s) => n + s.attempts.length, 0));
      const keyId = report.steps[2]!.path.split('/').pop();
      const key = await t.db('api_keys').where({ id: keyId }).first();
      expect(key?.revoked_at, 'the key the stopped run made is revoked').to.not.equal(null);
    });
  });

  describe('building blocks', () => {
    it('gives every SDK method its request options in the place it takes them (after its other arguments)', async () => {
      const arrived: string[] = [];
      const client = createClient({
        baseURL: 'http://127.0.0.1:9',
        apiKey: 'sk_probe',
        fetch: async (url, init) => {
          if (new Headers(init.headers).get('x-probe') === 'options') arrived.push(new URL(url).pathname);
          throw new Error('not sent');
        },
      });
      const names = sdkCallNames();
      for (const name of names) {
        // As many ids as the method says it takes before its options (`Function.length`, what the runner relies on).
        const method = name.split('.').reduce<unknown>((on, key) => (on as Record<string, unknown>)[key], client) as (...args: unknown[]) => unknown;
        await callSdk(client, name, Array<string>(method.length - 1).fill('p1'), { headers: { 'X-Probe': 'options' } });
      }
      expect(arrived, 'one request per method, each carrying the options').to.have.length(names.length);
    });

    it('percentile: nearest rank, one of the values, 0 for none', () => {
      const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
      expect([50, 90, 95, 99, 100, 0].map((p) => percentile(values, p))).to.deep.equal([5, 9, 10, 10, 10, 1]);
      expect(percentile([], 50)).to.equal(0);
    });

    it('templates keep a lone value\'s type, write others as text, and compute whole-number sums', () => {
      const scope = { values: new Map<string, unknown>([['quota', 200], ['key', { secret: 'sk_1' }], ['ids', ['a', 'b']]]), iteration: 1, index: 7 };
      expect(resolve({ n: '{{quota + 40}}', s: 'q={{quota}}', k: '{{key.secret}}', i: '{{ids[1]}}', all: '{{ids}}', at: '{{$iteration}}-{{$index}}' }, scope)).to.deep.equal({
        n: 240,
        s: 'q=200',
        k: 'sk_1',
        i: 'b',
        all: ['a', 'b'],
        at: '1-7',
      });
      expect(resolve('{{$unique}}', scope)).to.match(/^[a-z0-9]{10,}$/).and.not.equal(resolve('{{$unique}}', scope));
      expect(() => resolve('{{key + 1}}', scope)).to.throw(TemplateError, 'not a number');
    });

    it('paths read headers, indexes and every item of an array', () => {
      const answer = { headers: { 'retry-after': '7' }, body: { data: [{ id: 'a', tags: ['x'] }, { id: 'b' }] } };
      expect(readPath(answer, 'headers.retry-after')).to.equal('7');
      expect(readPath(answer, 'body.data[1].id')).to.equal('b');
      expect(readPath(answer, 'body.data[*].id')).to.deep.equal(['a', 'b']);
      expect(readPath(answer, 'body.data[*].tags')).to.deep.equal([['x']]);
      expect(readPath(answer, 'body.missing.deeper')).to.equal(undefined);
      expect(() => readPath(answer, 'body..id')).to.throw('is not a path');
    });
  });
});
