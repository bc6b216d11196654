import { readFileSync } from 'node:fs';
import path from 'node:path';
import swaggerUiDist from 'swagger-ui-dist';
import { AppError } from '../platform/errors.js';
import type { HandlersFor } from '../platform/http/handlers.js';
import { problemIndexPage, problemPageOf } from './problems.js';
import type { Lifecycle } from '../platform/shutdown.js';
import type { Metrics } from '../platform/metrics.js';
import { consolePage, readConsoleFeed } from './console.js';

export const DOCS_ASSETS_PATH = '/docs/assets';
export const docsAssetsDir = swaggerUiDist.getAbsoluteFSPath();
/** The page's own script and stylesheet (files, so its CSP can forbid inline ones). */
export const DOCS_PAGE_PATH = '/docs/page';
export const docsPageDir = path.join(import.meta.dirname, 'docs-page');

const READINESS_RETRY_AFTER_S = 5;

export interface OpsDependencies {
  readonly lifecycle: Lifecycle;
  /** Each named dependency's check; `/ready` runs them all at once. */
  readonly checks: Record<'database', () => Promise<boolean>> & Record<string, () => Promise<boolean>>;
  /**
   * Dependencies reported but not gating readiness: with the processor's circuit open the API still
   * serves reads and answers writes honestly with 503s, so the instance stays in rotation.
   */
  readonly advisories?: Record<string, () => 'up' | 'degraded'>;
  readonly spec: object;
  /** The instance's metrics; `/metrics` answers 404 without them (`METRICS_ENABLED=false`). */
  readonly metrics?: Metrics;
}

function docsPage(): string {
  // Swagger UI, served from this server's own copy of swagger-ui-dist: no CDN.
  const template = readFileSync(path.join(import.meta.dirname, 'docs.html'), 'utf8');
  return template.replaceAll('{{assets}}', DOCS_ASSETS_PATH).replaceAll('{{page}}', DOCS_PAGE_PATH);
}

export function opsHandlers({
  lifecycle,
  checks,
  advisories = {},
  spec,
  metrics,
}: OpsDependencies): HandlersFor<'getHealth' | 'getReadiness' | 'getMetrics' | 'getOpenApiDocument' | 'getApiReference'> {
  const html = docsPage();
  return {
    getHealth: async () => ({ status: 200, body: { status: 'ok' } }),
    getReadiness: async () => {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((n) => checks[n]!().catch(() => false)));
      const states = {
        ...Object.fromEntries(Object.entries(advisories).map(([n, state]) => [n, state()])),
        ...Object.fromEntries(names.map((n, i) => [n, results[i] ? 'up' : 'down'])),
      } as { database: 'up' | 'down' };
      const allUp = results.every(Boolean);
      if (lifecycle.draining || !allUp) {
        return {
          status: 503,
          body: { status: lifecycle.draining ? 'draining' : 'not_ready', checks: states },
          headers: { 'Retry-After': String(READINESS_RETRY_AFTER_S) },
        };
      }
      return { status: 200, body: { status: 'ready', checks: states } };
    },
    getMetrics: async () => {
      if (!metrics) throw new AppError('resource_not_found', 'Metrics are turned off on this instance (METRICS_ENABLED=false).');
      return { status: 200, body: await metrics.render() };
    },
    getOpenApiDocument: async () => ({ status: 200, body: spec as Record<string, unknown> }),
    getApiReference: async () => ({ status: 200, body: html }),
  };
}

export interface ConsoleDependencies {
  /** The instance's metrics; the feed answers 404 without them (`METRICS_ENABLED=false`), as `/metrics` does. */
  readonly metrics?: Metrics;
}

/** The console's page and the feed its live view polls (see console.ts). */
export function consoleHandlers({ metrics }: ConsoleDependencies): HandlersFor<'getConsole' | 'getConsoleFeed'> {
  const page = consolePage();
  return {
    getConsole: async () => ({ status: 200, body: page }),
    getConsoleFeed: async () => {
      if (!metrics) throw new AppError('resource_not_found', "Metrics are turned off on this instance (METRICS_ENABLED=false), and the console's feed with them.");
      return { status: 200, body: await readConsoleFeed(metrics), headers: { 'Cache-Control': 'no-store' } };
    },
  };
}

/** The problem type pages a problem document's `type` points to. */
export function problemHandlers(): HandlersFor<'listProblemTypes' | 'getProblemType'> {
  const index = problemIndexPage();
  return {
    listProblemTypes: async () => ({ status: 200, body: index }),
    getProblemType: async ({ params }) => {
      const page = problemPageOf(params.code);
      if (page === undefined) throw new AppError('resource_not_found', `No problem type '${params.code}'. /problems lists them all.`);
      return { status: 200, body: page };
    },
  };
}
