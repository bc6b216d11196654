/**
 * The console (`/console`) in a real Chromium against the API as `npm start` runs it (src/main.ts
 * in its own process, default quotas, the demo account it offers): the page loads everything from
 * the API with no failed request, no console error and no Content-Security-Policy violation; every
 * collection run from the page with the demo key passes, with totals equal to the steps run; a
 * wrong key and an unreachable API each show their error; and a storm run from the runner shows up
 * in the live view's 429 and retry panels within 5 s of the server counting it.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { collections } from '../console/collections/index.js';
import { COLLECT_CSP_VIOLATIONS, launchBrowser } from './helpers/browser.js';
import { createSharedStorage, ROOT, spawnApi, waitFor, type ApiProcess, type SharedStorage } from './helpers/api-process.js';

/** How soon the live view must show what the server counted. */
const LIVE_VIEW_LAG_MS = 5_000;

interface FeedCounts {
  rateLimited: number;
  retried: number;
}

describe('GET /console in a browser', function () {
  this.timeout(300_000);
  let storage: SharedStorage;
  let api: ApiProcess;
  let demoKey: string;
  let browser: Browser;
  let page: Page;
  const foreignRequests: string[] = [];
  const failedRequests: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];

  async function feedCounts(): Promise<FeedCounts> {
    const feed = (await (await fetch(`${api.url}/console/feed`)).json()) as { requests: { by_code: Record<string, number>; retried: number } };
    return { rateLimited: feed.requests.by_code.rate_limited ?? 0, retried: feed.requests.retried };
  }
  const tileTotal = (metric: string) => page.locator(`#panel-live [data-metric="${metric}"]`).getAttribute('data-total').then(Number);

  const runsFinished = async () => Number(await page.locator('.runner').getAttribute('data-runs-finished'));
  async function useKey(key: string): Promise<void> {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Use' }).click();
  }
  async function showTab(name: 'Live view' | 'Collection runner'): Promise<void> {
    await page.getByRole('tab', { name }).click();
  }
  /** Runs a collection from the page and waits for its summary. */
  async function runFromPage(id: string, iterations = 1): Promise<void> {
    await showTab('Collection runner');
    await page.locator(`input[name="collection"][value="${id}"]`).check();
    await page.getByLabel('Iterations').fill(String(iterations));
    const runs = await runsFinished();
    await page.locator('.run-form button[type="submit"]').click();
    await page.locator(`.runner[data-runs-finished="${runs + 1}"]`).waitFor({ state: 'attached', timeout: 120_000 });
    await page.locator(`.summary[data-run="${id}"]`).waitFor();
  }

  before(async () => {
    storage = await createSharedStorage();
    api = await spawnApi({
      ...storage.env,
      DEMO_ACCOUNT: 'true',
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      // The webhooks collection registers https://example.com/…: resolved to this machine, as every
      // webhook test does, so the run needs no DNS and delivers nowhere.
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      NODE_OPTIONS: `--import ${pathToFileURL(path.join(ROOT, 'test/helpers/loopback-dns.mjs')).href}`,
    });
    demoKey = /API key: (sk_\S+)/.exec(api.output())![1]!;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript({ content: COLLECT_CSP_VIOLATIONS });
    page.on('request', (req) => {
      if (!req.url().startsWith(api.url) && !req.url().startsWith('data:')) foreignRequests.push(req.url());
    });
    page.on('requestfailed', (req) => failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${api.url}/console`);
    await page.locator('#panel-live [data-metric="requests"] .tile-value').filter({ hasText: '/s' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await api?.stop('SIGTERM');
    await storage?.drop();
  });

  describe('loading', () => {
    it('loads with no failed request, no console error and nothing from another origin', () => {
      expect(foreignRequests).to.deep.equal([]);
      expect(failedRequests).to.deep.equal([]);
      expect(consoleErrors).to.deep.equal([]);
      expect(pageErrors).to.deep.equal([]);
    });

    it('runs under a Content-Security-Policy without inline script, and breaks none of it', async () => {
      const res = await fetch(`${api.url}/console`);
      expect(res.headers.get('content-security-policy')).to.match(/script-src 'self'(;|$)/);
      expect(res.headers.get('content-security-policy')).not.to.include('unsafe-inline');
      expect(await page.evaluate('window.__cspViolations')).to.deep.equal([]);
    });

    it('says the live view is this instance only and names it', async () => {
      const feed = (await (await fetch(`${api.url}/console/feed`)).json()) as { instance: { id: string } };
      const scope = await page.locator('.scope').innerText();
      expect(scope).to.include(feed.instance.id);
      expect(scope).to.match(/not the fleet/);
    });

    it('shows the live panels, refreshed from the feed at least every 2 s', async () => {
      const first = await feedAt();
      await waitFor('a newer snapshot on the page', async () => ((await feedAt()) > first ? true : undefined), 2_500, 100);
      for (const metric of ['requests', 'errors', 'rate-limited', 'retries', 'replays', 'in-flight-conflicts', 'latency', 'breaker', 'insurance', 'webhook-backlog']) {
        expect(await page.locator(`#panel-live [data-metric="${metric}"] .tile-value`).innerText(), metric).not.to.equal('');
      }
      expect(await page.locator('.chart canvas').count()).to.be.at.least(2);
    });
  });

  /** The `at` of the snapshot the live view last drew. */
  async function feedAt(): Promise<number> {
    return Number(await page.locator('#panel-live .tiles').getAttribute('data-at'));
  }

  describe('keyboard and layout', () => {
    it('moves between the views with the arrow keys', async () => {
      await page.getByRole('tab', { name: 'Live view' }).focus();
      await page.keyboard.press('ArrowRight');
      expect(await page.getByRole('tab', { name: 'Collection runner' }).getAttribute('aria-selected')).to.equal('true');
      expect(await page.locator('#panel-runner').isVisible()).to.equal(true);
      await page.keyboard.press('ArrowLeft');
      expect(await page.locator('#panel-live').isVisible()).to.equal(true);
    });

    for (const width of [1280, 390]) {
      it(`needs no sideways scrolling at ${width} px wide, on either view`, async () => {
        await page.setViewportSize({ width, height: 800 });
        for (const tab of ['Live view', 'Collection runner'] as const) {
          await showTab(tab);
          const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
          expect(overflow, tab).to.be.at.most(0);
        }
        await page.setViewportSize({ width: 1280, height: 800 });
      });
    }
  });

  describe('errors a user can act on', () => {
    it('says the key was refused when it is wrong', async () => {
      await useKey('sk_test_notarealkey0000000000000000');
      await showTab('Collection runner');
      await page.locator('.run-form button[type="submit"]').click();
      const alert = page.locator('[data-state="run-error"]');
      await alert.waitFor();
      expect(await alert.innerText()).to.match(/key/i);
      expect(await page.locator('.summary').count()).to.equal(0);
    });

    it('says the API is unreachable when it does not answer', async () => {
      await useKey(demoKey);
      await page.route('**/v1/**', (route) => route.abort('connectionrefused'));
      try {
        await page.locator('.run-form button[type="submit"]').click();
        await page.locator('[data-state="run-error"]').filter({ hasText: /does not answer/ }).waitFor();
      } finally {
        await page.unroute('**/v1/**');
      }
    });
  });

  describe('running every collection with the demo key', () => {
    before(async () => {
      await useKey(demoKey);
      failedRequests.length = 0;
    });

    for (const collection of collections) {
      it(`${collection.name} (${collection.id}): every assertion passes and the totals equal the steps run`, async () => {
        if (collection.id === 'storm') return runStorm(collection.steps.length);
        await runFromPage(collection.id);
        await expectAllPassed(collection.steps.length);
      });
    }

    it('runs a collection several times over (iterations) and compares two runs', async () => {
      const customers = collections.find((c) => c.id === 'customers')!;
      await runFromPage('customers', 1);
      await runFromPage('customers', 2);
      await expectAllPassed(customers.steps.length * 2);
      const boxes = page.locator('table.history tbody input[type="checkbox"]');
      await boxes.nth(0).check();
      await boxes.nth(1).check();
      const comparison = page.locator('table.comparison');
      await comparison.waitFor();
      const steps = await comparison.locator('tbody tr').filter({ hasText: /^Steps/ }).first().locator('td').allInnerTexts();
      expect(steps.slice(0, 2)).to.deep.equal([String(customers.steps.length * 2), String(customers.steps.length)]);
    });

    it('threw no error in the page through all of it', () => {
      expect(pageErrors).to.deep.equal([]);
      expect(foreignRequests).to.deep.equal([]);
    });
  });

  async function expectAllPassed(steps: number): Promise<void> {
    const failed = await page.locator('table.steps tr[data-passed="false"]').allInnerTexts();
    expect(failed, 'failed steps').to.deep.equal([]);
    expect(await page.locator('.summary [data-metric="steps"]').getAttribute('data-value')).to.equal(String(steps));
    expect(await page.locator('table.steps tbody tr').count()).to.equal(steps);
    expect(await page.locator('.summary [data-metric="steps"] .tile-value').innerText()).to.equal(`${steps}/${steps} passed`);
    const assertions = await page.locator('.summary [data-metric="assertions"] .tile-value').innerText();
    const [passed, total] = assertions.replace(' passed', '').split('/').map(Number);
    expect(total).to.be.greaterThan(0);
    expect(passed).to.equal(total);
  }

  /** The storm: the server counts its 429s and retries, and the live view must show them within 5 s. */
  async function runStorm(steps: number): Promise<void> {
    const base = await feedCounts();
    const pageBase = { rateLimited: await tileTotal('rate-limited'), retried: await tileTotal('retries') };
    await showTab('Collection runner');
    await page.locator('input[name="collection"][value="storm"]').check();
    await page.getByLabel('Iterations').fill('1');
    const runs = await runsFinished();
    await page.locator('.run-form button[type="submit"]').click();
    await showTab('Live view');
    for (const [what, metric, key] of [
      ['429s', 'rate-limited', 'rateLimited'],
      ['retries', 'retries', 'retried'],
    ] as const) {
      const counted = await waitFor(`the server to count ${what}`, async () => ((await feedCounts())[key] > base[key] ? true : undefined), 60_000, 250);
      expect(counted).to.equal(true);
      const shown = await waitFor(`the live view's ${what} panel to change`, async () => ((await tileTotal(metric)) > pageBase[key] ? true : undefined), LIVE_VIEW_LAG_MS, 100);
      expect(shown, what).to.equal(true);
    }
    await page.locator(`.runner[data-runs-finished="${runs + 1}"]`).waitFor({ state: 'attached', timeout: 120_000 });
    await showTab('Collection runner');
    await expectAllPassed(steps);
    // The burst's 429s are in the run's own status distribution too.
    expect(Number(await page.locator('.distribution li[data-status="429"] .bar-count').innerText())).to.be.greaterThan(0);
  }
});
