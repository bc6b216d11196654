/**
 * The data the fuzzer works on: an account with customers, payments in every status, refunds and
 * events, made through the API; a second account whose ids must never be served to the first;
 * keys that lack a scope; and the pools of ids that requests draw real ids from, kept up to date
 * from the answers the fuzzer gets.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import { FaultPoint } from '../../../generated/processor/processor_pb.js';
import { ADMIN_TOKEN, METRICS_TOKEN, TEST_PROCESSOR_OPTIONS, type TestAccount, type TestApp } from '../../helpers/app.js';
import type { OperationSpec, SecuritySpec } from './operations.js';
import type { Credentials } from './requests.js';
import type { Gen, IdSource } from './valid-values.js';

const ID = /^([a-z]+)_[A-Za-z0-9]+$/;

/** Shares of id-shaped values that become an id of this account, of another account, or stay random. */
const OWN_ID_PERCENT = 50;
const FOREIGN_ID_PERCENT = 15;

class IdSet {
  private readonly byPrefix = new Map<string, string[]>();
  private readonly all = new Set<string>();

  add(id: string): void {
    const prefix = ID.exec(id)?.[1];
    if (!prefix || this.all.has(id)) return;
    this.all.add(id);
    this.byPrefix.set(prefix, [...(this.byPrefix.get(prefix) ?? []), id]);
  }

  delete(id: string): void {
    if (!this.all.delete(id)) return;
    const prefix = ID.exec(id)![1]!;
    this.byPrefix.set(prefix, (this.byPrefix.get(prefix) ?? []).filter((x) => x !== id));
  }

  withPrefixes(prefixes: readonly string[]): string[] {
    return prefixes.flatMap((p) => this.byPrefix.get(p) ?? []);
  }

  get ids(): ReadonlySet<string> {
    return this.all;
  }
}

/** Every `id` in a JSON document, at any depth. */
function idsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => idsIn(v, out));
  else if (value && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      if (key === 'id' && typeof member === 'string' && ID.test(member)) out.push(member);
      else idsIn(member, out);
    }
  }
  return out;
}

export class IdPools implements IdSource {
  private readonly own = new IdSet();
  private readonly foreign = new IdSet();

  /** `reserved` are never handed out (the fuzzer's own keys: revoking them would end the run). */
  constructor(private readonly reserved: ReadonlySet<string>) {}

  get foreignIds(): ReadonlySet<string> {
    return this.foreign.ids;
  }

  learn(body: unknown, whose: 'own' | 'foreign'): void {
    for (const id of idsIn(body)) if (!this.reserved.has(id)) (whose === 'own' ? this.own : this.foreign).add(id);
  }

  forget(id: string): void {
    this.own.delete(id);
  }

  choose(prefixes: readonly string[], g: Gen): string | undefined {
    const roll = g(() => fc.noBias(fc.integer({ min: 0, max: 99 })));
    const source = roll < OWN_ID_PERCENT ? this.own : roll < OWN_ID_PERCENT + FOREIGN_ID_PERCENT ? this.foreign : undefined;
    const candidates = source?.withPrefixes(prefixes) ?? [];
    if (candidates.length === 0) return undefined;
    return candidates[g(() => fc.noBias(fc.integer({ min: 0, max: candidates.length - 1 })))];
  }
}

export interface World {
  readonly account: TestAccount;
  readonly pools: IdPools;
  readonly credentials: Credentials;
  /** A cursor each list really issued, without filters, by operationId. */
  readonly cursors: Map<string, string>;
  /** The security scheme whose requests act for the fuzzed account (the API key). */
  readonly accountScheme: string;
}

const ACCOUNT_SCHEME = 'apiKey';
const ADMIN_SCHEME = 'adminToken';
const METRICS_SCHEME = 'metricsToken';

async function post(t: TestApp, secret: string, path: string, body: object, key = true): Promise<request.Response> {
  let req = request(t.app).post(path).set('Authorization', `Bearer ${secret}`);
  if (key) req = req.set('Idempotency-Key', randomUUID());
  return req.send(body);
}

