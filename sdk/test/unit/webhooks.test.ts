/**
 * The webhook verifier against an independent implementation: for each delivery, the SDK and the
 * `standardwebhooks` package (the Standard Webhooks reference library) both accept or both refuse,
 * and the SDK says why with its typed error. Then what only the SDK promises: exact tolerance
 * boundaries on an injected clock, the order of the checks, secrets, header shapes, and the types.
 */
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import {
  Remit,
  RemitError,
  webhooks,
  WebhookBodyError,
  WebhookHeadersError,
  WebhookSecretError,
  WebhookSignatureError,
  WebhookTimestampError,
  WebhookTimestampTooNewError,
  WebhookTimestampTooOldError,
  WebhookVerificationError,
  type RefundWebhookV2,
  type WebhookEvent,
  type WebhookSignedHeaders,
  type WebhookVerificationErrorCode,
} from '../../src/index.js';
import { rejectionOf } from '../helpers/client.js';

/** A secret as Remit issues them: `whsec_` and the base64 of 32 random bytes. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

const SECRET = newSecret();
const OLD_SECRET = newSecret();
const EVENT_ID = 'evt_1XyZ';

const EVENT = {
  id: EVENT_ID,
  object: 'event',
  api_version: 'v2',
  type: 'refund.succeeded',
  created: 1_767_225_600,
  data: {
    object: {
      id: 're_1',
      object: 'refund',
      payment: 'pay_1',
      amount: { value: 1500, currency: 'EUR' },
      status: 'succeeded',
      reason: 'requested_by_customer',
      metadata: { order: '1042' },
      failure_code: null,
      created: 1_767_225_590,
    },
    sequence: 2,
  },
  request: { id: 'req_1', idempotency_key: 'order-1042-refund' },
} satisfies RefundWebhookV2;

/** The body exactly as the server sends it. */
const BODY = JSON.stringify(EVENT);

const nowSeconds = () => Math.floor(Date.now() / 1000);

function theirSignature(secret: string, id: string, timestamp: number, body: string | Uint8Array): string {
  return new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
}

function withoutHeader(headers: WebhookSignedHeaders, name: keyof WebhookSignedHeaders): Record<string, string> {
  const copy: Record<string, string> = { ...headers };
  delete copy[name];
  return copy;
}

interface Delivery {
  readonly body: string | Uint8Array;
  readonly headers: Record<string, string>;
  /** The secret the receiver verifies with. */
  readonly secret: string;
}

interface AgreementCase {
  readonly name: string;
  readonly delivery: () => Promise<Delivery>;
  /** `accept`, or the SDK's error class and code for the refusal. */
  readonly expected: 'accept' | { readonly error: abstract new (...args: never[]) => WebhookVerificationError; readonly code: WebhookVerificationErrorCode };
}

