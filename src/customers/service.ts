import type { Knex } from 'knex';
import type { components, operations } from '../../generated/schema.js';
import { notFound } from '../platform/errors.js';
import type { IdempotencyService, IdempotentOperation } from '../platform/idempotency/index.js';
import { newId } from '../platform/ids.js';
import { DEFAULT_LIMIT, fromUnixSeconds, toUnixSeconds, type CursorCodec, type ListPage } from '../platform/pagination.js';
import * as repo from './repository.js';

export type Customer = components['schemas']['Customer'];
type DeletedCustomer = components['schemas']['DeletedCustomer'];
type CreateInput = components['schemas']['CustomerCreateRequest'];
type UpdateInput = components['schemas']['CustomerUpdateRequest'];
type ListQuery = NonNullable<operations['listCustomers']['parameters']['query']>;

const LIST = 'customers';

function toResource(row: repo.CustomerRow): Customer {
  return {
    id: row.id,
    object: 'customer',
    email: row.email,
    name: row.name,
    phone: row.phone,
    description: row.description,
    metadata: row.metadata,
    created: toUnixSeconds(row.created_at),
  };
}

export class CustomerService {
  private readonly createOp: IdempotentOperation<{ body: CreateInput }>;

  constructor(
    private readonly db: Knex,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
  ) {
    // One atomic phase: the customer and the stored response commit together.
    this.createOp = idempotency.register({
      name: 'createCustomer',
      phases: {
        started: (ctx) =>
          ctx.atomic(async (trx) => {
            const input = ctx.params.body;
            const row = await repo.insertCustomer(trx, {
              id: newId('cus'),
              account_id: ctx.accountId,
              email: input.email,
              name: input.name ?? null,
              phone: input.phone ?? null,
              description: input.description ?? null,
              metadata: input.metadata ?? {},
            });
            return { response: { status: 201, body: toResource(row) } };
          }),
      },
    });
  }

  /** Creates a customer; with an Idempotency-Key, a retry returns the first one instead. */
  create(request: { accountId: string; key: string | undefined; method: string; path: string; requestId: string; body: CreateInput }) {
    return this.idempotency.execute(this.createOp, { ...request, params: { body: request.body } });
  }

  async retrieve(accountId: string, id: string): Promise<Customer> {
    const row = await repo.findCustomer(this.db, accountId, id);
    if (!row) throw notFound('customer', id);
    return toResource(row);
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
    return toResource(row);
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
    return this.cursors.page(scope, filter, rows, limit, toResource);
  }
}
