/**
 * Webhook delivery loses nothing:
 * - Events written by concurrent transactions that commit in random order (so `seq` order and
 *   commit order disagree, the case a "last seen sequence" cursor gets wrong) while two relays
 *   work the same database: every (event, endpoint) pair is delivered, and duplicates are counted
 *   (none is expected without a crash). 10,000 events on PostgreSQL; on embedded PGlite, where the
 *   two app instances share one connection and every query is serialised, 1,000.
 * - An API process SIGKILLed in the middle of an attempt: once the attempt's lease ends, another
 *   process delivers it, with the same `webhook-id`. The receiver sees it twice, the rate a crash
 *   can cost, and the delivery ends `delivered`.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { recordEvent } from '../../src/events/index.js';
import { newId } from '../../src/platform/ids.js';
import { call, createSharedStorage, spawnApi, waitFor, type ApiProcess, type SharedStorage } from '../helpers/api-process.js';
import { ADMIN_TOKEN, createTestApp, openSharedDatabase, storageUnderTest, type TestApp } from '../helpers/app.js';
import { metricValue } from '../helpers/metrics.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const EVENTS = storageUnderTest() === 'postgres' ? 10_000 : 1_000;
/** Producer transactions open at once; each holds its event uncommitted for a random while. */
const PRODUCERS = 40;
const HOLD_MAX_MS = 15;

/** A payment as the API shows it, for an event written straight into the outbox. */
function paymentSnapshot(id: string, n: number) {
  return {
    id,
    object: 'payment',
    amount: 100 + n,
    currency: 'EUR',
    status: 'succeeded',
    capture_method: 'automatic',
    amount_captured: 100 + n,
    amount_refunded: 0,
    customer: null,
    description: null,
    statement_descriptor: null,
    metadata: {},
    failure_code: null,
    failure_message: null,
    created: Math.floor(Date.now() / 1000),
  };
}

