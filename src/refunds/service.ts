/** The refunds component as the routes see it: its use case (create-refund.ts) and its two reads. */
import type { components, operations } from '../../generated/schema.js';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { IdempotencyService, IdempotentResult, RequestEnvelope } from '../platform/idempotency/index.js';
import { DEFAULT_LIMIT, fromUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import type { ProcessorClient } from '../processor/index.js';
import { createRefundOperation } from './create-refund.js';
import { toRefund, type Refund } from './refund.js';
import * as repo from './repository.js';

export type { Refund } from './refund.js';
type CreateInput = components['schemas']['RefundCreateRequest'];
type ListQuery = NonNullable<operations['listRefunds']['parameters']['query']>;

const LIST = 'refunds';

export class RefundService {
  private readonly createOp;

  constructor(
    private readonly db: Db,
    processor: ProcessorClient,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
  ) {
    this.createOp = idempotency.register(createRefundOperation({ db, processor }));
  }

  /** `currency`: the currency the client stated the amount in (`/v2`), refused unless it is the payment's. */
  create(envelope: RequestEnvelope, body: CreateInput, currency?: string): Promise<IdempotentResult<Refund>> {
    const params = currency === undefined ? { body } : { body, currency };
    return this.idempotency.execute(this.createOp, envelope, params, currency === undefined ? body : { ...body, currency });
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
