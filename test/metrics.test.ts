/**
 * `/metrics`: what a scripted mix of requests adds to each series, exactly; that Prometheus's own
 * checker accepts the output; how the endpoint is protected; and the gauges read at scrape time.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { FaultPoint } from '../generated/processor/processor_pb.js';
import { createTestApp, METRICS_TOKEN, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

/** Every sample of the exposition text, by series (`name{labels}`), histogram buckets left out. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.includes('_bucket{')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The series of the `remit_*` counters (and histogram counts) whose value moved between two scrapes. */
function deltas(before: Map<string, number>, after: Map<string, number>, prefixes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of after) {
    if (!prefixes.some((p) => series.startsWith(p))) continue;
    const moved = value - (before.get(series) ?? 0);
    if (moved !== 0) out[series] = moved;
  }
  return out;
}

async function scrape(t: TestApp): Promise<Map<string, number>> {
  const res = await request(t.app).get('/metrics').expect(200);
  return samples(res.text);
}

const COUNTERS = [
  'remit_http_requests_total',
  'remit_http_retried_requests_total',
  'remit_rate_limited_requests_total',
  'remit_idempotency_outcomes_total',
  'remit_processor_calls_total',
  'remit_processor_attempts_total',
  'remit_http_request_duration_seconds_count',
  'remit_processor_call_duration_seconds_count',
];

const http = (operation: string, method: string, statusClass: string, code = '') =>
  `remit_http_requests_total{operation="${operation}",method="${method}",status_class="${statusClass}",code="${code}"}`;
const duration = (operation: string) => `remit_http_request_duration_seconds_count{operation="${operation}"}`;

