/**
 * The monitoring configuration in ops/, checked by Prometheus's own tool and by reading it:
 * - `promtool check config` accepts ops/prometheus/prometheus.yml (a copy whose bearer-token file,
 *   which must exist, points at a temporary one), and the rules it loads;
 * - `promtool check rules` accepts ops/prometheus/rules/remit.yml; every alert has a severity, a
 *   summary, a description and a runbook that names a section of docs/observability.md; recording
 *   rules are named level:metric:operations;
 * - `promtool test rules` passes for every file in ops/prometheus/tests/, which has each alert both
 *   firing and silent; and the same tests fail when a threshold, a `for`, a traffic floor or a
 *   window of the rules is changed, so they really pin what the rules do;
 * - the Grafana dashboard: every panel reads the provisioned Prometheus data source through its
 *   `datasource` variable and has expressions, PromQL that promtool parses; each filters on
 *   `$instance`; nothing is stacked; failures have an axis or a panel of their own.
 * promtool comes from PATH (Debian's `prometheus` package).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { promtool, promtoolAsync, requireOnPath, ROOT, type PromtoolRun } from './prometheus.js';

const PROMETHEUS_DIR = path.join(ROOT, 'ops/prometheus');
const RULES_FILE = path.join(PROMETHEUS_DIR, 'rules/remit.yml');
const TESTS_DIR = path.join(PROMETHEUS_DIR, 'tests');
const DASHBOARD_FILE = path.join(ROOT, 'ops/grafana/dashboards/remit.json');
const OBSERVABILITY_DOC = path.join(ROOT, 'docs/observability.md');

/** The alerts the API's operators were promised. */
const EXPECTED_ALERTS = [
  'RemitRetryStorm',
  'RemitRateLimitedSurge',
  'RemitHighErrorRate',
  'RemitLatencyP99High',
  'RemitProcessorCircuitOpen',
  'RemitRateLimitInsuranceMode',
  'RemitCompleterBacklogGrowing',
  'RemitWebhookRelayLagging',
  'RemitWebhookEndpointsFailing',
  'RemitReconciliationSchemaDrift',
  'RemitReconciliationFailing',
];

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

