/**
 * Payments: create (charge through the processor), capture, cancel, retrieve, list.
 *
 * The state machine, and nothing else:
 *
 *   processing ──charge authorized──▶ requires_capture ──capture──▶ succeeded
 *       │  └─────charge captured────────────────────────────────▶ succeeded
 *       └──────charge declined──▶ failed      requires_capture ──cancel──▶ canceled
 *
 * Every transition is a guarded UPDATE (`where status = from`) in the same transaction as its
 * event, and every processor call carries a key derived from the payment id (`pay_…`,
 * `pay_…:capture`, `pay_…:void`), so re-running a step after a crash or a lost answer replays the
 * processor's first answer rather than moving money again.
 */
import type { Knex } from 'knex';
import type { components, operations } from '../../generated/schema.js';
import { findCustomer } from '../customers/repository.js';
import { recordEvent, type EventSource } from '../events/record.js';
import { callProcessor, type ProcessorClient, type ProcessorResult } from '../processor/client.js';
import { AppError, notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { requireKey, type IdempotencyService, type IdempotentOperation, type PhaseContext } from '../platform/idempotency/index.js';
import { DEFAULT_LIMIT, fromUnixSeconds, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import * as repo from './repository.js';

export type Payment = components['schemas']['Payment'];
type CreateInput = components['schemas']['PaymentCreateRequest'];
type ListQuery = NonNullable<operations['listPayments']['parameters']['query']>;

const LIST = 'payments';

export function toPayment(row: repo.PaymentRow): Payment {
  return {
    id: row.id,
    object: 'payment',
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    capture_method: row.capture_method,
    customer: row.customer_id,
    description: row.description,
    metadata: row.metadata,
    amount_captured: row.amount_captured,
    amount_refunded: row.amount_refunded,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created: toUnixSeconds(row.created_at),
  };
}

/** Where a request's work is recorded: its account, request id and key. */
function sourceOf(ctx: PhaseContext<unknown>): EventSource {
  return { accountId: ctx.accountId, requestId: ctx.requestId, idempotencyKey: ctx.idempotencyKey };
}

/** A processor answer that is neither success nor a refusal this code expects: a bug, not a retry. */
function unexpected(action: string, result: ProcessorResult<unknown>): Error {
  return new Error(`processor refused ${action}: ${result.ok ? 'ok' : `${result.status} ${result.code} ${result.message}`}`);
}

export class PaymentService {
  private readonly createOp: IdempotentOperation<{ body: CreateInput }>;
  private readonly captureOp: IdempotentOperation<{ id: string }>;
  private readonly cancelOp: IdempotentOperation<{ id: string }>;

  constructor(
    private readonly db: Knex,
    private readonly processor: ProcessorClient,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
  ) {
    this.createOp = idempotency.register({
      name: 'createPayment',
      phases: {
        // Phase 1: record the payment as `processing`, with its event, before any money moves.
        started: (ctx) =>
          ctx.atomic(async (trx) => {
            const input = ctx.params.body;
            if (input.customer !== undefined && !(await findCustomer(trx, ctx.accountId, input.customer))) {
              throw new AppError('referenced_resource_not_found', `No customer with id '${input.customer}' exists in this account.`);
            }
            const payment = await repo.insertPayment(trx, {
              id: newId('pay'),
              account_id: ctx.accountId,
              customer_id: input.customer ?? null,
              amount: input.amount,
              currency: input.currency,
              capture_method: input.capture_method ?? 'automatic',
              description: input.description ?? null,
              metadata: input.metadata ?? {},
            });
            await recordEvent(trx, sourceOf(ctx), 'payment.created', toPayment(payment));
            return { next: 'payment_created', resourceId: payment.id };
          }),
        // Phase 2: charge (keyed by the payment id), then record the outcome with its event.
        payment_created: async (ctx) => {
          const payment = await repo.findPayment(this.db, ctx.accountId, ctx.resourceId!);
          if (!payment) throw new Error(`payment ${ctx.resourceId} recorded by phase 1 is missing`);
          const result = await callProcessor(() =>
            this.processor.createCharge(payment.id, {
              amount: payment.amount,
              currency: payment.currency,
              capture: payment.capture_method === 'automatic',
              reference: payment.id,
            }),
          );
          if (!result.ok) throw unexpected('charge', result);
          const charge = result.value;
          return ctx.atomic(async (trx) => {
            const changes =
              charge.status === 'declined'
                ? { status: 'failed' as const, failure_code: charge.decline_code ?? 'card_declined', failure_message: 'The card was declined.' }
                : charge.status === 'authorized'
                  ? { status: 'requires_capture' as const }
                  : { status: 'succeeded' as const, amount_captured: charge.amount_captured };
            const updated = await repo.transition(trx, ctx.accountId, payment.id, 'processing', { ...changes, processor_charge_id: charge.id });
            if (!updated) throw new Error(`payment ${payment.id} left processing under a held key`);
            const body = toPayment(updated);
            await recordEvent(trx, sourceOf(ctx), `payment.${changes.status}`, body);
            return { response: { status: 201, body } };
          });
        },
      },
    });

    this.captureOp = idempotency.register({
      name: 'capturePayment',
      phases: {
        // One phase: check, capture at the processor (keyed `pay_…:capture`), record. A crash before
        // the commit leaves the payment `requires_capture`; re-running replays the capture.
        started: async (ctx) => {
          const payment = await this.mustFind(ctx.accountId, ctx.params.id);
          if (payment.status !== 'requires_capture') throw notCapturable(payment);
          const result = await callProcessor(() => this.processor.captureCharge(`${payment.id}:capture`, payment.processor_charge_id!));
          if (!result.ok && result.code !== 'charge_already_captured') {
            if (result.status === 409) throw notCapturable(payment, `The processor refused the capture (${result.code}).`);
            throw unexpected('capture', result);
          }
          return ctx.atomic(async (trx) => {
            const updated = await repo.transition(trx, ctx.accountId, payment.id, 'requires_capture', {
              status: 'succeeded',
              amount_captured: payment.amount,
            });
            // A concurrent cancel or capture under another key changed it first.
            if (!updated) throw notCapturable((await repo.findPayment(trx, ctx.accountId, payment.id)) ?? payment);
            const body = toPayment(updated);
            await recordEvent(trx, sourceOf(ctx), 'payment.succeeded', body);
            return { response: { status: 200, body } };
          });
        },
      },
    });

    this.cancelOp = idempotency.register({
      name: 'cancelPayment',
      phases: {
        started: async (ctx) => {
          const payment = await this.mustFind(ctx.accountId, ctx.params.id);
          if (payment.status !== 'requires_capture') throw notCancelable(payment);
          const result = await callProcessor(() => this.processor.voidCharge(`${payment.id}:void`, payment.processor_charge_id!));
          if (!result.ok && result.code !== 'charge_voided') {
            if (result.status === 409) throw notCancelable(payment, `The processor refused to release the authorization (${result.code}).`);
            throw unexpected('void', result);
          }
          return ctx.atomic(async (trx) => {
            const updated = await repo.transition(trx, ctx.accountId, payment.id, 'requires_capture', { status: 'canceled' });
            if (!updated) throw notCancelable((await repo.findPayment(trx, ctx.accountId, payment.id)) ?? payment);
            const body = toPayment(updated);
            await recordEvent(trx, sourceOf(ctx), 'payment.canceled', body);
            return { response: { status: 200, body } };
          });
        },
      },
    });
  }

  private async mustFind(accountId: string, id: string): Promise<repo.PaymentRow> {
    const payment = await repo.findPayment(this.db, accountId, id);
    if (!payment) throw notFound('payment', id);
    return payment;
  }

  create(request: { accountId: string; key: string | undefined; method: string; path: string; requestId: string; body: CreateInput }) {
    requireKey(request.key);
    return this.idempotency.execute(this.createOp, { ...request, params: { body: request.body } });
  }

  capture(request: { accountId: string; key: string | undefined; method: string; path: string; requestId: string; id: string }) {
    requireKey(request.key);
    return this.idempotency.execute(this.captureOp, { ...request, params: { id: request.id }, body: null });
  }

  cancel(request: { accountId: string; key: string | undefined; method: string; path: string; requestId: string; id: string }) {
    return this.idempotency.execute(this.cancelOp, { ...request, params: { id: request.id }, body: null });
  }

  async retrieve(accountId: string, id: string): Promise<Payment> {
    return toPayment(await this.mustFind(accountId, id));
  }

  async list(accountId: string, query: ListQuery): Promise<ListPage<Payment>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const filter = { status: query.status, customer: query.customer, created: query.created };
    const after = query.cursor ? await this.cursors.decode(scope, filter, query.cursor) : undefined;
    const rows = await repo.listPayments(
      this.db,
      accountId,
      { status: query.status, customerId: query.customer, created: query.created && fromUnixSeconds(query.created) },
      limit + 1,
      after,
    );
    return this.cursors.page(scope, filter, rows, limit, toPayment);
  }
}

function notCapturable(payment: repo.PaymentRow, detail?: string): AppError {
  return new AppError('payment_not_capturable', detail ?? `Payment '${payment.id}' is ${payment.status}; only a requires_capture payment can be captured.`);
}

function notCancelable(payment: repo.PaymentRow, detail?: string): AppError {
  return new AppError('payment_not_cancelable', detail ?? `Payment '${payment.id}' is ${payment.status}; only a requires_capture payment can be canceled.`);
}
