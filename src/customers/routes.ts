import { accountIdOf, replayHeaders, type HandlersFor } from '../platform/http/handlers.js';
import type { CustomerService } from './service.js';

type CustomerOperations = 'createCustomer' | 'retrieveCustomer' | 'updateCustomer' | 'deleteCustomer' | 'listCustomers';

export function customerHandlers(customers: CustomerService): HandlersFor<CustomerOperations> {
  return {
    createCustomer: async ({ envelope, body }) => {
      const { body: customer, replayed } = await customers.create(envelope, body);
      return { status: 201, body: customer, headers: { ...replayHeaders(replayed), Location: `/v1/customers/${customer.id}` } };
    },
    retrieveCustomer: async ({ principal, params }) => ({ status: 200, body: await customers.retrieve(accountIdOf(principal), params.id) }),
    updateCustomer: async ({ principal, params, body }) => ({
      status: 200,
      body: await customers.update(accountIdOf(principal), params.id, body),
    }),
    deleteCustomer: async ({ principal, params }) => ({ status: 200, body: await customers.delete(accountIdOf(principal), params.id) }),
    listCustomers: async ({ principal, query }) => ({ status: 200, body: await customers.list(accountIdOf(principal), query) }),
  };
}
