/** A customer as the API shows it. */
import type { components } from '../../generated/schema.js';
import { toUnixSeconds } from '../platform/pagination.js';
import type { CustomerRow } from './repository.js';

export type Customer = components['schemas']['Customer'];

export function toCustomer(row: CustomerRow): Customer {
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
