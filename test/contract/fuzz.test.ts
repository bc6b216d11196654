/**
 * Contract fuzzing: every operation in spec/openapi.yaml, read from the document (an operation
 * added to the spec is fuzzed without a change here), gets a batch of schema-valid requests and a
 * batch of invalid ones, sent to the real app on a real database.
 *
 * - Valid requests (json-schema-faker values varied by fast-check; ids of the seeded account half
 *   the time, another account's now and then) must get a status the operation documents, in its
 *   documented media type and headers, never a 5xx other than a 503 with Retry-After, and never a
 *   refusal of the request as sent: the server must not be stricter than its contract. The app
 *   validates every response body against the spec, so a body off-contract shows up as a 500.
 * - Invalid requests (fast-check mutations of valid ones that break exactly one thing) must get a
 *   documented 4xx `application/problem+json` with the code the spec gives that refusal, and change
 *   nothing: the database and the processor's ledger are compared before and after each batch.
 *   Another list's cursor is such a mutation; the other versions of a list (linked by the spec's
 *   `x-successor`) are views of the same list, whose cursors it takes.
 *
 * CONTRACT_FUZZ_RUNS sets the requests per batch (120 unless set; two batches per operation);
 * CONTRACT_FUZZ_SEED replays a run (the seed is printed). Each batch's seed derives from it and the
 * operationId, so a `--grep` on one operation makes the same choices as in the full run, though the
 * real ids it draws from depend on the batches that ran before it. At the end it prints a table per
 * operation: requests sent, answers by status class, and findings.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { Response } from 'supertest';
import { loadSpec } from '../../src/platform/spec.js';
import { createTestApp, METRICS_TOKEN, snapshot, type TestApp } from '../helpers/app.js';
import { contractProblems, type Expectation } from './fuzz/checks.js';
import { operationsOf, otherVersionsOf, type OperationSpec } from './fuzz/operations.js';
import { describeExchange, invalidRequest, send, validRequest, type FuzzRequest, type RequestContext } from './fuzz/requests.js';
import { buildWorld, type World } from './fuzz/world.js';

const DEFAULT_RUNS_PER_BATCH = 120;
const DEFAULT_SEED = 20_260_101;
const RUNS_PER_BATCH = Number(process.env.CONTRACT_FUZZ_RUNS ?? DEFAULT_RUNS_PER_BATCH);
const SEED = Number(process.env.CONTRACT_FUZZ_SEED ?? DEFAULT_SEED);
/** The body limit the spec declares: a larger schema-valid body may be refused with 413, nothing smaller. */
const BODY_LIMIT_BYTES = Number((loadSpec() as unknown as Record<string, unknown>)['x-request-body-max-bytes']);
/** Findings shown per distinct problem, and distinct problems shown per batch. */
const EXAMPLES_PER_PROBLEM = 1;
const PROBLEMS_SHOWN = 12;

if (!Number.isInteger(RUNS_PER_BATCH) || RUNS_PER_BATCH < 1) throw new Error(`CONTRACT_FUZZ_RUNS must be a positive integer, got ${process.env.CONTRACT_FUZZ_RUNS}`);
if (!Number.isSafeInteger(SEED)) throw new Error(`CONTRACT_FUZZ_SEED must be an integer, got ${process.env.CONTRACT_FUZZ_SEED}`);

/** FNV-1a over the run seed, the operation and the batch: independent, reproducible batch seeds. */
function batchSeed(operationId: string, expectation: Expectation): number {
  let hash = 0x811c9dc5;
  for (const c of `${SEED}:${operationId}:${expectation}`) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return hash | 0;
}

interface Finding {
  readonly problem: string;
  readonly exchange: string;
}

interface OperationStats {
  validSent: number;
  valid2xx: number;
  valid4xx: number;
  valid5xx: number;
  valid4xxCodes: Map<string, number>;
  invalidSent: number;
  invalidCodes: Map<string, number>;
  invalid4xx: number;
  invalid5xx: number;
  findings: number;
}

