/**
 * Screenshots of the console for the docs (`make console-screenshots`): starts the API as
 * `npm start` does (embedded database, the demo account it offers; DATABASE_URL and REDIS_URL are
 * passed on when set), opens /console in Chromium at 1280×800, runs the payments collection and the
 * storm from the runner with the demo key, and saves the live view while the storm's retries arrive
 * (docs/images/console-live.png) and the runner's report of it (docs/images/console-runner.png).
 */
import path from 'node:path';
import { launchBrowser } from './harness/browser.js';
import { API_BANNER, ROOT, startProcess } from './harness/process.js';

const OUT = path.join(ROOT, 'docs/images');
/** How long the live view keeps drawing once the retries arrive, so the charts show the burst and its retries. */
const SETTLE_MS = 2_000;

async function main(): Promise<void> {
  const passOn = Object.fromEntries(['DATABASE_URL', 'REDIS_URL'].flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
  const api = await startProcess({
    name: 'API',
    script: 'src/main.ts',
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', DEMO_ACCOUNT: 'true', ...passOn },
    banner: API_BANNER,
  });
  const browser = await launchBrowser();
  try {
    const demoKey = /API key: (sk_\S+)/.exec(api.output())?.[1];
    if (!demoKey) throw new Error(`the API printed no demo key:\n${api.output()}`);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${api.url}/console#runner`);
    await page.getByLabel('API key').fill(demoKey);
    await page.getByRole('button', { name: 'Use' }).click();
    const run = async (id: string, whileRunning?: () => Promise<void>) => {
      const runs = Number(await page.locator('.runner').getAttribute('data-runs-finished'));
      await page.getByRole('tab', { name: 'Collection runner' }).click();
      await page.locator(`input[name="collection"][value="${id}"]`).check();
      await page.locator('.run-form button[type="submit"]').click();
      await whileRunning?.();
      await page.locator(`.runner[data-runs-finished="${runs + 1}"]`).waitFor({ state: 'attached', timeout: 120_000 });
      await page.getByRole('tab', { name: 'Collection runner' }).click();
      console.log(`ran ${id}: ${await page.locator('.summary [data-metric="steps"] .tile-value').innerText()}`);
    };
    await run('payments-and-idempotency');
    // The live view while the storm's retries arrive: its 429s, then the retries Retry-After let through.
    await run('storm', async () => {
      await page.getByRole('tab', { name: 'Live view' }).click();
      const deadline = Date.now() + 60_000;
      while (!(Number(await page.locator('#panel-live [data-metric="retries"]').getAttribute('data-value')) > 0)) {
        if (Date.now() > deadline) throw new Error('the live view showed no retries within 60 s of the storm');
        await page.waitForTimeout(200);
      }
      await page.waitForTimeout(SETTLE_MS);
      await page.screenshot({ path: path.join(OUT, 'console-live.png') });
    });
    await page.locator('.summary').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUT, 'console-runner.png'), fullPage: true });
    console.log(`wrote ${path.relative(ROOT, OUT)}/console-live.png and console-runner.png`);
  } finally {
    await browser.close();
    await api.stop();
  }
}

await main();