// Timestamps are relative to the real clock: standardwebhooks reads Date.now() and has no clock option.
const CASES: AgreementCase[] = [
  {
    name: 'a delivery the SDK signed',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, body: BODY, secret: SECRET })) }, secret: SECRET }),
    expected: 'accept',
  },
  {
    name: "a delivery standardwebhooks' own sign() signed",
    delivery: async () => {
      const timestamp = nowSeconds();
      const headers = { 'webhook-id': EVENT_ID, 'webhook-timestamp': String(timestamp), 'webhook-signature': theirSignature(SECRET, EVENT_ID, timestamp, BODY) };
      return { body: BODY, headers, secret: SECRET };
    },
    expected: 'accept',
  },
  {
    name: 'a Uint8Array body (the bytes as received)',
    delivery: async () => {
      const bytes = new TextEncoder().encode(BODY);
      return { body: bytes, headers: { ...(await webhooks.sign({ id: EVENT_ID, body: bytes, secret: SECRET })) }, secret: SECRET };
    },
    expected: 'accept',
  },
  {
    name: 'a body with non-ASCII text, signed over its UTF-8 bytes',
    delivery: async () => {
      const body = JSON.stringify({ ...EVENT, data: { ...EVENT.data, object: { ...EVENT.data.object, metadata: { note: 'Café – 払い戻し' } } } });
      const timestamp = nowSeconds();
      const headers = { 'webhook-id': EVENT_ID, 'webhook-timestamp': String(timestamp), 'webhook-signature': theirSignature(SECRET, EVENT_ID, timestamp, body) };
      return { body, headers, secret: SECRET };
    },
    expected: 'accept',
  },
  {
    name: 'signed 4 minutes ago (within the tolerance)',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, timestamp: nowSeconds() - 240, body: BODY, secret: SECRET })) }, secret: SECRET }),
    expected: 'accept',
  },
  {
    name: 'signed 4 minutes ahead (within the tolerance)',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, timestamp: nowSeconds() + 240, body: BODY, secret: SECRET })) }, secret: SECRET }),
    expected: 'accept',
  },
  {
    name: 'two signatures during a rotation, only the second made with the secret verified with',
    delivery: async () => {
      const timestamp = nowSeconds();
      const signature = `${theirSignature(OLD_SECRET, EVENT_ID, timestamp, BODY)} ${theirSignature(SECRET, EVENT_ID, timestamp, BODY)}`;
      return { body: BODY, headers: { 'webhook-id': EVENT_ID, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }, secret: SECRET };
    },
    expected: 'accept',
  },
  {
    name: 'two signatures during a rotation, only the first made with the secret verified with',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, body: BODY, secret: [OLD_SECRET, SECRET] })) }, secret: OLD_SECRET }),
    expected: 'accept',
  },
  {
    name: 'a tampered body (one digit of the amount changed)',
    delivery: async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, body: BODY, secret: SECRET });
      return { body: BODY.replace('"value":1500', '"value":9500'), headers: { ...headers }, secret: SECRET };
    },
    expected: { error: WebhookSignatureError, code: 'no_matching_signature' },
  },
  {
    name: 'the same JSON re-serialised (other spacing and key order): why the raw body must be kept',
    delivery: async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, body: BODY, secret: SECRET });
      const parsed = JSON.parse(BODY) as Record<string, unknown>;
      const reordered = Object.fromEntries(Object.entries(parsed).reverse());
      const body = JSON.stringify(reordered, null, 2);
      expect(JSON.parse(body)).to.deep.equal(EVENT);
      return { body, headers: { ...headers }, secret: SECRET };
    },
    expected: { error: WebhookSignatureError, code: 'no_matching_signature' },
  },
  {
    name: 'a tampered webhook-id (a replay passed off as another event)',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, body: BODY, secret: SECRET })), 'webhook-id': 'evt_other' }, secret: SECRET }),
    expected: { error: WebhookSignatureError, code: 'no_matching_signature' },
  },
  {
    name: 'a tampered webhook-timestamp (moved forward to pass the tolerance)',
    delivery: async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, timestamp: nowSeconds() - 3600, body: BODY, secret: SECRET });
      return { body: BODY, headers: { ...headers, 'webhook-timestamp': String(nowSeconds()) }, secret: SECRET };
    },
    expected: { error: WebhookSignatureError, code: 'no_matching_signature' },
  },
  {
    name: 'signed with another secret',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, body: BODY, secret: OLD_SECRET })) }, secret: SECRET }),
    expected: { error: WebhookSignatureError, code: 'no_matching_signature' },
  },
  {
    name: 'two signatures, neither made with the secret verified with',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, body: BODY, secret: [OLD_SECRET, newSecret()] })) }, secret: SECRET }),
    expected: { error: WebhookSignatureError, code: 'no_matching_signature' },
  },
  {
    name: 'signed 6 minutes ago',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, timestamp: nowSeconds() - 360, body: BODY, secret: SECRET })) }, secret: SECRET }),
    expected: { error: WebhookTimestampTooOldError, code: 'timestamp_too_old' },
  },
  {
    name: 'signed 6 minutes ahead',
    delivery: async () => ({ body: BODY, headers: { ...(await webhooks.sign({ id: EVENT_ID, timestamp: nowSeconds() + 360, body: BODY, secret: SECRET })) }, secret: SECRET }),
    expected: { error: WebhookTimestampTooNewError, code: 'timestamp_too_new' },
  },
  ...(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const).map(
    (name): AgreementCase => ({
      name: `without ${name}`,
      delivery: async () => ({ body: BODY, headers: withoutHeader(await webhooks.sign({ id: EVENT_ID, body: BODY, secret: SECRET }), name), secret: SECRET }),
      expected: { error: WebhookHeadersError, code: 'invalid_headers' },
    }),
  ),
  {
    name: 'a signed body that is not JSON',
    delivery: async () => ({ body: 'ok', headers: { ...(await webhooks.sign({ id: EVENT_ID, body: 'ok', secret: SECRET })) }, secret: SECRET }),
    expected: { error: WebhookBodyError, code: 'invalid_json' },
  },
];

