/** The browser of the page tests (scripts/harness/browser.ts), and what they record in a page. */
export { CHROMIUM_PATH, launchBrowser } from '../../scripts/harness/browser.js';

/** Runs in a page before its own scripts: records every Content-Security-Policy violation in `window.__cspViolations`. */
export const COLLECT_CSP_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
`;
