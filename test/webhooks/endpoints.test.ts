/**
 * The webhook endpoints API as a demanding integrator and an attacker would use it, on a real
 * database (delivery itself is delivery.test.ts's):
 * - create: 201 with `Location` and `Cache-Control: no-store`, a fresh `whsec_` secret of 32 bytes
 *   per endpoint, shown in that answer only, never by retrieve, list or update;
 * - the secret is sealed at rest: no row holds it in any form, and a sealed value opens only for
 *   the endpoint it was sealed for;
 * - URL safety: http, IP literals and names resolving to loopback, private, link-local (cloud
 *   metadata) or mixed addresses, and URLs carrying credentials are a 422 `webhook_url_not_allowed`
 *   naming the reason and change nothing, on create and on update;
 * - validation: a 400 `validation_failed` naming the field, creating nothing;
 * - the per-account limit, also under concurrent creation over real sockets;
 * - update field by field, status changes and their reasons, delete with everything it owns;
 * - tenancy: another account's ids are 404 everywhere and nothing of theirs changes; a read-only
 *   key reads and writes nothing;
 * - the list's cursor walk and its binding to the account; the deliveries list's filters;
 * - Idempotency-Key on retry and replay; rotation's overlap, and a second rotation ending the first
 *   one's overlap at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { createTestApp, snapshot, type TestAccount, type TestApp } from '../helpers/app.js';
import { countStatuses, listen, sendJson } from '../helpers/http-server.js';
import { expectProblem } from '../helpers/problem.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { activeSecrets } from '../../src/webhooks/repository.js';
import { SecretBox, signingKey } from '../../src/webhooks/secrets.js';

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{43}=$/;
/** A target the default test app accepts without asking DNS: an IP literal, private targets allowed. */
const LOCAL_URL = 'http://127.0.0.1:9/hooks';
const DAY_S = 86_400;

interface Endpoint {
  id: string;
  object: string;
  url: string;
  description: string | null;
  enabled_events: string[];
  api_version: string;
  status: string;
  disabled_reason: string | null;
  degraded: boolean;
  failing_since: number | null;
  created: number;
  secret: string;
}

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const nowS = () => Math.floor(Date.now() / 1000);

/**
 * By default an endpoint nothing here is sent to (no test makes a refund fail): a relay round claims
 * a bounded batch, and deliveries to idle endpoints would crowd out the ones a test waits for.
 */
