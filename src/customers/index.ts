/** The customers component's public entry: what other components may ask of it. */
import type { Transaction } from '../platform/db.js';
import { findCustomer } from './repository.js';

/** Whether the account has this customer (not deleted), read in the caller's transaction. */
export async function customerExists(trx: Transaction, accountId: string, id: string): Promise<boolean> {
  return (await findCustomer(trx, accountId, id)) !== undefined;
}
