/**
 * Signing secrets: made, sealed for the database, opened to sign.
 *
 * A secret is `whsec_` and the base64 of 32 random bytes (Standard Webhooks; 24 is the minimum it
 * asks for). The server must be able to sign with it, so it cannot be stored as a hash like an API
 * key; it is sealed with AES-256-GCM under the operator's WEBHOOK_SECRETS_KEY instead, with the
 * endpoint's id as associated data, so a sealed secret copied onto another endpoint's row does not
 * open. Each sealed value records which key sealed it (`key_id`, a fingerprint of the key), so a
 * changed key is reported as such rather than as a corrupt row.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The HMAC key a secret stands for: the bytes its base64 part decodes to. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export interface Sealed {
  readonly keyId: string;
  readonly sealed: Buffer;
}

export class SecretBox {
  private key: Promise<{ key: Buffer; id: string }> | undefined;

  /** `loadKey` is called once, on first use: the configured key, or the database's in development. */
  constructor(private readonly loadKey: () => Promise<Buffer>) {}

  private async current(): Promise<{ key: Buffer; id: string }> {
    this.key ??= this.loadKey().then((key) => {
      if (key.length !== 32) throw new Error('the webhook secrets key must be 32 bytes');
      return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 16) };
    });
    return this.key;
  }

  async seal(endpointId: string, secret: string): Promise<Sealed> {
    const { key, id } = await this.current();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return { keyId: id, sealed: Buffer.concat([iv, body, cipher.getAuthTag()]) };
  }

  async open(endpointId: string, sealed: Sealed | { keyId: string; sealed: Uint8Array }): Promise<string> {
    const { key, id } = await this.current();
    if (sealed.keyId !== id) {
      throw new Error(`a secret of endpoint ${endpointId} was sealed under another WEBHOOK_SECRETS_KEY (key id ${sealed.keyId}, current ${id})`);
    }
    const bytes = Buffer.from(sealed.sealed);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
