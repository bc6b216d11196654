/**
 * OAuth client credentials against the real API: a cold client's concurrent calls share one
 * token request; when the operator withdraws the signing keys mid-run (`POST /admin/signing_keys`
 * with `retire_previous`), the refused calls share one new token and are sent again under their
 * own Idempotency-Key, so every payment is charged exactly once at the processor; and a revoked
 * client's calls end with AuthenticationError.
 */
import { expect } from 'chai';
import { OperationKind } from '../../../generated/processor/processor_pb.js';
import { ADMIN_TOKEN } from '../../../test/helpers/app.js';
import { AuthenticationError, Remit, type Fetch, type Payment } from '../../src/index.js';
import { recordingFetch, startApi, type RunningApi } from '../helpers/api.js';

const TOKEN_PATH = '/oauth/token';
const PAYMENTS = 30;
const CONCURRENCY = 10;
const ROTATE_AFTER = 10;

describe('SDK OAuth client credentials against the API', function () {
  this.timeout(120_000);
  let api: RunningApi;

  before(async () => {
    api = await startApi();
  });
  after(() => api?.close());

  /** A new OAuth client of the test account, made with its API key. */
  async function createOAuthClient(): Promise<{ clientId: string; clientSecret: string }> {
    const created = await api.client().oauthClients.create({ name: 'sdk integration', scopes: ['read', 'write'] });
    expect(created.id).to.match(/^cli_/);
    expect(created.client_secret).to.match(/^cs_/);
    return { clientId: created.id, clientSecret: created.client_secret };
  }

  /** `recordingFetch`, also keeping the access token each API request carried (the test needs the stale one). */
  function recordingTokens() {
    const recorder = recordingFetch();
    const bearers: string[] = [];
    const fetch: Fetch = (url, init) => {
      const authorization = new Headers(init.headers).get('authorization') ?? '';
      if (authorization.startsWith('Bearer ')) bearers.push(authorization.slice('Bearer '.length));
      return recorder.fetch(url, init);
    };
    return { fetch, attempts: recorder.attempts, bearers };
  }

  async function rotateSigningKey(): Promise<{ retired: number }> {
    const response = await fetch(`${api.server.url}/admin/signing_keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ retire_previous: true }),
    });
    expect(response.status, await response.clone().text()).to.equal(201);
    return (await response.json()) as { retired: number };
  }

  /** Resolves once the API refuses `token` (withdrawn keys are refused on every instance within a second). */
  async function refused(token: string): Promise<void> {
    for (let tries = 0; tries < 50; tries++) {
      const response = await fetch(`${api.server.url}/v1/customers?limit=1`, { headers: { Authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      if (response.status === 401) {
        expect(response.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the API still accepts a token signed by a withdrawn key after 5 s');
  }

  const charges = () => api.t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE).length;

  it('sends exactly one token request for 50 concurrent reads on a cold client, and every read succeeds', async () => {
    const credentials = await createOAuthClient();
    const recorder = recordingFetch();
    const remit = new Remit({ ...credentials, baseURL: api.server.url, fetch: recorder.fetch, onDeprecation: () => {} });

    const pages = await Promise.all(Array.from({ length: 50 }, () => remit.customers.list({ limit: 1 })));

    expect(pages).to.have.length(50);
    expect(recorder.attempts.filter((a) => a.path === TOKEN_PATH).map((a) => [a.method, a.status])).to.deep.equal([['POST', 200]]);
    const reads = recorder.attempts.filter((a) => a.path === '/v1/customers');
    expect(reads).to.have.length(50);
    expect(reads.every((a) => a.status === 200)).to.equal(true);
  });

  it('survives the signing keys being withdrawn mid-run: one new token, every payment made, none charged twice', async () => {
    const credentials = await createOAuthClient();
    const recorder = recordingTokens();
    const remit = new Remit({ ...credentials, baseURL: api.server.url, fetch: recorder.fetch, onDeprecation: () => {} });
    const chargesBefore = charges();

    // 30 payments, 10 at a time. When the 10th is made, the operator withdraws every earlier signing
    // key while the other calls are in flight; new calls wait until the API refuses the old token
    // (so some call surely meets the refusal), then go on with it cached.
    const payments: Payment[] = [];
    let started = 0;
    let gate: Promise<void> | undefined;
    let rotation: { retired: number } | undefined;
    const worker = async () => {
      for (;;) {
        await gate;
        if (started >= PAYMENTS) return;
        started += 1;
        const payment = await remit.payments.create({ amount: 1_000 + started, currency: 'EUR' });
        payments.push(payment);
        if (payments.length === ROTATE_AFTER) {
          const staleToken = recorder.bearers.at(-1)!;
          gate = rotateSigningKey().then(async (answer) => {
            rotation = answer;
            await refused(staleToken);
          });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await gate;

    expect(rotation?.retired).to.be.at.least(1);
    expect(payments.map((p) => p.status)).to.deep.equal(Array<string>(PAYMENTS).fill('succeeded'));
    expect(new Set(payments.map((p) => p.id)).size).to.equal(PAYMENTS);

    const tokenRequests = recorder.attempts.filter((a) => a.path === TOKEN_PATH);
    expect(tokenRequests.map((a) => a.status), 'the first token and exactly one after the withdrawal').to.deep.equal([200, 200]);

    const creates = recorder.attempts.filter((a) => a.method === 'POST' && a.path === '/v1/payments');
    const refusedKeys = creates.filter((a) => a.status === 401).map((a) => a.key);
    expect(refusedKeys.length, 'calls refused with the withdrawn token').to.be.at.least(1);
    for (const key of refusedKeys) {
      expect(
        creates.filter((a) => a.key === key).map((a) => a.status),
        `the call under Idempotency-Key ${key}: refused once, then sent again and created`,
      ).to.deep.equal([401, 201]);
    }
    expect(creates.filter((a) => a.status === 201)).to.have.length(PAYMENTS);
    expect(new Set(creates.map((a) => a.key)).size, 'one key per logical call').to.equal(PAYMENTS);

    // Exactly once where it counts: one charge at the processor per payment.
    expect(charges() - chargesBefore).to.equal(PAYMENTS);
    const references = api.t.simulator.ledger().charges.map((c) => c.reference);
    for (const payment of payments) expect(references.filter((r) => r === payment.id), payment.id).to.have.length(1);
  });

  it('ends the calls of a revoked client with AuthenticationError once its tokens are refused', async () => {
    const credentials = await createOAuthClient();
    const recorder = recordingTokens();
    const remit = new Remit({ ...credentials, baseURL: api.server.url, fetch: recorder.fetch, onDeprecation: () => {} });
    await remit.customers.list({ limit: 1 });

    const revoked = await api.client().oauthClients.revoke(credentials.clientId);
    expect(revoked.revoked_at).to.be.a('number');
    await refused(recorder.bearers.at(-1)!);

    const err = await remit.customers.list({ limit: 1 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).to.equal('invalid_client');
    expect(recorder.attempts.filter((a) => a.path === TOKEN_PATH).map((a) => a.status), 'the refresh was refused, and not retried').to.deep.equal([200, 401]);
  });
});