describe('webhook delivery loses nothing', () => {
  it(`delivers every (event, endpoint) of ${EVENTS.toLocaleString('en')} events committed out of order, with two relays at work`, async function () {
    this.timeout(240_000);
    const shared = await openSharedDatabase(20);
    const relay = { relay: { intervalMs: 25, concurrency: 32 }, timeoutMs: 10_000 };
    const a = await createTestApp({ database: { db: shared.first, drop: async () => {} }, webhooks: relay });
    const b = await createTestApp({ database: { db: shared.second, drop: async () => {} }, simulator: a.simulator, webhooks: relay });
    const receiver = await startReceiver();
    try {
      const account = await a.createAccount('Outbox account');
      for (const path of ['first', 'second']) {
        const res = await fetchEndpoint(a, account.secret, `${receiver.url}/${path}`);
        expect(res, 'endpoint created').to.equal(201);
      }
      a.services.webhookRelay.start();
      b.services.webhookRelay.start();

      // Producers: each event in its own transaction, held open a random while after its insert,
      // so transactions that took their `seq` early often commit late.
      let next = 0;
      await Promise.all(
        Array.from({ length: PRODUCERS }, async () => {
          while (next < EVENTS) {
            const n = next++;
            await shared.first.transaction(async (trx) => {
              await recordEvent(trx, { accountId: account.id, requestId: null, idempotencyKey: null }, 'payment.succeeded', paymentSnapshot(newId('pay'), n));
              await new Promise((resolve) => setTimeout(resolve, Math.random() * HOLD_MAX_MS));
            });
          }
        }),
      );
      const eventIds: string[] = (await shared.first('events').where({ account_id: account.id }).pluck('id')) as string[];
      expect(eventIds).to.have.length(EVENTS);

      const expected = EVENTS * 2;
      await waitFor(
        `${expected} distinct deliveries`,
        () => (new Set(receiver.received.map((d) => `${String(d.headers['webhook-id'])}|${d.path}`)).size >= expected ? true : undefined),
        180_000,
        100,
      );

      const delivered = new Set(receiver.received.map((d) => `${String(d.headers['webhook-id'])}|${d.path}`));
      for (const id of eventIds) {
        expect(delivered.has(`${id}|/first`) && delivered.has(`${id}|/second`), `${id} delivered to both endpoints`).to.equal(true);
      }
      const duplicates = receiver.received.length - delivered.size;
      console.log(`      ${receiver.received.length} requests for ${delivered.size} (event, endpoint) pairs: ${duplicates} duplicates`);
      expect(duplicates, 'no duplicate without a crash').to.equal(0);
      // The receiver has answered the last attempt; its relay records it a moment later.
      const settled = async () => {
        const rows: { status: string; n: string | number }[] = await shared.first('webhook_deliveries').select('status').count({ n: '*' }).groupBy('status');
        return rows.map((r) => [r.status, Number(r.n)]);
      };
      await waitFor('every delivery recorded', async () => ((await settled()).some(([status]) => status !== 'delivered') ? undefined : true), 10_000, 50);
      expect(await settled()).to.deep.equal([['delivered', expected]]);
      const unrelayed = await shared.first('events').where({ fanned_out: false }).count({ n: '*' }).first();
      expect(Number(unrelayed?.n)).to.equal(0);
      // Both relays took part: the work was shared, not merely survived by one.
      const byA = await metricValue(a.metrics, 'remit_webhook_attempts_total', { result: 'delivered' });
      const byB = await metricValue(b.metrics, 'remit_webhook_attempts_total', { result: 'delivered' });
      expect(byA + byB).to.equal(expected);
      expect(byA, 'deliveries by the first relay').to.be.greaterThan(0);
      expect(byB, 'deliveries by the second relay').to.be.greaterThan(0);
    } finally {
      await a.close();
      await b.close();
      await receiver.close();
      await shared.drop();
    }
  });

  describe('an API process killed in the middle of an attempt', () => {
    let storage: SharedStorage;
    let receiver: WebhookReceiver;
    const processes: ApiProcess[] = [];
    const env = () => ({
      ...storage.env,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_RELAY_INTERVAL_MS: '50',
      RATE_LIMITS_ENABLED: 'false',
    });
    before(async () => {
      storage = await createSharedStorage();
      receiver = await startReceiver();
    });
    after(async () => {
      for (const api of processes) await api.stop('SIGKILL');
      await receiver.close();
      await storage.drop();
    });

    it('is delivered by another process once the lease ends, with the same webhook-id', async function () {
      this.timeout(120_000);
      // The first attempt is never answered: the process dies while it waits.
      receiver.respond = (_d, i) => (i === 0 ? { hang: true } : { status: 200 });
      const first = await spawnApi(env());
      processes.push(first);
      const created = await call(first.url, 'POST', '/admin/accounts', { secret: ADMIN_TOKEN, body: { name: 'Crash account' } });
      expect(created.status).to.equal(201);
      const secret = (created.body.api_key as { secret: string }).secret;
      const endpoint = await call(first.url, 'POST', '/v1/webhook_endpoints', { secret, body: { url: receiver.url, enabled_events: ['payment.created'] } });
      expect(endpoint.status, JSON.stringify(endpoint.body)).to.equal(201);
      const payment = await call(first.url, 'POST', '/v1/payments', { secret, key: randomUUID(), body: { amount: 1500, currency: 'EUR' } });
      expect(payment.status, JSON.stringify(payment.body)).to.equal(201);

      await waitFor('the first attempt to reach the receiver', () => (receiver.received.length > 0 ? true : undefined), 20_000);
      await first.stop('SIGKILL');
      const second = await spawnApi(env());
      processes.push(second);
      await waitFor('the delivery by the second process', () => (receiver.received.length > 1 ? true : undefined), 60_000, 50);

      const ids = receiver.ids();
      expect(ids).to.have.length(2);
      expect(ids[1]).to.equal(ids[0]);
      const listed = await call(second.url, 'GET', `/v1/webhook_endpoints/${String(endpoint.body.id)}/deliveries`, { secret });
      const [delivery] = listed.body.data as { event: { id: string }; status: string; attempts: { response_status: number | null }[] }[];
      expect(delivery!.event.id).to.equal(ids[0]);
      expect(delivery!.status).to.equal('delivered');
      // The killed attempt never recorded a result: the one attempt on record is the one that succeeded.
      expect(delivery!.attempts.map((a) => a.response_status)).to.deep.equal([200]);
      console.log(`      1 delivery, ${ids.length} requests: the crash cost ${ids.length - 1} duplicate`);
    });
  });
});

async function fetchEndpoint(t: TestApp, secret: string, url: string): Promise<number> {
  const res = await request(t.app).post('/v1/webhook_endpoints').set('Authorization', `Bearer ${secret}`).send({ url, enabled_events: ['*'], api_version: 'v1' });
  return res.status;
}
