/**
 * `remit trigger <event>`: makes the API calls that write an event of that type, so a webhook
 * handler (with `remit listen` forwarding to it) can be tried without clicking through a checkout.
 * Every call is a real one on the profile's account: a customer, a payment through the v2 API,
 * and, as the event needs, a cancel or a refund. `--override resource:path=value` changes the
 * request bodies, e.g. `payment:amount.value=1402` for an amount the processor declines.
 */
import { APIConnectionError, APIError, type Customer, type EventType, type PaymentV2, type Remit, type RefundV2 } from '@remit/sdk';
import type { CliContext } from './context.js';
import { EXIT, UsageError, type ExitCode } from './exit-codes.js';
import { exitCodeOf } from './failure.js';

/** The objects a trigger made, each as the API last answered with it. */
export interface TriggeredObjects {
  customer?: Customer;
  payment?: PaymentV2;
  refund?: RefundV2;
}

/** The request bodies `--override` may change. */
export type OverrideResource = 'customer' | 'payment' | 'refund';
const RESOURCES: readonly OverrideResource[] = ['customer', 'payment', 'refund'];

/** How to make one event type happen. */
interface Recipe {
  /** The payment's `capture_method`. */
  readonly capture: 'automatic' | 'manual';
  /** The payment's amount in cents: one ending in 402 is declined by the processor. */
  readonly amount: number;
  /** What follows the payment. */
  readonly then?: 'cancel' | 'refund';
  /** Whether the objects show that the event was written (an override may change the outcome). */
  readonly produced: (objects: TriggeredObjects) => boolean;
}

/** An event type no sequence of API calls produces on demand, and why. */
interface Untriggerable {
  readonly untriggerable: string;
}

const AMOUNT = 2000;
const DECLINED_AMOUNT = 1402;
const CURRENCY = 'EUR';

/** Every event type of the API: how to make it, or why it cannot be made. The type checks that none is missing. */
const EVENT_RECIPES: { readonly [T in EventType]: Recipe | Untriggerable } = {
  'payment.created': { capture: 'automatic', amount: AMOUNT, produced: (o) => o.payment !== undefined },
  'payment.requires_capture': { capture: 'manual', amount: AMOUNT, produced: (o) => o.payment?.status === 'authorized' },
  'payment.succeeded': { capture: 'automatic', amount: AMOUNT, produced: (o) => o.payment?.status === 'succeeded' },
  'payment.failed': { capture: 'automatic', amount: DECLINED_AMOUNT, produced: (o) => o.payment?.status === 'failed' },
  'payment.canceled': { capture: 'manual', amount: AMOUNT, then: 'cancel', produced: (o) => o.payment?.status === 'canceled' },
  'refund.created': { capture: 'automatic', amount: AMOUNT, then: 'refund', produced: (o) => o.refund !== undefined },
  'refund.succeeded': { capture: 'automatic', amount: AMOUNT, then: 'refund', produced: (o) => o.refund?.status === 'succeeded' },
  'refund.failed': {
    untriggerable:
      'a refund fails only when the processor refuses it, and the API already refuses every refund the processor would (an uncaptured or failed payment, more than is refundable), so no request makes one fail on demand',
  },
};

/** Every event type the API writes. */
export const EVENT_TYPES: readonly EventType[] = Object.keys(EVENT_RECIPES) as EventType[];
/** The event types `trigger` can produce. */
export const TRIGGERABLE_EVENT_TYPES: readonly EventType[] = EVENT_TYPES.filter((type) => !('untriggerable' in EVENT_RECIPES[type]));
/** The event types `trigger` cannot produce, each with the reason. */
export const UNTRIGGERABLE_EVENT_TYPES: Readonly<Partial<Record<EventType, string>>> = Object.fromEntries(
  EVENT_TYPES.flatMap((type) => {
    const recipe = EVENT_RECIPES[type];
    return 'untriggerable' in recipe ? [[type, recipe.untriggerable]] : [];
  }),
);

/** One `--override resource:path=value`, parsed. */
export interface Override {
  readonly resource: OverrideResource;
  /** The keys from the body's top level down. */
  readonly path: readonly string[];
  readonly value: unknown;
}

const OVERRIDE_FORM = 'resource:path=value, e.g. payment:amount.value=1402, customer:email=a@example.com or payment:metadata.order=42';
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** What `remit trigger` was asked for besides the event type. */
export interface TriggerOptions {
  /** `--override resource:path=value`, repeatable. */
  readonly overrides: readonly string[];
}

/**
 * Makes the calls that produce `eventType`, printing each result on stderr, then the objects' ids
 * on stdout (`--json`: one document with the objects). Throws a UsageError, before any call, for an
 * unknown or untriggerable type or a malformed override; returns the EXIT code of a call that failed.
 */
export async function trigger(ctx: CliContext, eventType: string, options: TriggerOptions): Promise<ExitCode> {
  const recipe = recipeFor(eventType);
  const overrides = options.overrides.map(parseOverride);
  checkOverridesApply(eventType, recipe, overrides);
  const client = ctx.client();
  const objects: TriggeredObjects = {};
  try {
    await runRecipe(ctx, client, eventType, recipe, overrides, objects);
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    ctx.out.message(error.message);
    return exitCodeOf(error.cause);
  }
  report(ctx, eventType, objects);
  if (!recipe.produced(objects)) {
    ctx.out.message(`Note: the overrides changed the outcome, so no ${eventType} event was written (the ${recipe.then === 'refund' ? 'refund' : 'payment'} is ${(recipe.then === 'refund' ? objects.refund?.status : objects.payment?.status) ?? 'missing'}).`);
  }
  return EXIT.ok;
}

