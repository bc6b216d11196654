/**
 * The retry-storm alert, end to end: a real Prometheus scraping two real API processes, evaluating
 * the repository's ops/prometheus/rules/remit.yml, while clients first behave and then storm.
 *
 * Started here, all on 127.0.0.1, and stopped in `after` whatever happens: the processor simulator
 * (a process of its own), two API processes (`src/main.ts`, with a METRICS_TOKEN: on DATABASE_URL
 * in one schema of the run's own when it is set, otherwise each on an embedded database of its own;
 * quotas in REDIS_URL when it is set), and `prometheus` from PATH on a free port, with a
 * configuration and a data directory of the test's own in a temporary directory: both instances
 * scraped every second with the bearer token read from a file, rules evaluated every second.
 *
 * 1. Calm: 20 s of 5 requests per second (payments and reads, `Remit-Retry-Count: 0`, all
 *    answered 2xx). Both targets are up, the traffic is above the alert's floor, the retry ratio is
 *    0, the request counters Prometheus holds equal what was sent to each instance, and
 *    RemitRetryStorm is neither pending nor firing at any time.
 * 2. Storm: the simulator fails every call (`SimulatorControlService.UpdateFaults`), so payments
 *    are answered 503; 12 clients retry each payment with its key, sending `Remit-Retry-Count: n`
 *    on attempt n, 150 ms apart. RemitRetryStorm must be firing within 60 s of the storm's start;
 *    the time it took is printed. The retries Prometheus counted are the retries the API answered.
 * 3. The dashboard: the expressions of its main panels (requests, errors, retries, latency, the
 *    processor, the event loop, scrape health) return data from these instances.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SIMULATOR_BANNER, startProcess, type ProjectProcess } from '../../scripts/harness/process.js';
import { createRunStorage, type RunStorage } from '../../scripts/harness/storage.js';
import { ADMIN_TOKEN } from '../helpers/app.js';
import { sleep, spawnApi, type ApiProcess } from '../helpers/api-process.js';
import { requireOnPath, ROOT, startPrometheus, writeScrapeConfig, type PrometheusAlert, type PrometheusServer } from './prometheus.js';

const METRICS_TOKEN = 'e2e-metrics-token-0123456789abcdef';
const CONTROL_TOKEN = 'e2e-processor-control-token-0123456789';
const DASHBOARD_FILE = path.join(ROOT, 'ops/grafana/dashboards/remit.json');
const ALERT = 'RemitRetryStorm';

const CALM_MS = 20_000;
/** One request every 200 ms, alternating between the instances: 5 per second. */
const CALM_EVERY_MS = 200;
const STORM_CLIENTS = 12;
/** Attempts per payment in the storm: the first and 4 retries. */
const STORM_ATTEMPTS = 5;
const STORM_PAUSE_MS = 150;
/** What the alert is promised to take, at most. */
const FIRE_WITHIN_MS = 60_000;
/** An API process starts in a few seconds; a machine busy with other work can take much longer. */
const API_START_TIMEOUT_MS = 90_000;

interface Answer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