interface RuleTestFile {
  readonly rule_files: string[];
  readonly tests: { name?: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const readYaml = <T>(file: string): T => YAML.parse(readFileSync(file, 'utf8')) as T;
const rules = (): Rule[] => readYaml<{ groups: { rules: Rule[] }[] }>(RULES_FILE).groups.flatMap((g) => g.rules);
const testFiles = () => readdirSync(TESTS_DIR).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml')).sort();

function expectPromtoolSuccess(run: { status: number | null; output: string }, what: string): void {
  if (run.status !== 0) expect.fail(`${what} failed (exit ${run.status}):\n${run.output}`);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

describe('ops/prometheus and ops/grafana', function () {
  this.timeout(120_000);
  let scratch: string;

  before(() => {
    requireOnPath('promtool');
    scratch = mkdtempSync(path.join(os.tmpdir(), 'remit-promtool-'));
  });
  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  describe('prometheus.yml', () => {
    it('scrapes the compose API instances as job remit-api with the bearer token file, and loads the rules', () => {
      const config = readYaml<{
        rule_files: string[];
        scrape_configs: { job_name: string; metrics_path?: string; authorization?: { type?: string; credentials_file?: string }; static_configs: { targets: string[] }[] }[];
      }>(path.join(PROMETHEUS_DIR, 'prometheus.yml'));
      const job = config.scrape_configs.find((c) => c.job_name === 'remit-api');
      expect(job, 'a scrape config named remit-api').to.not.equal(undefined);
      expect(job!.static_configs.flatMap((s) => s.targets)).to.have.members(['api-1:8080', 'api-2:8080']);
      expect(job!.authorization).to.deep.equal({ type: 'Bearer', credentials_file: '/etc/prometheus/metrics-token' });
      expect(config.rule_files).to.deep.equal(['rules/*.yml']);
    });

    it('is accepted by promtool check config, with the rule files it names', () => {
      // promtool insists that the token file exists: check a copy that names a temporary one.
      const dir = path.join(scratch, 'config');
      cpSync(path.join(PROMETHEUS_DIR, 'rules'), path.join(dir, 'rules'), { recursive: true });
      const tokenFile = path.join(dir, 'metrics-token');
      writeFileSync(tokenFile, 'a-metrics-token-of-at-least-24-characters\n');
      const original = readFileSync(path.join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8');
      const copy = original.replaceAll('/etc/prometheus/metrics-token', tokenFile);
      expect(copy, 'the copy names the temporary token file').to.not.equal(original);
      writeFileSync(path.join(dir, 'prometheus.yml'), copy);

      const run = promtool(['check', 'config', path.join(dir, 'prometheus.yml')]);
      expectPromtoolSuccess(run, 'promtool check config');
      // It checked the rules too, through rule_files.
      expect(run.output).to.match(/SUCCESS: 1 rule files found/);
      expect(run.output).to.match(/rules\/remit\.yml\s+SUCCESS: \d+ rules found/);
    });
  });

  describe('rules/remit.yml', () => {
    it('is accepted by promtool check rules', () => {
      expectPromtoolSuccess(promtool(['check', 'rules', RULES_FILE]), 'promtool check rules');
    });

    it('has every promised alert, each with a severity, a summary, a description and a runbook section of docs/observability.md', () => {
      const alerts = rules().filter((r) => r.alert);
      expect(alerts.map((a) => a.alert)).to.have.members(EXPECTED_ALERTS);
      const headings = new Set(readFileSync(OBSERVABILITY_DOC, 'utf8').split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, ''))));
      for (const a of alerts) {
        expect(a.labels?.severity, `${a.alert} severity`).to.be.oneOf(['critical', 'warning']);
        expect(a.annotations?.summary, `${a.alert} summary`).to.be.a('string').and.not.equal('');
        expect(a.annotations?.description, `${a.alert} description`).to.be.a('string').and.not.equal('');
        const runbook = /^docs\/observability\.md#([\w-]+)$/.exec(a.annotations?.runbook ?? '');
        expect(runbook, `${a.alert} runbook: ${a.annotations?.runbook}`).to.not.equal(null);
        expect([...headings], `${a.alert}: docs/observability.md has a section #${runbook![1]}`).to.include(runbook![1]);
      }
    });

    it('names recording rules level:metric:operations', () => {
      const records = rules().filter((r) => r.record).map((r) => r.record!);
      expect(records).to.have.length.greaterThan(3);
      for (const name of records) expect(name).to.match(/^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$/);
    });
  });

  describe('ops/prometheus/tests', () => {
    it('passes promtool test rules, file by file', () => {
      const files = testFiles();
      expect(files, 'rule test files').to.have.length.greaterThan(0);
      for (const file of files) expectPromtoolSuccess(promtool(['test', 'rules', file], TESTS_DIR), `promtool test rules ${file}`);
    });

    it('has every alert both firing and silent in some test', () => {
      const cases = testFiles().flatMap((f) => readYaml<RuleTestFile>(path.join(TESTS_DIR, f)).tests.flatMap((t) => t.alert_rule_test ?? []));
      for (const name of EXPECTED_ALERTS) {
        const mine = cases.filter((c) => c.alertname === name);
        expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${name} is expected to fire somewhere`).to.equal(true);
        expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name} is expected to stay silent somewhere`).to.equal(true);
      }
    });

    // Each change would make an alert fire too late, too early or on the wrong traffic; the unit
    // tests must notice every one of them. The mutants are tested side by side in `before`.
    const mutations: { what: string; from: string | RegExp; to: string }[] = [
      { what: 'RemitRetryStorm held for 1m instead of 30s', from: /^(\s+)for: 30s$/m, to: '$1for: 1m' },
      { what: 'RemitRetryStorm without its traffic floor', from: /(ratio_rate1m > 0\.10\s+and on \(job\)\s+remit:http_requests:rate1m) > 1/, to: '$1 > 0' },
      { what: 'RemitRetryStorm at 12 % instead of 10 %', from: 'ratio_rate1m > 0.10', to: 'ratio_rate1m > 0.12' },
      { what: 'the probes and scrapes counted as client traffic', from: /operation!~"getMetrics\|getHealth\|getReadiness\|getConsoleFeed"/g, to: 'operation!~"getMetrics"' },
      { what: 'RemitRateLimitedSurge without the comparison with the 30-minute share', from: '> 3 * remit:', to: '> 0 * remit:' },
      { what: 'RemitHighErrorRate at 7 %', from: 'ratio_rate5m > 0.05', to: 'ratio_rate5m > 0.07' },
      { what: 'RemitLatencyP99High on p95', from: 'histogram_quantile(0.99,', to: 'histogram_quantile(0.95,' },
      { what: 'RemitLatencyP99High with getMetrics counted', from: '{operation!~"getMetrics|getConsoleFeed"}', to: '' },
      { what: 'RemitProcessorCircuitOpen on the instant state', from: 'max_over_time(remit_processor_circuit_state{state="open"}[1m])', to: 'remit_processor_circuit_state{state="open"}' },
      { what: 'RemitRateLimitInsuranceMode held for 1m', from: /(alert: RemitRateLimitInsuranceMode\n(?:\s+#.*\n)*\s+expr: .*\n\s+)for: 2m/, to: '$1for: 1m' },
      { what: 'RemitCompleterBacklogGrowing from 5 keys', from: '(remit_idempotency_unfinished_keys) > 10', to: '(remit_idempotency_unfinished_keys) > 5' },
      { what: 'RemitWebhookRelayLagging summed across instances', from: 'max by (job) (remit_webhook_backlog{stage="fan_out"})', to: 'sum by (job) (remit_webhook_backlog{stage="fan_out"})' },
      { what: 'RemitWebhookRelayLagging on the due stage', from: 'remit_webhook_backlog{stage="fan_out"}', to: 'remit_webhook_backlog{stage="due"}' },
      { what: 'RemitWebhookRelayLagging held for 1m', from: /(alert: RemitWebhookRelayLagging\n(?:\s+#.*\n)*\s+expr: .*\n\s+)for: 5m/, to: '$1for: 1m' },
      { what: 'RemitWebhookEndpointsFailing without its floor of 5 endpoints', from: '(remit_webhook_endpoints{state="degraded"}) >= 5', to: '(remit_webhook_endpoints{state="degraded"}) >= 0' },
      { what: 'the reconciliation count blind to a series born at 1', from: 'unless remit_reconciliation_runs_total offset 1h', to: 'unless remit_reconciliation_runs_total' },
      { what: 'the reconciliation count taking a scrape outage an hour ago for a new failure', from: '(up offset 1h == 0)', to: '(up offset 1h == 2)' },
      { what: 'the reconciliation count blind to a series reborn after a restart', from: 'process_start_time_seconds < 3600', to: 'process_start_time_seconds < 0' },
      { what: 'the reconciliation count per instance', from: 'sum by (job, outcome) (', to: 'sum by (job, instance, outcome) (' },
      { what: 'the reconciliation count over 2 hours', from: 'increase(remit_reconciliation_runs_total[1h])', to: 'increase(remit_reconciliation_runs_total[2h])' },
      { what: 'RemitReconciliationSchemaDrift held for 10m', from: /(alert: RemitReconciliationSchemaDrift\n(?:\s+#.*\n)*\s+expr: .*\n\s+)for: 0s/, to: '$1for: 10m' },
      { what: 'RemitReconciliationFailing from a single processor_unavailable run', from: 'outcome="processor_unavailable"} >= 3', to: 'outcome="processor_unavailable"} >= 1' },
      { what: 'RemitReconciliationFailing without internal_error', from: 'outcome=~"processor_refused|internal_error"', to: 'outcome=~"processor_refused"' },
    ];
    const outcomes = new Map<string, { changed: boolean; parses: PromtoolRun; runs: PromtoolRun[] }>();

    /** The test files ordered by how likely they are to catch a change described as `what`. */
    const likelyKillersFirst = (what: string, files: readonly string[]): string[] => {
      const alert = /Remit[A-Za-z0-9]+/.exec(what)?.[0];
      const score = (f: string) => {
        const text = readFileSync(path.join(TESTS_DIR, f), 'utf8');
        return (alert !== undefined && text.includes(alert) ? 2 : 0) + (what.toLowerCase().includes(path.basename(f, '.yml').replace(/s$/, '')) ? 1 : 0);
      };
      return [...files].sort((a, b) => score(b) - score(a));
    };

    before(async function () {
      this.timeout(300_000);
      const original = readFileSync(RULES_FILE, 'utf8');
      const files = testFiles();
      const tryMutant = async (m: (typeof mutations)[number], n: number) => {
        const dir = path.join(scratch, `mutant-${n}`);
        cpSync(PROMETHEUS_DIR, dir, { recursive: true });
        const mutant = typeof m.from === 'string' ? original.replaceAll(m.from, m.to) : original.replace(m.from, m.to);
        writeFileSync(path.join(dir, 'rules/remit.yml'), mutant);
        const parses = await promtoolAsync(['check', 'rules', path.join(dir, 'rules/remit.yml')]);
        // One failing file is enough: the files that name the alert (or the subject) the change is
        // about go first, and the rest run only while every file so far passes.
        const runs: PromtoolRun[] = [];
        for (const f of likelyKillersFirst(m.what, files)) {
          const run = await promtoolAsync(['test', 'rules', f], path.join(dir, 'tests'));
          runs.push(run);
          if (run.status !== 0) break;
        }
        outcomes.set(m.what, { changed: mutant !== original, parses, runs });
      };
      // As many at once as there are cores: promtool is CPU-bound.
      const queue = mutations.map((m, n) => () => tryMutant(m, n));
      const workers = Array.from({ length: Math.max(1, Math.min(os.availableParallelism(), 4)) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await next();
      });
      await Promise.all(workers);
    });

    for (const m of mutations) {
      it(`fails when the rules are changed: ${m.what}`, () => {
        const outcome = outcomes.get(m.what)!;
        expect(outcome.changed, 'the change applies to the rules as they are').to.equal(true);
        expectPromtoolSuccess(outcome.parses, 'the changed rules still parse');
        expect(outcome.runs.some((r) => r.status !== 0), `some rule test fails when ${m.what}`).to.equal(true);
      });
    }
  });

  describe('the Grafana dashboard', () => {
    interface Target {
      readonly expr?: string;
      readonly datasource?: { type?: string; uid?: string };
    }
    interface Panel {
      readonly type: string;
      readonly title: string;
      readonly datasource?: { type?: string; uid?: string };
      readonly targets?: Target[];
      readonly fieldConfig?: { defaults?: { custom?: { stacking?: { mode?: string } } }; overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[] };
    }
    const dashboard = () =>
      JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query?: unknown }[] } };
    const dataPanels = () => dashboard().panels.filter((p) => p.type !== 'row');

    it('has a Prometheus data source and at least one expression on every panel', () => {
      const panels = dataPanels();
      expect(panels).to.have.length.greaterThan(10);
      const variables = dashboard().templating.list;
      expect(variables.find((v) => v.name === 'datasource')).to.deep.include({ type: 'datasource', query: 'prometheus' });
      for (const p of panels) {
        expect(p.datasource, `${p.title}: datasource`).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets ?? [], `${p.title}: targets`).to.have.length.greaterThan(0);
        for (const t of p.targets!) {
          expect(t.expr, `${p.title}: an expression`).to.be.a('string').and.match(/\S/);
          expect(t.datasource, `${p.title}: target datasource`).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
        }
      }
    });

    it('filters every expression on the $instance variable', () => {
      const instance = dashboard().templating.list.find((v) => v.name === 'instance');
      expect(instance, 'an instance variable').to.deep.include({ type: 'query' });
      expect(JSON.stringify(instance!.query)).to.include('instance)');
      for (const p of dataPanels()) for (const t of p.targets!) expect(t.expr, p.title).to.include('instance=~"$instance"');
    });

    it('stacks nothing, and gives failures an axis of their own beside the successes', () => {
      for (const p of dataPanels()) expect(p.fieldConfig?.defaults?.custom?.stacking?.mode ?? 'none', `${p.title} stacking`).to.equal('none');
      const byStatus = dataPanels().find((p) => p.title === 'Requests by status class');
      expect(byStatus, 'a "Requests by status class" panel').to.not.equal(undefined);
      const rightAxis = (byStatus!.fieldConfig?.overrides ?? []).filter((o) => o.properties.some((prop) => prop.id === 'custom.axisPlacement' && prop.value === 'right'));
      const onTheRight = (series: string) => rightAxis.some((o) => o.matcher.id === 'byRegexp' && new RegExp(o.matcher.options).test(series));
      expect(['4xx', '5xx'].filter(onTheRight), 'failures on the right-hand axis').to.deep.equal(['4xx', '5xx']);
      expect(['2xx', '3xx'].filter(onTheRight), 'successes on the left-hand axis').to.deep.equal([]);
    });

    it('has expressions promtool parses (with the Grafana variables given values)', () => {
      const rulesFromPanels = dataPanels().flatMap((p, i) =>
        p.targets!.map((t, j) => ({
          record: `dashboard:panel_${i}_${j}:check`,
          expr: t.expr!.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '1m').replaceAll('$instance', '.*'),
        })),
      );
      const file = path.join(scratch, 'dashboard-expressions.yml');
      writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: rulesFromPanels }] }));
      const run = promtool(['check', 'rules', file]);
      expectPromtoolSuccess(run, 'promtool check rules on the dashboard expressions');
      expect(run.output).to.include(`SUCCESS: ${rulesFromPanels.length} rules found`);
    });
  });
});