function recipeFor(eventType: string): Recipe {
  const recipe = Object.hasOwn(EVENT_RECIPES, eventType) ? EVENT_RECIPES[eventType as EventType] : undefined;
  if (recipe === undefined) {
    throw new UsageError(`Unknown event type "${eventType}": trigger makes ${TRIGGERABLE_EVENT_TYPES.join(', ')}.`);
  }
  if ('untriggerable' in recipe) throw new UsageError(`${eventType} cannot be triggered: ${recipe.untriggerable}.`);
  return recipe;
}

/** Parses `resource:path=value`; the value is JSON when it parses as JSON, else the text itself. Metadata values stay text. */
export function parseOverride(text: string): Override {
  const colon = text.indexOf(':');
  const equals = text.indexOf('=', colon + 1);
  if (colon < 1 || equals < 0) throw new UsageError(`Malformed override "${text}": write ${OVERRIDE_FORM}.`);
  const resource = text.slice(0, colon);
  if (!(RESOURCES as readonly string[]).includes(resource)) {
    throw new UsageError(`Unknown resource "${resource}" in override "${text}": use ${RESOURCES.join(', ')}.`);
  }
  const path = overridePath(text, text.slice(colon + 1, equals));
  const raw = text.slice(equals + 1);
  // Metadata holds strings only: `metadata.order=42` means the text "42".
  const value = path[0] === 'metadata' ? raw : parseValue(raw);
  return { resource: resource as OverrideResource, path, value };
}

/**
 * The keys of an override's path. A metadata key may itself hold dots (`metadata.a.b` is the key
 * `a.b`), since metadata is flat.
 */
function overridePath(text: string, path: string): string[] {
  const keys = path.split('.');
  const resolved = keys[0] === 'metadata' && keys.length > 2 ? ['metadata', keys.slice(1).join('.')] : keys;
  if (resolved.some((key) => key === '' || FORBIDDEN_KEYS.has(key))) {
    throw new UsageError(`Malformed path "${path}" in override "${text}": keys joined by dots, e.g. amount.value.`);
  }
  return resolved;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A UsageError for an override of a body this event type's calls do not send. */
function checkOverridesApply(eventType: string, recipe: Recipe, overrides: readonly Override[]): void {
  const misplaced = overrides.find((override) => override.resource === 'refund' && recipe.then !== 'refund');
  if (misplaced === undefined) return;
  const refunding = TRIGGERABLE_EVENT_TYPES.filter((type) => (EVENT_RECIPES[type] as Recipe).then === 'refund');
  throw new UsageError(`${eventType} makes no refund: refund overrides apply to ${refunding.join(' and ')} only.`);
}

/** `body` with the resource's overrides applied, in the order given. */
function withOverrides(body: Record<string, unknown>, resource: OverrideResource, overrides: readonly Override[]): Record<string, unknown> {
  for (const override of overrides) if (override.resource === resource) setPath(body, override.path, override.value);
  return body;
}

function setPath(body: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = body;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** A call of the recipe failed; the message names it, `cause` is the SDK's error. */
class StepFailure extends Error {
  override readonly cause: APIError | APIConnectionError;

  constructor(step: string, cause: APIError | APIConnectionError) {
    const request = cause instanceof APIError && cause.requestId !== null ? ` (request ${cause.requestId})` : '';
    super(`${step} failed: ${cause.message}${request}`);
    this.cause = cause;
  }
}

/** The call's result; an API failure becomes a StepFailure naming `what` was being done. */
async function step<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof APIError || error instanceof APIConnectionError) throw new StepFailure(what, error);
    throw error;
  }
}

async function runRecipe(ctx: CliContext, client: Remit, eventType: string, recipe: Recipe, overrides: readonly Override[], objects: TriggeredObjects): Promise<void> {
  const options = { signal: ctx.signal };
  const customerBody = withOverrides({ email: 'trigger@example.com', name: 'Remit CLI test customer', description: `Made by remit trigger ${eventType}` }, 'customer', overrides);
  const customer = await step('Creating the customer', () => client.customers.create(customerBody as Parameters<Remit['customers']['create']>[0], options));
  objects.customer = customer;
  ctx.out.message(`customer ${customer.id} created`);

  const paymentBody = withOverrides(
    { amount: { value: recipe.amount, currency: CURRENCY }, customer: customer.id, capture_method: recipe.capture, description: `remit trigger ${eventType}` },
    'payment',
    overrides,
  );
  let payment = await step('Creating the payment', () => client.v2.payments.create(paymentBody as Parameters<Remit['v2']['payments']['create']>[0], options));
  objects.payment = payment;
  ctx.out.message(`payment ${payment.id} created (${payment.status})`);

  if (recipe.then === 'cancel') {
    const id = payment.id;
    payment = await step('Canceling the payment', () => client.v2.payments.cancel(id, options));
    objects.payment = payment;
    ctx.out.message(`payment ${payment.id} canceled (${payment.status})`);
  }
  if (recipe.then === 'refund') {
    const refundBody = withOverrides({ payment: payment.id, reason: 'requested_by_customer' }, 'refund', overrides);
    const refund = await step('Refunding the payment', () => client.v2.refunds.create(refundBody as Parameters<Remit['v2']['refunds']['create']>[0], options));
    objects.refund = refund;
    ctx.out.message(`refund ${refund.id} created (${refund.status})`);
  }
}

/** The objects' ids on stdout, or with `--json` one document holding the objects. */
function report(ctx: CliContext, eventType: string, objects: TriggeredObjects): void {
  if (ctx.out.json) {
    ctx.out.data(JSON.stringify({ event_type: eventType, objects }, null, 2));
    return;
  }
  for (const [name, object] of Object.entries(objects) as [string, { id: string } | undefined][]) {
    if (object !== undefined) ctx.out.data(`${name} ${object.id}`);
  }
}