async function send(url: string, init: { method?: string; secret: string; retryCount: number; key?: string; body?: unknown }): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${init.secret}`, 'remit-retry-count': String(init.retryCount) };
  if (init.key) headers['idempotency-key'] = init.key;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

const tally = (counts: Record<string, number>, key: string | number) => (counts[key] = (counts[key] ?? 0) + 1);

/** The value of a one-sample instant vector, or undefined when it has no sample. */
function scalar(samples: { value: [number, string] }[]): number | undefined {
  if (samples.length === 0) return undefined;
  expect(samples, 'one sample').to.have.length(1);
  return Number(samples[0]!.value[1]);
}

describe('Prometheus end to end: RemitRetryStorm on two API processes', function () {
  this.timeout(150_000);

  let scratch: string | undefined;
  let simulator: ProjectProcess | undefined;
  const storages: RunStorage[] = [];
  const apis: ApiProcess[] = [];
  let prometheus: PrometheusServer | undefined;
  const secrets: string[] = [];

  /** What a failed assertion should show: Prometheus's log and the processes that died. */
  const context = () =>
    [
      prometheus ? `prometheus output:\n${prometheus.output().slice(-4_000)}` : '',
      ...apis.map((a, i) => (a.diedEarly() ? `API process ${i + 1} died (${a.diedEarly()}):\n${a.output().slice(-4_000)}` : '')),
    ]
      .filter(Boolean)
      .join('\n');

  const stormAlerts = async (): Promise<PrometheusAlert[]> => (await prometheus!.alerts()).filter((a) => a.labels.alertname === ALERT);

  before(async function () {
    this.timeout(240_000);
    requireOnPath('prometheus');
    scratch = await mkdtemp(path.join(os.tmpdir(), 'remit-prometheus-e2e-'));

    const base = { PATH: process.env.PATH ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) };
    simulator = await startProcess({
      name: 'processor simulator',
      script: 'src/processor/simulator/main.ts',
      env: { ...base, PROCESSOR_HOST: '127.0.0.1', PROCESSOR_PORT: '0', PROCESSOR_CONTROL_TOKEN: CONTROL_TOKEN, LOG_LEVEL: 'silent' },
      banner: SIMULATOR_BANNER,
    });

    // On PostgreSQL both processes share one schema (the first migrates it, then the second
    // starts); on PGlite, which one process opens at a time, each has a directory of its own.
    const url = process.env.DATABASE_URL;
    storages.push(await createRunStorage(url ? 'test_e2e' : 'remit-e2e', url));
    if (!url) storages.push(await createRunStorage('remit-e2e', undefined));
    const env = {
      PROCESSOR_URL: simulator.url,
      METRICS_TOKEN,
      // Quotas are not under test: the storm must reach the processor, not a 429.
      RATE_LIMIT_READ: '1000000/10s',
      RATE_LIMIT_WRITE: '1000000/10s',
      RATE_LIMIT_ACCOUNT_READ: '1000000/10s',
      RATE_LIMIT_ACCOUNT_WRITE: '1000000/10s',
      RATE_LIMIT_OPS: '1000000/1m',
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, RATE_LIMIT_INSTANCES: '2' } : {}),
    };
    const t0 = Date.now();
    if (url) {
      // One after the other: two processes migrating one fresh schema at once would race.
      for (let i = 0; i < 2; i++) apis.push(await spawnApi({ ...env, ...storages[0]!.env }, API_START_TIMEOUT_MS));
    } else {
      const started = await Promise.allSettled(storages.map((s) => spawnApi({ ...env, ...s.env }, API_START_TIMEOUT_MS)));
      for (const s of started) if (s.status === 'fulfilled') apis.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
    }
    for (const [i, api] of apis.entries()) {
      const account = await send(`${api.url}/admin/accounts`, { method: 'POST', secret: ADMIN_TOKEN, retryCount: 0, body: { name: `e2e ${i + 1}` } });
      expect(account.status, JSON.stringify(account.body)).to.equal(201);
      secrets.push(account.body.api_key.secret as string);
    }
    const t1 = Date.now();

    // The test's own Prometheus: the same rules, a faster cadence than production (1 s instead of
    // 5 s), the token from a file (with a trailing newline, as an editor would leave it).
    const configFile = await writeScrapeConfig(scratch, apis.map((a) => new URL(a.url).host), METRICS_TOKEN);
    prometheus = await startPrometheus({ configFile, dataDir: path.join(scratch, 'data') });

    // Both targets scraped at least once before anything is measured.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const targets = await prometheus.targets();
      if (targets.length === 2 && targets.every((t) => t.health === 'up')) break;
      if (Date.now() > deadline) expect.fail(`targets not up within 20 s: ${JSON.stringify(targets)}\n${context()}`);
      await sleep(250);
    }
    console.log(`      set-up: two API processes (${storages[0]!.kind}) ready in ${((t1 - t0) / 1000).toFixed(1)} s, Prometheus scraping both ${((Date.now() - t1) / 1000).toFixed(1)} s later`);
  });

  after(async function () {
    this.timeout(90_000);
    // Each step on its own, so that one failure does not leave the rest running.
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => prometheus?.stop(),
      ...apis.map((api) => () => api.stop('SIGTERM')),
      () => simulator?.stop(),
      ...storages.map((s) => () => s.drop()),
      () => (scratch ? rm(scratch, { recursive: true, force: true }) : undefined),
    ];
    const problems: string[] = [];
    const t0 = Date.now();
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    console.log(`      stopped everything in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (problems.length > 0) throw new Error(`cleaning up: ${problems.join('; ')}`);
  });

  it('scrapes both instances, records calm traffic, and leaves RemitRetryStorm inactive', async () => {
    const statuses: Record<string, number> = {};
    const createdPerInstance = [0, 0];
    const statesSeen: string[] = [];
    const ids: (string | undefined)[] = [undefined, undefined];
    const began = Date.now();
    let n = 0;
    let nextAlertCheck = began;
    while (Date.now() - began < CALM_MS) {
      const i = n % 2;
      const api = apis[i]!;
      // Per instance: a payment, then a read of it, in turn.
      if (Math.floor(n / 2) % 2 === 0) {
        const created = await send(`${api.url}/v1/payments`, { method: 'POST', secret: secrets[i]!, retryCount: 0, key: randomUUID(), body: { amount: 1_000 + n, currency: 'EUR' } });
        tally(statuses, created.status);
        if (created.status === 201) {
          createdPerInstance[i]! += 1;
          ids[i] = created.body.id as string;
        }
      } else {
        const read = await send(`${api.url}/v1/payments/${ids[i]}`, { secret: secrets[i]!, retryCount: 0 });
        tally(statuses, read.status);
      }
      n += 1;
      if (Date.now() >= nextAlertCheck) {
        for (const a of await stormAlerts()) statesSeen.push(`${a.state} at ${((Date.now() - began) / 1000).toFixed(1)} s`);
        nextAlertCheck = Date.now() + 1_000;
      }
      await sleep(Math.max(0, began + (n * CALM_EVERY_MS) - Date.now()));
    }
    console.log(`      calm: ${n} requests in ${((Date.now() - began) / 1000).toFixed(1)} s, ${JSON.stringify(statuses)}`);
    expect(Object.keys(statuses).filter((s) => !/^2\d\d$/.test(s)), `every calm request answered 2xx: ${JSON.stringify(statuses)}`).to.deep.equal([]);

    // Two scrapes more, so that Prometheus holds the last of the calm requests.
    await sleep(2_500);
    for (const a of await stormAlerts()) statesSeen.push(`${a.state} after the calm traffic`);
    expect(statesSeen, `${ALERT} during calm traffic`).to.deep.equal([]);

    const up = await prometheus!.query('up{job="remit-api"}');
    expect(up.map((s) => [s.metric.instance, s.value[1]]).sort(), 'both targets up').to.deep.equal(apis.map((a) => [new URL(a.url).host, '1']).sort());
    const rate = scalar(await prometheus!.query('remit:http_requests:rate1m'));
    const ratio = scalar(await prometheus!.query('remit:http_retried_requests_per_requests:ratio_rate1m'));
    console.log(`      Prometheus: ${rate?.toFixed(2)} client requests per second over the last minute, retry ratio ${ratio}`);
    expect(rate, `clients' requests per second, above the floor of 1 (${context()})`).to.be.greaterThan(1);
    expect(ratio, 'the retry ratio').to.equal(0);
    const perInstance = await prometheus!.query('sum by (instance) (remit_http_requests_total{operation="createPayment"})');
    expect(
      Object.fromEntries(perInstance.map((s) => [s.metric.instance, Number(s.value[1])])),
      'payments Prometheus counted per instance',
    ).to.deep.equal(Object.fromEntries(apis.map((a, i) => [new URL(a.url).host, createdPerInstance[i]])));
  });

  it('fires RemitRetryStorm within 60 s of a retry storm starting', async function () {
    this.timeout(120_000);
    const faults = await fetch(`${simulator!.url}/remit.processor.v1.SimulatorControlService/UpdateFaults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONTROL_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ errorRate: 1 }),
    });
    expect(faults.status, await faults.text()).to.equal(200);

    const started = Date.now();
    const seconds = (at: number) => ((at - started) / 1000).toFixed(1);
    let stop = false;
    const statuses: Record<string, number> = {};
    let requests = 0;
    let retriesAnswered = 0;
    let retriesSent = 0;
    let failures = 0;

    const client = async (c: number) => {
      while (!stop) {
        const i = c % 2;
        const key = randomUUID();
        for (let attempt = 0; attempt < STORM_ATTEMPTS && !stop; attempt++) {
          requests += 1;
          if (attempt > 0) retriesSent += 1;
          let answer: Answer;
          try {
            answer = await send(`${apis[i]!.url}/v1/payments`, { method: 'POST', secret: secrets[i]!, retryCount: attempt, key, body: { amount: 2_000 + c, currency: 'EUR' } });
          } catch {
            failures += 1;
            await sleep(STORM_PAUSE_MS);
            continue;
          }
          if (attempt > 0) retriesAnswered += 1;
          tally(statuses, answer.status);
          // A retrying client: 5xx, 429 and 409 idempotency_in_flight are tried again with the
          // same key after a short pause (a client that ignores Retry-After, as storms are made of).
          const retryable = answer.status >= 500 || answer.status === 429 || (answer.status === 409 && answer.body?.code === 'idempotency_in_flight');
          if (!retryable) break;
          await sleep(STORM_PAUSE_MS);
        }
      }
    };
    const clients = Array.from({ length: STORM_CLIENTS }, (_, c) => client(c));

    let pendingAt: number | undefined;
    let firing: PrometheusAlert | undefined;
    let firingAt: number | undefined;
    try {
      while (Date.now() - started <= FIRE_WITHIN_MS) {
        for (const a of await stormAlerts()) {
          if (a.state === 'pending') pendingAt ??= Date.now();
          if (a.state === 'firing' && !firing) {
            firing = a;
            firingAt = Date.now();
            pendingAt ??= firingAt;
          }
        }
        if (firing) break;
        await sleep(500);
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    const ratio = await prometheus!.query('remit:http_retried_requests_per_requests:ratio_rate1m');
    console.log(
      `      storm: ${requests} requests (${retriesSent} retries) from ${STORM_CLIENTS} clients, ${JSON.stringify(statuses)}, ${failures} without an answer; ` +
        `retry ratio ${ratio[0]?.value[1] ?? 'none'}`,
    );
    console.log(`      ${ALERT}: pending after ${pendingAt ? `${seconds(pendingAt)} s` : 'never'}, firing after ${firingAt ? `${seconds(firingAt)} s` : `more than ${FIRE_WITHIN_MS / 1000} s`}`);

    expect(statuses['503'] ?? 0, `payments answered 503 while the processor fails: ${JSON.stringify(statuses)}`).to.be.greaterThan(0);
    expect(firing, `${ALERT} firing within ${FIRE_WITHIN_MS / 1000} s of the storm's start\n${context()}`).to.not.equal(undefined);
    expect(firingAt! - started).to.be.at.most(FIRE_WITHIN_MS);
    expect(firing!.labels).to.deep.include({ severity: 'critical', job: 'remit-api' });
    expect(Number(firing!.value)).to.be.greaterThan(0.1);
    expect(firing!.annotations.runbook).to.equal('docs/observability.md#remitretrystorm');

    // Once Prometheus has scraped after the last request, it holds every retry the API answered
    // (and at most those sent: one that got no answer may or may not have been counted).
    await sleep(2_500);
    const counted = scalar(await prometheus!.query('sum(remit_http_retried_requests_total{operation="createPayment"})'));
    expect(counted, 'retries counted by the API and scraped').to.be.within(retriesAnswered, retriesSent);
  });

  it("shows data from both instances on the dashboard's main panels", async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const empty: string[] = [];
    const results = new Map<string, number>();
    for (const panel of dashboard.panels.filter((p) => p.targets)) {
      for (const target of panel.targets!) {
        const expr = target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');
        const samples = await prometheus!.query(expr);
        results.set(panel.title, (results.get(panel.title) ?? 0) + samples.length);
      }
      if (!results.get(panel.title)) empty.push(panel.title);
    }
    // Some panels have nothing to show in this run (no 429 was answered, no key replayed; Redis
    // may not be configured); these must.
    console.log(`      dashboard panels without data in this run: ${empty.join(', ') || 'none'}`);
    const mustShow = ['Requests by status class', 'Error %', 'Retry ratio', 'p99 by operation', 'Processor breaker', 'Processor call outcomes', 'Event-loop lag p99', 'Scrape health'];
    expect(mustShow.filter((title) => !results.has(title)), 'panels the dashboard has').to.deep.equal([]);
    expect(mustShow.filter((title) => !results.get(title)), 'panels without data').to.deep.equal([]);
    // Per instance where the panel is: both instances are there.
    const perInstance = await prometheus!.query('count by (instance) (nodejs_eventloop_lag_p99_seconds{job="remit-api"})');
    expect(perInstance.map((s) => s.metric.instance).sort()).to.deep.equal(apis.map((a) => new URL(a.url).host).sort());
  });
});
