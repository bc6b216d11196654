/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): the content
 * signed is `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 under the secret's key,
 * base64, prefixed `v1,`. `webhook-signature` carries one per active secret, space-separated, so
 * during a rotation's overlap a receiver holding either secret verifies the same delivery.
 */
import { createHmac } from 'node:crypto';
import { signingKey } from './secrets.js';

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export function signDelivery(id: string, timestampS: number, body: string, secrets: readonly string[]): SignedHeaders {
  const content = `${id}.${timestampS}.${body}`;
  const signatures = secrets.map((secret) => `v1,${createHmac('sha256', signingKey(secret)).update(content).digest('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampS), 'webhook-signature': signatures.join(' ') };
}
