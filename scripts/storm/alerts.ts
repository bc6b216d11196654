/**
 * The alerts during a run: a Prometheus of the run's own (Debian's `prometheus`, when it is on
 * PATH) scraping the run's API processes every second and evaluating the repository's own rules
 * (ops/prometheus/rules/remit.yml), polled once a second from the storm's start to the end of the
 * drain. What the report gives is the highest state each alert reached, and when.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onPath, startPrometheus, writeScrapeConfig, type PrometheusServer } from '../harness/prometheus.js';
import { onCleanup, pause } from './run.js';

export const STORM_ALERT = 'RemitRetryStorm';
const POLL_MS = 1_000;

type State = 'inactive' | 'pending' | 'firing';
const RANK: Record<State, number> = { inactive: 0, pending: 1, firing: 2 };

/** The highest state an alert reached, and when it first became pending and firing (ms from the storm's start). */
export interface AlertHistory {
  state: State;
  pendingAtMs?: number;
  firingAtMs?: number;
}

export interface AlertWatch {
  /** Polls until `stop()`; the histories so far, by alert name. */
  stop(): Promise<Map<string, AlertHistory>>;
}

/** Whether the alerts can be watched at all: undefined, or why not. */
export function alertsUnavailable(setting: 'auto' | 'off'): string | undefined {
  if (setting === 'off') return 'STORM_PROMETHEUS=off';
  if (!onPath('prometheus')) return '`prometheus` is not on PATH (`apt-get install --no-install-recommends prometheus`)';
  return undefined;
}

/** Starts a Prometheus scraping `targets` (host:port) with `metricsToken`, and waits until both are up. */
export async function startAlertServer(targets: string[], metricsToken: string): Promise<PrometheusServer> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'remit-storm-prometheus-'));
  onCleanup('remove the storm Prometheus directory', () => rm(scratch, { recursive: true, force: true }));
  const configFile = await writeScrapeConfig(scratch, targets, metricsToken);
  const server = await startPrometheus({ configFile, dataDir: path.join(scratch, 'data') });
  onCleanup('stop the storm Prometheus', () => server.stop());
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await server.targets();
    if (up.length === targets.length && up.every((t) => t.health === 'up')) return server;
    if (Date.now() > deadline) throw new Error(`Prometheus: targets not up within 20 s: ${JSON.stringify(up)}`);
    await pause(250);
  }
}

/** Polls `server`'s alerts once a second, keeping each alert's highest state. */
export function watchAlerts(server: PrometheusServer, began: number): AlertWatch {
  const histories = new Map<string, AlertHistory>();
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      try {
        for (const alert of await server.alerts()) {
          const name = alert.labels.alertname!;
          const h = histories.get(name) ?? { state: 'inactive' };
          const at = Date.now() - began;
          if (alert.state === 'pending') h.pendingAtMs ??= at;
          if (alert.state === 'firing') {
            h.pendingAtMs ??= at;
            h.firingAtMs ??= at;
          }
          if (RANK[alert.state] > RANK[h.state]) h.state = alert.state;
          histories.set(name, h);
        }
      } catch {
        // A missed poll leaves a gap of a second; the next one catches up.
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  const running = poll();
  return {
    async stop() {
      stopped = true;
      await running;
      return histories;
    },
  };
}
