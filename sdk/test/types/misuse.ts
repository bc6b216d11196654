/**
 * Compile-time tests of the SDK's types, checked by `npm run typecheck` (never run). Each
 * `@ts-expect-error` line is misuse that must not compile: when one starts compiling (the types
 * got looser), the directive itself becomes an error and the type check fails. The lines without
 * it are uses that must keep compiling.
 */
import {
  APIError,
  NotFoundError,
  Page,
  Remit,
  type Customer,
  type Event,
  type ListPaymentsParams,
  type Payment,
  type PaymentStatus,
  type PaymentV2,
  type PaymentV2Status,
  type RefundV2,
  type WithResponse,
} from '../../src/index.js';

export async function misuse(remit: Remit): Promise<void> {
  // @ts-expect-error apiKey is required
  new Remit({ baseURL: 'http://127.0.0.1:8080' });
  // @ts-expect-error maxRetries is a number
  new Remit({ apiKey: 'sk_x', maxRetries: 'twice' });
  // @ts-expect-error a clientId needs its clientSecret
  new Remit({ clientId: 'cli_x' });
  // @ts-expect-error scope is a list of scopes
  new Remit({ clientId: 'cli_x', clientSecret: 'cs_x', scope: 'read write' });
  // @ts-expect-error not a scope
  new Remit({ clientId: 'cli_x', clientSecret: 'cs_x', scope: ['admin'] });
  new Remit({ clientId: 'cli_x', clientSecret: 'cs_x', scope: ['read'] });

  // @ts-expect-error no such method
  await remit.payments.refund('pay_1');
  // @ts-expect-error no such resource
  await remit.accounts.create({ name: 'x' });
  // @ts-expect-error operations outside the SDK's tags are not exposed
  await remit.operations.getHealth();

  // @ts-expect-error currency is required
  await remit.payments.create({ amount: 100 });
  // @ts-expect-error amount is a number of minor units, not a string
  await remit.payments.create({ amount: '100', currency: 'EUR' });
  // @ts-expect-error not a supported currency
  await remit.payments.create({ amount: 100, currency: 'XXX' });
  // @ts-expect-error capture_method is automatic or manual
  await remit.payments.create({ amount: 100, currency: 'EUR', capture_method: 'later' });
  // @ts-expect-error unknown request field
  await remit.payments.create({ amount: 100, currency: 'EUR', tip: 5 });
  // @ts-expect-error the body is required
  await remit.customers.create();
  // @ts-expect-error email is required
  await remit.customers.create({ name: 'Ada' });
  // @ts-expect-error metadata values are strings
  await remit.customers.create({ email: 'a@example.com', metadata: { tier: 1 } });

  // @ts-expect-error not a payment status
  await remit.payments.list({ status: 'paid' });
  // @ts-expect-error limit is a number
  await remit.payments.list({ limit: '10' });
  // @ts-expect-error created takes gt, gte, lt, lte
  await remit.payments.list({ created: { after: 5 } });
  // @ts-expect-error not an event type
  await remit.events.list({ type: 'payment.refunded' });

  // @ts-expect-error the id is a string
  await remit.payments.capture(42);
  // @ts-expect-error capture takes no body
  await remit.payments.capture('pay_1', { amount: 5 });
  // @ts-expect-error the update body is a partial customer, not anything
  await remit.customers.update('cus_1', { email: 42 });
  // @ts-expect-error per-call options: timeout is milliseconds
  await remit.customers.list({}, { timeout: '5s' });

  const payment = await remit.payments.retrieve('pay_1');
  // @ts-expect-error the customer may be null
  payment.customer.startsWith('cus_');
  // @ts-expect-error no such field
  void payment.charge_id;
  // @ts-expect-error a page's items are payments
  const wrong: Customer[] = (await remit.payments.list()).data;
  void wrong;

  // v2: the amount is a money object, `{ value, currency }`.
  // @ts-expect-error v1's flat amount and currency are not a v2 body
  await remit.v2.payments.create({ amount: 100, currency: 'EUR' });
  // @ts-expect-error the currency goes inside the amount
  await remit.v2.payments.create({ amount: { value: 100 }, currency: 'EUR' });
  // @ts-expect-error the amount needs its value
  await remit.v2.payments.create({ amount: { currency: 'EUR' } });
  // @ts-expect-error the amount is required
  await remit.v2.payments.create({ capture_method: 'manual' });
  // @ts-expect-error not a supported currency
  await remit.v2.payments.create({ amount: { value: 100, currency: 'XXX' } });
  // @ts-expect-error a refund's amount is a money object too
  await remit.v2.refunds.create({ payment: 'pay_1', amount: 100 });
  // @ts-expect-error v2 says authorized, not requires_capture
  await remit.v2.payments.list({ status: 'requires_capture' });
  // @ts-expect-error the v2 methods have the v1 names, without a version suffix
  await remit.v2.payments.createV2({ amount: { value: 100, currency: 'EUR' } });
  // @ts-expect-error v2 is not folded into the v1 namespace
  await remit.payments.createV2({ amount: { value: 100, currency: 'EUR' } });
  // @ts-expect-error events have no v2
  await remit.v2.events.list();
  const v2 = await remit.v2.payments.retrieve('pay_1');
  // @ts-expect-error a v2 amount is a money object, not a number
  void (v2.amount satisfies number);
  // @ts-expect-error v2 has the failure object, not v1's failure_code
  void v2.failure_code;
  // @ts-expect-error a v2 page's items are v2 payments
  const v1Items: Payment[] = (await remit.v2.payments.list()).data;
  void v1Items;
}