async function expectStatus(res: Promise<request.Response>, status: number): Promise<Record<string, unknown>> {
  const r = await res;
  if (r.status !== status) throw new Error(`seeding: expected ${status}, got ${r.status} ${r.text}`);
  return r.body as Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Customers, payments in every status, refunds and their events for `account`, through the API. */
async function seedAccount(t: TestApp, account: TestAccount, pools: IdPools, whose: 'own' | 'foreign', scale: number): Promise<void> {
  const s = account.secret;
  const learn = (body: unknown) => pools.learn(body, whose);
  const pay = async (body: object) => {
    const p = await expectStatus(post(t, s, '/v1/payments', body), 201);
    learn(p);
    return String(p.id);
  };
  // With the processor down first: a payment stays processing, a refund stays pending. The
  // outage opens the adapter's circuit; the first payment after it closes it again.
  const refundable = await pay({ amount: 99_999_999, currency: 'EUR' });
  t.simulator.setFaults({ errorRate: 1, faultPoint: FaultPoint.BEFORE });
  try {
    await expectStatus(post(t, s, '/v1/payments', { amount: 7_000, currency: 'EUR' }), 503);
    await expectStatus(post(t, s, '/v1/refunds', { payment: refundable, amount: 500 }), 503);
  } finally {
    t.simulator.setFaults({ errorRate: 0 });
  }
  await sleep(TEST_PROCESSOR_OPTIONS.breakerHalfOpenMs + 100);

  const customers: string[] = [];
  for (let i = 0; i < 4 * scale; i++) {
    const c = await expectStatus(post(t, s, '/v1/customers', { email: `seed${i}@example.com`, name: `Seed ${i}`, metadata: { n: String(i) } }), 201);
    customers.push(String(c.id));
    learn(c);
  }
  const succeeded: string[] = [];
  for (let i = 0; i < 4 * scale; i++) succeeded.push(await pay({ amount: 99_999_999, currency: 'EUR', customer: customers[i % customers.length] }));
  const authorized: string[] = [];
  for (let i = 0; i < 10 * scale; i++) authorized.push(await pay({ amount: 5_000 + i, currency: 'USD', capture_method: 'manual' }));
  await pay({ amount: 1_402, currency: 'EUR' }); // the simulator declines it: failed
  for (const id of authorized.slice(0, scale)) learn(await expectStatus(post(t, s, `/v1/payments/${id}/cancel`, {}), 200));
  for (const id of succeeded.slice(0, 2 * scale)) learn(await expectStatus(post(t, s, '/v1/refunds', { payment: id, amount: 1_000 }), 201));
  // Webhook endpoints (nothing listens on port 9), their deliveries and a replay each.
  for (let i = 0; i < 2 * scale; i++) {
    const endpoint = await expectStatus(post(t, s, '/v1/webhook_endpoints', { url: `http://127.0.0.1:9/hooks/${i}`, enabled_events: ['*'] }, false), 201);
    learn(endpoint);
    learn(await expectStatus(post(t, s, `/v1/webhook_endpoints/${endpoint.id}/replays`, { since: 0, until: 1 }), 202));
  }
  await t.services.webhookRelay.fanOut();
  for (const endpoint of (await request(t.app).get('/v1/webhook_endpoints?limit=100').set('Authorization', `Bearer ${s}`)).body.data) {
    learn((await request(t.app).get(`/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=100`).set('Authorization', `Bearer ${s}`)).body);
  }
}

/** Every item of every list the account's key can read, into the pools. */
async function learnLists(t: TestApp, operations: readonly OperationSpec[], secret: string, pools: IdPools, whose: 'own' | 'foreign'): Promise<void> {
  for (const op of lists(operations)) {
    const res = await request(t.app).get(`${op.path}?limit=100`).set('Authorization', `Bearer ${secret}`);
    if (res.status !== 200) throw new Error(`seeding: ${op.operationId} answered ${res.status} ${res.text}`);
    pools.learn(res.body, whose);
  }
}

/** The account's list operations: GETs without path parameters that page with a cursor. */
function lists(operations: readonly OperationSpec[]): OperationSpec[] {
  return operations.filter(
    (op) => op.method === 'get' && op.security?.scheme === ACCOUNT_SCHEME && !op.path.includes('{') && op.parameters.some((p) => p.in === 'query' && p.name === 'cursor'),
  );
}

export async function buildWorld(t: TestApp, operations: readonly OperationSpec[]): Promise<World> {
  const account = await t.createAccount('Fuzzed account');
  const readOnly = await t.createKey(account, ['read']);
  const writeOnly = await t.createKey(account, ['write']);
  const narrowKeys = [
    { secret: readOnly.secret, scopes: ['read'] },
    { secret: writeOnly.secret, scopes: ['write'] },
  ];
  const other = await t.createAccount('Another account');
  const pools = new IdPools(new Set([account.keyId, readOnly.id, writeOnly.id]));
  pools.learn({ id: other.id }, 'foreign');
  pools.learn({ id: other.keyId }, 'foreign');

  for (let i = 0; i < 3; i++) pools.learn(await expectStatus(post(t, account.secret, '/v1/api_keys', { name: `seed ${i}`, scopes: ['read'] }, false), 201), 'own');
  for (let i = 0; i < 2; i++) pools.learn(await expectStatus(post(t, account.secret, '/v1/oauth_clients', { name: `seed ${i}`, scopes: ['read'] }, false), 201), 'own');
  await seedAccount(t, other, pools, 'foreign', 1);
  await seedAccount(t, account, pools, 'own', 2);
  await learnLists(t, operations, other.secret, pools, 'foreign');
  await learnLists(t, operations, account.secret, pools, 'own');

  const credentials: Credentials = {
    satisfying(security: SecuritySpec) {
      if (security.scheme === ACCOUNT_SCHEME) return account.secret;
      if (security.scheme === ADMIN_SCHEME) return ADMIN_TOKEN;
      if (security.scheme === METRICS_SCHEME) return METRICS_TOKEN;
      throw new Error(`the fuzzer has no credentials for the security scheme '${security.scheme}'`);
    },
    notSatisfying(security: SecuritySpec) {
      // Credentials of the other scheme are unknown here: invalid_api_key, never insufficient_scope.
      if (security.scheme === ADMIN_SCHEME) return [{ secret: account.secret, refusal: 'invalid_api_key' }];
      if (security.scheme === METRICS_SCHEME) {
        return [
          { secret: account.secret, refusal: 'invalid_api_key' },
          { secret: ADMIN_TOKEN, refusal: 'invalid_api_key' },
        ];
      }
      const lacking = narrowKeys.filter((key) => security.scopes.some((scope) => !key.scopes.includes(scope)));
      return [{ secret: ADMIN_TOKEN, refusal: 'invalid_api_key' }, ...lacking.map((key) => ({ secret: key.secret, refusal: 'insufficient_scope' as const }))];
    },
  };

  // One cursor per list, issued for no filters.
  const cursors = new Map<string, string>();
  for (const op of lists(operations)) {
    const res = await request(t.app).get(`${op.path}?limit=1`).set('Authorization', `Bearer ${account.secret}`);
    if (typeof res.body.next_cursor !== 'string') throw new Error(`seeding: ${op.operationId} issued no cursor: ${res.status} ${res.text}`);
    cursors.set(op.operationId, res.body.next_cursor);
  }
  return { account, pools, credentials, cursors, accountScheme: ACCOUNT_SCHEME };
}
