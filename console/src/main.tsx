/**
 * The Remit console: an on-call live view of this instance and a collection runner, served by the
 * API at /console. Everything it loads comes from the API itself.
 */
import { render } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { LiveView } from './live/LiveView.js';
import { RunnerView } from './RunnerView.js';
import { API_KEY_ITEM, METRICS_TOKEN_ITEM, useSessionSecret } from './session.js';
import './styles.css';

const TABS = [
  { id: 'live', label: 'Live view' },
  { id: 'runner', label: 'Collection runner' },
] as const;
type TabId = (typeof TABS)[number]['id'];

function initialTab(): TabId {
  return location.hash === '#runner' ? 'runner' : 'live';
}

function App() {
  const [tab, setTab] = useState<TabId>(initialTab);
  const [apiKey, setApiKey] = useSessionSecret(API_KEY_ITEM);
  const [metricsToken, setMetricsToken] = useSessionSecret(METRICS_TOKEN_ITEM);
  const [tokenNeeded, setTokenNeeded] = useState(false);
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  const choose = (id: TabId) => {
    setTab(id);
    history.replaceState(null, '', `#${id}`);
  };
  // Arrow keys move between tabs (WAI-ARIA tabs pattern); Tab moves into the panel.
  const onTabKey = (e: KeyboardEvent, i: number) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    e.preventDefault();
    const next = (i + step + TABS.length) % TABS.length;
    choose(TABS[next]!.id);
    tabRefs.current[next]?.focus();
  };

  return (
    <>
      <header>
        <h1>Remit console</h1>
        <div role="tablist" aria-label="Views">
          {TABS.map((t, i) => (
            <button
              key={t.id}
              ref={(el) => {
                tabRefs.current[i] = el;
              }}
              role="tab"
              id={`tab-${t.id}`}
              aria-controls={`panel-${t.id}`}
              aria-selected={tab === t.id}
              tabIndex={tab === t.id ? 0 : -1}
              onClick={() => choose(t.id)}
              onKeyDown={(e) => onTabKey(e, i)}
            >
              {t.label}
            </button>
          ))}
        </div>
        <Credentials apiKey={apiKey} onApiKey={setApiKey} metricsToken={metricsToken} onMetricsToken={setMetricsToken} tokenNeeded={tokenNeeded} />
      </header>
      <main>
        {/* The live view stays mounted behind the runner, so its history covers what a run did. */}
        <section role="tabpanel" id="panel-live" aria-labelledby="tab-live" hidden={tab !== 'live'}>
          <LiveView token={metricsToken} onTokenRequired={setTokenNeeded} />
        </section>
        <section role="tabpanel" id="panel-runner" aria-labelledby="tab-runner" hidden={tab !== 'runner'}>
          <RunnerView apiKey={apiKey} />
        </section>
      </main>
    </>
  );
}

function Credentials(props: { apiKey: string; onApiKey: (v: string) => void; metricsToken: string; onMetricsToken: (v: string) => void; tokenNeeded: boolean }) {
  return (
    <form
      class="credentials"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        props.onApiKey(String(form.get('api-key') ?? '').trim());
        if (props.tokenNeeded) props.onMetricsToken(String(form.get('metrics-token') ?? '').trim());
      }}
    >
      <label>
        API key
        <input name="api-key" type="password" autoComplete="off" spellcheck={false} placeholder="sk_… (npm start prints the demo key)" defaultValue={props.apiKey} />
      </label>
      {props.tokenNeeded && (
        <label>
          Metrics token
          <input name="metrics-token" type="password" autoComplete="off" spellcheck={false} placeholder="METRICS_TOKEN" defaultValue={props.metricsToken} />
        </label>
      )}
      <button type="submit">Use</button>
      <small class="hint">Kept in this tab only.</small>
    </form>
  );
}

render(<App />, document.getElementById('app')!);
