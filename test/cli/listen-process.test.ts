/**
 * `remit listen` and `remit trigger` as a developer runs them, in two terminals: the built command
 * as two processes against the real API. The event `trigger` produces reaches a receiver in the
 * test, which verifies it with the secret `listen` printed and the SDK's verifier, as a handler
 * would in production; Ctrl-C ends `listen` with exit 0.
 */
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { webhooks } from '../../sdk/src/index.js';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { ANSI, BIN, ROOT, baseEnv, buildCli, runCli, scratchConfigDir } from './helpers/cli.js';
import { waitFor } from '../helpers/api-process.js';

describe('remit listen and remit trigger, as processes', function () {
  this.timeout(120_000);
  let api: RunningApi;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  let child: ChildProcessWithoutNullStreams | undefined;

  before(async () => {
    await buildCli();
    api = await startApi();
    receiver = await startReceiver();
    env = { ...baseEnv(await scratchConfigDir()), REMIT_BASE_URL: api.server.url, REMIT_API_KEY: api.account.secret };
  });
  after(async () => {
    child?.kill('SIGKILL');
    await receiver?.close();
    await api?.close();
  });

  it('forwards a triggered payment.succeeded that the receiver verifies with the printed secret', async () => {
    const listener = spawn(process.execPath, [BIN, 'listen', '--forward-to', `${receiver.url}/hooks`, '--interval-ms', '200'], { cwd: ROOT, env, stdio: 'pipe' });
    child = listener;
    let stdout = '';
    let stderr = '';
    listener.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    listener.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => listener.on('exit', (code) => resolve(code)));

    const secret = await waitFor('listen to be ready', () => /^Ready! .* Your webhook signing secret is (whsec_[A-Za-z0-9+/=]+) /m.exec(stderr)?.[1], 30_000);
    // The same secret as a later run would print: what the handler is configured with once.
    const printed = await runCli(['listen', '--print-secret'], { env });
    expect(printed.code).to.equal(0);
    expect(printed.stdout.trim()).to.equal(secret);

    const triggered = await runCli(['trigger', 'payment.succeeded', '--json'], { env });
    expect(triggered.code, triggered.stderr).to.equal(0);
    const payment = (JSON.parse(triggered.stdout) as { objects: { payment: { id: string } } }).objects.payment;

    const delivery = await waitFor('the payment.succeeded delivery', () => receiver.received.find((d) => (JSON.parse(d.body) as { type: string }).type === 'payment.succeeded'), 30_000);
    expect(delivery.path).to.equal('/hooks');
    const event = await webhooks.verify(delivery.body, delivery.headers as Record<string, string>, secret);
    expect(event).to.include({ type: 'payment.succeeded', api_version: 'v1' });
    expect((event.data.object as { id: string }).id).to.equal(payment.id);
    const forged = await webhooks.verify(delivery.body, delivery.headers as Record<string, string>, `whsec_${Buffer.alloc(32, 1).toString('base64')}`).catch((e: unknown) => e);
    expect(forged, 'another secret does not verify it').to.be.instanceOf(Error);

    await waitFor('the answer line', () => (stdout.includes(`<-- [200] POST ${receiver.url}/hooks [${event.id}]`) ? true : undefined), 10_000);
    expect(stdout).to.include(`--> payment.succeeded [${event.id}]`);
    expect(stdout + stderr).not.to.match(ANSI);
    expect(stdout + stderr).not.to.include(api.account.secret);

    listener.kill('SIGINT');
    expect(await exited).to.equal(0);
    child = undefined;
  });
});
