/**
 * The built `remit` command as a process against the real API (listening on 127.0.0.1): what it
 * prints on each stream, its exit codes for success, usage mistakes, API refusals (4xx), API
 * failures (5xx) and an unreachable API, and that nothing it prints through a pipe carries ANSI
 * codes or a secret.
 */
import { expect } from 'chai';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FaultPoint, OperationKind } from '../../generated/processor/processor_pb.js';
import { ADMIN_TOKEN, METRICS_TOKEN } from '../helpers/app.js';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { listen } from '../helpers/http-server.js';
import { ANSI, baseEnv, buildCli, runCli, scratchConfigDir, type CliRun } from './helpers/cli.js';

describe('remit as a process', function () {
  this.timeout(120_000);
  let api: RunningApi;
  let configDir: string;
  let env: Record<string, string>;
  /** Every run's output, checked at the end for the secrets. */
  const runs: CliRun[] = [];

  const remit = async (args: string[], extra: Record<string, string> = {}, input?: string): Promise<CliRun> => {
    const run = await runCli(args, { env: { ...env, ...extra }, ...(input !== undefined ? { input } : {}) });
    runs.push(run);
    return run;
  };
  const noAnsi = (run: CliRun) => {
    expect(run.stdout, 'stdout').not.to.match(ANSI);
    expect(run.stderr, 'stderr').not.to.match(ANSI);
  };

  before(async () => {
    await buildCli();
    api = await startApi({ metrics: { token: METRICS_TOKEN } });
    configDir = await scratchConfigDir();
    env = { ...baseEnv(configDir), REMIT_BASE_URL: api.server.url, REMIT_API_KEY: api.account.secret };
  });
  after(async () => {
    await api?.close();
    for (const run of runs) {
      expect(run.stdout + run.stderr).not.to.include(api.account.secret);
      expect(run.stdout + run.stderr).not.to.include(ADMIN_TOKEN);
    }
  });

  it('creates with --json: exit 0, exactly the API\'s object on stdout, nothing on stderr, no ANSI', async () => {
    const run = await remit(['customers', 'create', '--email', 'ada@example.com', '--name', 'Ada', '--metadata', 'plan=pro', '--metadata', 'team=core', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.equal('');
    noAnsi(run);
    const customer = JSON.parse(run.stdout) as { id: string; email: string; metadata: Record<string, string> };
    expect(customer.id).to.match(/^cus_/);
    expect(customer.metadata).to.deep.equal({ plan: 'pro', team: 'core' });
    expect(await api.client().customers.retrieve(customer.id)).to.deep.equal(customer);
  });

  it('shows one object as key/value lines and a list as a table, through a pipe without ANSI codes', async () => {
    const made = await api.client().customers.create({ email: 'grace@example.com', name: 'Grace' });
    for (const email of ['list1@example.com', 'list2@example.com']) await api.client().customers.create({ email });
    const one = await remit(['customers', 'retrieve', made.id]);
    expect(one.code, one.stderr).to.equal(0);
    noAnsi(one);
    expect(one.stdout).to.match(new RegExp(`^id\\s+${made.id}$`, 'm'));
    expect(one.stdout).to.match(/^email\s+grace@example\.com$/m);
    expect(one.stdout).to.match(/^created\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/m);
    const list = await remit(['customers', 'list', '--limit', '2']);
    expect(list.code, list.stderr).to.equal(0);
    noAnsi(list);
    const [head, ...rows] = list.stdout.trimEnd().split('\n');
    expect(head).to.match(/^ID\s+NAME\s+EMAIL\s+/);
    expect(rows).to.have.length(2);
    expect(list.stderr).to.match(/^2 items · more: --cursor \S+, or --all$/m);
  });

  it('walks every page with --all, and --json prints one list of them all', async () => {
    const client = api.client();
    for (let i = 0; i < 5; i++) await client.customers.create({ email: `page${i}@example.com` });
    const total = (await client.customers.list({ limit: 100 })).data.length;
    const run = await remit(['customers', 'list', '--limit', '2', '--all', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    noAnsi(run);
    const body = JSON.parse(run.stdout) as { object: string; data: { id: string }[]; has_more: boolean };
    expect(body.object).to.equal('list');
    expect(body.has_more).to.equal(false);
    expect(body.data).to.have.length(total);
    expect(new Set(body.data.map((c) => c.id)).size).to.equal(total);
  });

  it('takes a whole body with --data from a file or stdin, options changing its fields', async () => {
    const file = path.join(configDir, 'customer.json');
    await writeFile(file, JSON.stringify({ email: 'file@example.com', name: 'From file' }));
    const fromFile = await remit(['customers', 'create', '--data', `@${file}`, '--name', 'Flag wins', '--json']);
    expect(fromFile.code, fromFile.stderr).to.equal(0);
    expect(JSON.parse(fromFile.stdout)).to.include({ email: 'file@example.com', name: 'Flag wins' });
    const fromStdin = await remit(['v2', 'payments', 'create', '--data', '-', '--json'], {}, JSON.stringify({ amount: { value: 1234, currency: 'EUR' } }));
    expect(fromStdin.code, fromStdin.stderr).to.equal(0);
    expect(JSON.parse(fromStdin.stdout)).to.deep.include({ amount: { value: 1234, currency: 'EUR' }, status: 'succeeded' });
  });

  it('sends --idempotency-key: the same key twice is one payment, charged once', async () => {
    const charges = () => api.t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE).length;
    const before = charges();
    const args = ['v2', 'payments', 'create', '--amount-value', '777', '--amount-currency', 'EUR', '--idempotency-key', 'cli-test-key-1', '--json'];
    const first = await remit(args);
    const second = await remit(args);
    expect(first.code, first.stderr).to.equal(0);
    expect(second.code, second.stderr).to.equal(0);
    expect(JSON.parse(second.stdout).id).to.equal(JSON.parse(first.stdout).id);
    expect(charges() - before).to.equal(1);
  });

  it('exits 1 on a usage mistake, sending nothing: a required option missing, a value outside the enum, an unknown command', async () => {
    const count = async () => (await api.client().customers.list({ limit: 100 })).data.length;
    const before = await count();
    const missing = await remit(['customers', 'create', '--name', 'No email']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/needs --email/);
    const badEnum = await remit(['v2', 'payments', 'create', '--amount-value', '100', '--amount-currency', 'XYZ']);
    expect(badEnum.code).to.equal(1);
    expect(badEnum.stderr).to.match(/--amount-currency.*'XYZ' is invalid\. Allowed: AUD, /s);
    const badInt = await remit(['v2', 'payments', 'create', '--amount-value', '12.5', '--amount-currency', 'EUR']);
    expect(badInt.code).to.equal(1);
    expect(badInt.stderr).to.match(/An integer is expected/);
    const unknown = await remit(['customer', 'list']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/unknown command 'customer'.*Did you mean customers\?/s);
    const noKey = await remit(['customers', 'list'], { REMIT_API_KEY: '' });
    expect(noKey.code).to.equal(1);
    expect(noKey.stderr).to.match(/No credentials/);
    expect(await count()).to.equal(before);
    for (const run of [missing, badEnum, badInt, unknown, noKey]) noAnsi(run);
  });

  it('exits 2 when the API refuses (4xx), printing the title, detail, code, field errors and request id', async () => {
    const notFound = await remit(['customers', 'retrieve', 'cus_doesnotexist1']);
    expect(notFound.code).to.equal(2);
    expect(notFound.stdout).to.equal('');
    expect(notFound.stderr).to.match(/^error: 404 .+ \(resource_not_found\)$/m);
    expect(notFound.stderr).to.match(/^ {2}request id: req_\S+$/m);
    const invalid = await remit(['customers', 'create', '--email', 'not-an-email']);
    expect(invalid.code).to.equal(2);
    expect(invalid.stderr).to.match(/^error: 400 .+ \(validation_failed\)$/m);
    expect(invalid.stderr).to.match(/^ {2}\/body\/email: /m);
    const asJson = await remit(['customers', 'retrieve', 'cus_doesnotexist1', '--json']);
    expect(asJson.code).to.equal(2);
    expect(JSON.parse(asJson.stdout)).to.include({ status: 404, code: 'resource_not_found' });
    const refused = await remit(['customers', 'list'], { REMIT_API_KEY: 'sk_test_not_a_real_key_0000000000000000' });
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.match(/^error: 401 /m);
    for (const run of [notFound, invalid, asJson, refused]) noAnsi(run);
  });

  it('exits 3 when the API fails (5xx) or cannot be reached, printing the key that retries a create safely', async () => {
    const charges = () => api.t.simulator.ledger().operations.filter((o) => o.kind === OperationKind.CHARGE).length;
    const payments = async () => (await api.client().v2.payments.list({ limit: 100 })).data.length;
    const [chargesBefore, paymentsBefore] = [charges(), await payments()];
    const args = ['v2', 'payments', 'create', '--amount-value', '500', '--amount-currency', 'EUR'];
    api.t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
    let failed: CliRun;
    try {
      failed = await remit([...args, '--max-retries', '0']);
      expect(failed.code).to.equal(3);
      expect(failed.stderr).to.match(/^error: 503 .+ \(processor_unavailable\)$/m);
      expect(failed.stderr).to.match(/^ {2}retry after: \d+ s$/m);
      expect(failed.stderr).to.match(/^ {2}request id: req_\S+$/m);
      noAnsi(failed);
    } finally {
      api.t.simulator.setFaults({ errorRate: 0 });
    }
    // The payment was recorded before the processor failed: the printed key resumes it.
    const key = /^ {2}idempotency key: (\S+) \(the request may have been done: .* --idempotency-key \1\)$/m.exec(failed.stderr)?.[1];
    expect(key, failed.stderr).to.be.a('string');
    const retried = await remit([...args, '--idempotency-key', key!, '--json']);
    expect(retried.code, retried.stderr).to.equal(0);
    expect(JSON.parse(retried.stdout)).to.include({ status: 'succeeded' });
    expect(await payments(), 'one payment for the failed run and its retry').to.equal(paymentsBefore + 1);
    expect(charges() - chargesBefore).to.equal(1);
    // A refusal (4xx) has a definite outcome: no key to retry with.
    const refused = await remit(['v2', 'payments', 'create', '--amount-value', '500', '--amount-currency', 'EUR', '--customer', 'cus_doesnotexist1']);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).not.to.match(/idempotency key/);

    const closed = await listen((_req, res) => res.end());
    const url = closed.url;
    await closed.close();
    const unreachable = await remit(['customers', 'list', '--max-retries', '0'], { REMIT_BASE_URL: url });
    expect(unreachable.code).to.equal(3);
    expect(unreachable.stderr).to.match(/^error: Connection error: .*refused/im);
  });

  it('warns on stderr when a deprecated operation is used, naming the command to use instead', async () => {
    const run = await remit(['payments', 'list', '--limit', '1']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^warning: `remit payments list` is deprecated since \S+ and stops answering on \S+; use `remit v2 payments list`\.$/m);
    const current = await remit(['v2', 'payments', 'list', '--limit', '1']);
    expect(current.stderr).not.to.match(/deprecated/);
  });

  it('sends operator and anonymous operations with their own credentials', async () => {
    const health = await remit(['operations', 'health', '--json'], { REMIT_API_KEY: '' });
    expect(health.code, health.stderr).to.equal(0);
    expect(JSON.parse(health.stdout)).to.have.property('status');
    const withoutToken = await remit(['accounts', 'create', '--name', 'Ops']);
    expect(withoutToken.code).to.equal(1);
    expect(withoutToken.stderr).to.match(/admin token/);
    const account = await remit(['accounts', 'create', '--name', 'Ops', '--json'], { REMIT_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(account.code, account.stderr).to.equal(0);
    expect(JSON.parse(account.stdout).account.id).to.match(/^acct_/);
    const metrics = await remit(['operations', 'metrics'], { REMIT_METRICS_TOKEN: METRICS_TOKEN });
    expect(metrics.code, metrics.stderr).to.equal(0);
    expect(metrics.stdout).to.match(/^# TYPE \S+ /m);
  });

  it('authenticates as an OAuth client with --client-id and --client-secret', async () => {
    const client = await api.client().oauthClients.create({ scopes: ['read'] });
    const run = await remit(['customers', 'list', '--limit', '1', '--json', '--client-id', client.id, '--client-secret', client.client_secret], { REMIT_API_KEY: '' });
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout).object).to.equal('list');
    const write = await remit(['customers', 'create', '--email', 'x@example.com'], { REMIT_API_KEY: '', REMIT_CLIENT_ID: client.id, REMIT_CLIENT_SECRET: client.client_secret });
    expect(write.code).to.equal(2);
    expect(write.stderr).to.match(/insufficient_scope/);
    expect(run.stdout + run.stderr + write.stdout + write.stderr).not.to.include(client.client_secret);
  });

  it('keeps profiles in a 0600 file, reads a secret from stdin, and never prints it', async () => {
    const set = await remit(['config', 'set', '--profile', 'staging', '--base-url', api.server.url, '--api-key', '-'], { REMIT_API_KEY: '', REMIT_BASE_URL: '' }, `${api.account.secret}\n`);
    expect(set.code, set.stderr).to.equal(0);
    const file = path.join(configDir, 'config.json');
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect((await stat(configDir)).mode & 0o077).to.equal(0);
    const show = await remit(['config', 'show', '--profile', 'staging', '--json'], { REMIT_API_KEY: '', REMIT_BASE_URL: '' });
    expect(show.code, show.stderr).to.equal(0);
    expect(JSON.parse(show.stdout)).to.deep.include({ profile: 'staging', base_url: api.server.url, credentials: 'API key from profile "staging"', stored: { base_url: api.server.url, api_key: 'set' } });
    const used = await remit(['customers', 'list', '--limit', '1', '--json'], { REMIT_API_KEY: '', REMIT_BASE_URL: '', REMIT_PROFILE: 'staging' });
    expect(used.code, used.stderr).to.equal(0);
    const missing = await remit(['customers', 'list', '--profile', 'nope']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/no profile "nope" \(profiles: staging\)/);
  });

  it('--verbose prints each attempt on stderr (method, path, status, duration, request id) and no secret', async () => {
    const run = await remit(['customers', 'list', '--limit', '1', '--verbose']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^remit: GET \/v1\/customers\?limit=1 200 in \d+ ms \(attempt 1, request req_\S+\)$/m);
    noAnsi(run);
  });
});
