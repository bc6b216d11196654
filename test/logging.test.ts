/**
 * What the request log keeps: the method, the path and the names of the query parameters — not
 * their values, which may be personal data (a customer list filtered by email) — and never a
 * credential.
 */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { withoutQueryValues } from '../src/platform/http/request-log.js';
import { createLogger } from '../src/platform/logger.js';
import { createTestApp } from './helpers/app.js';

describe('request logs', () => {
  it('keep the query parameter names of a request, not their values, and no credential', async () => {
    const stream = new PassThrough();
    let lines = '';
    stream.on('data', (d: Buffer) => (lines += d.toString()));
    const t = await createTestApp({ log: createLogger('info', 'json', stream) });
    try {
      const account = await t.createAccount();
      await request(t.app).get('/v1/customers?email=ada.lovelace%40example.com&limit=5').set('Authorization', `Bearer ${account.secret}`).expect(200);
      await request(t.app).get('/v1/customers?email=grace@example.com').set('Authorization', 'Bearer sk_AAAAAAAAAAAAAAAAAAAAAA_not-a-real-secret-but-still-secret-00000').expect(401);
      const head = await request(t.app).head('/health').expect(200);
      await new Promise((resolve) => setImmediate(resolve));
      const entries = lines.trim().split('\n').map((l) => JSON.parse(l) as { req?: { url: string; method: string; id: string }; res?: { statusCode: number } });
      // One line per request, with its id, method (HEAD as sent, though served as GET), path and status, and nothing else of either.
      const headLine = entries.find((e) => e.req?.url === '/health');
      expect(headLine?.req).to.deep.equal({ id: head.headers['request-id'], method: 'HEAD', url: '/health' });
      expect(headLine?.res).to.deep.equal({ statusCode: 200 });
      const urls = entries.flatMap((e) => (e.req ? [e.req.url] : []));
      expect(urls).to.include('/v1/customers?email=…&limit=…');
      expect(urls).to.include('/v1/customers?email=…');
      expect(lines).not.to.match(/lovelace|grace@|not-a-real-secret/);
      expect(lines).not.to.include(account.secret);
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