function describeFindings(findings: readonly Finding[]): string {
  const byProblem = new Map<string, Finding[]>();
  for (const f of findings) byProblem.set(f.problem, [...(byProblem.get(f.problem) ?? []), f]);
  const shown = [...byProblem].slice(0, PROBLEMS_SHOWN).map(([problem, list]) => {
    const examples = list.slice(0, EXAMPLES_PER_PROBLEM).map((f) => f.exchange.replace(/^/gm, '    '));
    return [`  ✗ ${problem} (${list.length}×), e.g.`, ...examples].join('\n');
  });
  const more = byProblem.size > PROBLEMS_SHOWN ? [`  … and ${byProblem.size - PROBLEMS_SHOWN} more distinct problems`] : [];
  return [`${findings.length} answers broke the contract (replay with CONTRACT_FUZZ_SEED=${SEED}):`, ...shown, ...more].join('\n');
}

const byCount = (counts: ReadonlyMap<string, number>) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');

describe('contract: fuzzing every operation of the spec', function () {
  const operations = operationsOf();
  const stats = new Map<string, OperationStats>(
    operations.map((op) => [op.operationId, { validSent: 0, valid2xx: 0, valid4xx: 0, valid5xx: 0, valid4xxCodes: new Map(), invalidSent: 0, invalidCodes: new Map(), invalid4xx: 0, invalid5xx: 0, findings: 0 }]),
  );
  let t: TestApp;
  let world: World;
  let sequence = 0;
  let keys = 0;

  before(async function () {
    this.timeout(60_000);
    console.log(`      contract fuzz: seed ${SEED} (CONTRACT_FUZZ_SEED), ${RUNS_PER_BATCH} valid + ${RUNS_PER_BATCH} invalid requests per operation (CONTRACT_FUZZ_RUNS)`);
    t = await createTestApp({ bodyLimitBytes: BODY_LIMIT_BYTES, metrics: { token: METRICS_TOKEN } });
    world = await buildWorld(t, operations);
  });

  after(async () => {
    const rows = operations.map((op) => {
      const s = stats.get(op.operationId)!;
      return {
        operation: op.operationId,
        'valid sent': s.validSent,
        '2xx': s.valid2xx,
        '4xx': s.valid4xx,
        'invalid sent': s.invalidSent,
        'all 4xx': s.invalid4xx,
        '5xx': s.valid5xx + s.invalid5xx,
        findings: s.findings,
        'valid 4xx by code': byCount(s.valid4xxCodes),
      };
    });
    const invalidCodes = new Map<string, number>();
    for (const s of stats.values()) for (const [code, n] of s.invalidCodes) invalidCodes.set(code, (invalidCodes.get(code) ?? 0) + n);
    console.log(`\n      contract fuzz on ${t?.storage ?? 'no storage'}, seed ${SEED}:`);
    console.table(rows);
    console.log(`      invalid requests answered with: ${byCount(invalidCodes)}`);
    await t?.close();
  });

  function context(op: OperationSpec, expectation: Expectation): RequestContext {
    const n = ++sequence;
    return {
      ids: world.pools,
      credentials: world.credentials,
      freshIdempotencyKey: () => `fuzz-${SEED}-${++keys}`,
      requestId: `fuzz.${op.operationId}.${expectation}.${n}`,
      cursors: world.cursors,
      otherVersions: otherVersionsOf(op, operations),
      bodyLimitBytes: BODY_LIMIT_BYTES,
    };
  }

  /** Sends one request, checks the answer, counts it, and keeps the pools of real ids current. */
  async function exchange(op: OperationSpec, req: FuzzRequest, expectation: Expectation, findings: Finding[]): Promise<Response> {
    const res = await send(t.app, op, req);
    const s = stats.get(op.operationId)!;
    const family = Math.floor(res.status / 100);
    const code = String((res.body as { code?: unknown } | undefined)?.code ?? res.status);
    const count = (counts: Map<string, number>) => counts.set(code, (counts.get(code) ?? 0) + 1);
    if (expectation === 'valid') {
      s.validSent++;
      if (family === 2) s.valid2xx++;
      if (family === 4) {
        s.valid4xx++;
        count(s.valid4xxCodes);
      }
      if (family === 5) s.valid5xx++;
    } else {
      s.invalidSent++;
      if (family === 4) s.invalid4xx++;
      if (family === 5) s.invalid5xx++;
      count(s.invalidCodes);
    }
    const answersForAccount = op.security?.scheme === world.accountScheme;
    const problems = contractProblems(op, req, res, { expectation, bodyLimitBytes: BODY_LIMIT_BYTES, foreignIds: world.pools.foreignIds, answersForAccount });
    for (const problem of problems) findings.push({ problem, exchange: `${req.mutation ? `(mutation: ${req.mutation.label})\n` : ''}${describeExchange(op, req, res)}` });
    s.findings += problems.length;
    if (family === 2 && op.security) {
      // What another account's key or the admin API creates belongs to someone else.
      world.pools.learn(res.body, answersForAccount ? 'own' : 'foreign');
      const body = res.body as { id?: unknown; deleted?: unknown };
      if (body.deleted === true && typeof body.id === 'string') world.pools.forget(body.id);
    }
    return res;
  }

  async function runBatch(op: OperationSpec, expectation: Expectation): Promise<Finding[]> {
    const findings: Finding[] = [];
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const ctx = context(op, expectation);
        const valid = validRequest(op, g, ctx);
        await exchange(op, expectation === 'valid' ? valid : invalidRequest(op, valid, g, ctx), expectation, findings);
      }),
      { seed: batchSeed(op.operationId, expectation), numRuns: RUNS_PER_BATCH, endOnFailure: true },
    );
    return findings;
  }

  it('finds operations in the spec, each with a unique operationId', () => {
    expect(operations.length).to.be.greaterThan(0);
    expect(new Set(operations.map((op) => op.operationId)).size).to.equal(operations.length);
  });

  for (const op of operations) {
    describe(`${op.operationId} (${op.method.toUpperCase()} ${op.path})`, () => {
      it(`answers ${RUNS_PER_BATCH} schema-valid requests as documented, with no 5xx but a 503 with Retry-After`, async function () {
        this.timeout(Math.max(30_000, RUNS_PER_BATCH * 500));
        const findings = await runBatch(op, 'valid');
        if (findings.length > 0) expect.fail(describeFindings(findings));
      });

      it(`refuses ${RUNS_PER_BATCH} invalid requests with a documented 4xx problem and changes nothing`, async function () {
        this.timeout(Math.max(30_000, RUNS_PER_BATCH * 500));
        const before = await snapshot(t.db);
        const processorOperations = t.simulator.ledger().operations.length;
        const findings = await runBatch(op, 'invalid');
        const after = await snapshot(t.db);
        const changed = Object.keys(before).filter((table) => JSON.stringify(before[table]) !== JSON.stringify(after[table]));
        if (changed.length > 0) findings.push({ problem: `rows changed by invalid requests in: ${changed.join(', ')}`, exchange: describeTableChanges(before, after, changed) });
        const processorDelta = t.simulator.ledger().operations.length - processorOperations;
        if (processorDelta !== 0) findings.push({ problem: `${processorDelta} operations reached the processor for invalid requests`, exchange: '' });
        if (findings.length > 0) expect.fail(describeFindings(findings));
        expect(after).to.deep.equal(before);
      });
    });
  }
});

/** The rows added, removed or changed in each table, by id, for a finding's report. */
function describeTableChanges(before: Record<string, unknown[]>, after: Record<string, unknown[]>, tables: string[]): string {
  const keyed = (rows: unknown[] = []) => new Map(rows.map((r) => [String((r as { id?: unknown }).id), JSON.stringify(r)]));
  return tables
    .map((table) => {
      const b = keyed(before[table]);
      const a = keyed(after[table]);
      const added = [...a.keys()].filter((id) => !b.has(id));
      const removed = [...b.keys()].filter((id) => !a.has(id));
      const changed = [...a.keys()].filter((id) => b.has(id) && b.get(id) !== a.get(id));
      const sample = [...added, ...changed].slice(0, 3).map((id) => `      ${a.get(id)!.slice(0, 400)}`);
      return [`${table}: ${added.length} added, ${removed.length} removed, ${changed.length} changed`, ...sample].join('\n');
    })
    .join('\n');
}
