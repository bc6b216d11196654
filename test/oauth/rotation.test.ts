/**
 * Signing keys on a schedule, and revocation pushed to every instance: tokens signed before a
 * rotation stay valid to their expiry and only the new key signs after it; the old key leaves the
 * key set once its last token has expired; an operator's emergency rotation and a client's
 * revocation reach another instance within a second.
 */
import { expect } from 'chai';
import request from 'supertest';
import { ADMIN_TOKEN, createTestApp, openSharedDatabase, storageUnderTest, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/api-process.js';
import { accessToken, createClient, ISSUER, kidOf, manualClock } from './helpers.js';

const HOUR = 3_600_000;
const TTL_S = 600;

const publishedKids = async (app: TestApp) => ((await request(app.app).get('/.well-known/jwks.json').expect(200)).body.keys as { kid: string }[]).map((k) => k.kid);
const status = async (app: TestApp, token: string) => (await request(app.app).get('/v1/customers').set('Authorization', `Bearer ${token}`)).status;

describe('OAuth signing key rotation', () => {
  it('keeps tokens signed before a rotation valid to their expiry, signs only with the new key after it, and then retires the old one', async () => {
    const clock = manualClock();
    const t = await createTestApp({ publicUrl: ISSUER, now: clock.now, oauth: { tokenTtlS: TTL_S, keyRotationS: 3_600 } });
    try {
      const client = await createClient(t.app, await t.createAccount());
      const early = await accessToken(t.app, client);
      const firstKid = kidOf(early);
      clock.advance(HOUR - 60_000);
      const beforeRotation = await accessToken(t.app, client);
      expect(kidOf(beforeRotation)).to.equal(firstKid);

      clock.advance(60_000); // the first key's hour is up
      await t.services.oauth.rotateIfDue();
      const afterRotation = await Promise.all([1, 2, 3].map(() => accessToken(t.app, client)));
      const secondKid = kidOf(afterRotation[0]!);
      expect(secondKid).to.not.equal(firstKid);
      expect(afterRotation.map(kidOf)).to.deep.equal([secondKid, secondKid, secondKid]);
      expect(await publishedKids(t)).to.have.members([firstKid, secondKid]);

      // Signed by the old key a minute before the rotation: valid until its own expiry.
      expect(await status(t, beforeRotation)).to.equal(200);
      expect(await status(t, afterRotation[0]!)).to.equal(200);
      clock.advance(TTL_S * 1000 - 60_000 + 61_000); // past its expiry and the leeway
      expect(await status(t, beforeRotation)).to.equal(401);
      expect(await status(t, afterRotation[0]!)).to.equal(200);

      // The old key signed nothing still valid: it has left the set.
      clock.advance(60_000);
      expect(await publishedKids(t)).to.deep.equal([secondKid]);
    } finally {
      await t.close();
    }
  });

  it('rotates once when two instances find the key due at the same moment', async () => {
    const clock = manualClock();
    const shared = await openSharedDatabase();
    const a = await createTestApp({ publicUrl: ISSUER, now: clock.now, database: { db: shared.first, drop: async () => {} }, oauth: { keyRotationS: 3_600 } });
    const b = await createTestApp({ publicUrl: ISSUER, now: clock.now, database: { db: shared.second, drop: async () => {} }, simulator: a.simulator, oauth: { keyRotationS: 3_600 } });
    try {
      const client = await createClient(a.app, await a.createAccount());
      await accessToken(a.app, client);
      clock.advance(HOUR);
      await Promise.all([a.services.oauth.rotateIfDue(), b.services.oauth.rotateIfDue(), a.services.oauth.rotateIfDue(), b.services.oauth.rotateIfDue()]);
      const rows = await shared.first('oauth_signing_keys').select('kid', 'signs_until');
      expect(rows).to.have.length(2);
      expect(rows.filter((r) => r.signs_until === null)).to.have.length(1);
      // Each instance signs with the one new key, and verifies the other's tokens.
      const [fromA, fromB] = [await accessToken(a.app, client), await accessToken(b.app, client)];
      expect(kidOf(fromA)).to.equal(kidOf(fromB));
      expect(await status(b, fromA)).to.equal(200);
      expect(await status(a, fromB)).to.equal(200);
    } finally {
      await a.close();
      await b.close();
      await shared.drop();
    }
  });
});

describe('OAuth refusals pushed to every instance', () => {
  let a: TestApp;
  let b: TestApp;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    const shared = await openSharedDatabase();
    drop = shared.drop;
    a = await createTestApp({ publicUrl: ISSUER, database: { db: shared.first, drop: async () => {} } });
    b = await createTestApp({ publicUrl: ISSUER, database: { db: shared.second, drop: async () => {} }, simulator: a.simulator });
  });
  afterEach(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it('refuses a revoked client’s tokens on the other instance within a second', async () => {
    const account = await a.createAccount();
    const client = await createClient(a.app, account);
    const token = await accessToken(a.app, client);
    expect(await status(b, token)).to.equal(200);

    await request(a.app).delete(`/v1/oauth_clients/${client.id}`).set('Authorization', `Bearer ${account.secret}`).expect(200);
    const started = Date.now();
    const refused = await waitFor('a 401 on the other instance', async () => {
      const res = await request(b.app).get('/v1/customers').set('Authorization', `Bearer ${token}`);
      return res.status === 401 ? res : undefined;
    }, 1_000);
    expect(Date.now() - started).to.be.below(1_000);
    expect(refused.headers['www-authenticate']).to.contain('revoked');
    // And on the revoking instance, at once.
    expect(await status(a, token)).to.equal(401);
  });

  it('withdraws every earlier key at the operator’s word: their tokens are refused on both instances within a second', async () => {
    const account = await a.createAccount();
    const client = await createClient(a.app, account);
    const old = await accessToken(a.app, client);
    expect(await status(b, old)).to.equal(200);

    const rotated = await request(a.app).post('/admin/signing_keys').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ retire_previous: true });
    expect(rotated.status).to.equal(201);
    expect(rotated.body).to.include({ object: 'signing_key', alg: 'ES256', retired: 1 });
    expect(await status(a, old)).to.equal(401);
    const started = Date.now();
    await waitFor('a 401 on the other instance', async () => ((await status(b, old)) === 401 ? true : undefined), 1_000);
    expect(Date.now() - started).to.be.below(1_000);

    const fresh = await accessToken(b.app, client);
    expect(kidOf(fresh)).to.equal(rotated.body.kid);
    expect(await status(a, fresh)).to.equal(200);
    expect(await publishedKids(b)).to.deep.equal([rotated.body.kid]);
  });

  it('refuses a client revoked before an instance started', async () => {
    const account = await a.createAccount();
    const client = await createClient(a.app, account);
    const token = await accessToken(a.app, client);
    await request(a.app).delete(`/v1/oauth_clients/${client.id}`).set('Authorization', `Bearer ${account.secret}`).expect(200);
    const late = await createTestApp({ publicUrl: ISSUER, database: { db: a.db, drop: async () => {} }, simulator: a.simulator });
    try {
      expect(await status(late, token)).to.equal(401);
    } finally {
      await late.close();
    }
  });

  if (storageUnderTest() === 'postgres') {
    it('asks the database while its notification connection is down, so a revocation it missed is not served', async () => {
      const account = await a.createAccount();
      const client = await createClient(a.app, account);
      const token = await accessToken(a.app, client);
      expect(await status(b, token)).to.equal(200);
      await b.db.raw("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'remit-listen' and pid <> pg_backend_pid()");
      await a.db('oauth_clients').where({ id: client.id }).update({ revoked_at: a.db.fn.now() });
      expect(await status(b, token)).to.equal(401);
    });
  }
});
