/**
 * `POST /v1/customers`: one atomic phase, the customer and the stored answer commit together. An
 * Idempotency-Key is honoured, not required: without one, each request creates a customer.
 */
import type { components } from '../../generated/schema.js';
import type { IdempotentOperation } from '../platform/idempotency/index.js';
import { newId } from '../platform/ids.js';
import { toCustomer, type Customer } from './customer.js';
import * as repo from './repository.js';

export type CreateCustomerParams = { readonly body: components['schemas']['CustomerCreateRequest'] };

export function createCustomerOperation(): IdempotentOperation<CreateCustomerParams, Customer> {
  return {
    name: 'createCustomer',
    keyRequired: false,
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
          return { response: { status: 201, body: toCustomer(row) } };
        }),
    },
  };
}
