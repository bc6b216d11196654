/**
 * Refunds: all or part of a succeeded payment, returned through the processor.
 *
 *   pending ──processor refunded──▶ succeeded
 *      └────processor refused────▶ failed
 *
 * Phase 1 locks the payment row, so concurrent refunds of one payment queue and each sees what the
 * others reserved: a pending refund counts against what remains, and the database's own check
 * (`amount_refunded <= amount_captured`) backs the arithmetic. Phase 2 calls the processor with the
 * refund id as its key, so a resumed phase cannot refund twice.
 */
import type { Knex } from 'knex';
import type { components, operations } from '../../generated/schema.js';
import { recordEvent } from '../events/record.js';
import { addRefunded, findPayment, lockPayment } from '../payments/repository.js';
import { callProcessor, type ProcessorClient } from '../processor/client.js';
import { AppError, notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { requireKey, type IdempotencyService, type IdempotentOperation } from '../platform/idempotency/index.js';
import { DEFAULT_LIMIT, fromUnixSeconds, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import * as repo from './repository.js';

export type Refund = components['schemas']['Refund'];
type CreateInput = components['schemas']['RefundCreateRequest'];
type ListQuery = NonNullable<operations['listRefunds']['parameters']['query']>;

const LIST = 'refunds';

export function toRefund(row: repo.RefundRow): Refund {
  return {
    id: row.id,
    object: 'refund',
    payment: row.payment_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    reason: row.reason,
    metadata: row.metadata,
    failure_code: row.failure_code,
    created: toUnixSeconds(row.created_at),
  };
}

export class RefundService {
  private readonly createOp: IdempotentOperation<{ body: CreateInput }>;

  constructor(
    private readonly db: Knex,
    private readonly processor: ProcessorClient,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
  ) {
    this.createOp = idempotency.register({
      name: 'createRefund',
      phases: {
        started: (ctx) =>
          ctx.atomic(async (trx) => {
            const input = ctx.params.body;
            const payment = await lockPayment(trx, ctx.accountId, input.payment);
            if (!payment) throw new AppError('referenced_resource_not_found', `No payment with id '${input.payment}' exists in this account.`);
            if (payment.status !== 'succeeded') {
              throw new AppError('payment_not_refundable', `Payment '${payment.id}' is ${payment.status}; only a succeeded payment can be refunded.`);
            }
            const remaining = payment.amount_captured - payment.amount_refunded - (await repo.pendingAmount(trx, payment.id));
            const amount = input.amount ?? remaining;
            if (amount <= 0 || amount > remaining) {
              throw new AppError(
                'amount_exceeds_refundable',
                `Payment '${payment.id}' has ${Math.max(remaining, 0)} ${payment.currency} left to refund (pending refunds included); ${amount} was asked.`,
              );
            }
            const refund = await repo.insertRefund(trx, {
              id: newId('re'),
              account_id: ctx.accountId,
              payment_id: payment.id,
              amount,
              currency: payment.currency,
              reason: input.reason ?? null,
              metadata: input.metadata ?? {},
            });
            await recordEvent(trx, ctx, 'refund.created', toRefund(refund));
            return { next: 'refund_created', resourceId: refund.id };
          }),
        refund_created: async (ctx) => {
          const refund = await repo.findRefund(this.db, ctx.accountId, ctx.resourceId!);
          const payment = refund && (await findPayment(this.db, ctx.accountId, refund.payment_id));
          if (!refund || !payment) throw new Error(`refund ${ctx.resourceId} recorded by phase 1 is missing`);
          const result = await callProcessor(() =>
            this.processor.createRefund(refund.id, { charge: payment.processor_charge_id!, amount: refund.amount }),
          );
          if (!result.ok && result.status !== 409 && result.status !== 422) {
            throw new Error(`processor refused refund: ${result.status} ${result.code}`);
          }
          return ctx.atomic(async (trx) => {
            const settled = result.ok
              ? await repo.settle(trx, refund.id, { status: 'succeeded', processor_refund_id: result.value.id })
              : await repo.settle(trx, refund.id, { status: 'failed', failure_code: result.code });
            if (!settled) throw new Error(`refund ${refund.id} left pending under a held key`);
            if (settled.status === 'succeeded') await addRefunded(trx, payment.id, settled.amount);
            const body = toRefund(settled);
            await recordEvent(trx, ctx, settled.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed', body);
            return { response: { status: 201, body } };
          });
        },
      },
    });
  }

  create(request: { accountId: string; key: string | undefined; method: string; path: string; requestId: string; body: CreateInput }) {
    requireKey(request.key);
    return this.idempotency.execute(this.createOp, { ...request, params: { body: request.body } });
  }

  async retrieve(accountId: string, id: string): Promise<Refund> {
    const row = await repo.findRefund(this.db, accountId, id);
    if (!row) throw notFound('refund', id);
    return toRefund(row);
  }

  async list(accountId: string, query: ListQuery): Promise<ListPage<Refund>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const filter = { payment: query.payment, created: query.created };
    const after = query.cursor ? await this.cursors.decode(scope, filter, query.cursor) : undefined;
    const rows = await repo.listRefunds(
      this.db,
      accountId,
      { paymentId: query.payment, created: query.created && fromUnixSeconds(query.created) },
      limit + 1,
      after,
    );
    return this.cursors.page(scope, filter, rows, limit, toRefund);
  }
}
