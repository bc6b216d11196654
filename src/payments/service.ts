/**
 * The payments component as the routes see it: its three use cases, run through the idempotency
 * layer (create-payment.ts, capture-payment.ts, cancel-payment.ts tell each one's story), and its
 * two reads.
 */
import type { components, operations } from '../../generated/schema.js';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { IdempotencyService, IdempotentResult, RequestEnvelope } from '../platform/idempotency/index.js';
import { DEFAULT_LIMIT, fromUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import type { ProcessorClient } from '../processor/index.js';
import { cancelPaymentOperation } from './cancel-payment.js';
import { capturePaymentOperation } from './capture-payment.js';
import { createPaymentOperation } from './create-payment.js';
import { toPayment, type Payment } from './payment.js';
import * as repo from './repository.js';

export type { Payment } from './payment.js';
type CreateInput = components['schemas']['PaymentCreateRequest'];
type ListQuery = NonNullable<operations['listPayments']['parameters']['query']>;

const LIST = 'payments';

export class PaymentService {
  private readonly operations;

  constructor(
    private readonly db: Db,
    processor: ProcessorClient,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
  ) {
    const deps = { db, processor };
    this.operations = {
      create: idempotency.register(createPaymentOperation(deps)),
      capture: idempotency.register(capturePaymentOperation(deps)),
      cancel: idempotency.register(cancelPaymentOperation(deps)),
    };
  }

  create(envelope: RequestEnvelope, body: CreateInput): Promise<IdempotentResult<Payment>> {
    return this.idempotency.execute(this.operations.create, envelope, { body }, body);
  }

  capture(envelope: RequestEnvelope, id: string): Promise<IdempotentResult<Payment>> {
    return this.idempotency.execute(this.operations.capture, envelope, { id }, null);
  }

  cancel(envelope: RequestEnvelope, id: string): Promise<IdempotentResult<Payment>> {
    return this.idempotency.execute(this.operations.cancel, envelope, { id }, null);
  }

  async retrieve(accountId: string, id: string): Promise<Payment> {
    const payment = await repo.findPayment(this.db, accountId, id);
    if (!payment) throw notFound('payment', id);
    return toPayment(payment);
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
