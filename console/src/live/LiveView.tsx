/**
 * The on-call view: what this instance counted, refreshed every second. Rates over the last 5 s in
 * the tiles, the last five minutes in the charts, p50/p95/p99 per operation over the last minute.
 * Failures have their own axis, so a handful of 5xx stays visible beside thousands of 2xx.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, timeOptions } from '../chart.js';
import { Tile } from '../tile.js';
import { age, millis, percent, perSecond, seconds } from '../format.js';
import { HISTORY, POLL_INTERVAL_MS, readFeed, type FeedState } from './feed.js';
import { operationLatencies, overallLatency, pointBetween, type Feed, type Point } from './stats.js';

const TILE_WINDOW_S = 5;
const LATENCY_WINDOW_S = 60;

/** The snapshot about `s` seconds before the last one (or the oldest there is). */
function back(snapshots: Feed[], s: number): Feed {
  return snapshots[Math.max(0, snapshots.length - 1 - Math.round((s * 1000) / POLL_INTERVAL_MS))]!;
}

export function LiveView({ token, onTokenRequired }: { token: string; onTokenRequired: (needed: boolean) => void }) {
  const [state, setState] = useState<FeedState>({ kind: 'loading' });

  useEffect(() => {
    let stopped = false;
    let snapshots: Feed[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const answer = await readFeed(token || undefined);
      if (stopped) return;
      if (answer === 'unreachable') {
        setState({ kind: 'unreachable', message: 'The API does not answer: is the server running?', snapshots });
      } else if ('status' in answer) {
        if (answer.status === 401) {
          onTokenRequired(true);
          setState({ kind: 'token-required', message: token ? `The metrics token was refused: ${answer.detail}` : 'This instance guards its metrics with METRICS_TOKEN: enter it above to see the live view.' });
        } else if (answer.status === 404) {
          setState({ kind: 'metrics-off', message: 'Metrics are turned off on this instance (METRICS_ENABLED=false): there is nothing to show.' });
        } else {
          setState({ kind: 'unreachable', message: `The feed answered ${answer.status}: ${answer.detail}`, snapshots });
        }
      } else {
        // A restarted instance starts its counters again: start the history again with it.
        if (snapshots.length > 0 && snapshots.at(-1)!.instance.id !== answer.instance.id) snapshots = [];
        snapshots = [...snapshots, answer].slice(-HISTORY);
        setState({ kind: 'ok', snapshots });
      }
      timer = setTimeout(poll, POLL_INTERVAL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [token]);

  if (state.kind === 'loading') return <p class="notice">Reading this instance's metrics…</p>;
  if (state.kind === 'token-required' || state.kind === 'metrics-off') {
    return (
      <p class="notice error" role="alert">
        {state.message}
      </p>
    );
  }
  return (
    <>
      {state.kind === 'unreachable' && (
        <p class="notice error" role="alert">
          {state.message}
        </p>
      )}
      {state.snapshots.length > 0 && <Dashboard snapshots={state.snapshots} />}
    </>
  );
}

function Dashboard({ snapshots }: { snapshots: Feed[] }) {
  const now = snapshots.at(-1)!;
  const points = useMemo(() => snapshots.slice(1).map((s, i) => pointBetween(snapshots[i]!, s)), [snapshots]);
  const recent = snapshots.length > 1 ? pointBetween(back(snapshots, TILE_WINDOW_S), now) : undefined;
  const latency = overallLatency(back(snapshots, LATENCY_WINDOW_S), now);
  const operations = operationLatencies(back(snapshots, LATENCY_WINDOW_S), now);
  const limitedTotal = now.requests.by_code.rate_limited ?? 0;
  const backlog = now.webhooks.backlog;

  return (
    <>
      <p class="scope">
        Instance <code>{now.instance.id}</code>, counting since {new Date(now.instance.started_at).toLocaleString()}. This view shows what
        this instance saw, not the fleet: with several instances behind a balancer, the Grafana dashboard (<code>ops/grafana</code>) adds
        them up. Monitoring requests (<code>/metrics</code>, <code>/health</code>, <code>/ready</code>, this page's feed) are left out of the traffic.
      </p>
      <section class="tiles" aria-label={`Last ${TILE_WINDOW_S} seconds`} data-at={Date.parse(now.at)}>
        <Tile metric="requests" label="Requests" value={recent && `${perSecond(recent.total)}/s`} raw={recent?.total} />
        <Tile metric="errors" label="Errors (5xx)" value={recent && percent(recent.errorShare)} raw={recent?.errorShare} tone={recent && recent.errorShare > 0 ? 'bad' : undefined} />
        <Tile metric="rate-limited" label="429 share" value={recent && withShare(recent.rateLimitedPerS, recent.rateLimitedShare)} raw={recent?.rateLimitedPerS} total={limitedTotal} tone={recent && recent.rateLimitedPerS > 0 ? 'warn' : undefined} />
        <Tile metric="retries" label="Retries ÷ requests" value={recent && withShare(recent.retriedPerS, recent.retryShare)} raw={recent?.retriedPerS} total={now.requests.retried} tone={recent && recent.retryShare > 0.1 ? 'warn' : undefined} />
        <Tile metric="replays" label="Idempotent replays" value={recent && `${perSecond(recent.replayedPerS)}/s`} raw={recent?.replayedPerS} total={now.idempotency.replayed ?? 0} />
        <Tile metric="in-flight-conflicts" label="In-flight 409s" value={recent && `${perSecond(recent.inFlightConflictsPerS)}/s`} raw={recent?.inFlightConflictsPerS} total={now.idempotency.in_flight ?? 0} />
        <Tile metric="latency" label="p50 · p95 · p99 (1 min)" value={`${seconds(latency.p50)} · ${seconds(latency.p95)} · ${seconds(latency.p99)}`} raw={latency.p99} tone={latency.p99 > 0.5 ? 'warn' : undefined} />
        <Tile metric="in-flight" label="In flight now" value={String(now.requests.in_flight)} raw={now.requests.in_flight} />
        <Tile metric="breaker" label="Processor breaker" value={now.processor.circuit.replace('_', '-')} tone={now.processor.circuit === 'closed' ? 'good' : 'bad'} />
        <Tile
          metric="insurance"
          label="Rate limiter"
          value={now.rate_limit.insurance_mode ? 'in memory (Redis down)' : 'normal'}
          tone={now.rate_limit.insurance_mode ? 'bad' : 'good'}
          total={now.rate_limit.insurance_decisions}
        />
        <Tile
          metric="webhook-backlog"
          label="Webhook backlog"
          value={`${backlog.pending} pending · ${backlog.due} due · oldest ${age(now.webhooks.oldest_pending_age_seconds)}`}
          raw={backlog.pending}
          tone={backlog.due > 0 ? 'warn' : undefined}
        />
      </section>
      <LiveCharts points={points} />
      <OperationsTable rows={operations} />
    </>
  );
}

/** A rate with its share of all requests, the share left out while there are none. */
function withShare(perS: number, share: number): string {
  return Number.isFinite(share) ? `${percent(share)} · ${perSecond(perS)}/s` : `${perSecond(perS)}/s`;
}


const COLOURS = { '2xx': '#2a7d3f', '3xx': '#6b7b8c', '4xx': '#c77700', '5xx': '#c62828', limited: '#8e44ad', retried: '#1f6fb2', replayed: '#17a2a2', conflicts: '#795548' };

function LiveCharts({ points }: { points: Point[] }) {
  const x = points.map((p) => p.at);
  const traffic = useMemo<uPlot.AlignedData>(() => [x, points.map((p) => p.rate['2xx']), points.map((p) => p.rate['3xx']), points.map((p) => p.rate['4xx']), points.map((p) => p.rate['5xx'])], [points]);
  const guardrails = useMemo<uPlot.AlignedData>(
    () => [x, points.map((p) => p.rateLimitedPerS), points.map((p) => p.retriedPerS), points.map((p) => p.replayedPerS), points.map((p) => p.inFlightConflictsPerS)],
    [points],
  );
  return (
    <section class="charts" aria-label="Last five minutes">
      <Chart
        label="Requests per second by status class; 2xx and 3xx on the left axis, 4xx and 5xx on their own axis on the right"
        data={traffic}
        options={timeOptions(
          'Requests/s by status class (failures on the right axis)',
          [
            { label: '2xx', stroke: COLOURS['2xx'], scale: 'ok', width: 2 },
            { label: '3xx', stroke: COLOURS['3xx'], scale: 'ok' },
            { label: '4xx', stroke: COLOURS['4xx'], scale: 'fail', width: 2 },
            { label: '5xx', stroke: COLOURS['5xx'], scale: 'fail', width: 2 },
          ],
          { ok: { range: (_u, _min, max) => [0, Math.max(1, max)] }, fail: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          [
            { scale: 'ok', label: '2xx, 3xx /s', stroke: '#555' },
            { scale: 'fail', side: 1, label: '4xx, 5xx /s', stroke: COLOURS['5xx'], grid: { show: false } },
          ],
        )}
      />
      <Chart
        label="Guardrails per second: 429s, retried requests, idempotent replays and in-flight 409s"
        data={guardrails}
        options={timeOptions(
          'Guardrails at work /s',
          [
            { label: '429s', stroke: COLOURS.limited, width: 2 },
            { label: 'retries', stroke: COLOURS.retried, width: 2 },
            { label: 'replays', stroke: COLOURS.replayed },
            { label: 'in-flight 409s', stroke: COLOURS.conflicts },
          ],
          { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          [{ label: 'per second', stroke: '#555' }],
        )}
      />
    </section>
  );
}

function OperationsTable({ rows }: { rows: ReturnType<typeof operationLatencies> }) {
  return (
    <section aria-labelledby="ops-heading">
      <h2 id="ops-heading">Operations, last minute</h2>
      <div class="table-scroll">
        <table class="operations">
          <thead>
            <tr>
              <th scope="col">Operation</th>
              <th scope="col" class="num">Requests/s</th>
              <th scope="col" class="num">5xx</th>
              <th scope="col" class="num">p50</th>
              <th scope="col" class="num">p95</th>
              <th scope="col" class="num">p99</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={6}>No requests in the last minute.</td>
              </tr>
            )}
            {rows.map((r) => (
              <tr key={r.operation} data-operation={r.operation}>
                <th scope="row">
                  <code>{r.operation}</code>
                </th>
                <td class="num">{perSecond(r.rate)}</td>
                <td class={`num ${r.errorShare > 0 ? 'bad' : ''}`}>{percent(r.errorShare)}</td>
                <td class="num">{millis(r.p50 * 1000)}</td>
                <td class="num">{millis(r.p95 * 1000)}</td>
                <td class="num">{millis(r.p99 * 1000)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
