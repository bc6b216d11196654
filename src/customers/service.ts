import type { Knex } from 'knex';
import type { components, operations } from '../../generated/schema.js';
import { notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { DEFAULT_LIMIT, decodeCursor, toListPage, toUnixSeconds, type ListPage } from '../platform/pagination.js';
import * as repo from './repository.js';

type Customer = components['schemas']['Customer'];
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

const fromUnix = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000));

export class CustomerService {
  constructor(private readonly db: Knex) {}

  async create(accountId: string, input: CreateInput): Promise<Customer> {
    const row = await repo.insertCustomer(this.db, {
      id: newId('cus'),
      account_id: accountId,
      email: input.email,
      name: input.name ?? null,
      phone: input.phone ?? null,
      description: input.description ?? null,
      metadata: input.metadata ?? {},
    });
    return toResource(row);
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
    const after = query.cursor ? decodeCursor(LIST, query.cursor) : undefined;
    const created = query.created && {
      gt: fromUnix(query.created.gt),
      gte: fromUnix(query.created.gte),
      lt: fromUnix(query.created.lt),
      lte: fromUnix(query.created.lte),
    };
    const rows = await repo.listCustomers(this.db, accountId, { email: query.email, created }, limit + 1, after);
    return toListPage(LIST, rows, limit, toResource);
  }
}
