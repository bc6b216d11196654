/**
 * A Prometheus server of a caller's own (a test's, or the retry storm's): Debian's `prometheus`
 * found on PATH, started on a free loopback port with the caller's configuration and data
 * directory, and queried over its HTTP API. Never the system's service.
 */
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT, startProcess, type ProjectProcess } from './process.js';

/** The repository's alert and recording rules. */
export const RULES_FILE = path.join(ROOT, 'ops/prometheus/rules/remit.yml');

/**
 * Writes into `dir` a configuration that scrapes the API processes at `targets` (host:port) as
 * job `remit-api` with the metrics token, and evaluates the repository's rules, both once a
 * second: faster than production's 5 s, so that a run of a minute is seen as it happens. The
 * token goes in a file, with a trailing newline as an editor would leave it. Returns its path.
 */
export async function writeScrapeConfig(dir: string, targets: readonly string[], metricsToken: string): Promise<string> {
  const tokenFile = path.join(dir, 'metrics-token');
  await writeFile(tokenFile, `${metricsToken}\n`);
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(
    configFile,
    YAML.stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES_FILE],
      scrape_configs: [{ job_name: 'remit-api', metrics_path: '/metrics', authorization: { type: 'Bearer', credentials_file: tokenFile }, static_configs: [{ targets }] }],
    }),
  );
  return configFile;
}

export const INSTALL_HINT = 'install it with `apt-get install --no-install-recommends prometheus` (or run `bash .ci/run`)';

/** The absolute path of `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The path of `name` on PATH; throws naming how to install it when absent. */
export function requireOnPath(name: 'prometheus' | 'promtool'): string {
  const found = onPath(name);
  if (!found) throw new Error(`${name} is not on PATH: ${INSTALL_HINT}`);
  return found;
}


/** A TCP port nobody listens on at the moment, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface PrometheusAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt?: string;
  readonly value: string;
}

export interface PrometheusSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PrometheusTarget {
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export interface PrometheusServer {
  /** e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  /** What it wrote to stdout and stderr (the last 256 KiB). */
  output(): string;
  /** GET /api/v1/alerts: pending and firing alerts. */
  alerts(): Promise<PrometheusAlert[]>;
  /** GET /api/v1/query: an instant vector (throws on an error answer). */
  query(expr: string): Promise<PrometheusSample[]>;
  /** GET /api/v1/targets: the active targets. */
  targets(): Promise<PrometheusTarget[]>;
  /** SIGTERM, SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

async function apiGet<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${res.status} ${body.error ?? JSON.stringify(body)}`);
  return body.data;
}

/**
 * Starts `prometheus` with `configFile`, its data in `dataDir`, listening on 127.0.0.1 only (a
 * process of the shared harness, so it is killed with the test process), and waits until it says
 * it is ready for web requests. Tries another port if the one it picked was taken meanwhile.
 */
export async function startPrometheus(options: { configFile: string; dataDir: string; startTimeoutMs?: number }): Promise<PrometheusServer> {
  const program = requireOnPath('prometheus');
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let server: ProjectProcess;
    try {
      server = await startProcess({
        name: 'prometheus',
        script: {
          program,
          args: [`--config.file=${options.configFile}`, `--storage.tsdb.path=${options.dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=info'],
        },
        env: { PATH: process.env.PATH ?? '' },
        banner: /Server is ready to receive web requests/,
        url,
        startTimeoutMs: options.startTimeoutMs ?? 30_000,
        stopGraceMs: 10_000,
      });
    } catch (err) {
      // The port picked was taken in the meantime: another one.
      if (err instanceof Error && /address already in use/.test(err.message) && tries < 3) continue;
      throw err;
    }
    const stop = () => server.stop();
    return {
      url,
      output: () => server.output(),
      alerts: async () => (await apiGet<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts,
      query: async (expr) => {
        const data = await apiGet<{ resultType: string; result: PrometheusSample[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
        if (data.resultType !== 'vector') throw new Error(`${expr}: expected an instant vector, got ${data.resultType}`);
        return data.result;
      },
      targets: async () => (await apiGet<{ activeTargets: PrometheusTarget[] }>(`${url}/api/v1/targets?state=active`)).activeTargets,
      stop,
    };
  }
}
