/**
 * The console's collections, run by its engine against a real API as a browser session would run
 * them: one after another, with one key of the demo key's scopes, under the default quotas (so a
 * collection that spends a quota must leave it usable for the next). Every assertion of every
 * collection must pass.
 *
 * Also checked without a server: every collection file is valid against collection.schema.json,
 * listed in the index, names SDK methods that exist, and uses only values saved before it.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { collections } from '../../console/collections/index.js';
import { runCollection, type Collection, type RunReport, type Step } from '../../console/src/runner/engine.js';
import { sdkCallNames } from '../../console/src/runner/sdk-call.js';
import { loadConfig } from '../../src/platform/config.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { listen, type Listening } from '../helpers/http-server.js';
import { failuresOf } from './failures.js';

const COLLECTIONS_DIR = path.join(import.meta.dirname, '../../console/collections');
/** The quotas `npm start` enforces when no RATE_LIMIT_* variable is set. */
const DEFAULT_POLICIES = loadConfig({ NODE_ENV: 'test' }, false).rateLimits.policies;

function expectClean(report: RunReport, collection: Collection, iterations: number): void {
  expect(failuresOf(report), `failures:\n  ${failuresOf(report).join('\n  ')}\n`).to.deep.equal([]);
  expect(report.aborted, 'aborted').to.equal(undefined);
  expect(report.totals.steps).to.equal(collection.steps.length * iterations);
  expect(report.totals.failedSteps).to.equal(0);
  expect(report.totals.assertions).to.be.greaterThan(0);
  expect(Object.values(report.statusCounts).reduce((a, b) => a + b, 0)).to.equal(report.totals.requests);
  expect(report.latencies).to.have.length(report.totals.requests);
}

describe('console collections', () => {
  describe('as data', () => {
    const files = readdirSync(COLLECTIONS_DIR).filter((f) => f.endsWith('.json') && f !== 'collection.schema.json');
    // Strict, but a `required` in a oneOf branch may name a property its parent defines.
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(COLLECTIONS_DIR, 'collection.schema.json'), 'utf8')));

    it('lists every collection file in the index, once, named after its id', () => {
      expect(collections.map((c) => `${c.id}.json`).sort()).to.deep.equal([...files].sort());
      expect(new Set(collections.map((c) => c.id)).size).to.equal(collections.length);
    });

    for (const file of files) {
      it(`${file} is valid against collection.schema.json`, () => {
        const valid = validate(JSON.parse(readFileSync(path.join(COLLECTIONS_DIR, file), 'utf8')));
        expect(valid, ajv.errorsText(validate.errors, { separator: '\n' })).to.equal(true);
      });
    }

    it('counts in README.md the steps each collection has', () => {
      const rows = [...readFileSync(path.join(COLLECTIONS_DIR, 'README.md'), 'utf8').matchAll(/^\| `([a-z-]+)` \| (\d+) \|/gm)];
      expect(rows.map(([, id, steps]) => `${id}: ${steps}`)).to.deep.equal(collections.map((c) => `${c.id}: ${c.steps.length}`));
    });

    it('names only SDK methods that exist', () => {
      const known = new Set(sdkCallNames());
      expect(known).to.include('v2.payments.create').and.to.include('webhookEndpoints.rotateSecret');
      const unknown = collections.flatMap((c) => c.steps.flatMap((s) => ('call' in s && !known.has(s.call) ? [`${c.id}: ${s.call}`] : [])));
      expect(unknown).to.deep.equal([]);
    });

    it('uses in each step only values its collection declares or earlier steps save', () => {
      const problems = collections.flatMap((c) => {
        const known = new Set(Object.keys(c.variables ?? {}));
        return c.steps.flatMap((step) => {
          const saves = 'wait' in step ? {} : (step.save ?? {});
          // A step may name what it saves itself (its assertions are judged after saving).
          const visible = new Set([...known, ...Object.keys(saves)]);
          const missing = templateNames(step).filter((name) => !visible.has(name));
          for (const name of Object.keys(saves)) known.add(name);
          return missing.map((name) => `${c.id} "${step.name}": {{${name}}}`);
        });
      });
      expect(problems).to.deep.equal([]);
    });
  });

  describe('run against the API with the default quotas, write windows doubled', function () {
    // The storm and the rate-limit burst expect their quota and 40 more writes, sent at once, to
    // meet one window: on a loaded machine the API in this process took more than the default 10 s
    // to answer them all, a window ended inside the burst, and every write was accepted. The same
    // quotas over 20 s keep the burst in one window; the storm then waits out at most 20 s.
    this.timeout(90_000);
    let t: TestApp;
    let server: Listening;
    let apiKey: string;

    before(async () => {
      // Webhook hosts resolve to 127.0.0.1 (the test app's setting): the webhooks collection's
      // endpoint is accepted, and its deliveries fail on this machine without reaching example.com.
      const doubled = (quota: { points: number; windowS: number }) => ({ points: quota.points, windowS: quota.windowS * 2 });
      t = await createTestApp({ rateLimits: { policies: { ...DEFAULT_POLICIES, write: doubled(DEFAULT_POLICIES.write), account_write: doubled(DEFAULT_POLICIES.account_write) } } });
      // Events reach endpoints through the relay, which `npm start` runs.
      t.services.webhookRelay.start();
      server = await listen(t.app);
      apiKey = (await t.createAccount('Console demo')).secret;
    });
    after(async () => {
      await server?.close();
      await t?.close();
    });

    for (const collection of collections) {
      it(`passes ${collection.id} (${collection.steps.length} steps)`, async () => {
        const report = await runCollection(collection, { baseURL: server.url, apiKey, fetch: globalThis.fetch });
        expectClean(report, collection, 1);
      });
    }

    it('passes payments-and-idempotency twice in one run (iterations: 2)', async () => {
      const collection = collections.find((c) => c.id === 'payments-and-idempotency')!;
      const report = await runCollection(collection, { baseURL: server.url, apiKey, iterations: 2 });
      expectClean(report, collection, 2);
      const payments = report.steps.filter((s) => s.name.startsWith('Authorize')).map((s) => s.attempts[0]?.status);
      expect(payments).to.deep.equal([201, 201]);
    });
  });
});

/** The saved names a step's templates use ({{customer}}, {{key.secret}}, {{writeQuota + 40}}), not the runner's $ values. */
function templateNames(step: Step): string[] {
  const names = [...JSON.stringify(step).matchAll(/\{\{\s*([A-Za-z_]\w*)/g)].map((m) => m[1]!);
  return [...new Set(names)];
}
