import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 22; // 22 base62 characters ≈ 131 bits: collisions are not a concern.

/** A random base62 string. Rejection sampling keeps every character uniformly likely. */
export function randomBase62(length = ID_LENGTH): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** The shape of any id Remit issues (`cus_…`, `key_…`), and of the ids the spec accepts. */
export const ID_PATTERN = /^[a-z]{2,5}_[A-Za-z0-9]{1,64}$/;

export type IdPrefix = 'acct' | 'key' | 'cli' | 'cus' | 'pay' | 're' | 'evt' | 'req' | 'we' | 'whd' | 'whr' | 'rec' | 'rcd';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase62()}`;
}
