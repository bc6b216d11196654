/**
 * What the request log keeps: the method, the path and the names of the query parameters — not
 * their values, which may be personal data (a customer list filtered by email) — and never a
 * credential.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { withoutQueryValues } from '../src/platform/http/observe.js';
import { createLogger } from '../src/platform/logger.js';
import { createTestApp } from './helpers/app.js';

/** A JSON logger at `info` whose lines are kept in memory. */
function capturedLog(): { log: ReturnType<typeof createLogger>; text: () => string } {
  const stream = new PassThrough();
  let lines = '';
  stream.on('data', (d: Buffer) => (lines += d.toString()));
  return { log: createLogger('info', 'json', stream), text: () => lines };
}

describe('request logs', () => {
  it('keep the query parameter names of a request, not their values, and no credential', async () => {
    const { log, text } = capturedLog();
    const t = await createTestApp({ log });
    try {
      const account = await t.createAccount();
      await request(t.app).get('/v1/customers?email=ada.lovelace%40example.com&limit=5').set('Authorization', `Bearer ${account.secret}`).expect(200);
      await request(t.app).get('/v1/customers?email=grace@example.com').set('Authorization', 'Bearer sk_AAAAAAAAAAAAAAAAAAAAAA_not-a-real-secret-but-still-secret-00000').expect(401);
      const head = await request(t.app).head('/health').expect(200);
      await new Promise((resolve) => setImmediate(resolve));
      const entries = text().trim().split('\n').map((l) => JSON.parse(l) as { req?: { url: string; method: string; id: string }; res?: { statusCode: number } });
      // One line per request, with its id, method (HEAD as sent, though served as GET), path and status, and nothing else of either.
      const headLine = entries.find((e) => e.req?.url === '/health');
      expect(headLine?.req).to.deep.equal({ id: head.headers['request-id'], method: 'HEAD', url: '/health' });
      expect(headLine?.res).to.deep.equal({ statusCode: 200 });
      const urls = entries.flatMap((e) => (e.req ? [e.req.url] : []));
      expect(urls).to.include('/v1/customers?email=…&limit=…');
      expect(urls).to.include('/v1/customers?email=…');
      expect(text()).not.to.match(/lovelace|grace@|not-a-real-secret/);
      expect(text()).not.to.include(account.secret);
    } finally {
      await t.close();
    }
  });

  it('say, for each request, who called which operation, how it ended, and what its idempotency key did', async () => {
    const { log, text } = capturedLog();
    const t = await createTestApp({ log });
    try {
      const account = await t.createAccount();
      const pay = (retry: string, amount: number) =>
        request(t.app).post('/v1/payments').set('Authorization', `Bearer ${account.secret}`).set('Idempotency-Key', 'log-key-1').set('Remit-Retry-Count', retry).send({ amount, currency: 'EUR' });
      const created = await pay('0', 1_000).expect(201);
      const replayed = await pay('1', 1_000).expect(201);
      const reused = await pay('2', 5_000).expect(422);
      await new Promise((resolve) => setImmediate(resolve));
      const byId = new Map(
        text()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown> & { req?: { id: string } })
          .filter((e) => e.req)
          .map((e) => [e.req!.id, e]),
      );
      const fields = ['operationId', 'account', 'code', 'retryCount', 'idempotency', 'replayed'];
      const pick = (id: string | undefined) => {
        if (id === undefined) throw new Error('an answer without a Request-Id');
        const line = byId.get(id)!;
        expect(line, `a line for request ${id}`).to.not.equal(undefined);
        expect(line.res).to.deep.equal({ statusCode: id === reused.headers['request-id'] ? 422 : 201 });
        expect(line.responseTime).to.be.a('number');
        return Object.fromEntries(fields.map((f) => [f, line[f]]));
      };
      expect(pick(created.headers['request-id'])).to.deep.equal({ operationId: 'createPayment', account: account.id, code: null, retryCount: 0, idempotency: 'created', replayed: false });
      expect(pick(replayed.headers['request-id'])).to.deep.equal({ operationId: 'createPayment', account: account.id, code: null, retryCount: 1, idempotency: 'replayed', replayed: true });
      expect(pick(reused.headers['request-id'])).to.deep.equal({
        operationId: 'createPayment',
        account: account.id,
        code: 'idempotency_key_reused',
        retryCount: 2,
        idempotency: 'key_reused',
        replayed: false,
      });
      // The fields docs/observability.md lists are exactly the fields of a line (pino's own aside).
      const doc = readFileSync(path.join(import.meta.dirname, '../docs/observability.md'), 'utf8');
      const section = doc.slice(doc.indexOf('## Logs'), doc.indexOf('\n## ', doc.indexOf('## Logs') + 1));
      const documented = [...section.matchAll(/^\| `([\w.]+)` \|/gm)].map((m) => m[1]!);
      const line = byId.get(created.headers['request-id']!)!;
      const pinoOwn = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg']);
      const keys = Object.entries(line).flatMap(([k, v]) => (pinoOwn.has(k) ? [] : v && typeof v === 'object' ? Object.keys(v).map((sub) => `${k}.${sub}`) : [k]));
      // `aborted` appears only on a line whose client went away first.
      expect([...keys, 'aborted'].sort()).to.deep.equal([...documented].sort());
      // No body, no key, no secret.
      expect(text()).not.to.include('log-key-1');
      expect(text()).not.to.include(account.secret);
      expect(text()).not.to.match(/"amount"|"currency"/);
    } finally {
      await t.close();
    }
  });

  it('turn any URL into its path and parameter names', () => {
    expect(withoutQueryValues('/v1/payments')).to.equal('/v1/payments');
    expect(withoutQueryValues('/v1/payments?status=succeeded&created[gte]=1&cursor=abc')).to.equal('/v1/payments?status=…&created[gte]=…&cursor=…');
    expect(withoutQueryValues('/v1/payments?')).to.equal('/v1/payments?');
  });
});
