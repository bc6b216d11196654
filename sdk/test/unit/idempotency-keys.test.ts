/**
 * Idempotency-Keys where `crypto.randomUUID` is missing, as in a browser page served over plain
 * http from another host (not a secure context): the keys are still random v4 UUIDs, one per
 * logical call and the same on each of its retries.
 */
import { expect } from 'chai';
import { RemitError } from '../../src/index.js';
import { randomUUID, uuidFromRandomValues } from '../../src/internal/uuid.js';
import { testClient } from '../helpers/client.js';
import { problem, startFaultServer, type FaultServer } from '../helpers/fault-server.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CUSTOMER = { id: 'cus_1', object: 'customer', email: 'a@example.com', name: null, phone: null, description: null, metadata: {}, created: 1_700_000_000 };

/** `globalThis.crypto` as an insecure browser context has it: getRandomValues and subtle, no randomUUID. */
function withoutRandomUUID(): () => void {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
  const real = globalThis.crypto;
  const insecure = { getRandomValues: real.getRandomValues.bind(real), subtle: real.subtle };
  Object.defineProperty(globalThis, 'crypto', { value: insecure, configurable: true, writable: true, enumerable: original.enumerable });
  return () => Object.defineProperty(globalThis, 'crypto', original);
}

describe('SDK Idempotency-Keys without crypto.randomUUID', () => {
  it('builds v4 UUIDs from getRandomValues, all distinct', () => {
    const source = { getRandomValues: (a: Uint8Array) => globalThis.crypto.getRandomValues(a) };
    const keys = Array.from({ length: 2_000 }, () => randomUUID(source));
    for (const key of keys) expect(key).to.match(UUID_V4);
    expect(new Set(keys).size).to.equal(keys.length);
  });

  it('sets the version and variant bits whatever the random bytes', () => {
    expect(uuidFromRandomValues({ getRandomValues: (a) => a.fill(0xff) })).to.equal('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(uuidFromRandomValues({ getRandomValues: (a) => a.fill(0x00) })).to.equal('00000000-0000-4000-8000-000000000000');
  });

  it('prefers randomUUID where there is one', () => {
    expect(randomUUID({ randomUUID: () => 'from-randomUUID', getRandomValues: (a) => a })).to.equal('from-randomUUID');
  });

  it('refuses to make a key with no WebCrypto random source at all', () => {
    expect(() => randomUUID({} as never)).to.throw(RemitError, /getRandomValues/);
  });

  describe('through the client', () => {
    let server: FaultServer;
    let restore: (() => void) | undefined;
    before(async () => {
      server = await startFaultServer();
    });
    afterEach(() => {
      restore?.();
      restore = undefined;
    });
    after(() => server.close());

    it('sends a v4 UUID of its own to each call, the same on every retry', async () => {
      restore = withoutRandomUUID();
      expect('randomUUID' in globalThis.crypto).to.equal(false);
      const client = testClient(server.url, { maxRetries: 2 });
      // The first call is answered 500, then retried; the last step answers every request after.
      server.script(problem(500, 'internal_error'), { status: 201, body: CUSTOMER });
      for (let i = 0; i < 3; i++) await client.customers.create({ email: 'a@example.com' });

      const keys = server.requests.map((r) => r.headers['idempotency-key'] as string);
      expect(keys).to.have.length(4);
      for (const key of keys) expect(key).to.match(UUID_V4);
      expect(keys[0], 'the retry carries the first attempt\'s key').to.equal(keys[1]);
      expect(new Set(keys).size, 'a key per logical call').to.equal(3);
    });
  });
});