type Outcome = { readonly accepted: true; readonly value: unknown } | { readonly accepted: false; readonly error: unknown };

async function outcomeOf(run: () => unknown): Promise<Outcome> {
  try {
    return { accepted: true, value: await run() };
  } catch (error) {
    return { accepted: false, error };
  }
}

/** A fixed moment for the checks on the injected clock. */
const T = 1_767_225_600;
const at = (seconds: number) => () => seconds * 1000;

describe('SDK webhooks', () => {
  describe('agreement with standardwebhooks 1.3.0', () => {
    for (const c of CASES) {
      const verdict = c.expected === 'accept' ? 'both accept' : `both refuse (${c.expected.error.name}, ${c.expected.code})`;
      it(`${c.name}: ${verdict}`, async () => {
        const { body, headers, secret } = await c.delivery();

        const ours = await outcomeOf(() => webhooks.verify(body, headers, secret));
        const theirs = await outcomeOf(() => new Webhook(secret).verify(body, headers));

        if (c.expected === 'accept') {
          expect(ours, 'the SDK').to.include({ accepted: true });
          expect(theirs, 'standardwebhooks').to.include({ accepted: true });
          const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
          expect((ours as { value: unknown }).value).to.deep.equal(JSON.parse(text));
          expect((ours as { value: unknown }).value).to.deep.equal((theirs as { value: unknown }).value);
        } else {
          expect(theirs, 'standardwebhooks').to.include({ accepted: false });
          expect(ours, 'the SDK').to.include({ accepted: false });
          const error = (ours as { error: unknown }).error;
          expect(error).to.be.instanceOf(c.expected.error);
          expect(error).to.be.instanceOf(WebhookVerificationError);
          expect(error).to.have.property('code', c.expected.code);
        }
      });
    }
  });

  describe('the tolerance, on the injected clock', () => {
    async function signedAt(timestamp: number): Promise<WebhookSignedHeaders> {
      return webhooks.sign({ id: EVENT_ID, timestamp, body: BODY, secret: SECRET });
    }

    it('accepts a delivery signed exactly 300 s before or after now, and refuses one at 301 s', async () => {
      const headers = await signedAt(T);
      expect(await webhooks.verify(BODY, headers, SECRET, { now: at(T + 300) })).to.deep.equal(EVENT);
      expect(await webhooks.verify(BODY, headers, SECRET, { now: at(T - 300) })).to.deep.equal(EVENT);
      // The clock's milliseconds do not count: 300.999 s is still 300 whole seconds.
      expect(await webhooks.verify(BODY, headers, SECRET, { now: () => (T + 300) * 1000 + 999 })).to.deep.equal(EVENT);

      const old = await rejectionOf(webhooks.verify(BODY, headers, SECRET, { now: at(T + 301) }));
      expect(old).to.be.instanceOf(WebhookTimestampTooOldError);
      expect(old).to.include({ code: 'timestamp_too_old', timestamp: T, now: T + 301 });
      const ahead = await rejectionOf(webhooks.verify(BODY, headers, SECRET, { now: at(T - 301) }));
      expect(ahead).to.be.instanceOf(WebhookTimestampTooNewError);
      expect(ahead).to.include({ code: 'timestamp_too_new', timestamp: T, now: T - 301 });
      expect(ahead).to.be.instanceOf(WebhookTimestampError);
    });

    it('takes its own toleranceSeconds, and 0 accepts only the signing second', async () => {
      const headers = await signedAt(T);
      expect(await webhooks.verify(BODY, headers, SECRET, { now: at(T + 60), toleranceSeconds: 60 })).to.deep.equal(EVENT);
      expect(await rejectionOf(webhooks.verify(BODY, headers, SECRET, { now: at(T + 61), toleranceSeconds: 60 }))).to.be.instanceOf(WebhookTimestampTooOldError);
      expect(await webhooks.verify(BODY, headers, SECRET, { now: at(T), toleranceSeconds: 0 })).to.deep.equal(EVENT);
      expect(await rejectionOf(webhooks.verify(BODY, headers, SECRET, { now: at(T + 1), toleranceSeconds: 0 }))).to.be.instanceOf(WebhookTimestampTooOldError);
    });

    it('refuses a tolerance that is not a non-negative number, as misuse rather than a bad delivery', async () => {
      const headers = await signedAt(T);
      for (const toleranceSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY, '300' as unknown as number]) {
        const err = await rejectionOf(webhooks.verify(BODY, headers, SECRET, { now: at(T), toleranceSeconds }));
        expect(err, String(toleranceSeconds)).to.be.instanceOf(RemitError);
        expect(err, String(toleranceSeconds)).not.to.be.instanceOf(WebhookVerificationError);
      }
    });

    it('checks the signature before the timestamp: an old delivery with a wrong signature is a signature error', async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: OLD_SECRET });
      const err = await rejectionOf(webhooks.verify(BODY, headers, SECRET, { now: at(T + 3600) }));
      expect(err).to.be.instanceOf(WebhookSignatureError);
    });
  });

  describe('secrets', () => {
    it('accepts either secret of a rotation when given both, in any order', async () => {
      const signedByOld = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: OLD_SECRET });
      const signedByNew = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: SECRET });
      for (const headers of [signedByOld, signedByNew]) {
        expect(await webhooks.verify(BODY, headers, [OLD_SECRET, SECRET], { now: at(T) })).to.deep.equal(EVENT);
        expect(await webhooks.verify(BODY, headers, [SECRET, OLD_SECRET], { now: at(T) })).to.deep.equal(EVENT);
      }
    });

    const MALFORMED: [string, unknown][] = [
      ['no whsec_ prefix', SECRET.slice('whsec_'.length)],
      ['an API key instead', 'sk_test_0123456789'],
      ['a truncated copy', SECRET.slice(0, -3)],
      ['a trailing newline', `${SECRET}\n`],
      ['characters outside base64', 'whsec_not*base64*at*all='],
      ['nothing after the prefix', 'whsec_'],
      ['an unset variable', undefined],
      ['an empty list', []],
      ['one bad secret in a list', [SECRET, 'whsec_%%%%']],
    ];
    for (const [what, secret] of MALFORMED) {
      it(`refuses ${what} with WebhookSecretError (invalid_secret), before looking at the delivery, without quoting it`, async () => {
        // No headers at all: the secret is checked first, so a misconfiguration shows on any delivery.
        const err = await rejectionOf(webhooks.verify(BODY, {}, secret as string));
        expect(err).to.be.instanceOf(WebhookSecretError);
        expect(err).to.have.property('code', 'invalid_secret');
        const body = SECRET.slice('whsec_'.length);
        expect((err as Error).message).not.to.include(body.slice(0, 12));
      });
    }
  });

  describe('headers', () => {
    let headers: WebhookSignedHeaders;
    before(async () => {
      headers = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: SECRET });
    });
    const verifyAt = (h: Parameters<typeof webhooks.verify>[1]) => webhooks.verify(BODY, h, SECRET, { now: at(T) });

    it('reads a fetch Headers object, and keys in any case (Express gives lowercase, others may not)', async () => {
      expect(await verifyAt(new Headers(headers))).to.deep.equal(EVENT);
      const upper = { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'], 'Webhook-Signature': headers['webhook-signature'] };
      expect(await verifyAt(upper)).to.deep.equal(EVENT);
    });

    it("reads Node's array values, joining repeated webhook-signature fields", async () => {
      const other = (await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: OLD_SECRET }))['webhook-signature'];
      expect(await verifyAt({ ...headers, 'webhook-signature': [other, headers['webhook-signature']] })).to.deep.equal(EVENT);
    });

    it('ignores signature versions it does not know, and extra spaces', async () => {
      const signature = `  v1a,c2lnbmVkIGJ5IGFub3RoZXIgc2NoZW1l   v2,abc ${headers['webhook-signature']}  `;
      expect(await verifyAt({ ...headers, 'webhook-signature': signature })).to.deep.equal(EVENT);
    });

    it('takes a matching HMAC only under the v1 label', async () => {
      const mac = headers['webhook-signature'].slice('v1,'.length);
      for (const signature of [`v1a,${mac}`, `V1,${mac}`, mac, `,${mac}`]) {
        expect(await rejectionOf(verifyAt({ ...headers, 'webhook-signature': signature })), signature).to.be.instanceOf(WebhookSignatureError);
      }
    });

    const REFUSED: [string, Record<string, string | string[] | undefined>][] = [
      ['an empty webhook-id', { 'webhook-id': '' }],
      ['an undefined webhook-signature', { 'webhook-signature': undefined }],
      ['a webhook-signature of spaces', { 'webhook-signature': '   ' }],
      ['two different webhook-id values', { 'webhook-id': ['evt_1', 'evt_2'] }],
      ['a webhook-timestamp with trailing letters (parseInt would read 1767225600)', { 'webhook-timestamp': `${T}abc` }],
      ['a webhook-timestamp in milliseconds (13 digits)', { 'webhook-timestamp': String(T * 1000) }],
      ['a negative webhook-timestamp', { 'webhook-timestamp': '-1' }],
    ];
    for (const [what, change] of REFUSED) {
      it(`refuses ${what} with WebhookHeadersError (invalid_headers)`, async () => {
        const err = await rejectionOf(verifyAt({ ...headers, ...change }));
        expect(err).to.be.instanceOf(WebhookHeadersError);
        expect(err).to.have.property('code', 'invalid_headers');
      });
    }
  });

  describe('bodies', () => {
    it('verifies a Buffer and a Uint8Array that views part of a larger buffer', async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: SECRET });
      expect(await webhooks.verify(Buffer.from(BODY), headers, SECRET, { now: at(T) })).to.deep.equal(EVENT);
      const bytes = new TextEncoder().encode(`xx${BODY}yy`);
      expect(await webhooks.verify(bytes.subarray(2, bytes.length - 2), headers, SECRET, { now: at(T) })).to.deep.equal(EVENT);
    });

    it('refuses signed bytes that are not UTF-8 as invalid_json', async () => {
      const bytes = new Uint8Array([0x7b, 0xff, 0x7d]);
      const headers = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: bytes, secret: SECRET });
      const err = await rejectionOf(webhooks.verify(bytes, headers, SECRET, { now: at(T) }));
      expect(err).to.be.instanceOf(WebhookBodyError);
      expect(err).to.have.property('code', 'invalid_json');
    });

    it('refuses an already-parsed body as misuse, naming express.raw', async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: SECRET });
      const err = await rejectionOf(webhooks.verify(EVENT as unknown as string, headers, SECRET, { now: at(T) }));
      expect(err).to.be.instanceOf(RemitError);
      expect(err).not.to.be.instanceOf(WebhookVerificationError);
      expect((err as Error).message).to.include('express.raw');
    });
  });

  describe('errors', () => {
    it('are RemitErrors named after their class, one class per code', async () => {
      const err = await rejectionOf(webhooks.verify(BODY, {}, SECRET));
      expect(err).to.be.instanceOf(WebhookHeadersError);
      expect(err).to.be.instanceOf(WebhookVerificationError);
      expect(err).to.be.instanceOf(RemitError);
      expect(err).to.be.instanceOf(Error);
      expect(err).to.have.property('name', 'WebhookHeadersError');
      expect(err).not.to.be.instanceOf(WebhookSignatureError);
    });
  });

  describe('sign', () => {
    it('puts one v1 signature per secret, and the current second when no timestamp is given', async () => {
      const before = nowSeconds();
      const headers = await webhooks.sign({ id: EVENT_ID, body: BODY, secret: [OLD_SECRET, SECRET] });
      const timestamp = Number(headers['webhook-timestamp']);
      expect(timestamp).to.be.within(before, nowSeconds());
      expect(headers['webhook-id']).to.equal(EVENT_ID);
      expect(headers['webhook-signature'].split(' ')).to.deep.equal([theirSignature(OLD_SECRET, EVENT_ID, timestamp, BODY), theirSignature(SECRET, EVENT_ID, timestamp, BODY)]);
    });

    it('refuses a timestamp that is not whole seconds, and an empty id', async () => {
      expect(await rejectionOf(webhooks.sign({ id: EVENT_ID, timestamp: 1.5, body: BODY, secret: SECRET }))).to.be.instanceOf(RemitError);
      expect(await rejectionOf(webhooks.sign({ id: '', body: BODY, secret: SECRET }))).to.be.instanceOf(RemitError);
    });
  });

  describe('on the client', () => {
    it('is remit.webhooks, the same functions as the webhooks export, and sends nothing', async () => {
      const remit = new Remit({ apiKey: 'sk_test_webhooks', baseURL: 'http://127.0.0.1:9', fetch: () => Promise.reject(new Error('no request expected')) });
      expect(remit.webhooks).to.equal(webhooks);
      expect(remit.withOptions({ maxRetries: 0 }).webhooks).to.equal(webhooks);
      const headers = await remit.webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: SECRET });
      expect(await remit.webhooks.verify(BODY, headers, SECRET, { now: at(T) })).to.deep.equal(EVENT);
    });
  });

  describe('types', () => {
    it('returns a union that narrows by type and api_version to the payload schema', async () => {
      const headers = await webhooks.sign({ id: EVENT_ID, timestamp: T, body: BODY, secret: SECRET });
      const event = await webhooks.verify(BODY, headers, SECRET, { now: at(T) });
      expect(refundV2Amount(event)).to.deep.equal({ value: 1500, currency: 'EUR' });
      expect(event.data.sequence).to.equal(2);
    });
  });
});

/**
 * Compiled by the type check and run by the test above. The `@ts-expect-error` lines are misuse
 * that must not compile: if the types loosen, the directive itself fails the type check.
 */
function refundV2Amount(event: WebhookEvent): { value: number; currency: string } | undefined {
  // @ts-expect-error not an event type a webhook carries
  if (event.type === 'payment.refunded') return undefined;
  if (event.type === 'refund.succeeded' && event.api_version === 'v1') {
    // @ts-expect-error a v1 refund's amount is a number of minor units, not a money object
    const _money: { value: number; currency: string } = event.data.object.amount;
    const _minorUnits: number = event.data.object.amount;
  }
  if (event.type === 'payment.succeeded' && event.api_version === 'v2') {
    // @ts-expect-error a payment event carries a payment, which names no payment of its own
    const _payment: string = event.data.object.payment;
  }
  if (event.type === 'refund.succeeded' && event.api_version === 'v2') {
    const amount: { value: number; currency: string } = event.data.object.amount;
    return amount;
  }
  return undefined;
}