describe('metrics', () => {
  describe('a scripted mix of requests', () => {
    let t: TestApp;
    let account: TestAccount;
    let limited: TestAccount;
    before(async () => {
      // Four reads per key per minute: the fifth read of a key is a 429 of the `read` policy.
      t = await createTestApp({ rateLimits: { policies: { read: { points: 4, windowS: 60 } }, redisUrl: null } });
      account = await t.createAccount();
      limited = await t.createAccount('Limited');
    });
    after(() => t.close());

    it('moves exactly the series it should, by exactly as much', async () => {
      const auth = { Authorization: `Bearer ${account.secret}` };
      const pay = (key: string, body: object, headers: Record<string, string> = {}) =>
        request(t.app).post('/v1/payments').set(auth).set('Idempotency-Key', key).set(headers).send(body);
      const before = await scrape(t);

      // 2xx and 4xx reads.
      await request(t.app).get('/v1/customers').set(auth).expect(200);
      expectProblem(await request(t.app).get('/v1/customers/cus_doesnotexist0000').set(auth), 404, 'resource_not_found');
      // A payment, its retry replayed, and the key reused for another body.
      const first = await pay('mix-1', { amount: 1_000, currency: 'EUR' }).expect(201);
      const replay = await pay('mix-1', { amount: 1_000, currency: 'EUR' }, { 'Remit-Retry-Count': '1' }).expect(201);
      expect(replay.headers['idempotent-replayed']).to.equal('true');
      expect(replay.body.id).to.equal(first.body.id);
      expectProblem(await pay('mix-1', { amount: 2_000, currency: 'EUR' }, { 'Remit-Retry-Count': '2' }), 422, 'idempotency_key_reused');
      // A key still running: the second request with it is a 409 while the processor takes its time.
      t.simulator.setFaults({ latencyMs: 700 });
      const slow = pay('mix-2', { amount: 3_000, currency: 'EUR' });
      const slowDone = slow.then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expectProblem(await pay('mix-2', { amount: 3_000, currency: 'EUR' }, { 'Remit-Retry-Count': '1' }), 409, 'idempotency_in_flight');
      expect((await slowDone).status).to.equal(201);
      // The processor failing every attempt: three attempts (two retries), then a 503.
      t.simulator.setFaults({ latencyMs: 0, errorRate: 1, faultPoint: FaultPoint.BEFORE });
      expectProblem(await pay('mix-3', { amount: 4_000, currency: 'EUR' }), 503, 'processor_unavailable');
      t.simulator.setFaults({ errorRate: 0 });
      // The other account's reads until its read quota refuses one.
      for (let i = 0; i < 4; i++) await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${limited.secret}`).expect(200);
      expectProblem(await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${limited.secret}`), 429, 'rate_limited');
      // A path the spec does not have, and the HEAD of a read.
      expectProblem(await request(t.app).get('/v1/nothing-here'), 404, 'route_not_found');
      await request(t.app).head('/health').expect(200);

      const after = await scrape(t);
      const expected: Record<string, number> = {
        // The scrape before the mix is counted once it has been answered.
        [http('getMetrics', 'GET', '2xx')]: 1,
        [duration('getMetrics')]: 1,
        [http('listCustomers', 'GET', '2xx')]: 5,
        [http('listCustomers', 'GET', '4xx', 'rate_limited')]: 1,
        [duration('listCustomers')]: 6,
        [http('retrieveCustomer', 'GET', '4xx', 'resource_not_found')]: 1,
        [duration('retrieveCustomer')]: 1,
        [http('createPayment', 'POST', '2xx')]: 3,
        [http('createPayment', 'POST', '4xx', 'idempotency_key_reused')]: 1,
        [http('createPayment', 'POST', '4xx', 'idempotency_in_flight')]: 1,
        [http('createPayment', 'POST', '5xx', 'processor_unavailable')]: 1,
        [duration('createPayment')]: 6,
        [http('unmatched', 'GET', '4xx', 'route_not_found')]: 1,
        [duration('unmatched')]: 1,
        [http('getHealth', 'HEAD', '2xx')]: 1,
        [duration('getHealth')]: 1,
        // Three requests said they were retries: the replay, the reused key and the in-flight one.
        'remit_http_retried_requests_total{operation="createPayment"}': 3,
        'remit_rate_limited_requests_total{policy="read"}': 1,
        'remit_idempotency_outcomes_total{operation="createPayment",outcome="created"}': 3,
        'remit_idempotency_outcomes_total{operation="createPayment",outcome="replayed"}': 1,
        'remit_idempotency_outcomes_total{operation="createPayment",outcome="key_reused"}': 1,
        'remit_idempotency_outcomes_total{operation="createPayment",outcome="in_flight"}': 1,
        'remit_processor_calls_total{call="charge",outcome="succeeded"}': 2,
        'remit_processor_calls_total{call="charge",outcome="unavailable"}': 1,
        'remit_processor_call_duration_seconds_count{call="charge"}': 3,
        'remit_processor_attempts_total{call="charge",attempt="1",outcome="ok"}': 2,
        // The simulator's error faults alternate UNAVAILABLE and INTERNAL, UNAVAILABLE first.
        'remit_processor_attempts_total{call="charge",attempt="1",outcome="unavailable"}': 1,
        'remit_processor_attempts_total{call="charge",attempt="2",outcome="internal"}': 1,
        'remit_processor_attempts_total{call="charge",attempt="3",outcome="unavailable"}': 1,
      };
      expect(deltas(before, after, COUNTERS)).to.deep.equal(expected);
      // Nothing is left in flight but the scrape being answered.
      expect(after.get('remit_http_requests_in_flight')).to.equal(1);
    });

    it('is accepted by promtool check metrics', function () {
      return request(t.app)
        .get('/metrics')
        .expect(200)
        .then((res) => {
          expect(res.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
          // promtool exits non-zero on a format error; lint findings (e.g. naming) are printed and fail too.
          const out = execFileSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
          expect(out.trim()).to.equal('');
        });
    });

    it('labels nothing with an id, a key or a path', async () => {
      const res = await request(t.app).get('/metrics').expect(200);
      const values = [...samples(res.text).keys()].flatMap((series) => [...series.matchAll(/="([^"]*)"/g)].map((m) => m[1]!));
      expect(values.length).to.be.greaterThan(50);
      // Ids are a prefix and 22 base62 characters; the mix's keys begin `mix-`.
      const offending = values.filter((v) => /^(acct|key|cus|pay|re|evt|req)_[A-Za-z0-9]{16,}$|\/|^mix-/.test(v));
      expect(offending).to.deep.equal([]);
      // Operations are operationIds (or `unmatched`, `static`): identifiers, never paths.
      const operations = new Set([...samples(res.text).keys()].flatMap((series) => [...series.matchAll(/operation="([^"]*)"/g)].map((m) => m[1]!)));
      for (const op of operations) expect(op).to.match(/^[a-z][A-Za-z0-9]*$/);
    });
  });

  it('are listed in docs/observability.md, exactly', async () => {
    const t = await createTestApp();
    try {
      const text = await t.metrics!.render();
      const declared = [...text.matchAll(/^# TYPE (remit_\w+) /gm)].map((m) => m[1]!).sort();
      const doc = readFileSync(path.join(import.meta.dirname, '../docs/observability.md'), 'utf8');
      const section = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('## Logs'));
      const documented = [...section.matchAll(/^\| `(remit_\w+)` \|/gm)].map((m) => m[1]!).sort();
      expect(declared.length).to.be.greaterThan(10);
      expect(documented).to.deep.equal(declared);
    } finally {
      await t.close();
    }
  });

  describe('GET /metrics protection', () => {
    it('is open without METRICS_TOKEN', async () => {
      const t = await createTestApp();
      try {
        await request(t.app).get('/metrics').expect(200);
      } finally {
        await t.close();
      }
    });

    it('needs the scraper token when METRICS_TOKEN is set, and counts failures like any other', async () => {
      const token = METRICS_TOKEN;
      const t = await createTestApp({ metrics: { token } });
      try {
        const missing = await request(t.app).get('/metrics');
        expectProblem(missing, 401, 'authentication_required');
        expect(missing.headers['www-authenticate']).to.match(/^Bearer/);
        // Counted as a failed authentication, against the address's `auth` budget.
        expect(missing.headers['ratelimit-policy']).to.match(/^"auth";/);
        expectProblem(await request(t.app).get('/metrics').set('Authorization', 'Bearer not-the-metrics-token-000000'), 401, 'invalid_api_key');
        // Neither an API key nor the admin token opens it.
        const account = await t.createAccount();
        expectProblem(await request(t.app).get('/metrics').set('Authorization', `Bearer ${account.secret}`), 401, 'invalid_api_key');
        const ok = await request(t.app).get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
        expect(samples(ok.text).get(http('getMetrics', 'GET', '4xx', 'invalid_api_key'))).to.equal(2);
        expect(samples(ok.text).get(http('getMetrics', 'GET', '4xx', 'authentication_required'))).to.equal(1);
      } finally {
        await t.close();
      }
    });

    it('answers 404 when metrics are off, and nothing is counted', async () => {
      const t = await createTestApp({ metrics: false });
      try {
        expect(t.metrics).to.equal(undefined);
        expectProblem(await request(t.app).get('/metrics'), 404, 'resource_not_found');
      } finally {
        await t.close();
      }
    });
  });

  describe('read at scrape time', () => {
    it('shows the processor circuit open once the processor keeps failing, and closed again after', async () => {
      const t = await createTestApp({ processor: { breakerThreshold: 2, maxRetries: 0, breakerHalfOpenMs: 300 } });
      try {
        const account = await t.createAccount();
        const state = async () => {
          const all = await scrape(t);
          return ['closed', 'half_open', 'open'].filter((s) => all.get(`remit_processor_circuit_state{state="${s}"}`) === 1);
        };
        expect(await state()).to.deep.equal(['closed']);
        t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
        for (let i = 0; i < 3; i++) {
          await request(t.app).post('/v1/payments').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', randomUUID()).send({ amount: 100, currency: 'EUR' });
        }
        expect(await state()).to.deep.equal(['open']);
        const calls = await scrape(t);
        expect(calls.get('remit_processor_calls_total{call="charge",outcome="circuit_open"}')).to.equal(1);
        t.simulator.setFaults({ errorRate: 0 });
        await new Promise((resolve) => setTimeout(resolve, 400));
        await request(t.app).post('/v1/payments').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', randomUUID()).send({ amount: 100, currency: 'EUR' }).expect(201);
        expect(await state()).to.deep.equal(['closed']);
      } finally {
        await t.close();
      }
    });

    it('shows the database pool', async () => {
      const t = await createTestApp();
      try {
        const all = await scrape(t);
        const used = all.get('remit_db_pool_connections{state="used"}');
        const free = all.get('remit_db_pool_connections{state="free"}');
        expect(used).to.be.a('number');
        expect(free).to.be.a('number');
        expect(used! + free!).to.be.greaterThan(0);
        expect(all.get('remit_db_pool_pending_acquires')).to.equal(0);
      } finally {
        await t.close();
      }
    });

    it('includes the process metrics, event-loop lag among them', async () => {
      const t = await createTestApp();
      try {
        const all = await scrape(t);
        for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
          expect(all.has(name), name).to.equal(true);
        }
      } finally {
        await t.close();
      }
    });
  });
});