export async function use(remit: Remit): Promise<void> {
  const customer: Customer = await remit.customers.create({ email: 'a@example.com', name: 'Ada', metadata: { tier: 'gold' } });
  const name: string | null = customer.name;
  await remit.customers.update(customer.id, { name: null });

  const payment: Payment = await remit.payments.create({ amount: 2_500, currency: 'EUR', customer: customer.id }, { idempotencyKey: 'order-42' });
  const status: PaymentStatus = payment.status;
  const captured: Payment = await remit.payments.capture(payment.id, { maxRetries: 5, timeout: 10_000, signal: AbortSignal.timeout(30_000) });

  const query: ListPaymentsParams = { status: 'succeeded', limit: 50, created: { gte: 1_700_000_000 } };
  const page: Page<Payment> = await remit.payments.list(query);
  const more: boolean = page.hasNextPage();
  for await (const p of remit.payments.list({ status: 'succeeded' })) void (p satisfies Payment);
  for await (const e of remit.events.list({ type: 'payment.succeeded' })) void (e satisfies Event);

  // An event is a union discriminated by `type`: checking it narrows `data.object`.
  const event: Event = await remit.events.retrieve('evt_1');
  if (event.type === 'payment.succeeded') void (event.data.object.amount_captured satisfies number);
  if (event.type === 'refund.failed') void (event.data.object.payment satisfies string);
  // @ts-expect-error without narrowing, data.object may be a refund, which has no amount_captured
  void event.data.object.amount_captured;
  if (event.type === 'refund.created') {
    // @ts-expect-error a refund event's object is a refund: no capture_method
    void event.data.object.capture_method;
  }

  const v2: PaymentV2 = await remit.v2.payments.create({ amount: { value: 2_500, currency: 'EUR' }, capture_method: 'manual' }, { idempotencyKey: 'order-43' });
  const v2Status: PaymentV2Status = v2.status;
  const value: number = v2.amount.value;
  const failure: string | undefined = v2.failure?.code;
  for await (const p of remit.v2.payments.list({ status: 'authorized' })) void (p satisfies PaymentV2);
  const refund: RefundV2 = await remit.v2.refunds.create({ payment: v2.id, amount: { value: 500, currency: 'EUR' } });
  void [v2Status, value, failure, refund.amount.currency];

  const raw: WithResponse<Customer> = await remit.customers.retrieve(customer.id).withResponse();
  const requestId: string | null = raw.requestId;
  const asPromise: Promise<Payment> = remit.payments.retrieve(payment.id);

  try {
    await remit.customers.retrieve('cus_missing');
  } catch (err) {
    if (err instanceof NotFoundError) void (err.status satisfies number);
    if (err instanceof APIError && err.code === 'resource_not_found') void (err.requestId satisfies string | null);
  }
  void [name, status, captured, more, requestId, asPromise];
}
