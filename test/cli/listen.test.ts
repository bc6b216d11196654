/**
 * `remit listen` against the real API: events made with `trigger` reach a receiver on 127.0.0.1
 * in exactly the format Remit's webhooks use, verified with the SDK's `webhooks.verify` and the
 * secret `--print-secret` shows; the `events` filter, the secret's file, resuming after a restart,
 * the receiver's answers, `--json`, and the API refusing or failing.
 */
import { expect } from 'chai';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { webhooks, type Event } from '@remit/sdk';
import { UsageError, type ExitCode } from '../../cli/src/exit-codes.js';
import { listen, type ListenOptions } from '../../cli/src/listen.js';
import { trigger, type TriggeredObjects } from '../../cli/src/trigger.js';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { listen as listenHttp } from '../helpers/http-server.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { temporaryDirectory, testContext, waitFor, type TestContext } from './helpers/context.js';

const POLL_MS = 100;
/** The headers a delivery carries: Remit's own, and the two Node's HTTP client always adds. */
const DELIVERY_HEADERS = ['connection', 'content-length', 'content-type', 'host', 'user-agent', 'webhook-id', 'webhook-signature', 'webhook-timestamp'];

interface RunningListen {
  readonly t: TestContext;
  /** Resolves once listen is ready (its first position taken); rejects if it ended first. */
  ready(): Promise<void>;
  /** Ctrl-C, and listen's exit code. */
  stop(): Promise<ExitCode>;
  readonly done: Promise<ExitCode>;
}

