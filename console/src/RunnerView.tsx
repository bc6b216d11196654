/**
 * The collection runner: pick a collection, run it against this API through the SDK with the key
 * the user entered, watch each step as it answers, then read the totals, the latency chart and the
 * status distribution. Runs are kept for this tab (not stored), and any two can be compared.
 */
import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { collections } from '../collections/index.js';
import { Chart } from './chart.js';
import { millis } from './format.js';
import { Tile } from './tile.js';
import { checkConnection, percentile, runCollection } from './runner/engine.js';
import type { RunReport, StepResult } from './runner/types.js';

const MAX_ITERATIONS = 20;
const KEPT_RUNS = 10;

interface Running {
  collectionName: string;
  steps: StepResult[];
  current?: string;
  controller: AbortController;
}

export function RunnerView({ apiKey }: { apiKey: string }) {
  const [selected, setSelected] = useState(collections[0]!.id);
  const [iterations, setIterations] = useState(1);
  const [running, setRunning] = useState<Running | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [runs, setRuns] = useState<RunReport[]>([]);
  const [shown, setShown] = useState<number>(-1);
  const [compared, setCompared] = useState<number[]>([]);
  // Every run finished in this tab, the ones the list no longer shows included.
  const [finished, setFinished] = useState(0);
  const collection = collections.find((c) => c.id === selected)!;

  const run = async () => {
    setProblem(null);
    if (!apiKey) {
      setProblem('Enter an API key above first: `npm start` prints the demo account\'s key.');
      return;
    }
    const controller = new AbortController();
    const live: Running = { collectionName: collection.name, steps: [], controller };
    setRunning(live);
    try {
      const connection = await checkConnection({ baseURL: location.origin, apiKey });
      if (!connection.ok) {
        setProblem(connection.message);
        return;
      }
      const report = await runCollection(collection, {
        baseURL: location.origin,
        apiKey,
        iterations,
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'step-start') live.current = event.name;
          else live.steps = [...live.steps, event.result];
          setRunning({ ...live });
        },
      });
      setRuns((all) => [report, ...all].slice(0, KEPT_RUNS));
      setFinished((n) => n + 1);
      setShown(0);
      setCompared((c) => c.map((i) => i + 1).filter((i) => i < KEPT_RUNS));
    } catch (error) {
      // A fault of the page's own, not an answer of the API's: say it rather than spin for ever.
      setProblem(`The run stopped: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setRunning(null);
    }
  };

  const report = shown >= 0 ? runs[shown] : undefined;
  const steps = running ? running.steps : (report?.steps ?? []);

  return (
    <div class="runner" data-runs-finished={finished}>
      <form
        class="run-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!running) void run();
        }}
      >
        <fieldset>
          <legend>Collection</legend>
          {collections.map((c) => (
            <label key={c.id} class="choice">
              <input type="radio" name="collection" value={c.id} checked={c.id === selected} onChange={() => setSelected(c.id)} disabled={!!running} aria-describedby={c.id === selected ? 'collection-description' : undefined} />
              <span>
                {c.name} <small>({c.steps.length} steps)</small>
              </span>
            </label>
          ))}
        </fieldset>
        <p id="collection-description" class="description">
          {collection.description}
        </p>
        <div class="run-controls">
          <label>
            Iterations
            <input type="number" min={1} max={MAX_ITERATIONS} value={iterations} onInput={(e) => setIterations(clampIterations((e.target as HTMLInputElement).valueAsNumber))} disabled={!!running} />
          </label>
          <button type="submit" class="primary" disabled={!!running}>
            Run {collection.name}
          </button>
          <button type="button" disabled={!running} onClick={() => running?.controller.abort()}>
            Stop
          </button>
        </div>
      </form>

      {problem && (
        <p class="notice error" role="alert" data-state="run-error">
          {problem}
        </p>
      )}
      <p class="sr-status" role="status" aria-live="polite">
        {running ? `Running ${running.collectionName}: ${running.steps.length} steps done${running.current ? `, now ${running.current}` : ''}` : report ? `${report.collectionName}: ${report.totals.passedSteps} of ${report.totals.steps} steps passed` : ''}
      </p>

      {report && !running && <Summary report={report} />}
      {steps.length > 0 && <StepsTable steps={steps} iterations={running ? iterations : (report?.iterations ?? 1)} />}
      {runs.length > 0 && <History runs={runs} shown={shown} onShow={setShown} compared={compared} onCompare={setCompared} />}
      {compared.length === 2 && runs[compared[0]!] && runs[compared[1]!] && <Comparison a={runs[compared[0]!]!} b={runs[compared[1]!]!} />}
    </div>
  );
}

function clampIterations(n: number): number {
  return Number.isFinite(n) ? Math.min(MAX_ITERATIONS, Math.max(1, Math.round(n))) : 1;
}

function statusTone(status: number | null): string {
  if (status === null || status >= 500) return 'bad';
  if (status >= 400) return 'warn';
  return 'good';
}

function StepsTable({ steps, iterations }: { steps: StepResult[]; iterations: number }) {
  return (
    <section aria-labelledby="steps-heading">
      <h2 id="steps-heading">Steps</h2>
      <div class="table-scroll">
        <table class="steps">
          <thead>
            <tr>
              {iterations > 1 && <th scope="col">Iter.</th>}
              <th scope="col">Step</th>
              <th scope="col">Request</th>
              <th scope="col" class="num">Status</th>
              <th scope="col" class="num">Latency</th>
              <th scope="col">Assertions</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => {
              const failed = s.assertions.filter((a) => !a.passed);
              return (
                <tr key={`${s.iteration}-${s.index}`} class={s.passed ? 'passed' : 'failed'} data-step={s.index} data-passed={String(s.passed)}>
                  {iterations > 1 && <td>{s.iteration + 1}</td>}
                  <th scope="row">{s.name}</th>
                  <td>
                    {s.kind === 'wait' ? (
                      <span class="hint">wait</span>
                    ) : (
                      <code>
                        {s.method} {s.path}
                      </code>
                    )}
                    {s.note && <div class="hint">{s.note}</div>}
                  </td>
                  <td class={`num ${s.attempts.length === 0 ? '' : statusTone(s.status)}`}>{s.attempts.length === 0 ? '–' : (s.status ?? 'no answer')}</td>
                  <td class="num">{millis(s.latencyMs)}</td>
                  <td>
                    <span class={s.passed ? 'good' : 'bad'}>
                      {s.passed ? '✓' : '✗'} {s.assertions.length - failed.length}/{s.assertions.length} passed
                    </span>
                    {s.error && <div class="reason">{s.error}</div>}
                    {failed.map((a, i) => (
                      <div key={i} class="reason">
                        {a.description}: {a.reason}
                      </div>
                    ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Summary({ report }: { report: RunReport }) {
  const t = report.totals;
  const latencyData = useMemo<uPlot.AlignedData>(() => [report.latencies.map((_, i) => i + 1), report.latencies], [report]);
  const statuses = Object.entries(report.statusCounts).sort(([a], [b]) => a.localeCompare(b));
  const most = Math.max(1, ...statuses.map(([, n]) => n));
  return (
    <section class="summary" aria-labelledby="summary-heading" data-run={report.collectionId}>
      <h2 id="summary-heading">
        {report.collectionName}: {t.failedSteps === 0 && !report.aborted ? 'passed' : report.aborted ? 'stopped' : 'failed'}
      </h2>
      <div class="tiles">
        <Tile metric="steps" label="Steps" value={`${t.passedSteps}/${t.steps} passed`} raw={t.steps} tone={t.failedSteps ? 'bad' : 'good'} />
        <Tile metric="assertions" label="Assertions" value={`${t.passedAssertions}/${t.assertions} passed`} raw={t.assertions} tone={t.failedAssertions ? 'bad' : 'good'} />
        <Tile metric="requests" label="Requests" value={String(t.requests)} raw={t.requests} />
        <Tile metric="duration" label="Duration" value={millis(report.durationMs)} raw={report.durationMs} />
        <Tile
          metric="latency"
          label="Latency p50 · p95 · p99"
          value={`${millis(percentile(report.latencies, 50))} · ${millis(percentile(report.latencies, 95))} · ${millis(percentile(report.latencies, 99))}`}
        />
      </div>
      <div class="charts">
        <Chart
          label={`Latency of each of the run's ${report.latencies.length} requests, in order`}
          data={latencyData}
          options={{
            title: 'Latency per request (ms)',
            scales: { x: { time: false } },
            series: [{ label: 'request' }, { label: 'latency ms', stroke: '#1f6fb2', points: { show: true, size: 4 }, width: 1 }],
            axes: [{ label: 'request #' }, { label: 'ms' }],
          }}
        />
        <figure class="distribution" aria-labelledby="distribution-caption">
          <figcaption id="distribution-caption">Status distribution</figcaption>
          <ul>
            {statuses.map(([status, n]) => (
              <li key={status} data-status={status}>
                <span class="bar-label">{status}</span>
                <span class={`bar ${statusTone(status === 'network' ? null : Number(status))}`} style={{ width: `${(n / most) * 100}%` }} />
                <span class="bar-count">{n}</span>
              </li>
            ))}
          </ul>
        </figure>
      </div>
    </section>
  );
}


