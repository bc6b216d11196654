/**
 * The reference page (`/docs`) in a real Chromium, as a new user meets it: authorize with an API
 * key, open a list operation, press "Try it out" and "Execute" without touching a field. The first
 * call must show the account's data — the examples the page fills in must not filter it away — and
 * the page must load nothing from anywhere but the API itself, under a Content-Security-Policy that
 * allows no inline script, with no violation reported. The problem type pages likewise.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { COLLECT_CSP_VIOLATIONS, launchBrowser } from './helpers/browser.js';
import { createTestApp, type TestAccount, type TestApp } from './helpers/app.js';
import { listen, type Listening } from './helpers/http-server.js';
import { operationsOf } from './contract/fuzz/operations.js';
import { loadSpec, operationsOf as specOperations } from '../src/platform/spec.js';


describe('GET /docs in a browser', function () {
  this.timeout(120_000);
  let t: TestApp;
  let server: Listening;
  let account: TestAccount;
  let browser: Browser;
  let page: Page;
  const foreignRequests: string[] = [];
  /** What the lists under a resource (`/v1/webhook_endpoints/{id}/deliveries`) are tried with, by operation. */
  const pathValues: Record<string, Record<string, string>> = {};

  before(async () => {
    t = await createTestApp();
    server = await listen(t.app);
    account = await t.createAccount();
    const auth = { Authorization: `Bearer ${account.secret}` };
    // Nothing listens on port 9: the endpoint is there to be listed, with the payment's deliveries.
    const endpoint = await request(t.app).post('/v1/webhook_endpoints').set(auth).send({ url: 'http://127.0.0.1:9/hooks', enabled_events: ['*'] }).expect(201);
    pathValues.listWebhookDeliveries = { id: endpoint.body.id };
    const windowStart = Math.floor(Date.now() / 1000) - 1;
    await request(t.app).post('/v1/customers').set(auth).send({ email: 'first@example.com' }).expect(201);
    await request(t.app).post('/v1/oauth_clients').set(auth).send({ name: 'docs', scopes: ['read'] }).expect(201);
    const payment = await request(t.app).post('/v1/payments').set(auth).set('Idempotency-Key', 'docs-1').send({ amount: 1200, currency: 'EUR' }).expect(201);
    await request(t.app).post('/v1/refunds').set(auth).set('Idempotency-Key', 'docs-2').send({ payment: payment.body.id, amount: 200 }).expect(201);
    await t.services.webhookRelay.fanOut();
    // A reconciliation with something to list: the processor's books lose the payment and refund.
    t.simulator.reset();
    const windowEnd = Math.floor(Date.now() / 1000) + 1;
    while (Date.now() < windowEnd * 1000) await new Promise((r) => setTimeout(r, 20));
    const run = await request(t.app).post('/v1/reconciliations').set(auth).send({ window_start: windowStart, window_end: windowEnd }).expect(202);
    expect(await t.services.reconciliationWorker.runOnce()).to.equal(run.body.id);
    pathValues.listReconciliationDiscrepancies = { id: run.body.id };

    browser = await launchBrowser();
    page = await browser.newPage();
    await page.addInitScript({ content: COLLECT_CSP_VIOLATIONS });
    page.on('request', (req) => {
      if (!req.url().startsWith(server.url) && !req.url().startsWith('data:')) foreignRequests.push(req.url());
    });
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('.opblock');
    await page.click('button.authorize');
    await page.locator('.auth-container input').first().fill(account.secret);
    await page.click('.auth-btn-wrapper button.authorize');
    await page.click('button.btn-done');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
  });

  const lists = operationsOf().filter((op) => op.method === 'get' && op.parameters.some((p) => p.name === 'cursor'));

  it('has list operations to try', () => {
    expect(lists.map((op) => op.operationId)).to.include.members(['listCustomers', 'listPayments', 'listRefunds', 'listEvents', 'listApiKeys']);
  });

  for (const op of lists) {
    it(`"Try it out" on ${op.operationId} (GET ${op.path}), executed as filled in${op.path.includes('{') ? ' with the seeded parent' : ''}, shows the account's items`, async () => {
      const block = page.locator(`[id$="-${op.operationId}"]`);
      await block.locator('.opblock-summary').click();
      await block.locator('button.try-out__btn').click();
      for (const name of op.path.match(/\{([^}]+)\}/g)?.map((p) => p.slice(1, -1)) ?? []) {
        const value = pathValues[op.operationId]?.[name];
        expect(value, `a seeded ${name} for ${op.operationId}`).to.be.a('string');
        await block.locator(`tr[data-param-name="${name}"] input`).fill(value!);
      }
      await block.locator('button.execute').click();
      const url = await block.locator('.request-url pre').innerText();
      const status = await block.locator('.live-responses-table .response .response-col_status').first().innerText();
      const body = JSON.parse(await block.locator('.live-responses-table .response-col_description pre').first().innerText()) as { data: unknown[] };
      expect(status.trim(), url).to.equal('200');
      expect(body.data.length, `${url} answered an empty list`).to.be.greaterThan(0);
    });
  }

  it('shows both versions, each v1 operation /v2 supersedes struck through as deprecated and no other', async () => {
    const deprecated = specOperations<{ deprecated?: boolean }>(loadSpec()).filter((op) => op.operation.deprecated === true);
    expect(deprecated.length).to.be.at.least(8);
    for (const tag of ['Payments', 'Payments v2', 'Refunds', 'Refunds v2']) {
      await page.locator(`.opblock-tag[data-tag="${tag}"]`).waitFor();
    }
    const shown = await page.locator('.opblock-deprecated').evaluateAll((blocks) => blocks.map((b) => b.id));
    expect(shown.map((id) => id.split('-').at(-1)).sort()).to.deep.equal(deprecated.map((op) => op.operationId).sort());
  });

  it('loaded nothing from any other origin', () => {
    expect(foreignRequests).to.deep.equal([]);
  });

  it('ran under a Content-Security-Policy without inline script, and broke none of it', async () => {
    const res = await request(t.app).get('/docs');
    expect(res.headers['content-security-policy']).to.match(/script-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).not.to.include('unsafe-inline');
    expect(await page.evaluate('window.__cspViolations')).to.deep.equal([]);
  });

  it('renders a problem type page styled, under its policy, with no violation', async () => {
    const problemPage = await browser.newPage();
    await problemPage.addInitScript({ content: COLLECT_CSP_VIOLATIONS });
    await problemPage.goto(`${server.url}/problems/rate_limited`);
    expect(await problemPage.locator('h1').innerText()).to.equal('Too many requests');
    // The inline style block applied: allowed by its hash, not by 'unsafe-inline'.
    expect(await problemPage.evaluate('getComputedStyle(document.body).maxWidth')).to.equal('736px');
    expect(await problemPage.evaluate('window.__cspViolations')).to.deep.equal([]);
    await problemPage.close();
  });
});
