/**
 * `remit trigger` against the real API: every type it offers writes an event of that type about
 * the object it made; the triggerable and untriggerable types are exactly the spec's; overrides
 * change the request bodies; and a mistake on the command line creates nothing.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { EventType } from '@remit/sdk';
import { UsageError, type ExitCode } from '../../cli/src/exit-codes.js';
import { TRIGGERABLE_EVENT_TYPES, UNTRIGGERABLE_EVENT_TYPES, trigger, type TriggeredObjects } from '../../cli/src/trigger.js';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { snapshot } from '../helpers/app.js';
import { temporaryDirectory, testContext, type TestContext } from './helpers/context.js';

interface Triggered {
  readonly code: ExitCode;
  readonly t: TestContext;
  readonly objects: TriggeredObjects;
}

describe('remit trigger', function () {
  this.timeout(60_000);
  let api: RunningApi;
  let dir: { path: string; remove: () => Promise<void> };

  before(async () => {
    api = await startApi();
    dir = await temporaryDirectory();
  });
  after(async () => {
    await dir?.remove();
    await api?.close();
  });

  function context(json: boolean): TestContext {
    return testContext({ baseURL: api.server.url, credentials: { apiKey: api.account.secret }, configDir: dir.path, json });
  }

  async function run(eventType: string, overrides: string[] = []): Promise<Triggered> {
    const t = context(true);
    const code = await trigger(t.ctx, eventType, { overrides });
    const objects = code === 0 ? (JSON.parse(t.stdout()) as { objects: TriggeredObjects }).objects : {};
    return { code, t, objects };
  }

  async function eventTypesOf(objectId: string, type?: EventType): Promise<string[]> {
    const page = await api.client().events.list({ object_id: objectId, limit: 100, ...(type === undefined ? {} : { type }) });
    return page.data.map((event) => event.type).reverse();
  }

  async function usageErrorOf(eventType: string, overrides: string[]): Promise<UsageError> {
    const t = context(false);
    const error = await trigger(t.ctx, eventType, { overrides }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error, `${eventType} ${overrides.join(' ')}`).to.be.instanceOf(UsageError);
    expect(t.stdout() + t.stderr(), 'nothing printed: nothing was done').to.equal('');
    return error as UsageError;
  }

  it('offers every event type of the spec, except the documented untriggerable ones', async () => {
    const spec = parse(await readFile(new URL('../../spec/openapi.yaml', import.meta.url), 'utf8')) as { components: { schemas: { EventType: { enum: string[] } } } };
    const specTypes = spec.components.schemas.EventType.enum;
    const untriggerable = Object.keys(UNTRIGGERABLE_EVENT_TYPES);
    expect([...TRIGGERABLE_EVENT_TYPES, ...untriggerable].sort()).to.deep.equal([...specTypes].sort());
    expect(TRIGGERABLE_EVENT_TYPES.filter((type) => untriggerable.includes(type))).to.deep.equal([]);
    expect(untriggerable).to.deep.equal(['refund.failed']);
    for (const reason of Object.values(UNTRIGGERABLE_EVENT_TYPES)) expect(reason).to.have.length.above(20);
  });

  for (const eventType of TRIGGERABLE_EVENT_TYPES) {
    it(`${eventType}: writes that event about the object it made`, async () => {
      const { code, t, objects } = await run(eventType);
      expect(code, t.stderr()).to.equal(0);
      expect(JSON.parse(t.stdout())).to.have.property('event_type', eventType);
      const object = eventType.startsWith('refund.') ? objects.refund : objects.payment;
      expect(object, 'the object the event is about').to.not.equal(undefined);
      expect(await eventTypesOf(object!.id, eventType)).to.deep.equal([eventType]);
      expect(objects.customer?.id).to.match(/^cus_/);
      expect(objects.payment?.customer).to.equal(objects.customer!.id);
      expect(t.stderr(), 'no note: the outcome is the one asked for').to.not.include('Note:');
    });
  }

  it('prints each call on stderr as it happens and the ids on stdout', async () => {
    const t = context(false);
    expect(await trigger(t.ctx, 'refund.succeeded', { overrides: [] })).to.equal(0);
    const [customer, payment, refund] = t.stderr().trim().split('\n');
    expect(customer).to.match(/^customer cus_[A-Za-z0-9]+ created$/);
    expect(payment).to.match(/^payment pay_[A-Za-z0-9]+ created \(succeeded\)$/);
    expect(refund).to.match(/^refund re_[A-Za-z0-9]+ created \(succeeded\)$/);
    const ids = [customer, payment, refund].map((line) => line!.split(' ')[1]);
    expect(t.stdout()).to.equal(`customer ${ids[0]}\npayment ${ids[1]}\nrefund ${ids[2]}\n`);
  });

  it('applies overrides: payment:amount.value=1402 makes payment.failed; strings, JSON values and metadata land where named', async () => {
    const overrides = ['payment:amount.value=1402', 'customer:email=a@example.com', 'customer:name="42"', 'payment:metadata.order=42', 'payment:metadata.a.b=c'];
    const { code, t, objects } = await run('payment.succeeded', overrides);
    expect(code, t.stderr()).to.equal(0);
    const { customer, payment } = objects;
    expect(payment!.status).to.equal('failed');
    expect(payment!.amount).to.deep.equal({ value: 1402, currency: 'EUR' });
    expect(payment!.metadata).to.deep.equal({ order: '42', 'a.b': 'c' });
    expect(customer!.email).to.equal('a@example.com');
    expect(customer!.name).to.equal('42');
    expect(await eventTypesOf(payment!.id)).to.deep.equal(['payment.created', 'payment.failed']);
    expect(t.stderr()).to.include('Note: the overrides changed the outcome, so no payment.succeeded event was written (the payment is failed).');
  });

  it('returns the API\'s refusal as exit 2, naming the call that failed', async () => {
    const t = context(false);
    expect(await trigger(t.ctx, 'payment.succeeded', { overrides: ['payment:amount.currency=XXX'] })).to.equal(2);
    expect(t.stderr()).to.match(/^customer cus_\w+ created\nCreating the payment failed: 400 /);
    expect(t.stdout()).to.equal('');
  });

  it('refuses unknown and untriggerable types and malformed overrides as usage errors, creating nothing', async () => {
    const before = await snapshot(api.t.db);
    expect((await usageErrorOf('payment.exploded', [])).message).to.include(TRIGGERABLE_EVENT_TYPES.join(', '));
    expect((await usageErrorOf('refund.failed', [])).message).to.match(/^refund\.failed cannot be triggered: .+processor/);
    expect((await usageErrorOf('payment.succeeded', ['nonsense'])).message).to.include('resource:path=value');
    expect((await usageErrorOf('payment.succeeded', ['payment:amount.value'])).message).to.include('resource:path=value');
    expect((await usageErrorOf('payment.succeeded', ['invoice:amount=1'])).message).to.include('customer, payment, refund');
    expect((await usageErrorOf('payment.succeeded', ['payment:=1'])).message).to.include('Malformed path');
    expect((await usageErrorOf('payment.succeeded', ['payment:amount..value=1'])).message).to.include('Malformed path');
    expect((await usageErrorOf('payment.succeeded', ['payment:__proto__.polluted=1'])).message).to.include('Malformed path');
    expect((await usageErrorOf('payment.succeeded', ['refund:reason=duplicate'])).message).to.include('refund.created and refund.succeeded');
    // A valid override before a malformed one: still nothing is sent.
    await usageErrorOf('payment.succeeded', ['payment:amount.value=1402', 'payment:']);
    expect(await snapshot(api.t.db)).to.deep.equal(before);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
