/**
 * `--json` prints exactly the API's JSON: for every read of the spec that answers JSON, the output
 * of `remit … --json` validates against the operation's response schema, and `--all` keeps the
 * list's shape. The world the reads look at is made through the SDK: a customer, payments, a
 * refund, events, an OAuth client, a webhook endpoint with a delivery and a replay, a reconciliation run.
 */
import { expect } from 'chai';
import { operations } from '../../cli/src/generated/operations.js';
import type { CliOperation } from '../../cli/src/operation.js';
import { METRICS_TOKEN } from '../helpers/app.js';
import { responseValidator } from '../helpers/spec-schema.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { scratchConfigDir } from './helpers/cli.js';
import { remit } from './helpers/in-process.js';

describe('remit --json for every read', function () {
  this.timeout(120_000);
  let api: RunningApi;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  /** The path arguments of each read, by path template. */
  let ids: Record<string, string[]>;

  before(async () => {
    api = await startApi({ metrics: { token: METRICS_TOKEN } });
    receiver = await startReceiver();
    env = { REMIT_CONFIG_DIR: await scratchConfigDir(), REMIT_BASE_URL: api.server.url, REMIT_API_KEY: api.account.secret, REMIT_METRICS_TOKEN: METRICS_TOKEN };
    const client = api.client();
    const startS = Math.floor(Date.now() / 1000) - 1;
    const customer = await client.customers.create({ email: 'json@example.com' });
    await client.oauthClients.create({ scopes: ['read'] });
    const endpoint = await client.webhookEndpoints.create({ url: `${receiver.url}/hooks`, enabled_events: ['*'] });
    const payment = await client.payments.create({ amount: 2_000, currency: 'EUR', customer: customer.id });
    const refund = await client.refunds.create({ payment: payment.id, amount: 500 });
    await api.t.services.webhookRelay.runOnce();
    const event = (await client.events.list({ limit: 1 })).data[0]!;
    const replay = await client.webhookEndpoints.createReplay(endpoint.id, { since: event.created, until: event.created });
    // The processor loses its books: the run reports every payment of the window missing there.
    api.t.simulator.reset();
    const endS = Math.floor(Date.now() / 1000) + 1;
    while (Date.now() < endS * 1000) await new Promise((r) => setTimeout(r, 20));
    const run = await client.reconciliations.create({ window_start: startS, window_end: endS });
    for (let i = 0; i < 10 && (await api.t.services.reconciliationWorker.runOnce()) !== run.id; i += 1);
    ids = {
      '/v1/customers/{id}': [customer.id],
      '/v1/payments/{id}': [payment.id],
      '/v2/payments/{id}': [payment.id],
      '/v1/refunds/{id}': [refund.id],
      '/v2/refunds/{id}': [refund.id],
      '/v1/events/{id}': [event.id],
      '/v1/webhook_endpoints/{id}': [endpoint.id],
      '/v1/webhook_endpoints/{id}/deliveries': [endpoint.id],
      '/v1/webhook_endpoints/{id}/replays/{replay_id}': [endpoint.id, replay.id],
      '/v1/reconciliations/{id}': [run.id],
      '/v1/reconciliations/{id}/discrepancies': [run.id],
    };
  });
  after(async () => {
    await receiver?.close();
    await api?.close();
  });

  const reads = operations.filter((op) => op.method === 'GET' && op.answers === 'json');

  it('covers the reads: more than twenty, each with its path arguments', () => {
    expect(reads.length).to.be.greaterThan(20);
    for (const op of reads) if (op.args.length > 0) expect(ids, `ids for ${op.path}`).to.have.property(op.path);
  });

  const check = async (op: CliOperation, extra: string[]) => {
    const run = await remit([...op.command, ...(ids[op.path] ?? []), ...extra, '--json'], env);
    expect(run.code, `remit ${op.command.join(' ')}: ${run.stderr}`).to.equal(0);
    const body: unknown = JSON.parse(run.stdout);
    const validate = responseValidator(op.path, op.method);
    expect(validate(body), `remit ${op.command.join(' ')} --json: ${JSON.stringify(validate.errors)}`).to.equal(true);
    return body as { data?: unknown[] };
  };

  it('sends an object query parameter (`created`) from its options: --created-gte, --created-lte', async () => {
    const future = Math.floor(Date.now() / 1000) + 3_600;
    const later = await remit(['v2', 'payments', 'list', '--created-gte', String(future), '--json'], env);
    expect(later.code, later.stderr).to.equal(0);
    expect(JSON.parse(later.stdout).data).to.deep.equal([]);
    const earlier = await remit(['v2', 'payments', 'list', '--created-lte', String(future), '--json'], env);
    expect(earlier.code, earlier.stderr).to.equal(0);
    expect(JSON.parse(earlier.stdout).data).to.have.length.greaterThan(0);
  });

  for (const op of reads) {
    it(`remit ${op.command.join(' ')} --json validates against ${op.operationId}'s answer`, async () => {
      const body = await check(op, []);
      if (op.list) {
        expect(body.data, 'the list is not empty: the schema of its items is checked too').to.have.length.greaterThan(0);
        const all = await check(op, ['--limit', '1', '--all']);
        expect(all.data).to.have.length(body.data!.length);
      }
    });
  }
});
