/**
 * `/v1` and `/v2` of payments and refunds: two views of the same rows, and the deprecation of the
 * superseded `/v1` operations, read from the spec (`deprecated: true`, `x-deprecated-at`,
 * `x-sunset`, `x-successor`), against a real app on a real database and the processor simulator.
 * - Every deprecated operation (at least 8 of them), on a 2xx, on a 4xx and on a 429, carries
 *   `Deprecation: @<seconds>` (RFC 9745) equal to its x-deprecated-at, `Sunset` as an IMF-fixdate
 *   (RFC 8594) equal to its x-sunset and not before the deprecation, and a `Link` (RFC 8288) whose
 *   `successor-version` target is the successor operation's path filled with this request's id,
 *   with a `deprecation` target.
 * - From the sunset on (the app's clock is injected) every deprecated operation answers
 *   `410 api_version_sunset` (a problem) with the same three fields, never a 401, 404 or 500: to
 *   the request that succeeded a millisecond before, to one it refused (an unknown id, an invalid
 *   body or query), with a key that does not exist and with no credentials; it changes no row and
 *   nothing at the processor. The `/v2` operations keep answering after it.
 * - No `/v2` operation, nor any other operation that is not deprecated, carries Deprecation, Sunset
 *   or a successor Link, on a 2xx, a 4xx or a 429.
 * - A payment made on one version is read, listed, captured, canceled and refunded on the other,
 *   and the rows it leaves (payments, refunds, events, compared column by column without ids and
 *   times) are the ones the same sequence leaves through `/v1` alone and through `/v2` alone; the
 *   processor's ledger shows one charge, one capture or void, and one refund per logical step.
 *   The `/v2` filter `status=authorized` lists exactly what `/v1` lists as `requires_capture`; a
 *   `/v1` cursor pages the `/v2` list with the same filters (the same list, in another view), and
 *   is `400 invalid_cursor` with other filters or on another list.
 * - An Idempotency-Key used on one version's create and sent to the other's is `422
 *   idempotency_key_reused` and creates nothing; on the same version it replays, in that version's
 *   shape, with `Idempotent-Replayed: true`.
 * - A `/v2` refund in a currency other than the payment's is `422 currency_mismatch`: no refund,
 *   no event, nothing at the processor, and its key replays the 422.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request, { type Response } from 'supertest';
import { OperationKind } from '../generated/processor/processor_pb.js';
import type { ErrorCode } from '../src/platform/errors.js';
import { loadSpec, operationsOf as specOperations } from '../src/platform/spec.js';
import { createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

// ── What the spec says ──────────────────────────────────────────────────────────────────────

interface SpecOperation {
  readonly operationId: string;
  readonly method: 'get' | 'post';
  readonly path: string;
  readonly deprecated: boolean;
  readonly deprecatedAt?: string;
  readonly sunset?: string;
  readonly successor?: string;
  readonly tags: readonly string[];
}

const SPEC_OPERATIONS: SpecOperation[] = specOperations<Record<string, unknown>>(loadSpec()).map(({ operationId, method, path, operation }) => ({
  operationId: String(operationId),
  method: method as 'get' | 'post',
  path,
  deprecated: operation.deprecated === true,
  deprecatedAt: operation['x-deprecated-at'] as string | undefined,
  sunset: operation['x-sunset'] as string | undefined,
  successor: operation['x-successor'] as string | undefined,
  tags: (operation.tags as string[] | undefined) ?? [],
}));
const byId = new Map(SPEC_OPERATIONS.map((op) => [op.operationId, op]));
const DEPRECATED = SPEC_OPERATIONS.filter((op) => op.deprecated);
const V2 = SPEC_OPERATIONS.filter((op) => op.path.startsWith('/v2/'));

/** When the spec retires the deprecated operations: the one x-sunset they share. */
function sunsetMs(): number {
  const dates = new Set(DEPRECATED.map((op) => Date.parse(op.sunset ?? '')));
  expect(dates.size, 'one sunset date for every deprecated operation').to.equal(1);
  const [ms] = dates;
  expect(Number.isNaN(ms)).to.equal(false);
  return ms!;
}

// ── RFC parsers ─────────────────────────────────────────────────────────────────────────────

/** RFC 9110 §5.6.7 IMF-fixdate, the only HTTP-date form a sender may generate. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

interface LinkValue {
  readonly target: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * An RFC 8288 §3 `Link` field value: `<URI-Reference>` then `; name=value` parameters, where a
 * value is a token or a quoted-string; link-values separated by commas. Throws on anything else.
 */
function parseLinkHeader(field: string): LinkValue[] {
  const links: LinkValue[] = [];
  let rest = field;
  const skipSpace = () => (rest = rest.replace(/^[ \t]*/, ''));
  for (;;) {
    skipSpace();
    const target = /^<([^<>\s]*)>/.exec(rest);
    if (!target) throw new Error(`Link: expected <URI-Reference> at ${JSON.stringify(rest)}`);
    rest = rest.slice(target[0].length);
    const params: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (!rest.startsWith(';')) break;
      rest = rest.slice(1);
      skipSpace();
      const name = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(rest);
      if (!name) throw new Error(`Link: expected a parameter name at ${JSON.stringify(rest)}`);
      rest = rest.slice(name[0].length);
      skipSpace();
      if (!rest.startsWith('=')) throw new Error(`Link: parameter ${name[0]} without a value`);
      rest = rest.slice(1);
      skipSpace();
      const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
      const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(rest);
      if (quoted) {
        params[name[0].toLowerCase()] = quoted[1]!.replace(/\\(.)/g, '$1');
        rest = rest.slice(quoted[0].length);
      } else if (token) {
        params[name[0].toLowerCase()] = token[0];
        rest = rest.slice(token[0].length);
      } else throw new Error(`Link: parameter ${name[0]} has no token or quoted-string value`);
    }
    links.push({ target: target[1]!, params });
    skipSpace();
    if (rest === '') return links;
    if (!rest.startsWith(',')) throw new Error(`Link: expected ',' at ${JSON.stringify(rest)}`);
    rest = rest.slice(1);
  }
}

