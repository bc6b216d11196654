/**
 * Prometheus for the ops tests: `promtool` found on PATH (Debian's package; `.ci/run` installs
 * it) and run to completion, and the harness's Prometheus server of a test's own
 * (scripts/harness/prometheus.ts, shared with the retry storm).
 */
import { execFile, spawnSync } from 'node:child_process';
import { ROOT } from '../../scripts/harness/process.js';
import { requireOnPath } from '../../scripts/harness/prometheus.js';

export { ROOT };
export {
  freePort,
  INSTALL_HINT,
  onPath,
  requireOnPath,
  startPrometheus,
  type PrometheusAlert,
  type PrometheusSample,
  type PrometheusServer,
  type PrometheusTarget,
  writeScrapeConfig,
} from '../../scripts/harness/prometheus.js';

export interface PromtoolRun {
  readonly status: number | null;
  /** stdout and stderr together, for failure messages. */
  readonly output: string;
}

/** Runs `promtool <args>` to completion (bounded to 60 s). */
export function promtool(args: readonly string[], cwd = ROOT): PromtoolRun {
  const result = spawnSync(requireOnPath('promtool'), args, { cwd, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Runs `promtool <args>` without blocking, so that several can run at once (bounded to 120 s). */
export function promtoolAsync(args: readonly string[], cwd = ROOT): Promise<PromtoolRun> {
  return new Promise((resolve, reject) => {
    execFile(requireOnPath('promtool'), args, { cwd, encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ status: err ? (err.code as number) : 0, output: `${stdout}${stderr}` });
    });
  });
}
