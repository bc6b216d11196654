/**
 * Version 4 UUIDs, for the Idempotency-Key of an unsafe call. `crypto.randomUUID` exists in
 * browsers only in secure contexts (https, or localhost): a page served over plain http from
 * another host has `crypto.getRandomValues` but no `randomUUID`. A key must be unguessable and
 * never repeat, so the fallback takes the same 122 random bits from `getRandomValues` (never from
 * `Math.random`) and sets the version and variant bits (RFC 9562 §5.4).
 */
import { RemitError } from '../core/errors.js';

/** The part of WebCrypto a UUID needs. */
export interface RandomSource {
  randomUUID?(): string;
  getRandomValues(array: Uint8Array): Uint8Array;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A v4 UUID from 16 random bytes. */
export function uuidFromRandomValues(source: RandomSource): string {
  const b = source.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10xx (RFC 9562)
  const h = Array.from(b, (byte) => HEX[byte]!);
  return `${h.slice(0, 4).join('')}-${h.slice(4, 6).join('')}-${h.slice(6, 8).join('')}-${h.slice(8, 10).join('')}-${h.slice(10).join('')}`;
}

/** A fresh Idempotency-Key: the v4 UUID the SDK makes for each unsafe call, also where `crypto.randomUUID` is missing. */
export function newIdempotencyKey(): string {
  return randomUUID();
}

export function randomUUID(source: RandomSource | undefined = globalThis.crypto): string {
  if (typeof source?.randomUUID === 'function') return source.randomUUID();
  if (typeof source?.getRandomValues === 'function') return uuidFromRandomValues(source);
  throw new RemitError('No WebCrypto random source (crypto.getRandomValues) in this runtime: an Idempotency-Key cannot be made safely. Pass one with the `idempotencyKey` option.');
}