describe('remit listen', function () {
  this.timeout(60_000);
  let api: RunningApi;
  let receiver: WebhookReceiver;
  const directories: (() => Promise<void>)[] = [];

  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await Promise.all(directories.map((remove) => remove()));
    await api?.close();
  });
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(() => receiver?.close());

  async function configDir(): Promise<string> {
    const dir = await temporaryDirectory();
    directories.push(dir.remove);
    return dir.path;
  }

  function context(dir: string, options: { json?: boolean; profile?: string } = {}): TestContext {
    return testContext({ baseURL: api.server.url, credentials: { apiKey: api.account.secret }, configDir: dir, ...options });
  }

  function start(dir: string, options: ListenOptions, contextOptions: { json?: boolean } = {}): RunningListen {
    const t = context(dir, contextOptions);
    let ended = false;
    const done = listen(t.ctx, { intervalMs: POLL_MS, ...options }).finally(() => {
      ended = true;
    });
    done.catch(() => undefined);
    return {
      t,
      done,
      async ready() {
        await waitFor(() => {
          if (ended) throw new Error(`listen ended before it was ready; stderr: ${t.stderr()}`);
          return t.stderr().includes('Ready!');
        }, 'listen to be ready');
      },
      stop() {
        t.controller.abort();
        return done;
      },
    };
  }

  async function printedSecret(dir: string, profile?: string): Promise<string> {
    const t = context(dir, { profile });
    expect(await listen(t.ctx, { printSecret: true })).to.equal(0);
    expect(t.stderr()).to.equal('');
    return t.stdout().trim();
  }

  async function triggered(type: string, overrides: string[] = []): Promise<TriggeredObjects> {
    const t = testContext({ baseURL: api.server.url, credentials: { apiKey: api.account.secret }, configDir: await configDir(), json: true });
    expect(await trigger(t.ctx, type, { overrides }), t.stderr()).to.equal(0);
    return (JSON.parse(t.stdout()) as { objects: TriggeredObjects }).objects;
  }

  /** The events about an object, oldest first. */
  async function eventsOf(objectId: string): Promise<Event[]> {
    const events: Event[] = [];
    for await (const event of api.client().events.list({ object_id: objectId, limit: 100 })) events.push(event);
    return events.reverse();
  }

  function delivered(id: string): number {
    return receiver.ids().filter((received) => received === id).length;
  }

  it('prints only the secret with printSecret, the same one on every run, kept in a file only its owner can read', async () => {
    const dir = await configDir();
    const secret = await printedSecret(dir);
    expect(secret).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).to.have.length(32);
    expect(await printedSecret(dir)).to.equal(secret);
    expect(await printedSecret(dir, 'staging'), 'another profile has a secret of its own').to.not.equal(secret);

    const listenDir = join(dir, 'listen');
    expect((await stat(listenDir)).mode & 0o777).to.equal(0o700);
    const files = await readdir(listenDir);
    expect(files).to.have.length(2);
    for (const file of files) expect((await stat(join(listenDir, file))).mode & 0o777, file).to.equal(0o600);
  });

  it('forwards a triggered payment.succeeded in the production format, signed with the secret, and only the types asked for', async () => {
    const dir = await configDir();
    const secret = await printedSecret(dir);
    const url = `${receiver.url}/hooks`;
    const run = start(dir, { forwardTo: url, events: ['payment.succeeded'] });
    await run.ready();
    expect(run.t.stderr()).to.include(`Ready! Forwarding events to ${url}. Your webhook signing secret is ${secret} (^C to quit)`);

    const { payment } = await triggered('payment.succeeded');
    const events = await eventsOf(payment!.id);
    expect(events.map((event) => event.type)).to.deep.equal(['payment.created', 'payment.succeeded']);
    const succeeded = events[1]!;
    await waitFor(() => run.t.stdout().includes(`[${succeeded.id}]\n`) && run.t.lines().some((line) => line.startsWith('<--')), 'the forward to be printed');
    expect(await run.stop()).to.equal(0);

    expect(receiver.ids(), 'payment.created is filtered out').to.deep.equal([succeeded.id]);
    const delivery = receiver.received[0]!;
    expect(delivery.path).to.equal('/hooks');
    expect(Object.keys(delivery.headers).sort()).to.deep.equal(DELIVERY_HEADERS);
    expect(delivery.headers['content-type']).to.equal('application/json');
    expect(delivery.headers['user-agent']).to.equal('Remit-Webhooks/1');
    expect(delivery.headers['webhook-id']).to.equal(succeeded.id);
    const verified = await webhooks.verify(delivery.body, delivery.headers, secret);
    expect(verified.id).to.equal(succeeded.id);

    const fromApi = await api.client().events.retrieve(succeeded.id);
    const body = JSON.parse(delivery.body) as Record<string, unknown>;
    expect(body).to.deep.equal({ ...fromApi, api_version: 'v1' });
    expect(Object.keys(body), 'the keys in the order Remit writes them').to.deep.equal(['id', 'object', 'created', 'request', 'api_version', 'type', 'data']);

    expect(run.t.lines()).to.deep.equal([`--> payment.succeeded [${succeeded.id}]`, `<-- [200] POST ${url} [${succeeded.id}]`]);
  });

  it('forwards nothing written before its first start, and after a restart what was written while it was stopped, exactly once', async () => {
    const dir = await configDir();
    const url = `${receiver.url}/hooks`;
    const before = await triggered('payment.succeeded');

    const first = start(dir, { forwardTo: url });
    await first.ready();
    const during = await triggered('payment.succeeded');
    const duringEvents = await eventsOf(during.payment!.id);
    await waitFor(() => duringEvents.every((event) => delivered(event.id) === 1), 'the first run to forward its events');
    expect(await first.stop()).to.equal(0);

    const whileStopped = await triggered('payment.canceled');
    const stoppedEvents = await eventsOf(whileStopped.payment!.id);
    expect(stoppedEvents.map((event) => event.type)).to.deep.equal(['payment.created', 'payment.requires_capture', 'payment.canceled']);

    const second = start(dir, { forwardTo: url });
    await second.ready();
    expect(second.t.stderr()).to.include('Resuming');
    await waitFor(() => stoppedEvents.every((event) => delivered(event.id) === 1), 'the restart to forward what was written while stopped');
    // A later event, forwarded after them: by then any repeat of an earlier one would have been sent.
    const marker = await triggered('payment.failed');
    const markerEvents = await eventsOf(marker.payment!.id);
    expect(markerEvents.map((event) => event.type)).to.deep.equal(['payment.created', 'payment.failed']);
    await waitFor(() => markerEvents.every((event) => delivered(event.id) === 1), 'the marker events to be forwarded');
    expect(await second.stop()).to.equal(0);

    const expected = [...duringEvents, ...stoppedEvents, ...markerEvents].map((event) => event.id);
    expect(receiver.ids(), 'each event once, oldest first, none from before the first start').to.deep.equal(expected);
    const beforeIds = (await eventsOf(before.payment!.id)).map((event) => event.id);
    expect(beforeIds).to.have.length(2);
    for (const id of beforeIds) expect(delivered(id)).to.equal(0);
  });

  it('lets a forward in flight finish when stopped, and records it: the next run does not send it again', async () => {
    const dir = await configDir();
    // A receiver that answers each delivery 500 ms after it arrives, so the stop lands mid-forward.
    const arrived: string[] = [];
    const slow = await listenHttp((req, res) => {
      arrived.push(String(req.headers['webhook-id']));
      req.resume();
      setTimeout(() => res.end(), 500);
    });
    try {
      const url = `${slow.url}/hooks`;
      const first = start(dir, { forwardTo: url, events: ['payment.created'] });
      await first.ready();
      const { payment } = await triggered('payment.succeeded');
      const [created] = await eventsOf(payment!.id);
      await waitFor(() => arrived.includes(created!.id), 'the delivery to arrive');
      expect(await first.stop()).to.equal(0);
      expect(first.t.lines(), 'the answer came before listen ended').to.include(`<-- [200] POST ${url} [${created!.id}]`);

      const second = start(dir, { forwardTo: url, events: ['payment.created'] });
      await second.ready();
      const marker = await triggered('payment.succeeded');
      const [markerCreated] = await eventsOf(marker.payment!.id);
      await waitFor(() => second.t.lines().some((line) => line.startsWith('<--') && line.includes(markerCreated!.id)), 'the marker to be forwarded');
      expect(await second.stop()).to.equal(0);
      expect(arrived).to.deep.equal([created!.id, markerCreated!.id]);
    } finally {
      await slow.close();
    }
  });

  it('prints the receiver\'s status, a 500 included, and does not retry', async () => {
    const dir = await configDir();
    const url = `${receiver.url}/hooks`;
    receiver.respond = (_delivery, index) => ({ status: index === 0 ? 500 : 204 });
    const run = start(dir, { forwardTo: url, events: ['payment.succeeded'] });
    await run.ready();
    const failing = (await eventsOf((await triggered('payment.succeeded')).payment!.id))[1]!;
    await waitFor(() => run.t.stdout().includes(`<-- [500] POST ${url} [${failing.id}]`), 'the 500 to be printed');
    const marker = (await eventsOf((await triggered('payment.succeeded')).payment!.id))[1]!;
    await waitFor(() => run.t.stdout().includes(`<-- [204] POST ${url} [${marker.id}]`), 'the marker to be forwarded');
    expect(await run.stop()).to.equal(0);
    expect(receiver.ids()).to.deep.equal([failing.id, marker.id]);
  });

  it('reports a receiver that cannot be reached as [ERR] with the reason', async () => {
    const closed = await listenHttp(() => undefined);
    await closed.close();
    const url = `${closed.url}/hooks`;
    const run = start(await configDir(), { forwardTo: url, events: ['payment.succeeded'] });
    await run.ready();
    const event = (await eventsOf((await triggered('payment.succeeded')).payment!.id))[1]!;
    await waitFor(() => run.t.stdout().includes(`<-- [ERR] POST ${url} [${event.id}] connection refused`), 'the failed forward to be printed');
    expect(await run.stop()).to.equal(0);
  });

  it('prints one JSON line per forwarded event with --json', async () => {
    const url = `${receiver.url}/hooks`;
    const run = start(await configDir(), { forwardTo: url, events: ['payment.*'] }, { json: true });
    await run.ready();
    const events = await eventsOf((await triggered('payment.succeeded')).payment!.id);
    await waitFor(() => run.t.lines().length === 2, 'two JSON lines');
    expect(await run.stop()).to.equal(0);
    const lines = run.t.lines().map((line) => JSON.parse(line) as { event: { id: string }; status: number | null });
    expect(lines.map((line) => line.event.id)).to.deep.equal(events.map((event) => event.id));
    expect(lines.map((line) => line.status)).to.deep.equal([200, 200]);
    expect(lines.map((line) => line.event)).to.deep.equal(receiver.received.map((delivery) => JSON.parse(delivery.body)));
  });

  it('without forwardTo prints the --> lines only', async () => {
    const run = start(await configDir(), { events: ['payment.succeeded', 'refund.succeeded'] });
    await run.ready();
    expect(run.t.stderr()).to.include('Ready! Printing events as they are written.');
    const objects = await triggered('refund.succeeded');
    const paymentSucceeded = (await eventsOf(objects.payment!.id))[1]!;
    const refundSucceeded = (await eventsOf(objects.refund!.id))[1]!;
    expect(refundSucceeded.type).to.equal('refund.succeeded');
    await waitFor(() => run.t.lines().length === 2, 'two lines');
    expect(await run.stop()).to.equal(0);
    expect(run.t.lines()).to.deep.equal([`--> payment.succeeded [${paymentSucceeded.id}]`, `--> refund.succeeded [${refundSucceeded.id}]`]);
    expect(receiver.received).to.have.length(0);
  });

  it('ends with exit 2 and the problem when the API refuses the credentials', async () => {
    const t = testContext({ baseURL: api.server.url, credentials: { apiKey: 'sk_unknown0000000000000000000_notarealsecret' }, configDir: await configDir() });
    expect(await listen(t.ctx, { intervalMs: POLL_MS })).to.equal(2);
    expect(t.stderr()).to.match(/^The API refused to list events \(401 The credentials are not valid: .+\)\. The credentials are revoked or mistyped/);
    expect(t.stderr()).to.not.include('Ready!');
    expect(t.stdout()).to.equal('');
  });

  it('keeps polling with a growing wait while the API is unreachable, and ends cleanly on Ctrl-C', async () => {
    const closed = await listenHttp(() => undefined);
    await closed.close();
    const t = testContext({ baseURL: closed.url, credentials: { apiKey: api.account.secret }, configDir: await configDir(), clientOptions: { maxRetries: 0 } });
    const done = listen(t.ctx, { intervalMs: 20 });
    await waitFor(() => (t.stderr().match(/Could not read events/g) ?? []).length >= 3, 'three failed polls');
    const waits = [...t.stderr().matchAll(/trying again in (\d+) ms/g)].map((match) => Number(match[1]));
    expect(waits.slice(0, 3)).to.deep.equal([40, 80, 160]);
    t.controller.abort();
    expect(await done).to.equal(0);
    expect(t.stderr()).to.not.include('Ready!');
  });

  it('refuses a forward URL that is not http(s) and an unknown event type, before anything is sent', async () => {
    for (const options of [{ forwardTo: 'ftp://localhost/hooks' }, { forwardTo: 'localhost:3000' }, { events: ['payment.succeded'] }]) {
      const t = context(await configDir());
      const error = await listen(t.ctx, options).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, JSON.stringify(options)).to.be.instanceOf(UsageError);
      expect(t.stdout() + t.stderr()).to.equal('');
    }
  });
});
