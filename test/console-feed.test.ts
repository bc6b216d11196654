/**
 * The console: its feed says what `/metrics` says, to the request, after a scripted mix of real
 * traffic; it is guarded like `/metrics` and never cached; and the page and its assets are served
 * by this server alone, the assets for good under names that change with their content.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { components } from '../generated/schema.js';
import { createTestApp, METRICS_TOKEN, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';
import { specValidator } from './helpers/spec-schema.js';

type ConsoleFeed = components['schemas']['ConsoleFeed'];
type StatusCounts = components['schemas']['ConsoleStatusCounts'];

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Every sample of the exposition text, histogram buckets included. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

const of = (samples: readonly Sample[], name: string) => samples.filter((s) => s.name === name);
const sum = (samples: readonly Sample[]) => samples.reduce((n, s) => n + s.value, 0);
function sumBy(samples: readonly Sample[], label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) out[s.labels[label]!] = (out[s.labels[label]!] ?? 0) + s.value;
  return out;
}
const zeros = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, 0]));
const IDEMPOTENCY_OUTCOMES = ['created', 'replayed', 'in_flight', 'key_reused', 'resumed', 'recovered', 'expired', 'unkeyed'];
const PROCESSOR_CALL_OUTCOMES = ['succeeded', 'refused', 'unavailable', 'circuit_open', 'contract_error'];
const statusCounts = (samples: readonly Sample[]): StatusCounts => ({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, ...sumBy(samples, 'status_class') });

/**
 * What the feed should hold, read from `/metrics` text scraped right after it. `itself` is the
 * operation of the feed's own request, which the scrape has counted once and the feed not yet.
 */
function feedFromMetrics(text: string, itself: string): Omit<ConsoleFeed, 'instance' | 'at'> {
  const all = parse(text);
  const requests = of(all, 'remit_http_requests_total');
  const retried = of(all, 'remit_http_retried_requests_total');
  const buckets = of(all, 'remit_http_request_duration_seconds_bucket');
  const bounds = [...new Set(buckets.map((b) => b.labels.le!))].filter((le) => le !== '+Inf').map(Number);
  const answered = [...new Set(requests.map((s) => s.labels.operation!))].sort();
  const byStatus = statusCounts(requests);
  byStatus['2xx'] -= 1;
  const operation = (op: string) => ({
    operation: op,
    by_status_class: statusCounts(requests.filter((s) => s.labels.operation === op)),
    retried: sum(retried.filter((s) => s.labels.operation === op)),
    duration: {
      counts: bounds.map((le) => sum(buckets.filter((b) => b.labels.operation === op && Number(b.labels.le) === le))),
      count: sum(of(all, 'remit_http_request_duration_seconds_count').filter((s) => s.labels.operation === op)),
      sum: sum(of(all, 'remit_http_request_duration_seconds_sum').filter((s) => s.labels.operation === op)),
    },
  });
  const gauge = (name: string, label: string, value: string) => sum(of(all, name).filter((s) => s.labels[label] === value));
  return {
    requests: {
      by_status_class: byStatus,
      by_code: Object.fromEntries(Object.entries(sumBy(requests, 'code')).filter(([code]) => code !== '')),
      // The feed's own request is in flight as it is read; the scrape's, as it is rendered.
      in_flight: sum(of(all, 'remit_http_requests_in_flight')),
      retried: sum(retried),
      rate_limited: sumBy(of(all, 'remit_rate_limited_requests_total'), 'policy'),
    },
    duration_buckets: bounds,
    operations: answered.filter((op) => op !== itself).map(operation),
    // Every outcome the feed documents is there, 0 until it happens; /metrics has only those seen.
    idempotency: { ...zeros(IDEMPOTENCY_OUTCOMES), ...sumBy(of(all, 'remit_idempotency_outcomes_total'), 'outcome') },
    processor: {
      circuit: of(all, 'remit_processor_circuit_state').find((s) => s.value === 1)!.labels.state as ConsoleFeed['processor']['circuit'],
      calls: { ...zeros(PROCESSOR_CALL_OUTCOMES), ...sumBy(of(all, 'remit_processor_calls_total'), 'outcome') },
    },
    rate_limit: {
      insurance_mode: sum(of(all, 'remit_rate_limit_insurance_mode')) === 1,
      insurance_decisions: sum(of(all, 'remit_rate_limit_insurance_decisions_total')),
    },
    webhooks: {
      backlog: { fan_out: gauge('remit_webhook_backlog', 'stage', 'fan_out'), pending: gauge('remit_webhook_backlog', 'stage', 'pending'), due: gauge('remit_webhook_backlog', 'stage', 'due') },
      oldest_pending_age_seconds: sum(of(all, 'remit_webhook_oldest_pending_delivery_age_seconds')),
      endpoints: { enabled: gauge('remit_webhook_endpoints', 'state', 'enabled'), degraded: gauge('remit_webhook_endpoints', 'state', 'degraded'), disabled: gauge('remit_webhook_endpoints', 'state', 'disabled') },
    },
  };
}