function History(props: { runs: RunReport[]; shown: number; onShow: (i: number) => void; compared: number[]; onCompare: (c: number[]) => void }) {
  const toggle = (i: number) => {
    const has = props.compared.includes(i);
    props.onCompare(has ? props.compared.filter((c) => c !== i) : [...props.compared, i].slice(-2));
  };
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">Runs in this tab</h2>
      <p class="hint">Tick two runs to compare them.</p>
      <div class="table-scroll">
        <table class="history">
          <thead>
            <tr>
              <th scope="col">Compare</th>
              <th scope="col">Collection</th>
              <th scope="col">Started</th>
              <th scope="col" class="num">Iter.</th>
              <th scope="col" class="num">Steps passed</th>
              <th scope="col" class="num">Duration</th>
              <th scope="col">Show</th>
            </tr>
          </thead>
          <tbody>
            {props.runs.map((r, i) => (
              <tr key={r.startedAt + r.collectionId} class={i === props.shown ? 'current' : ''}>
                <td>
                  <input type="checkbox" aria-label={`Compare the ${r.collectionName} run of ${new Date(r.startedAt).toLocaleTimeString()}`} checked={props.compared.includes(i)} onChange={() => toggle(i)} />
                </td>
                <td>{r.collectionName}</td>
                <td>{new Date(r.startedAt).toLocaleTimeString()}</td>
                <td class="num">{r.iterations}</td>
                <td class={`num ${r.totals.failedSteps ? 'bad' : 'good'}`}>
                  {r.totals.passedSteps}/{r.totals.steps}
                </td>
                <td class="num">{millis(r.durationMs)}</td>
                <td>
                  <button type="button" onClick={() => props.onShow(i)} aria-pressed={i === props.shown}>
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Comparison({ a, b }: { a: RunReport; b: RunReport }) {
  const rows: [string, (r: RunReport) => number, (n: number) => string][] = [
    ['Steps', (r) => r.totals.steps, String],
    ['Failed steps', (r) => r.totals.failedSteps, String],
    ['Failed assertions', (r) => r.totals.failedAssertions, String],
    ['Requests', (r) => r.totals.requests, String],
    ['Duration', (r) => r.durationMs, millis],
    ['Latency p50', (r) => percentile(r.latencies, 50), millis],
    ['Latency p95', (r) => percentile(r.latencies, 95), millis],
    ['Latency p99', (r) => percentile(r.latencies, 99), millis],
  ];
  const statuses = [...new Set([...Object.keys(a.statusCounts), ...Object.keys(b.statusCounts)])].sort();
  for (const s of statuses) rows.push([`Status ${s}`, (r) => r.statusCounts[s] ?? 0, String]);
  const label = (r: RunReport) => `${r.collectionName}, ${new Date(r.startedAt).toLocaleTimeString()}`;
  return (
    <section aria-labelledby="compare-heading">
      <h2 id="compare-heading">Comparison</h2>
      <div class="table-scroll">
        <table class="comparison">
          <thead>
            <tr>
              <th scope="col" />
              <th scope="col" class="num">A: {label(a)}</th>
              <th scope="col" class="num">B: {label(b)}</th>
              <th scope="col" class="num">B − A</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([name, value, show]) => {
              const va = value(a);
              const vb = value(b);
              const diff = vb - va;
              return (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td class="num">{show(va)}</td>
                  <td class="num">{show(vb)}</td>
                  <td class="num">{Number.isFinite(diff) ? (diff > 0 ? '+' : diff < 0 ? '−' : '') + show(Math.abs(diff)) : '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
