import type { components, operations } from '../../generated/schema.js';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { IdempotencyService, IdempotentResult, RequestEnvelope } from '../platform/idempotency/index.js';
import { DEFAULT_LIMIT, fromUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import { createCustomerOperation } from './create-customer.js';
import { toCustomer, type Customer } from './customer.js';
import * as repo from './repository.js';

export type { Customer } from './customer.js';
type DeletedCustomer = components['schemas']['DeletedCustomer'];
type CreateInput = components['schemas']['CustomerCreateRequest'];
type UpdateInput = components['schemas']['CustomerUpdateRequest'];
type ListQuery = NonNullable<operations['listCustomers']['parameters']['query']>;

const LIST = 'customers';

/** The customers component as the routes see it: its use case (create-customer.ts) and the rest of its operations. */
export class CustomerService {
  private readonly createOp;

  constructor(
    private readonly db: Db,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
  ) {
    this.createOp = idempotency.register(createCustomerOperation());
  }

  /** Creates a customer; with an Idempotency-Key, a retry returns the first one instead. */
  create(envelope: RequestEnvelope, body: CreateInput): Promise<IdempotentResult<Customer>> {
    return this.idempotency.execute(this.createOp, envelope, { body }, body);
  }

  async retrieve(accountId: string, id: string): Promise<Customer> {
    const row = await repo.findCustomer(this.db, accountId, id);
    if (!row) throw notFound('customer', id);
    return toCustomer(row);
  }

  async update(accountId: string, id: string, input: UpdateInput): Promise<Customer> {
    // Only the fields present in the body change; `null` clears an optional field.
    const changes: Parameters<typeof repo.updateCustomer>[3] = {};
    if (input.email !== undefined) changes.email = input.email;
    if (input.name !== undefined) changes.name = input.name;
    if (input.phone !== undefined) changes.phone = input.phone;
    if (input.description !== undefined) changes.description = input.description;
    if (input.metadata !== undefined) changes.metadata = input.metadata;
    const row = await repo.updateCustomer(this.db, accountId, id, changes);
    if (!row) throw notFound('customer', id);
    return toCustomer(row);
  }

  async delete(accountId: string, id: string): Promise<DeletedCustomer> {
    if (!(await repo.deleteCustomer(this.db, accountId, id))) throw notFound('customer', id);
    return { id, object: 'customer', deleted: true };
  }

  async list(accountId: string, query: ListQuery): Promise<ListPage<Customer>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: LIST, account: accountId };
    const filter = { email: query.email, created: query.created };
    const after = query.cursor ? await this.cursors.decode(scope, filter, query.cursor) : undefined;
    const created = query.created && fromUnixSeconds(query.created);
    const rows = await repo.listCustomers(this.db, accountId, { email: query.email, created }, limit + 1, after);
    return this.cursors.page(scope, filter, rows, limit, toCustomer);
  }
}