describe('GET /console/feed', () => {
  describe('after a scripted mix of requests', () => {
    let t: TestApp;
    let account: TestAccount;
    let limited: TestAccount;
    let feed: ConsoleFeed;
    let feedHeaders: Record<string, string>;
    let metricsText: string;

    before(async () => {
      // Four reads per key per minute: the fifth read of a key is a 429 of the `read` policy.
      t = await createTestApp({ rateLimits: { policies: { read: { points: 4, windowS: 60 } }, redisUrl: null } });
      account = await t.createAccount();
      limited = await t.createAccount('Limited');
      const auth = { Authorization: `Bearer ${account.secret}` };
      const pay = (key: string, body: object, headers: Record<string, string> = {}) =>
        request(t.app).post('/v1/payments').set(auth).set('Idempotency-Key', key).set(headers).send(body);

      await request(t.app).get('/v1/customers').set(auth).expect(200);
      await request(t.app).post('/v1/customers').set(auth).send({ email: 'ada@example.com' }).expect(201);
      expectProblem(await request(t.app).get('/v1/customers/cus_doesnotexist0000').set(auth), 404, 'resource_not_found');
      expectProblem(await request(t.app).post('/v1/customers').set(auth).send({ email: 42 }), 400, 'validation_failed');
      const first = await pay('mix-1', { amount: 1_000, currency: 'EUR' }).expect(201);
      const replay = await pay('mix-1', { amount: 1_000, currency: 'EUR' }, { 'Remit-Retry-Count': '1' }).expect(201);
      expect(replay.headers['idempotent-replayed']).to.equal('true');
      expect(replay.body.id).to.equal(first.body.id);
      expectProblem(await pay('mix-1', { amount: 2_000, currency: 'EUR' }), 422, 'idempotency_key_reused');
      for (let i = 0; i < 4; i++) await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${limited.secret}`).expect(200);
      expectProblem(await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${limited.secret}`), 429, 'rate_limited');
      expectProblem(await request(t.app).get('/v1/nothing-here'), 404, 'route_not_found');
      await request(t.app).post('/v1/webhook_endpoints').set(auth).send({ url: 'https://hooks.example.com/remit', enabled_events: ['*'] }).expect(201);
      await t.services.webhookRelay.refreshGauges();

      const res = await request(t.app).get('/console/feed').expect(200);
      feed = res.body as ConsoleFeed;
      feedHeaders = res.headers as Record<string, string>;
      // Scraped next, with nothing in between: it has counted the feed's own request, and only that.
      metricsText = (await request(t.app).get('/metrics').expect(200)).text;
    });
    after(() => t.close());

    it('holds what /metrics holds for the same series', () => {
      const { instance: _instance, at: _at, ...numbers } = feed;
      expect(numbers).to.deep.equal(feedFromMetrics(metricsText, 'getConsoleFeed'));
    });

    it('counts the mix exactly', () => {
      expect(feed.requests.by_status_class['4xx']).to.equal(5);
      expect(feed.requests.by_status_class['5xx']).to.equal(0);
      expect(feed.requests.retried).to.equal(1);
      expect(feed.requests.rate_limited).to.deep.equal({ read: 1 });
      expect(feed.requests.in_flight).to.equal(1);
      expect(feed.idempotency).to.include({ created: 1, replayed: 1, key_reused: 1, in_flight: 0, resumed: 0, recovered: 0, expired: 0 });
      expect(feed.processor).to.deep.equal({ circuit: 'closed', calls: { succeeded: 1, refused: 0, unavailable: 0, circuit_open: 0, contract_error: 0 } });
      expect(feed.rate_limit).to.deep.equal({ insurance_mode: false, insurance_decisions: 0 });
      expect(feed.webhooks.endpoints).to.deep.equal({ enabled: 1, degraded: 0, disabled: 0 });
      // The payment's events, not yet turned into deliveries: the relay is not running.
      expect(feed.webhooks.backlog.fan_out).to.be.greaterThan(0);
      const createPayment = feed.operations.find((op) => op.operation === 'createPayment')!;
      expect(createPayment.by_status_class).to.deep.equal({ '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 0 });
      expect(createPayment.retried).to.equal(1);
      expect(createPayment.duration.count).to.equal(3);
    });

    it('lists only the operations that answered, each histogram cumulative over the same bounds', () => {
      const names = feed.operations.map((op) => op.operation);
      expect(names).to.include.members(['listCustomers', 'createCustomer', 'retrieveCustomer', 'createPayment', 'createAccount', 'createWebhookEndpoint', 'unmatched']);
      for (const silent of ['getConsoleFeed', 'capturePayment', 'listEvents']) expect(names).not.to.include(silent);
      expect(feed.duration_buckets).to.deep.equal([...feed.duration_buckets].sort((a, b) => a - b));
      expect(feed.duration_buckets).not.to.include(Number.POSITIVE_INFINITY);
      for (const op of feed.operations) {
        expect(op.duration.counts, op.operation).to.have.length(feed.duration_buckets.length);
        op.duration.counts.forEach((n, i) => expect(n, op.operation).to.be.at.least(i === 0 ? 0 : op.duration.counts[i - 1]!));
        expect(op.duration.counts.at(-1), op.operation).to.be.at.most(op.duration.count);
        expect(op.duration.count, op.operation).to.equal(Object.values(op.by_status_class).reduce((a, b) => a + b, 0));
      }
    });

    it('names this instance and when it started counting', () => {
      expect(feed.instance.scope).to.equal('instance');
      expect(feed.instance.id).to.match(/^.+:\d+$/);
      expect(feed.instance.id.endsWith(`:${process.pid}`)).to.equal(true);
      expect(feed.instance.started_at).to.equal(t.metrics!.startedAt.toISOString());
      expect(Date.parse(feed.at)).to.be.at.least(Date.parse(feed.instance.started_at));
      expect(Date.parse(feed.at)).to.be.at.most(Date.now());
    });

    it('matches the ConsoleFeed schema and is never cached', () => {
      const validate = specValidator('ConsoleFeed');
      expect(validate(feed), JSON.stringify(validate.errors)).to.equal(true);
      expect(feedHeaders['content-type']).to.match(/^application\/json/);
      expect(feedHeaders['cache-control']).to.equal('no-store');
    });

    it('is counted against the address\'s ops quota, like /metrics', () => {
      expect(feedHeaders['ratelimit-policy']).to.match(/^"ops";/);
    });

    it('keeps the JSON policy that lets it load nothing', () => {
      expect(feedHeaders['content-security-policy']).to.match(/^default-src 'none'/);
    });
  });

  it('needs the scraper token when METRICS_TOKEN is set, like /metrics', async () => {
    const t = await createTestApp({ metrics: { token: METRICS_TOKEN } });
    try {
      const missing = await request(t.app).get('/console/feed');
      expectProblem(missing, 401, 'authentication_required');
      expect(missing.headers['www-authenticate']).to.match(/^Bearer/);
      expectProblem(await request(t.app).get('/console/feed').set('Authorization', 'Bearer not-the-metrics-token-000000'), 401, 'invalid_api_key');
      const account = await t.createAccount();
      expectProblem(await request(t.app).get('/console/feed').set('Authorization', `Bearer ${account.secret}`), 401, 'invalid_api_key');
      const ok = await request(t.app).get('/console/feed').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
      expect(ok.headers['cache-control']).to.equal('no-store');
      expect((ok.body as ConsoleFeed).operations.find((op) => op.operation === 'getConsoleFeed')!.by_status_class['4xx']).to.equal(3);
    } finally {
      await t.close();
    }
  });

  it('answers 404 when metrics are off', async () => {
    const t = await createTestApp({ metrics: false });
    try {
      expectProblem(await request(t.app).get('/console/feed'), 404, 'resource_not_found');
    } finally {
      await t.close();
    }
  });

  it('sees a request of its own that is still running', async () => {
    const t = await createTestApp();
    try {
      const account = await t.createAccount();
      t.simulator.setFaults({ latencyMs: 500 });
      const slow = request(t.app).post('/v1/payments').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', randomUUID()).send({ amount: 100, currency: 'EUR' }).then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const during = (await request(t.app).get('/console/feed').expect(200)).body as ConsoleFeed;
      expect((await slow).status).to.equal(201);
      expect(during.requests.in_flight).to.equal(2);
    } finally {
      await t.close();
    }
  });
});

