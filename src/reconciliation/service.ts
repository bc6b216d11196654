import type { components, operations } from '../../generated/schema.js';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { IdempotencyService, IdempotentResult, RequestEnvelope } from '../platform/idempotency/index.js';
import { DEFAULT_LIMIT, type CursorCodec, type ListPage } from '../platform/pagination.js';
import { createReconciliationOperation } from './create-reconciliation.js';
import { toDiscrepancy, toReconciliation, type Reconciliation, type ReconciliationDiscrepancy } from './reconciliation.js';
import * as repo from './repository.js';

type CreateInput = components['schemas']['ReconciliationCreateRequest'];
type ListQuery = NonNullable<operations['listReconciliationDiscrepancies']['parameters']['query']>;

const LIST = 'reconciliation_discrepancies';

/** The reconciliations API: start a run, read it, page through what it found. */
export class ReconciliationService {
  private readonly createOp;

  constructor(
    private readonly db: Db,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
    now: () => number,
  ) {
    this.createOp = idempotency.register(createReconciliationOperation({ now }));
  }

  create(envelope: RequestEnvelope, body: CreateInput): Promise<IdempotentResult<Reconciliation>> {
    return this.idempotency.execute(this.createOp, envelope, { body }, body);
  }

  async retrieve(accountId: string, id: string): Promise<Reconciliation> {
    const row = await repo.findRun(this.db, accountId, id);
    if (!row) throw notFound('reconciliation', id);
    return toReconciliation(row);
  }

  async listDiscrepancies(accountId: string, id: string, query: ListQuery): Promise<ListPage<ReconciliationDiscrepancy>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: `${LIST}:${id}`, account: accountId };
    const filter = {};
    // The request is checked whole before anything is looked up, as every list does.
    const after = query.cursor ? await this.cursors.decode(scope, filter, query.cursor) : undefined;
    if (!(await repo.findRun(this.db, accountId, id))) throw notFound('reconciliation', id);
    const rows = await repo.listDiscrepancies(this.db, id, limit + 1, after);
    return this.cursors.page(scope, filter, rows, limit, toDiscrepancy);
  }
}