/** The targets of the links whose `rel` (a space-separated list of relation types) names `rel`. */
function targetsOf(links: readonly LinkValue[], rel: string): string[] {
  return links.filter((l) => (l.params.rel ?? '').toLowerCase().split(/\s+/).includes(rel)).map((l) => l.target);
}

/** The successor's path template filled with the request's id, as the Link must name it. */
function successorPathFor(op: SpecOperation, id?: string): string {
  const successor = byId.get(op.successor ?? '');
  expect(successor, `${op.operationId}: x-successor ${op.successor} names an operation`).to.not.equal(undefined);
  return successor!.path.replace(/\{(\w+)\}/g, () => {
    expect(id, `${op.operationId} addresses an id`).to.be.a('string');
    return encodeURIComponent(id!);
  });
}

/** Asserts the three fields a deprecated operation's answer carries, each valid under its RFC. */
function expectDeprecationFields(res: Response, op: SpecOperation, id?: string): void {
  const where = `${op.operationId} answering ${res.status}`;
  const deprecation = String(res.headers.deprecation);
  expect(deprecation, `${where}: Deprecation`).to.be.a('string').and.match(/^@\d+$/);
  const deprecatedS = Number(deprecation.slice(1));
  expect(deprecatedS * 1000, `${where}: Deprecation is x-deprecated-at`).to.equal(Date.parse(op.deprecatedAt ?? ''));

  const sunset = String(res.headers.sunset);
  expect(sunset, `${where}: Sunset`).to.be.a('string').and.match(IMF_FIXDATE);
  const sunsetAt = Date.parse(sunset);
  expect(new Date(sunsetAt).toUTCString(), `${where}: Sunset names a real day of the week`).to.equal(sunset);
  expect(sunsetAt, `${where}: Sunset is x-sunset`).to.equal(Date.parse(op.sunset ?? ''));
  expect(sunsetAt, `${where}: Sunset is not before Deprecation`).to.be.at.least(deprecatedS * 1000);

  const links = parseLinkHeader(res.headers.link ?? '');
  expect(targetsOf(links, 'successor-version'), `${where}: successor-version`).to.deep.equal([successorPathFor(op, id)]);
  const successorTag = byId.get(op.successor!)!.tags[0];
  const explained = targetsOf(links, 'deprecation');
  expect(explained, `${where}: one deprecation link`).to.have.length(1);
  expect(explained[0]).to.equal(successorTag ? `/docs#/${encodeURIComponent(successorTag)}` : '/docs');
  expect(links.find((l) => l.target === explained[0])!.params.type).to.equal('text/html');
}

function expectNoDeprecationFields(res: Response, label: string): void {
  expect(res.headers.deprecation, `${label}: Deprecation`).to.equal(undefined);
  expect(res.headers.sunset, `${label}: Sunset`).to.equal(undefined);
  const link = res.headers.link;
  if (link !== undefined) {
    const links = parseLinkHeader(link);
    expect(targetsOf(links, 'successor-version'), `${label}: successor link`).to.deep.equal([]);
    expect(targetsOf(links, 'deprecation'), `${label}: deprecation link`).to.deep.equal([]);
  }
}

// ── Talking to the API ──────────────────────────────────────────────────────────────────────

type Version = 'v1' | 'v2';

class Client {
  constructor(
    readonly t: TestApp,
    readonly account: TestAccount,
  ) {}

  get(path: string, secret = this.account.secret) {
    return request(this.t.app).get(path).set('Authorization', `Bearer ${secret}`);
  }

  /** POSTs with a fresh Idempotency-Key unless one is given. */
  post(path: string, body?: object, options: { key?: string; secret?: string | null } = {}) {
    let req = request(this.t.app).post(path).set('Idempotency-Key', options.key ?? randomUUID());
    if (options.secret !== null) req = req.set('Authorization', `Bearer ${options.secret ?? this.account.secret}`);
    return body === undefined ? req : req.send(body);
  }

  async expect(res: Promise<Response> | Response, status: number): Promise<Record<string, unknown>> {
    const r = await res;
    expect(r.status, `${r.status} ${r.text}`).to.equal(status);
    return r.body as Record<string, unknown>;
  }

  /** The body of a payment create request, in the version's shape. */
  static paymentBody(version: Version, amount: number, currency: string, extra: object = {}): object {
    return version === 'v1' ? { amount, currency, ...extra } : { amount: { value: amount, currency }, ...extra };
  }

  static refundBody(version: Version, payment: string, amount: number | undefined, currency: string, extra: object = {}): object {
    if (amount === undefined) return { payment, ...extra };
    return version === 'v1' ? { payment, amount, ...extra } : { payment, amount: { value: amount, currency }, ...extra };
  }