async function createEndpoint(t: TestApp, account: TestAccount, body: Record<string, unknown> = {}): Promise<Endpoint> {
  const res = await request(t.app)
    .post('/v1/webhook_endpoints')
    .set(bearer(account.secret))
    .send({ url: LOCAL_URL, enabled_events: ['refund.failed'], ...body });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

async function createPayment(t: TestApp, account: TestAccount): Promise<{ id: string }> {
  const res = await request(t.app).post('/v1/payments').set(bearer(account.secret)).set('Idempotency-Key', randomUUID()).send({ amount: 2500, currency: 'EUR' });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

/** Every row a test may touch, the secrets included (`snapshot` leaves them out). */
async function state(t: TestApp) {
  return { ...(await snapshot(t.db)), webhook_secrets: await t.db('webhook_secrets').select('*').orderBy('id') };
}

describe('webhook endpoints API', () => {
  const secretsKey = randomBytes(32);
  let t: TestApp;
  let account: TestAccount;
  let receiver: WebhookReceiver;
  const auth = () => bearer(account.secret);

  before(async () => {
    t = await createTestApp({ webhooks: { secretsKey, maxEndpointsPerAccount: 100 } });
    account = await t.createAccount('Integrator');
    receiver = await startReceiver();
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  describe('POST /v1/webhook_endpoints', () => {
    it('creates the endpoint: 201, Location, no-store, a 32-byte whsec_ secret, api_version v2 and a healthy state', async () => {
      const res = await request(t.app)
        .post('/v1/webhook_endpoints')
        .set(auth())
        .send({ url: LOCAL_URL, enabled_events: ['payment.succeeded', 'refund.succeeded'], description: 'Orders' });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.id).to.match(/^we_[A-Za-z0-9]+$/);
      expect(res.headers.location).to.equal(`/v1/webhook_endpoints/${res.body.id}`);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.body.secret).to.match(SECRET_PATTERN);
      expect(Buffer.from(res.body.secret.slice('whsec_'.length), 'base64')).to.have.length(32);
      expect(res.body).to.include({
        object: 'webhook_endpoint',
        url: LOCAL_URL,
        description: 'Orders',
        api_version: 'v2',
        status: 'enabled',
        disabled_reason: null,
        degraded: false,
        failing_since: null,
      });
      expect(res.body.enabled_events).to.deep.equal(['payment.succeeded', 'refund.succeeded']);
      expect(res.body.created).to.be.within(nowS() - 60, nowS() + 60);
      const row = await t.db('webhook_endpoints').where({ id: res.body.id }).first();
      expect(row.account_id).to.equal(account.id);
    });

    it('never shows the secret again: not on retrieve, list, update or delete', async () => {
      const created = await createEndpoint(t, account, { description: 'secret keeper' });
      const { secret, ...shown } = created;
      const retrieved = await request(t.app).get(`/v1/webhook_endpoints/${created.id}`).set(auth());
      expect(retrieved.status).to.equal(200);
      expect(retrieved.body).to.deep.equal(shown);
      const listed = await request(t.app).get('/v1/webhook_endpoints').query({ limit: 100 }).set(auth());
      expect(listed.status).to.equal(200);
      expect(listed.body.data.find((e: Endpoint) => e.id === created.id)).to.deep.equal(shown);
      const updated = await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ description: 'still secret' });
      const deleted = await request(t.app).delete(`/v1/webhook_endpoints/${created.id}`).set(auth());
      for (const res of [retrieved, listed, updated, deleted]) {
        expect(res.text).not.to.include(secret);
        expect(res.text).not.to.include('whsec_');
      }
    });

    it('gives every endpoint a secret of its own', async () => {
      const a = await createEndpoint(t, account);
      const b = await createEndpoint(t, account);
      expect(a.secret).to.match(SECRET_PATTERN);
      expect(b.secret).to.match(SECRET_PATTERN);
      expect(a.secret).not.to.equal(b.secret);
    });
  });

  describe('the secret at rest', () => {
    it('is kept sealed: no row of any table holds the secret, its base64 part or its key bytes, and the sealing key is recorded', async () => {
      const created = await createEndpoint(t, account);
      const base64 = created.secret.slice('whsec_'.length);
      const keyBytes = signingKey(created.secret);
      expect(keyBytes).to.have.length(32);
      const [secretRow, ...more] = await t.db('webhook_secrets').where({ endpoint_id: created.id });
      expect(more).to.have.length(0);
      expect(secretRow.key_id).to.be.a('string').and.not.equal('');
      const sealed = Buffer.from(secretRow.sealed);
      expect(sealed.length).to.be.greaterThan(32);

      for (const [table, rows] of Object.entries(await state(t))) {
        for (const row of rows as Record<string, unknown>[]) {
          for (const [column, value] of Object.entries(row)) {
            const where = `${table}.${column}`;
            if (value instanceof Uint8Array) {
              const bytes = Buffer.from(value);
              expect(bytes.includes(keyBytes), where).to.equal(false);
              expect(bytes.includes(Buffer.from(base64)), where).to.equal(false);
            } else {
              const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
              expect(text, where).not.to.include(base64);
              expect(text, where).not.to.include(keyBytes.toString('hex'));
            }
          }
        }
      }
    });

    it('opens only for the endpoint it was sealed for, even copied onto another endpoint’s row', async () => {
      const a = await createEndpoint(t, account);
      const b = await createEndpoint(t, account);
      const box = new SecretBox(async () => secretsKey);
      const rowA = await t.db('webhook_secrets').where({ endpoint_id: a.id }).first();
      expect(await box.open(a.id, { keyId: rowA.key_id, sealed: rowA.sealed })).to.equal(a.secret);

      // An attacker with write access to the table moves A's sealed secret onto B.
      await t.db('webhook_secrets').where({ endpoint_id: b.id }).update({ sealed: rowA.sealed, key_id: rowA.key_id });
      const rowB = await t.db('webhook_secrets').where({ endpoint_id: b.id }).first();
      let opened: string | undefined;
      let failure: unknown;
      try {
        opened = await box.open(b.id, { keyId: rowB.key_id, sealed: rowB.sealed });
      } catch (err) {
        failure = err;
      }
      expect(opened).to.equal(undefined);
      expect(failure).to.be.instanceOf(Error);
    });
  });

  describe('validation', () => {
    const valid = { url: LOCAL_URL, enabled_events: ['payment.succeeded'] };
    const cases: [string, Record<string, unknown>, string][] = [
      ['an unknown event type', { ...valid, enabled_events: ['payment.exploded'] }, '/body/enabled_events/0'],
      ['empty enabled_events', { ...valid, enabled_events: [] }, '/body/enabled_events'],
      ['duplicate enabled_events', { ...valid, enabled_events: ['payment.created', 'payment.created'] }, '/body/enabled_events'],
      ['more than 20 enabled_events', { ...valid, enabled_events: Array.from({ length: 21 }, () => 'payment.created') }, '/body/enabled_events'],
      ['api_version v3', { ...valid, api_version: 'v3' }, '/body/api_version'],
      ['a url that is not a URI', { ...valid, url: 'not a url, really' }, '/body/url'],
      ['a url with a line break (header injection)', { ...valid, url: 'http://127.0.0.1/a\r\nX-Injected: 1' }, '/body/url'],
      ['a url over 2048 characters', { ...valid, url: `http://127.0.0.1/${'a'.repeat(2048)}` }, '/body/url'],
      ['a secret of the caller’s choosing (unknown field)', { ...valid, secret: `whsec_${Buffer.alloc(32).toString('base64')}` }, '/body/secret'],
      ['a description over 500 characters', { ...valid, description: 'd'.repeat(501) }, '/body/description'],
    ];
    for (const [what, body, path] of cases) {
      it(`refuses ${what} with 400 validation_failed naming ${path}, creating nothing`, async () => {
        const before = await state(t);
        const res = await request(t.app).post('/v1/webhook_endpoints').set(auth()).send(body);
        expectProblem(res, 400, 'validation_failed');
        const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
        expect(paths.some((p) => p === path || p.startsWith(`${path}/`)), JSON.stringify(res.body.errors)).to.equal(true);
        expect(await state(t)).to.deep.equal(before);
      });
    }

    it('says which limit more than 20 enabled_events breaks', async () => {
      const res = await request(t.app)
        .post('/v1/webhook_endpoints')
        .set(auth())
        .send({ ...valid, enabled_events: Array.from({ length: 21 }, () => 'payment.created') });
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors).to.deep.include({ path: '/body/enabled_events', message: 'must NOT have more than 20 items' });
    });

    it('refuses overlap_seconds over 604800 on rotate with 400, leaving the secrets as they were', async () => {
      const created = await createEndpoint(t, account);
      const before = await state(t);
      const res = await request(t.app).post(`/v1/webhook_endpoints/${created.id}/rotate_secret`).set(auth()).send({ overlap_seconds: 604_801 });
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors[0].path).to.equal('/body/overlap_seconds');
      expect(await state(t)).to.deep.equal(before);
    });
  });

  describe('PATCH /v1/webhook_endpoints/{id}', () => {
    it('changes each field alone, leaving the others as they were', async () => {
      let current = await createEndpoint(t, account, { description: 'first', enabled_events: ['payment.created'], api_version: 'v2' });
      const { secret: _secret, ...shown } = current;
      let expected: Record<string, unknown> = shown;
      const changes: Record<string, unknown>[] = [
        { url: 'http://127.0.0.1:10/moved' },
        { description: 'second' },
        { enabled_events: ['refund.succeeded', 'refund.failed'] },
        { api_version: 'v1' },
      ];
      for (const change of changes) {
        const res = await request(t.app).patch(`/v1/webhook_endpoints/${current.id}`).set(auth()).send(change);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expected = { ...expected, ...change };
        expect(res.body).to.deep.equal(expected);
        current = res.body;
      }
      const again = await request(t.app).get(`/v1/webhook_endpoints/${current.id}`).set(auth());
      expect(again.body).to.deep.equal(expected);
    });

    it('clears the description with null', async () => {
      const created = await createEndpoint(t, account, { description: 'to be cleared' });
      const res = await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ description: null });
      expect(res.status).to.equal(200);
      expect(res.body.description).to.equal(null);
      expect((await t.db('webhook_endpoints').where({ id: created.id }).first()).description).to.equal(null);
    });

    it('disables with reason requested, and enabling clears the reason and the failure streak', async () => {
      const created = await createEndpoint(t, account);
      // A streak older than the degraded window (an hour by default).
      await t.db('webhook_endpoints').where({ id: created.id }).update({ failing_since: new Date(Date.now() - 2 * 3_600_000) });
      expect((await request(t.app).get(`/v1/webhook_endpoints/${created.id}`).set(auth())).body.degraded).to.equal(true);

      const disabled = await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ status: 'disabled' });
      expect(disabled.status).to.equal(200);
      expect([disabled.body.status, disabled.body.disabled_reason, disabled.body.degraded]).to.deep.equal(['disabled', 'requested', false]);

      const enabled = await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ status: 'enabled' });
      expect(enabled.status).to.equal(200);
      expect([enabled.body.status, enabled.body.disabled_reason, enabled.body.failing_since, enabled.body.degraded]).to.deep.equal(['enabled', null, null, false]);
      const row = await t.db('webhook_endpoints').where({ id: created.id }).first();
      expect([row.status, row.disabled_reason, row.failing_since]).to.deep.equal(['enabled', null, null]);
    });

    it('keeps the reason a disabled endpoint was disabled for when it is disabled again', async () => {
      const created = await createEndpoint(t, account);
      await t.db('webhook_endpoints').where({ id: created.id }).update({ status: 'disabled', disabled_reason: 'gone' });
      const res = await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ status: 'disabled' });
      expect(res.status).to.equal(200);
      expect([res.body.status, res.body.disabled_reason]).to.deep.equal(['disabled', 'gone']);
    });

    it('rejects an empty body, and an attempt to change the id, with 400, changing nothing', async () => {
      const created = await createEndpoint(t, account);
      const before = await state(t);
      expectProblem(await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({}), 400, 'validation_failed');
      expectProblem(await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ id: 'we_chosen' }), 400, 'validation_failed');
      expect(await state(t)).to.deep.equal(before);
    });
  });

  describe('DELETE /v1/webhook_endpoints/{id}', () => {
    it('deletes the endpoint with its secrets, deliveries and replays; afterwards every operation on it is a 404', async () => {
      const created = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['*'] });
      await createPayment(t, account);
      await t.services.webhookRelay.runOnce();
      const [delivery] = await t.db('webhook_deliveries').where({ endpoint_id: created.id });
      expect(delivery, 'a delivery to cascade').to.not.equal(undefined);
      const replay = await request(t.app).post(`/v1/webhook_endpoints/${created.id}/replays`).set(auth()).send({ since: nowS() - 60, until: nowS() });
      expect(replay.status, JSON.stringify(replay.body)).to.equal(202);
      const eventsBefore = await t.db('events').where({ account_id: account.id }).count({ n: '*' }).first();

      const res = await request(t.app).delete(`/v1/webhook_endpoints/${created.id}`).set(auth());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ id: created.id, object: 'webhook_endpoint', deleted: true });

      for (const table of ['webhook_secrets', 'webhook_deliveries', 'webhook_replays']) {
        expect(await t.db(table).where({ endpoint_id: created.id }), table).to.have.length(0);
      }
      expect(await t.db('webhook_endpoints').where({ id: created.id })).to.have.length(0);
      // The account's events are its history, not the endpoint's.
      expect(await t.db('events').where({ account_id: account.id }).count({ n: '*' }).first()).to.deep.equal(eventsBefore);

      const base = `/v1/webhook_endpoints/${created.id}`;
      expectProblem(await request(t.app).get(base).set(auth()), 404, 'resource_not_found');
      expectProblem(await request(t.app).get(`${base}/deliveries`).set(auth()), 404, 'resource_not_found');
      expectProblem(await request(t.app).post(`${base}/rotate_secret`).set(auth()).send({}), 404, 'resource_not_found');
      expectProblem(await request(t.app).post(`${base}/deliveries/${delivery.id}/retry`).set(auth()), 404, 'resource_not_found');
      expectProblem(await request(t.app).get(`${base}/replays/${replay.body.id}`).set(auth()), 404, 'resource_not_found');
      expectProblem(await request(t.app).delete(base).set(auth()), 404, 'resource_not_found');
    });
  });

  describe('tenancy', () => {
    let victim: TestAccount;
    let attacker: TestAccount;
    let target: { endpoint: Endpoint; deliveryId: string; replayId: string };

    before(async () => {
      victim = await t.createAccount('Victim');
      attacker = await t.createAccount('Attacker');
      const endpoint = await createEndpoint(t, victim, { url: receiver.url, enabled_events: ['*'] });
      await createPayment(t, victim);
      await t.services.webhookRelay.runOnce();
      const [delivery] = await t.db('webhook_deliveries').where({ endpoint_id: endpoint.id });
      const replay = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(bearer(victim.secret)).send({ since: nowS() - 60, until: nowS() });
      expect(replay.status).to.equal(202);
      target = { endpoint, deliveryId: delivery.id, replayId: replay.body.id };
    });

    it('answers 404 to another account on every operation on the endpoint, and nothing of it changes', async () => {
      const base = `/v1/webhook_endpoints/${target.endpoint.id}`;
      const before = await state(t);
      const as = bearer(attacker.secret);
      const answers = [
        await request(t.app).get(base).set(as),
        await request(t.app).patch(base).set(as).send({ url: 'http://127.0.0.1:6666/stolen' }),
        await request(t.app).patch(base).set(as).send({ status: 'disabled' }),
        await request(t.app).delete(base).set(as),
        await request(t.app).post(`${base}/rotate_secret`).set(as).send({ overlap_seconds: 0 }),
        await request(t.app).get(`${base}/deliveries`).set(as),
        await request(t.app).post(`${base}/deliveries/${target.deliveryId}/retry`).set(as),
        await request(t.app).post(`${base}/replays`).set(as).send({ since: nowS() - 3600, until: nowS() }),
        await request(t.app).get(`${base}/replays/${target.replayId}`).set(as),
      ];
      for (const res of answers) expectProblem(res, 404, 'resource_not_found');
      expect(await state(t)).to.deep.equal(before);
    });

    it('answers 404 when the attacker pairs an endpoint of its own with the victim’s delivery or replay', async () => {
      const own = await createEndpoint(t, attacker);
      const before = await state(t);
      const as = bearer(attacker.secret);
      expectProblem(await request(t.app).post(`/v1/webhook_endpoints/${own.id}/deliveries/${target.deliveryId}/retry`).set(as), 404, 'resource_not_found');
      expectProblem(await request(t.app).get(`/v1/webhook_endpoints/${own.id}/replays/${target.replayId}`).set(as), 404, 'resource_not_found');
      const { event_id: victimEvent } = await t.db('webhook_deliveries').where({ id: target.deliveryId }).first();
      const filtered = await request(t.app).get(`/v1/webhook_endpoints/${own.id}/deliveries`).query({ event: victimEvent }).set(as);
      expect(filtered.status).to.equal(200);
      expect(filtered.body.data).to.have.length(0);
      expect(await state(t)).to.deep.equal(before);
    });

    it('lists only the account’s own endpoints', async () => {
      const own = await createEndpoint(t, attacker);
      const res = await request(t.app).get('/v1/webhook_endpoints').query({ limit: 100 }).set(bearer(attacker.secret));
      expect(res.status).to.equal(200);
      const ids = res.body.data.map((e: Endpoint) => e.id);
      expect(ids).to.include(own.id);
      expect(ids).not.to.include(target.endpoint.id);
    });

    it('lets a read-only key list and retrieve, and refuses it every write with 403, changing nothing', async () => {
      const readOnly = await t.createKey(victim, ['read']);
      const as = bearer(readOnly.secret);
      const base = `/v1/webhook_endpoints/${target.endpoint.id}`;
      expect((await request(t.app).get('/v1/webhook_endpoints').set(as)).status).to.equal(200);
      const retrieved = await request(t.app).get(base).set(as);
      expect(retrieved.status).to.equal(200);
      expect(retrieved.body.id).to.equal(target.endpoint.id);
      expect((await request(t.app).get(`${base}/deliveries`).set(as)).status).to.equal(200);
      expect((await request(t.app).get(`${base}/replays/${target.replayId}`).set(as)).status).to.equal(200);

      const before = await state(t);
      const writes = [
        await request(t.app).post('/v1/webhook_endpoints').set(as).send({ url: LOCAL_URL, enabled_events: ['*'] }),
        await request(t.app).patch(base).set(as).send({ description: 'read-only was here' }),
        await request(t.app).delete(base).set(as),
        await request(t.app).post(`${base}/rotate_secret`).set(as).send({}),
        await request(t.app).post(`${base}/deliveries/${target.deliveryId}/retry`).set(as),
        await request(t.app).post(`${base}/replays`).set(as).send({ since: nowS() - 60, until: nowS() }),
      ];
      for (const res of writes) {
        expectProblem(res, 403, 'insufficient_scope');
        expect(res.headers['www-authenticate']).to.include('scope="write"');
      }
      expect(await state(t)).to.deep.equal(before);
    });
  });

  describe('GET /v1/webhook_endpoints/{id}/deliveries', () => {
    let failing: WebhookReceiver;
    let failingEndpoint: Endpoint;
    let okEndpoint: Endpoint;

    before(async () => {
      failing = await startReceiver();
      failing.respond = () => ({ status: 500 });
      failingEndpoint = await createEndpoint(t, account, { url: failing.url, enabled_events: ['payment.created', 'payment.succeeded'] });
      okEndpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.created', 'payment.succeeded'] });
      await createPayment(t, account);
      await t.services.webhookRelay.runOnce();
    });
    after(() => failing.close());

    const list = async (endpointId: string, query: Record<string, string> = {}) => {
      const res = await request(t.app).get(`/v1/webhook_endpoints/${endpointId}/deliveries`).query({ limit: 100, ...query }).set(auth());
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body.data as { id: string; status: string; endpoint: string; event: { id: string; type: string } }[];
    };

    it('filters by status', async () => {
      const failingAll = await list(failingEndpoint.id);
      const okAll = await list(okEndpoint.id);
      expect(failingAll.map((d) => d.status)).to.deep.equal(['pending', 'pending']);
      expect(okAll.map((d) => d.status)).to.deep.equal(['delivered', 'delivered']);

      expect((await list(failingEndpoint.id, { status: 'pending' })).map((d) => d.id)).to.have.members(failingAll.map((d) => d.id));
      expect(await list(failingEndpoint.id, { status: 'delivered' })).to.have.length(0);
      expect((await list(okEndpoint.id, { status: 'delivered' })).map((d) => d.id)).to.have.members(okAll.map((d) => d.id));
      expect(await list(okEndpoint.id, { status: 'pending' })).to.have.length(0);
      expect(await list(okEndpoint.id, { status: 'failed' })).to.have.length(0);
      expectProblem(await request(t.app).get(`/v1/webhook_endpoints/${okEndpoint.id}/deliveries`).query({ status: 'lost' }).set(auth()), 400, 'validation_failed');
    });

    it('filters by event, alone and with a status', async () => {
      const okAll = await list(okEndpoint.id);
      const created = okAll.find((d) => d.event.type === 'payment.created')!;
      const byEvent = await list(okEndpoint.id, { event: created.event.id });
      expect(byEvent.map((d) => d.id)).to.deep.equal([created.id]);
      expect(byEvent[0]!.endpoint).to.equal(okEndpoint.id);
      const onFailing = await list(failingEndpoint.id, { event: created.event.id });
      expect(onFailing.map((d) => [d.event.id, d.status])).to.deep.equal([[created.event.id, 'pending']]);
      expect(await list(failingEndpoint.id, { event: created.event.id, status: 'delivered' })).to.have.length(0);
    });

    it('answers 404 to a retry of an unknown delivery, or of a delivery of another endpoint of the account', async () => {
      const [okDelivery] = await list(okEndpoint.id);
      const before = await state(t);
      expectProblem(await request(t.app).post(`/v1/webhook_endpoints/${okEndpoint.id}/deliveries/whd_doesnotexist/retry`).set(auth()), 404, 'resource_not_found');
      expectProblem(await request(t.app).post(`/v1/webhook_endpoints/${failingEndpoint.id}/deliveries/${okDelivery!.id}/retry`).set(auth()), 404, 'resource_not_found');
      expect(await state(t)).to.deep.equal(before);
    });

    it('refuses one endpoint’s deliveries cursor on another endpoint’s list', async () => {
      const page = await request(t.app).get(`/v1/webhook_endpoints/${okEndpoint.id}/deliveries`).query({ limit: 1 }).set(auth());
      expect(page.body.next_cursor).to.be.a('string');
      const res = await request(t.app).get(`/v1/webhook_endpoints/${failingEndpoint.id}/deliveries`).query({ cursor: page.body.next_cursor }).set(auth());
      expectProblem(res, 400, 'invalid_cursor');
    });
  });

  describe('Idempotency-Key on retry and replay', () => {
    let endpoint: Endpoint;
    before(async () => {
      endpoint = await createEndpoint(t, account, { url: receiver.url, enabled_events: ['payment.created', 'payment.succeeded'] });
      await createPayment(t, account);
      await t.services.webhookRelay.runOnce();
    });

    it('creates one replay when the same key and body come twice, and replays the first answer', async () => {
      const key = randomUUID();
      const body = { since: nowS() - 600, until: nowS() };
      const first = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(auth()).set('Idempotency-Key', key).send(body);
      const second = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(auth()).set('Idempotency-Key', key).send(body);
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      expect(first.headers['idempotent-replayed']).to.equal('false');
      expect(second.status).to.equal(202);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(second.body).to.deep.equal(first.body);
      expect(await t.db('webhook_replays').where({ endpoint_id: endpoint.id })).to.have.length(1);
    });

    it('answers 422 idempotency_key_reused when the replay key comes back with another body, creating nothing', async () => {
      const key = randomUUID();
      const replays = () => t.db('webhook_replays').where({ endpoint_id: endpoint.id });
      await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(auth()).set('Idempotency-Key', key).send({ since: nowS() - 600, until: nowS() }).expect(202);
      const countBefore = (await replays()).length;
      const res = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/replays`).set(auth()).set('Idempotency-Key', key).send({ since: nowS() - 60, until: nowS() });
      expectProblem(res, 422, 'idempotency_key_reused');
      expect(await replays()).to.have.length(countBefore);
    });

    it('requeues a delivery once per retry key, and refuses the key for another delivery with 422', async () => {
      const [a, b] = await t.db('webhook_deliveries').where({ endpoint_id: endpoint.id }).orderBy('id');
      const key = randomUUID();
      const first = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/deliveries/${a.id}/retry`).set(auth()).set('Idempotency-Key', key);
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      expect(first.body.status).to.equal('pending');
      // Delivered again in between: a replayed answer must not requeue it a second time.
      await t.services.webhookRelay.runOnce();
      const delivered = await t.db('webhook_deliveries').where({ id: a.id }).first();
      expect(delivered.status).to.equal('delivered');
      const second = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/deliveries/${a.id}/retry`).set(auth()).set('Idempotency-Key', key);
      expect(second.status).to.equal(202);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(second.body).to.deep.equal(first.body);
      expect(await t.db('webhook_deliveries').where({ id: a.id }).first()).to.deep.equal(delivered);

      const other = await request(t.app).post(`/v1/webhook_endpoints/${endpoint.id}/deliveries/${b.id}/retry`).set(auth()).set('Idempotency-Key', key);
      expectProblem(other, 422, 'idempotency_key_reused');
      expect((await t.db('webhook_deliveries').where({ id: b.id }).first()).status).to.equal('delivered');
    });
  });

  describe('POST /v1/webhook_endpoints/{id}/rotate_secret', () => {
    const box = new SecretBox(async () => secretsKey);
    /** The secrets that sign now, newest first, opened. */
    const signingNow = async (endpointId: string) => Promise.all((await activeSecrets(t.db, [endpointId], new Date())).map((row) => box.open(endpointId, { keyId: row.key_id, sealed: row.sealed })));

    it('rotates with no body: a new secret, no-store, the previous one signing for a day', async () => {
      const created = await createEndpoint(t, account);
      const res = await request(t.app).post(`/v1/webhook_endpoints/${created.id}/rotate_secret`).set(auth());
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.body.secret).to.match(SECRET_PATTERN);
      expect(res.body.secret).not.to.equal(created.secret);
      expect(res.body.previous_secret_expires).to.be.within(nowS() + DAY_S - 60, nowS() + DAY_S + 1);
      expect(res.body.id).to.equal(created.id);
      expect(await signingNow(created.id)).to.deep.equal([res.body.secret, created.secret]);
      const retrieved = await request(t.app).get(`/v1/webhook_endpoints/${created.id}`).set(auth());
      expect(retrieved.body).not.to.have.property('secret');
    });

    it('with overlap_seconds 0 stops the previous secret at once', async () => {
      const created = await createEndpoint(t, account);
      const res = await request(t.app).post(`/v1/webhook_endpoints/${created.id}/rotate_secret`).set(auth()).send({ overlap_seconds: 0 });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.previous_secret_expires).to.equal(null);
      expect(await signingNow(created.id)).to.deep.equal([res.body.secret]);
    });

    it('ends the overlap of the secret from two rotations ago at once when rotated again within it', async () => {
      const created = await createEndpoint(t, account);
      const first = await request(t.app).post(`/v1/webhook_endpoints/${created.id}/rotate_secret`).set(auth()).send({ overlap_seconds: 3_600 });
      expect(first.status).to.equal(200);
      expect(await signingNow(created.id)).to.deep.equal([first.body.secret, created.secret]);

      const second = await request(t.app).post(`/v1/webhook_endpoints/${created.id}/rotate_secret`).set(auth()).send({ overlap_seconds: 3_600 });
      expect(second.status).to.equal(200);
      const rows = await t.db('webhook_secrets').where({ endpoint_id: created.id }).orderBy('id');
      expect(rows).to.have.length(3);
      const now = Date.now();
      const unexpired = rows.filter((r: { expires_at: Date | null }) => r.expires_at === null || r.expires_at.getTime() > now);
      expect(unexpired).to.have.length(2);
      expect(await signingNow(created.id)).to.deep.equal([second.body.secret, first.body.secret]);
      expect(rows[0].expires_at.getTime()).to.be.at.most(now);
    });
  });
});

describe('webhook endpoint URL safety', () => {
  /** A resolver the test controls; a name not in the table does not resolve. */
  const DNS: Record<string, string[]> = {
    'hooks.example.com': ['93.184.216.34'],
    'internal.example.com': ['10.1.2.3'],
    'metadata.example.com': ['169.254.169.254'],
    'mixed.example.com': ['93.184.216.34', '127.0.0.1'],
    'v6-mixed.example.com': ['2606:4700::1111', 'fd00::1'],
  };
  const asked: string[] = [];
  let t: TestApp;
  let account: TestAccount;
  const auth = () => bearer(account.secret);

  before(async () => {
    t = await createTestApp({
      webhooks: {
        allowPrivateTargets: false,
        lookup: async (host) => {
          asked.push(host);
          return DNS[host] ?? [];
        },
      },
    });
    account = await t.createAccount('Careful integrator');
  });
  after(() => t.close());

  const refused: [string, string, RegExp][] = [
    ['plain http', 'http://hooks.example.com/hooks', /must use https/],
    ['loopback', 'https://127.0.0.1/hooks', /127\.0\.0\.1 is a private or reserved address/],
    ['IPv6 loopback', 'https://[::1]/hooks', /::1 is a private or reserved address/],
    ['a private network address', 'https://10.0.0.1/', /10\.0\.0\.1 is a private or reserved address/],
    ['the cloud metadata service', 'https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a private or reserved address/],
    ['loopback spelt as one decimal number', 'https://2130706433/hooks', /127\.0\.0\.1 is a private or reserved address/],
    ['loopback as an IPv4-mapped IPv6 address', 'https://[::ffff:127.0.0.1]/hooks', /is a private or reserved address/],
    ['credentials in the URL', 'https://user:hunter2@hooks.example.com/hooks', /must not contain a username or password/],
    ['a name resolving to a private address', 'https://internal.example.com/hooks', /internal\.example\.com resolves to 10\.1\.2\.3/],
    ['a name resolving to the metadata service', 'https://metadata.example.com/latest', /resolves to 169\.254\.169\.254/],
    ['a name resolving to public and private addresses', 'https://mixed.example.com/hooks', /mixed\.example\.com resolves to 127\.0\.0\.1/],
    ['a name resolving to public and unique-local IPv6 addresses', 'https://v6-mixed.example.com/hooks', /resolves to fd00::1/],
    ['a name that does not resolve', 'https://nowhere.example.com/hooks', /nowhere\.example\.com does not resolve/],
  ];

  for (const [what, url, reason] of refused) {
    it(`refuses ${what} with 422 webhook_url_not_allowed saying why, creating nothing`, async () => {
      const before = await state(t);
      const res = await request(t.app).post('/v1/webhook_endpoints').set(auth()).send({ url, enabled_events: ['*'] });
      expectProblem(res, 422, 'webhook_url_not_allowed');
      expect(res.body.detail).to.match(reason);
      expect(res.text).not.to.include('hunter2');
      expect(await state(t)).to.deep.equal(before);
    });
  }

  it('accepts a name resolving only to public addresses, judged by the injected resolver', async () => {
    asked.splice(0);
    const res = await request(t.app).post('/v1/webhook_endpoints').set(auth()).send({ url: 'https://hooks.example.com/hooks', enabled_events: ['*'] });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.url).to.equal('https://hooks.example.com/hooks');
    expect(asked).to.deep.equal(['hooks.example.com']);
  });

  it('accepts a public IP literal without resolving anything', async () => {
    asked.splice(0);
    const res = await request(t.app).post('/v1/webhook_endpoints').set(auth()).send({ url: 'https://93.184.216.34/hooks', enabled_events: ['*'] });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(asked).to.deep.equal([]);
  });

  it('refuses a bad url on update the same way, leaving the endpoint exactly as it was', async () => {
    const created = await createEndpoint(t, account, { url: 'https://hooks.example.com/hooks', description: 'before' });
    const before = await state(t);
    const cases: [string, RegExp][] = [
      ['http://hooks.example.com/hooks', /must use https/],
      ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254/],
      ['https://internal.example.com/hooks', /resolves to 10\.1\.2\.3/],
      ['https://user:hunter2@hooks.example.com/hooks', /username or password/],
    ];
    for (const [url, reason] of cases) {
      // With another field beside it: a refused update applies nothing, not the rest of the body.
      const res = await request(t.app).patch(`/v1/webhook_endpoints/${created.id}`).set(auth()).send({ url, description: 'after' });
      expectProblem(res, 422, 'webhook_url_not_allowed');
      expect(res.body.detail).to.match(reason);
    }
    expect(await state(t)).to.deep.equal(before);
    const shown = await request(t.app).get(`/v1/webhook_endpoints/${created.id}`).set(auth());
    expect([shown.body.url, shown.body.description]).to.deep.equal(['https://hooks.example.com/hooks', 'before']);
  });
});

describe('webhook endpoint limit', () => {
  const LIMIT = 2;
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ webhooks: { maxEndpointsPerAccount: LIMIT } });
  });
  after(() => t.close());
  const countOf = async (accountId: string) => (await t.db('webhook_endpoints').where({ account_id: accountId })).length;

  it(`stops at ${LIMIT} endpoints with 409 webhook_endpoint_limit_reached, per account, and allows one more after a delete`, async () => {
    const account = await t.createAccount('Full');
    const made = [await createEndpoint(t, account), await createEndpoint(t, account)];
    const before = await state(t);
    const refused = await request(t.app).post('/v1/webhook_endpoints').set(bearer(account.secret)).send({ url: LOCAL_URL, enabled_events: ['*'] });
    expectProblem(refused, 409, 'webhook_endpoint_limit_reached');
    expect(await state(t)).to.deep.equal(before);

    // Another account's count is its own.
    const other = await t.createAccount('Empty');
    await createEndpoint(t, other);

    await request(t.app).delete(`/v1/webhook_endpoints/${made[0]!.id}`).set(bearer(account.secret)).expect(200);
    await createEndpoint(t, account);
    expect(await countOf(account.id)).to.equal(LIMIT);
  });

  it('holds the limit when 10 creations race at once over real sockets', async () => {
    const account = await t.createAccount('Racing');
    const server = await listen(t.app);
    try {
      const replies = await Promise.all(
        Array.from({ length: 10 }, () =>
          sendJson(`${server.url}/v1/webhook_endpoints`, { secret: account.secret, body: { url: LOCAL_URL, enabled_events: ['*'] } }),
        ),
      );
      expect(countStatuses(replies)).to.deep.equal({ 201: LIMIT, 409: 10 - LIMIT });
      expect(await countOf(account.id)).to.equal(LIMIT);
      expect(await t.db('webhook_secrets').whereIn('endpoint_id', t.db('webhook_endpoints').select('id').where({ account_id: account.id }))).to.have.length(LIMIT);
    } finally {
      await server.close();
    }
  });
});

describe('GET /v1/webhook_endpoints', () => {
  const COUNT = 25;
  let t: TestApp;
  let account: TestAccount;
  const ids: string[] = [];
  before(async () => {
    t = await createTestApp({ webhooks: { maxEndpointsPerAccount: COUNT + 5 } });
    account = await t.createAccount('Many endpoints');
    for (let i = 0; i < COUNT; i++) ids.push((await createEndpoint(t, account, { description: `endpoint ${i}` })).id);
  });
  after(() => t.close());

  it(`walks ${COUNT} endpoints 10 at a time, each exactly once, newest first`, async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await request(t.app).get('/v1/webhook_endpoints').query({ limit: 10, ...(cursor ? { cursor } : {}) }).set(bearer(account.secret));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.object).to.equal('list');
      seen.push(...res.body.data.map((e: Endpoint) => e.id));
      cursor = res.body.next_cursor ?? undefined;
      expect(res.body.has_more).to.equal(cursor !== undefined);
      pages++;
    } while (cursor && pages < 10);
    expect(pages).to.equal(3);
    expect(seen).to.have.length(COUNT);
    expect(new Set(seen).size).to.equal(COUNT);
    expect(seen).to.have.members(ids);
    const inOrder = await t.db('webhook_endpoints').where({ account_id: account.id }).orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
    expect(seen).to.deep.equal(inOrder.map((r: { id: string }) => r.id));
  });

  it('refuses one account’s cursor on another account’s list with 400 invalid_cursor', async () => {
    const page = await request(t.app).get('/v1/webhook_endpoints').query({ limit: 10 }).set(bearer(account.secret));
    expect(page.body.next_cursor).to.be.a('string');
    const other = await t.createAccount('Cursor thief');
    await createEndpoint(t, other);
    const res = await request(t.app).get('/v1/webhook_endpoints').query({ cursor: page.body.next_cursor }).set(bearer(other.secret));
    expectProblem(res, 400, 'invalid_cursor');
  });
});
