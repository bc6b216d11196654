/**
 * A real Chromium for page tests and scripts: Debian's `/usr/bin/chromium` (CHROMIUM_PATH to use
 * another), driven by playwright-core, headless, with background networking off so nothing leaves
 * the machine. `.ci/run` installs Chromium when it is missing; without it this fails with the
 * command that installs it, rather than skipping.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
