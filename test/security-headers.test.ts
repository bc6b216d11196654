/**
 * Security headers on every answer: no MIME sniffing, no Referer, no framing; a CSP that allows
 * nothing on JSON and problem answers and only this server's own files on the pages; HSTS only over
 * TLS; `Cache-Control: no-store` on every answer to an authenticated request.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';

describe('security headers', () => {
  let t: TestApp;
  let account: TestAccount;
  before(async () => {
    t = await createTestApp({ trustProxy: 'loopback' });
    account = await t.createAccount();
  });
  after(() => t.close());

  const answers: [string, () => request.Test][] = [
    ['a JSON answer', () => request(t.app).get('/v1/customers').set('Authorization', `Bearer ${account.secret}`)],
    ['a problem', () => request(t.app).get('/v1/customers')],
    ['an unknown route', () => request(t.app).get('/nope')],
    ['/health', () => request(t.app).get('/health')],
    ['/docs', () => request(t.app).get('/docs')],
    ['a docs asset', () => request(t.app).get('/docs/assets/swagger-ui.css')],
    ['a problem type page', () => request(t.app).get('/problems/rate_limited')],
    ['/console', () => request(t.app).get('/console')],
    ['the console feed', () => request(t.app).get('/console/feed')],
  ];

  for (const [what, send] of answers) {
    it(`puts nosniff, no-referrer and no framing on ${what}`, async () => {
      const res = await send();
      expect(res.headers['x-content-type-options']).to.equal('nosniff');
      expect(res.headers['referrer-policy']).to.equal('no-referrer');
      expect(res.headers['x-frame-options']).to.equal('DENY');
      expect(res.headers['content-security-policy']).to.include("frame-ancestors 'none'");
      expect(res.headers['x-powered-by']).to.equal(undefined);
    });
  }

  it('lets a JSON answer or a problem load nothing at all', async () => {
    const answers: [string, () => request.Test][] = [
      ['a JSON answer', () => request(t.app).get('/v1/customers').set('Authorization', `Bearer ${account.secret}`)],
      ['a problem', () => request(t.app).get('/nope')],
      // JSON beside a page, under the page's path.
      ['the console feed', () => request(t.app).get('/console/feed')],
      ['the console feed/', () => request(t.app).get('/console/feed/')],
    ];
    for (const [what, send] of answers) {
      expect((await send()).headers['content-security-policy'], what).to.match(/^default-src 'none'/);
    }
  });

  it('lets the pages load only what this server serves, with no inline script', async () => {
    for (const path of ['/docs', '/problems', '/problems/rate_limited', '/console']) {
      const csp = (await request(t.app).get(path)).headers['content-security-policy'] as string;
      expect(csp, path).to.include("default-src 'self'");
      expect(csp, path).to.include("script-src 'self';");
      expect(csp, path).not.to.match(/unsafe-inline|unsafe-eval|\*/);
    }
  });

  it('sends Strict-Transport-Security only when the request came over TLS', async () => {
    expect((await request(t.app).get('/health')).headers['strict-transport-security']).to.equal(undefined);
    // Through the trusted proxy, which terminated TLS.
    const tls = await request(t.app).get('/health').set('X-Forwarded-Proto', 'https');
    expect(tls.headers['strict-transport-security']).to.equal('max-age=31536000; includeSubDomains');
  });

  it('marks every answer to an authenticated request no-store, refusals included', async () => {
    expect((await request(t.app).get('/v1/customers').set('Authorization', `Bearer ${account.secret}`)).headers['cache-control']).to.equal('no-store');
    expect((await request(t.app).get('/v1/customers')).headers['cache-control']).to.equal('no-store');
    expect((await request(t.app).post('/v1/api_keys').set('Authorization', `Bearer ${account.secret}`).send({ scopes: ['read'] })).headers['cache-control']).to.equal('no-store');
  });
});