  /** Made through `/v2`, which answers whatever the clock says. */
  async manualPayment(amount = 4_000): Promise<string> {
    const p = await this.expect(this.post('/v2/payments', Client.paymentBody('v2', amount, 'EUR', { capture_method: 'manual' })), 201);
    expect(p.status).to.equal('authorized');
    return String(p.id);
  }

  async succeededPayment(amount = 4_000): Promise<string> {
    const p = await this.expect(this.post('/v2/payments', Client.paymentBody('v2', amount, 'EUR')), 201);
    expect(p.status).to.equal('succeeded');
    return String(p.id);
  }

  async refund(paymentId: string, amount = 100): Promise<string> {
    const r = await this.expect(this.post('/v2/refunds', Client.refundBody('v2', paymentId, amount, 'EUR')), 201);
    return String(r.id);
  }
}

const UNKNOWN_PAYMENT = 'pay_0000000000000000000000';
const UNKNOWN_REFUND = 're_0000000000000000000000';

interface Sent {
  readonly res: Response;
  /** The id in the request's path, which a successor link must carry. */
  readonly id?: string;
}

interface Recipe {
  /** What a 2xx needs first, made through `/v2` (which answers whatever the clock says). */
  prepare(c: Client): Promise<string | undefined>;
  /** A request the operation answers with a 2xx, given what `prepare` made. */
  ok(c: Client, prepared: string | undefined): Promise<Sent>;
  /** A request it refuses with this 4xx and code, needing nothing first. */
  refused(c: Client, secret?: string): Promise<Sent & { status: number; code: ErrorCode }>;
}

/**
 * How to get a 2xx and a 4xx from an operation of payments or refunds, by its path and method with
 * the version taken off; the version picks the body's shape.
 */
function recipeFor(op: SpecOperation): Recipe {
  const version = op.path.split('/')[1] as Version;
  const shape = `${op.method} ${op.path.replace(/^\/v\d+/, '')}`;
  const base = `/${version}`;
  const nothing = async () => undefined;
  const listRefused = async (c: Client, secret?: string) => ({ res: await c.get(`${op.path}?limit=0`, secret), status: 400, code: 'validation_failed' as const });
  const bodyRefused = async (c: Client, secret?: string) => ({ res: await c.post(op.path, {}, { secret }), status: 400, code: 'validation_failed' as const });
  const unknown = (resource: string, id: string, action?: string) => async (c: Client, secret?: string) => {
    const path = `${base}/${resource}/${id}${action ? `/${action}` : ''}`;
    const res = await (action ? c.post(path, undefined, { secret }) : c.get(path, secret));
    return { res, id, status: 404, code: 'resource_not_found' as const };
  };
  switch (shape) {
    case 'get /payments':
    case 'get /refunds':
      return { prepare: nothing, ok: async (c) => ({ res: await c.get(`${op.path}?limit=2`) }), refused: listRefused };
    case 'post /payments':
      return { prepare: nothing, ok: async (c) => ({ res: await c.post(op.path, Client.paymentBody(version, 2_500, 'EUR')) }), refused: bodyRefused };
    case 'get /payments/{id}':
      return {
        prepare: (c) => c.succeededPayment(),
        ok: async (c, id) => ({ res: await c.get(`${base}/payments/${id}`), id }),
        refused: unknown('payments', UNKNOWN_PAYMENT),
      };
    case 'post /payments/{id}/capture':
    case 'post /payments/{id}/cancel': {
      const action = shape.endsWith('capture') ? 'capture' : 'cancel';
      return {
        prepare: (c) => c.manualPayment(),
        ok: async (c, id) => ({ res: await c.post(`${base}/payments/${id}/${action}`), id }),
        refused: unknown('payments', UNKNOWN_PAYMENT, action),
      };
    }
    case 'post /refunds':
      return {
        prepare: (c) => c.succeededPayment(),
        ok: async (c, payment) => ({ res: await c.post(op.path, Client.refundBody(version, payment!, 300, 'EUR')) }),
        refused: bodyRefused,
      };
    case 'get /refunds/{id}':
      return {
        prepare: async (c) => c.refund(await c.succeededPayment()),
        ok: async (c, id) => ({ res: await c.get(`${base}/refunds/${id}`), id }),
        refused: unknown('refunds', UNKNOWN_REFUND),
      };
    default:
      throw new Error(`no request is known for ${op.operationId} (${shape}): teach recipeFor the new operation`);
  }
}

/** The operation on what `prepare` made (its id in the path, if it takes one), with no Authorization. */
async function withoutCredentials(c: Client, op: SpecOperation, prepared: string | undefined): Promise<Sent> {
  const id = op.path.includes('{id}') ? prepared : undefined;
  const path = op.path.replace('{id}', id ?? '');
  return { res: await (op.method === 'get' ? request(c.t.app).get(path) : request(c.t.app).post(path).send({})), id };
}

/** The 2xx request of the recipe, with what it needs made first. */
async function succeed(recipe: Recipe, c: Client): Promise<Sent> {
  return recipe.ok(c, await recipe.prepare(c));
}

const TINY_QUOTA = { points: 1, windowS: 60 };

/**
 * The app the answers of deprecated and of current operations are tried on, and a twin whose read
 * and write quotas allow one request: made once for both, each trying them with accounts of its own.
 */