describe('GET /console', () => {
  let t: TestApp;
  let html: string;
  let script: string;
  before(async () => {
    t = await createTestApp();
    const res = await request(t.app).get('/console').expect(200);
    expect(res.headers['content-type']).to.match(/^text\/html/);
    html = res.text;
    script = /<script[^>]+src="([^"]+)"/.exec(html)![1]!;
  });
  after(() => t.close());

  it('loads nothing but its own files from this server', () => {
    const references = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!).filter((ref) => !ref.startsWith('data:'));
    expect(references).to.include(script);
    for (const ref of references) expect(ref).to.match(/^\/console\/assets\/[\w.-]+$/);
    expect(html).not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('is served under the page policy, which allows no inline script and no other origin', async () => {
    const csp = (await request(t.app).get('/console')).headers['content-security-policy'] as string;
    expect(csp).to.include("default-src 'self'");
    expect(csp).to.include("script-src 'self';");
    expect(csp).to.include("connect-src 'self'");
    expect(csp).not.to.match(/unsafe-inline|unsafe-eval|\*/);
  });

  it('is counted against the address\'s ops quota, page and files alike', async () => {
    expect((await request(t.app).get('/console')).headers['ratelimit-policy']).to.match(/^"ops";/);
    expect((await request(t.app).get(script)).headers['ratelimit-policy']).to.match(/^"ops";/);
  });

  it('serves the script its page names as JavaScript, cached for good', async () => {
    const res = await request(t.app).get(script).expect(200);
    expect(res.headers['content-type']).to.match(/^text\/javascript|^application\/javascript/);
    expect(res.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
    expect(res.text.length).to.be.greaterThan(0);
  });

  it('answers a missing asset with a 404 problem, not the page', async () => {
    const res = await request(t.app).get('/console/assets/nope.js');
    expectProblem(res, 404, 'route_not_found');
    expect(res.headers['ratelimit-policy']).to.match(/^"ops";/);
  });
});