let answeringApps: Promise<{ t: TestApp; limited: TestApp }> | undefined;
function appsForAnswers(): Promise<{ t: TestApp; limited: TestApp }> {
  answeringApps ??= (async () => ({
    t: await createTestApp(),
    limited: await createTestApp({ rateLimits: { policies: { read: TINY_QUOTA, write: TINY_QUOTA }, redisUrl: null } }),
  }))();
  return answeringApps;
}

describe('API versions: /v1 deprecated, /v2 its successor, one set of rows', () => {
  after(async () => {
    if (!answeringApps) return;
    const { t, limited } = await answeringApps;
    await t.close();
    await limited.close();
  });

  it('finds the deprecated operations in the spec: at least 8, each with dates and a live successor', () => {
    expect(DEPRECATED.length).to.be.at.least(8);
    expect(DEPRECATED.map((op) => op.operationId)).to.include.members([
      'createPayment',
      'listPayments',
      'retrievePayment',
      'capturePayment',
      'cancelPayment',
      'createRefund',
      'listRefunds',
      'retrieveRefund',
    ]);
    for (const op of DEPRECATED) {
      expect(Number.isNaN(Date.parse(op.deprecatedAt ?? '')), `${op.operationId} x-deprecated-at`).to.equal(false);
      expect(Date.parse(op.sunset ?? ''), `${op.operationId} x-sunset`).to.be.at.least(Date.parse(op.deprecatedAt ?? ''));
      const successor = byId.get(op.successor ?? '');
      expect(successor, `${op.operationId} x-successor`).to.not.equal(undefined);
      expect(successor!.deprecated, `${op.operationId}'s successor is not deprecated`).to.equal(false);
      expect(successor!.method).to.equal(op.method);
    }
    expect(V2.map((op) => op.operationId).sort()).to.deep.equal(DEPRECATED.map((op) => op.successor).sort());
  });

  describe('the deprecation fields on every answer of a deprecated operation', () => {
    let t: TestApp;
    let limited: TestApp;
    let c: Client;

    before(async function () {
      this.timeout(60_000);
      ({ t, limited } = await appsForAnswers());
      c = new Client(t, await t.createAccount('Deprecation account'));
    });

    for (const op of DEPRECATED) {
      describe(`${op.operationId} (${op.method.toUpperCase()} ${op.path})`, () => {
        it('on a 2xx', async () => {
          const { res, id } = await succeed(recipeFor(op), c);
          expect(res.status, res.text).to.be.within(200, 299);
          expectDeprecationFields(res, op, id);
        });

        it('on a 4xx', async () => {
          const { res, id, status, code } = await recipeFor(op).refused(c);
          expectProblem(res, status, code);
          expectDeprecationFields(res, op, id);
        });

        it('on a 429', async () => {
          // An account of its own, so its key's one request per minute is this test's.
          const lc = new Client(limited, await limited.createAccount(`Quota for ${op.operationId}`));
          const first = await recipeFor(op).refused(lc);
          expectProblem(first.res, first.status, first.code);
          const { res, id } = await recipeFor(op).refused(lc);
          expectProblem(res, 429, 'rate_limited');
          expect(res.headers['retry-after']).to.match(/^\d+$/);
          expectDeprecationFields(res, op, id);
        });
      });
    }
  });

  describe('the sunset', () => {
    let t: TestApp;
    let c: Client;
    let clock = 0;

    before(async function () {
      this.timeout(60_000);
      clock = sunsetMs() - 1;
      t = await createTestApp({ now: () => clock });
      c = new Client(t, await t.createAccount('Sunset account'));
    });
    after(() => t.close());

    for (const op of DEPRECATED) {
      it(`${op.operationId}: answers a millisecond before the sunset; from it on, 410 api_version_sunset for any request, changing nothing`, async () => {
        const recipe = recipeFor(op);
        clock = sunsetMs() - 1;
        const before = await succeed(recipe, c);
        expect(before.res.status, before.res.text).to.be.within(200, 299);
        expectDeprecationFields(before.res, op, before.id);

        const prepared = await recipe.prepare(c);
        const rows = await snapshot(t.db);
        const ledger = t.simulator.ledger();
        clock = sunsetMs();
        try {
          const answers = [
            // What answered 2xx a moment ago, with a real id, ...
            await recipe.ok(c, prepared),
            // ... what was a 4xx, with an unknown id or an invalid body, ...
            await recipe.refused(c),
            // ... and with a key that does not exist, or none: gone, never a 401, 404 or 500.
            await recipe.refused(c, 'sk_not_a_key_of_anyone'),
            await withoutCredentials(c, op, prepared),
          ];
          clock = sunsetMs() + 365 * 86_400_000;
          answers.push(await recipe.ok(c, prepared));
          for (const { res, id } of answers) {
            expectProblem(res, 410, 'api_version_sunset');
            expectDeprecationFields(res, op, id);
            expect(res.body.detail).to.include(successorPathFor(op, id));
          }
          expect(await snapshot(t.db)).to.deep.equal(rows);
          expect(t.simulator.ledger()).to.deep.equal(ledger);
        } finally {
          clock = sunsetMs() - 1;
        }
      });
    }

    it('leaves the /v2 operations answering after the sunset', async () => {
      clock = sunsetMs() + 1;
      try {
        for (const op of V2) {
          const { res } = await succeed(recipeFor(op), c);
          expect(res.status, `${op.operationId}: ${res.text}`).to.be.within(200, 299);
          expectNoDeprecationFields(res, op.operationId);
        }
      } finally {
        clock = sunsetMs() - 1;
      }
    });
  });

  describe('operations that are not deprecated', () => {
    let t: TestApp;
    let limited: TestApp;
    let c: Client;

    before(async function () {
      this.timeout(60_000);
      ({ t, limited } = await appsForAnswers());
      c = new Client(t, await t.createAccount('Current account'));
    });

    it('finds the 8 /v2 operations in the spec, none deprecated', () => {
      expect(V2).to.have.length(8);
      expect(V2.filter((op) => op.deprecated || op.sunset || op.successor || op.deprecatedAt)).to.deep.equal([]);
    });

    for (const op of V2) {
      it(`${op.operationId}: no Deprecation, Sunset or successor Link on a 2xx, a 4xx or a 429`, async () => {
        const recipe = recipeFor(op);
        const ok = await succeed(recipe, c);
        expect(ok.res.status, ok.res.text).to.be.within(200, 299);
        expectNoDeprecationFields(ok.res, `${op.operationId} ${ok.res.status}`);
        const refused = await recipe.refused(c);
        expectProblem(refused.res, refused.status, refused.code);
        expectNoDeprecationFields(refused.res, `${op.operationId} ${refused.res.status}`);

        const lc = new Client(limited, await limited.createAccount(`Quota for ${op.operationId}`));
        expect((await recipe.refused(lc)).res.status).to.equal(refused.status);
        const throttled = await recipe.refused(lc);
        expectProblem(throttled.res, 429, 'rate_limited');
        expectNoDeprecationFields(throttled.res, `${op.operationId} 429`);
      });
    }

    it('no Deprecation, Sunset or successor Link on customers, events, api keys and health', async () => {
      const answers: [string, Response][] = [];
      const customer = await c.post('/v1/customers', { email: 'current@example.com' });
      answers.push(['createCustomer', customer], ['listCustomers', await c.get('/v1/customers')]);
      answers.push(['retrieveCustomer (unknown)', await c.get('/v1/customers/cus_0000000000000000000000')]);
      answers.push(['listEvents', await c.get('/v1/events')], ['listApiKeys', await c.get('/v1/api_keys')]);
      answers.push(['getHealth', await request(t.app).get('/health')]);
      expect(answers.map(([, res]) => res.status)).to.deep.equal([201, 200, 404, 200, 200, 200]);
      for (const [operationId] of answers) expect(byId.get(operationId.split(' ')[0]!)?.deprecated, operationId).to.equal(false);
      for (const [label, res] of answers) expectNoDeprecationFields(res, label);
    });
  });

  describe('one payment, two views', () => {
    let t: TestApp;

    before(async function () {
      this.timeout(60_000);
      t = await createTestApp();
    });
    after(() => t.close());

    /** A payment as either version shows it, in /v1's terms. */
    function asV1(version: Version, body: Record<string, unknown>) {
      if (version === 'v1') {
        const { id, amount, currency, status, amount_captured, amount_refunded, capture_method, failure_code } = body;
        return { id, amount, currency, status, amount_captured, amount_refunded, capture_method, failure_code };
      }
      const money = (m: unknown) => m as { value: number; currency: string };
      const statusV1 = body.status === 'authorized' ? 'requires_capture' : body.status;
      expect(body.status).to.not.equal('requires_capture');
      expect([money(body.amount_captured).currency, money(body.amount_refunded).currency]).to.deep.equal([money(body.amount).currency, money(body.amount).currency]);
      return {
        id: body.id,
        amount: money(body.amount).value,
        currency: money(body.amount).currency,
        status: statusV1,
        amount_captured: money(body.amount_captured).value,
        amount_refunded: money(body.amount_refunded).value,
        capture_method: body.capture_method,
        failure_code: (body.failure as { code: string } | null)?.code ?? null,
      };
    }

    const other = (v: Version): Version => (v === 'v1' ? 'v2' : 'v1');

    /** Which version creates each payment; the other version does everything else to it. */
    interface Plan {
      readonly captured: Version;
      readonly capturedToo: Version;
      readonly canceled: Version;
      readonly canceledToo: Version;
    }

    /**
     * Four manual payments: two captured then partly refunded, two canceled, each created on the
     * plan's version and read, listed, captured or canceled, and refunded on the other (or the
     * same, when the plan says so). Returns the labels of the ids it made.
     */
    async function runPlan(c: Client, plan: Plan, crossing: boolean): Promise<Map<string, string>> {
      const labels = new Map<string, string>();
      const steps: [string, Version, 'capture' | 'cancel', number, string][] = [
        ['A', plan.captured, 'capture', 5_000, 'EUR'],
        ['B', plan.capturedToo, 'capture', 3_000, 'GBP'],
        ['C', plan.canceled, 'cancel', 2_000, 'USD'],
        ['D', plan.canceledToo, 'cancel', 1_000, 'EUR'],
      ];
      for (const [label, made, action, amount, currency] of steps) {
        const then = crossing ? other(made) : made;
        const created = await c.expect(c.post(`/${made}/payments`, Client.paymentBody(made, amount, currency, { capture_method: 'manual', description: `Order ${label}`, metadata: { label } })), 201);
        const id = String(created.id);
        labels.set(id, label);
        expect(asV1(made, created)).to.include({ status: 'requires_capture', amount, currency, amount_captured: 0 });

        const read = await c.expect(c.get(`/${then}/payments/${id}`), 200);
        expect(asV1(then, read)).to.deep.equal(asV1(made, created));
        const listed = await c.expect(c.get(`/${then}/payments?status=${then === 'v1' ? 'requires_capture' : 'authorized'}&limit=100`), 200);
        expect((listed.data as { id: string }[]).map((p) => p.id)).to.include(id);

        const acted = await c.expect(c.post(`/${then}/payments/${id}/${action}`), 200);
        expect(asV1(then, acted)).to.include(action === 'capture' ? { status: 'succeeded', amount_captured: amount } : { status: 'canceled', amount_captured: 0 });
        if (action === 'capture') {
          const refund = await c.expect(c.post(`/${then}/refunds`, Client.refundBody(then, id, 700, currency, { reason: 'requested_by_customer' })), 201);
          labels.set(String(refund.id), `${label}.refund`);
          expect(refund.amount).to.deep.equal(then === 'v1' ? 700 : { value: 700, currency });
          const listedRefunds = await c.expect(c.get(`/${made}/refunds?payment=${id}`), 200);
          expect((listedRefunds.data as { id: string }[]).map((r) => r.id)).to.deep.equal([refund.id]);
          const back = await c.expect(c.get(`/${made}/payments/${id}`), 200);
          expect(asV1(made, back)).to.include({ status: 'succeeded', amount_captured: amount, amount_refunded: 700 });
        }
      }
      return labels;
    }

    /** Each id replaced by its label, times and the request's own identifiers left out. */
    function normalise(value: unknown, labels: ReadonlyMap<string, string>): unknown {
      if (typeof value === 'string') return labels.get(value) ?? value;
      if (Array.isArray(value)) return value.map((v) => normalise(v, labels));
      if (value && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [key, member] of Object.entries(value)) {
          if (['created', 'created_at', 'updated_at', 'seq', 'account_id', 'request_id', 'processor_charge_id', 'processor_refund_id'].includes(key)) continue;
          if (key === 'idempotency_key') out[key] = member === null ? null : 'a key';
          else if (key === 'id' && typeof member === 'string' && !labels.has(member)) out[key] = member.replace(/_.*/, '_…');
          else out[key] = normalise(member, labels);
        }
        return out;
      }
      return value;
    }

    async function storedRows(accountId: string, labels: ReadonlyMap<string, string>) {
      const byLabel = (rows: Record<string, unknown>[]) =>
        rows.map((r) => normalise(r, labels) as Record<string, unknown>).sort((a, b) => String(a.id).localeCompare(String(b.id)));
      return {
        payments: byLabel(await t.db('payments').where({ account_id: accountId })),
        refunds: byLabel(await t.db('refunds').where({ account_id: accountId })),
        // In the order they were written.
        events: (await t.db('events').where({ account_id: accountId }).orderBy('seq')).map((r) => normalise(r, labels)),
      };
    }

    /** The processor's operations on each payment's charge and refunds, by the payment's label. */
    function ledgerByLabel(labels: ReadonlyMap<string, string>): Record<string, { kind: string; amount: number | undefined }[]> {
      const snap = t.simulator.ledger();
      const out: Record<string, { kind: string; amount: number | undefined }[]> = {};
      for (const [id, label] of labels) {
        if (label.includes('.')) continue;
        const charges = snap.charges.filter((ch) => ch.reference === id);
        expect(charges, `${label}: one charge at the processor`).to.have.length(1);
        const refunds = snap.refunds.filter((r) => r.chargeId === charges[0]!.id);
        const amountOf = (target: string) => {
          const amount = target === charges[0]!.id ? charges[0]!.amount : refunds.find((r) => r.id === target)?.amount;
          return amount === undefined ? undefined : Number(amount);
        };
        out[label] = snap.operations
          .filter((o) => o.target === charges[0]!.id || refunds.some((r) => r.id === o.target))
          .map((o) => ({ kind: OperationKind[o.kind].toLowerCase(), amount: amountOf(o.target) }));
      }
      return out;
    }

    it('leaves the same rows, events and processor operations whether a payment crosses versions or stays on one', async () => {
      const runs = {
        'v1 then v2, v2 then v1': { plan: { captured: 'v1', capturedToo: 'v2', canceled: 'v2', canceledToo: 'v1' }, crossing: true },
        'v1 only': { plan: { captured: 'v1', capturedToo: 'v1', canceled: 'v1', canceledToo: 'v1' }, crossing: false },
        'v2 only': { plan: { captured: 'v2', capturedToo: 'v2', canceled: 'v2', canceledToo: 'v2' }, crossing: false },
      } as const;
      const results: Record<string, { rows: unknown; ledger: unknown }> = {};
      for (const [name, { plan, crossing }] of Object.entries(runs)) {
        const c = new Client(t, await t.createAccount(name));
        const labels = await runPlan(c, plan, crossing);
        expect([...labels.values()].sort()).to.deep.equal(['A', 'A.refund', 'B', 'B.refund', 'C', 'D']);
        results[name] = { rows: await storedRows(c.account.id, labels), ledger: ledgerByLabel(labels) };
      }
      const crossed = results['v1 then v2, v2 then v1']!;
      // Exactly one processor operation per logical step, with the amounts asked for.
      expect(crossed.ledger).to.deep.equal({
        A: [{ kind: 'charge', amount: 5_000 }, { kind: 'capture', amount: 5_000 }, { kind: 'refund', amount: 700 }],
        B: [{ kind: 'charge', amount: 3_000 }, { kind: 'capture', amount: 3_000 }, { kind: 'refund', amount: 700 }],
        C: [{ kind: 'charge', amount: 2_000 }, { kind: 'void', amount: 2_000 }],
        D: [{ kind: 'charge', amount: 1_000 }, { kind: 'void', amount: 1_000 }],
      });
      const rows = crossed.rows as { payments: Record<string, unknown>[]; refunds: unknown[]; events: unknown[] };
      expect(rows.payments.map((p) => [p.id, p.status, Number(p.amount_refunded)])).to.deep.equal([
        ['A', 'succeeded', 700],
        ['B', 'succeeded', 700],
        ['C', 'canceled', 0],
        ['D', 'canceled', 0],
      ]);
      expect(rows.refunds).to.have.length(2);
      expect(rows.events.length).to.be.greaterThan(8);
      expect(crossed).to.deep.equal(results['v1 only']);
      expect(crossed).to.deep.equal(results['v2 only']);
    });

    describe('lists across versions', () => {
      let c: Client;
      let authorizedIds: string[];

      before(async () => {
        c = new Client(t, await t.createAccount('Lists account'));
        const made: string[] = [];
        for (const [version, manual] of [['v1', true], ['v2', true], ['v1', false], ['v2', true], ['v1', true], ['v2', false]] as const) {
          const body = Client.paymentBody(version, 1_500, 'EUR', manual ? { capture_method: 'manual' } : {});
          made.push(String((await c.expect(c.post(`/${version}/payments`, body), 201)).id));
        }
        // One authorized payment canceled: the filter must leave it out.
        await c.expect(c.post(`/v1/payments/${made[4]}/cancel`), 200);
        authorizedIds = [made[3]!, made[1]!, made[0]!];
        for (const id of [made[2]!, made[5]!]) await c.refund(id, 100);
      });

      it('lists under v2 status=authorized exactly what v1 lists as requires_capture', async () => {
        const v1 = await c.expect(c.get('/v1/payments?status=requires_capture&limit=100'), 200);
        const v2 = await c.expect(c.get('/v2/payments?status=authorized&limit=100'), 200);
        const ids = (page: Record<string, unknown>) => (page.data as { id: string }[]).map((p) => p.id);
        expect(ids(v1)).to.deep.equal(authorizedIds);
        expect(ids(v2)).to.deep.equal(authorizedIds);
        expect((v2.data as { status: string }[]).map((p) => p.status)).to.deep.equal(['authorized', 'authorized', 'authorized']);
        // Each version's filter speaks its own names only.
        expectProblem(await c.get('/v2/payments?status=requires_capture'), 400, 'validation_failed');
        expectProblem(await c.get('/v1/payments?status=authorized'), 400, 'validation_failed');
      });

      it('pages the v2 list with a v1 cursor issued for the same filters, as the v1 list would', async () => {
        for (const [v1Query, v2Query] of [
          ['status=requires_capture', 'status=authorized'],
          ['', ''],
        ]) {
          const first = await c.expect(c.get(`/v1/payments?${v1Query}&limit=1`), 200);
          const cursor = String(first.next_cursor);
          const viaV1 = await c.expect(c.get(`/v1/payments?${v1Query}&limit=100&cursor=${cursor}`), 200);
          const viaV2 = await c.expect(c.get(`/v2/payments?${v2Query}&limit=100&cursor=${cursor}`), 200);
          const ids = (page: Record<string, unknown>) => (page.data as { id: string }[]).map((p) => p.id);
          expect(ids(viaV2)).to.deep.equal(ids(viaV1)).and.have.length.greaterThan(1);
          expect((viaV2.data as { amount: unknown }[])[0]!.amount).to.deep.equal({ value: 1_500, currency: 'EUR' });
        }
        const refundsFirst = await c.expect(c.get('/v1/refunds?limit=1'), 200);
        const refundsNext = await c.expect(c.get(`/v2/refunds?cursor=${String(refundsFirst.next_cursor)}`), 200);
        expect((refundsNext.data as { amount: unknown }[]).map((r) => r.amount)).to.deep.equal([{ value: 100, currency: 'EUR' }]);
      });

      it('refuses a v1 cursor with 400 invalid_cursor on v2 with other filters or on another list', async () => {
        const first = await c.expect(c.get('/v1/payments?status=requires_capture&limit=1'), 200);
        const cursor = String(first.next_cursor);
        const rows = await snapshot(t.db);
        expectProblem(await c.get(`/v2/payments?status=succeeded&cursor=${cursor}`), 400, 'invalid_cursor');
        expectProblem(await c.get(`/v2/payments?cursor=${cursor}`), 400, 'invalid_cursor');
        expectProblem(await c.get(`/v2/refunds?cursor=${cursor}`), 400, 'invalid_cursor');
        expect(await snapshot(t.db)).to.deep.equal(rows);
      });
    });
  });

  describe('idempotency keys across versions', () => {
    let t: TestApp;
    let c: Client;

    before(async function () {
      this.timeout(60_000);
      t = await createTestApp();
      c = new Client(t, await t.createAccount('Keys account'));
    });
    after(() => t.close());

    for (const [first, second] of [
      ['v1', 'v2'],
      ['v2', 'v1'],
    ] as const) {
      it(`refuses a key first used on /${first}/payments when sent to /${second}/payments with 422 idempotency_key_reused, creating nothing`, async () => {
        const key = randomUUID();
        const made = await c.expect(c.post(`/${first}/payments`, Client.paymentBody(first, 2_500, 'EUR'), { key }), 201);
        const rows = await snapshot(t.db);
        const ledger = t.simulator.ledger();
        const res = await c.post(`/${second}/payments`, Client.paymentBody(second, 2_500, 'EUR'), { key });
        expectProblem(res, 422, 'idempotency_key_reused');
        expect(res.body.detail).to.include(`/${first}/payments`);
        expect(await snapshot(t.db)).to.deep.equal(rows);
        expect(t.simulator.ledger()).to.deep.equal(ledger);
        // On its own version the key still replays the payment it made.
        const replay = await c.post(`/${first}/payments`, Client.paymentBody(first, 2_500, 'EUR'), { key });
        expect(replay.status).to.equal(201);
        expect(replay.headers['idempotent-replayed']).to.equal('true');
        expect(replay.body).to.deep.equal(made);
      });
    }

    it('replays a /v2 create under its key in the /v2 shape, with Idempotent-Replayed: true, charging once', async () => {
      const key = randomUUID();
      const body = Client.paymentBody('v2', 2_600, 'GBP', { capture_method: 'manual', metadata: { order: '7' } });
      const first = await c.post('/v2/payments', body, { key });
      expect(first.status, first.text).to.equal(201);
      expect(first.headers['idempotent-replayed']).to.equal('false');
      const rows = await snapshot(t.db);
      const ledger = t.simulator.ledger();
      const again = await c.post('/v2/payments', body, { key });
      expect(again.status).to.equal(201);
      expect(again.headers['idempotent-replayed']).to.equal('true');
      expect(again.headers.location).to.equal(`/v2/payments/${first.body.id}`);
      expect(again.body).to.deep.equal(first.body);
      expect(again.body).to.include({ object: 'payment', status: 'authorized', failure: null });
      expect(again.body.amount).to.deep.equal({ value: 2_600, currency: 'GBP' });
      expect(again.body.amount_captured).to.deep.equal({ value: 0, currency: 'GBP' });
      expectNoDeprecationFields(again, 'createPaymentV2 replay');
      expect(await snapshot(t.db)).to.deep.equal(rows);
      expect(t.simulator.ledger()).to.deep.equal(ledger);
      expect(t.simulator.ledger().charges.filter((ch) => ch.reference === first.body.id)).to.have.length(1);
    });

    it('refuses a capture key first used on /v1 when sent to /v2 for the same payment, capturing once', async () => {
      const id = await c.manualPayment();
      const key = randomUUID();
      await c.expect(c.post(`/v1/payments/${id}/capture`, undefined, { key }), 200);
      const rows = await snapshot(t.db);
      expectProblem(await c.post(`/v2/payments/${id}/capture`, undefined, { key }), 422, 'idempotency_key_reused');
      expect(await snapshot(t.db)).to.deep.equal(rows);
      const snap = t.simulator.ledger();
      const charge = snap.charges.find((ch) => ch.reference === id)!;
      expect(snap.operations.filter((o) => o.target === charge.id).map((o) => o.kind)).to.deep.equal([OperationKind.CHARGE, OperationKind.CAPTURE]);
    });
  });

  describe('a /v2 refund in another currency', () => {
    let t: TestApp;
    let c: Client;

    before(async function () {
      this.timeout(60_000);
      t = await createTestApp();
      c = new Client(t, await t.createAccount('Currency account'));
    });
    after(() => t.close());

    it('is 422 currency_mismatch, creates nothing, and its key replays the 422', async () => {
      const payment = await c.succeededPayment(3_000);
      const key = randomUUID();
      const body = Client.refundBody('v2', payment, 1_000, 'USD');
      const tables = async () => {
        const all = await snapshot(t.db);
        return { payments: all.payments, refunds: all.refunds, events: all.events };
      };
      const rows = await tables();
      const ledger = t.simulator.ledger();
      const res = await c.post('/v2/refunds', body, { key });
      expectProblem(res, 422, 'currency_mismatch');
      expect(res.headers['idempotent-replayed']).to.equal('false');
      expect(await tables()).to.deep.equal(rows);
      expect(t.simulator.ledger()).to.deep.equal(ledger);

      const replay = await c.post('/v2/refunds', body, { key });
      expectProblem(replay, 422, 'currency_mismatch');
      expect(replay.headers['idempotent-replayed']).to.equal('true');
      expect(replay.body.detail).to.equal(res.body.detail);
      // The key stays bound to the refused request: the corrected one needs a key of its own.
      expectProblem(await c.post('/v2/refunds', Client.refundBody('v2', payment, 1_000, 'EUR'), { key }), 422, 'idempotency_key_reused');
      expect(await tables()).to.deep.equal(rows);
      expect(t.simulator.ledger()).to.deep.equal(ledger);

      const refund = await c.expect(c.post('/v2/refunds', Client.refundBody('v2', payment, 1_000, 'EUR')), 201);
      expect(refund.amount).to.deep.equal({ value: 1_000, currency: 'EUR' });
      expect((await t.db('refunds').where({ payment_id: payment })).map((r) => [Number(r.amount), r.currency])).to.deep.equal([[1_000, 'EUR']]);
    });
  });
});
