/**
 * The alerts and the dashboard read only metrics the API serves. Every metric name used by the
 * expressions of ops/prometheus/rules/remit.yml and by the panels of
 * ops/grafana/dashboards/remit.json is extracted with a PromQL tokenizer (test/ops/promql-names.ts:
 * label names, functions, keywords, strings, durations and Grafana variables are not names), and
 * then looked for in the `# TYPE` lines of `GET /metrics` of a real app built as the other tests
 * build it. A histogram's `_bucket`, `_sum` and `_count` series are matched to its declaration;
 * a recording rule's name must be recorded by the rules; `up` is Prometheus's own. The tokenizer
 * is tested first, on expressions whose names are known, and the extraction must find at least as
 * many names as the rules and dashboard are known to use, so that a tokenizer that finds nothing
 * cannot pass the comparison.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import YAML from 'yaml';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { metricNamesIn } from './promql-names.js';
import { ROOT } from './prometheus.js';

const RULES_FILE = path.join(ROOT, 'ops/prometheus/rules/remit.yml');
const DASHBOARD_FILE = path.join(ROOT, 'ops/grafana/dashboards/remit.json');

/**
 * The fewest distinct metric names the rules and the dashboard read between them: more than the
 * alerts alone need (HTTP, retries, latency, the circuit, insurance, the backlog), fewer than the
 * dashboard adds. Fewer found means the extraction broke, not that the files changed.
 */
const AT_LEAST_NAMES = 15;

/** Series Prometheus makes itself for every target, never in an exposition. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

interface UsedName {
  readonly name: string;
  /** Where it is used, for the failure message. */
  readonly where: string;
}

function usedNames(): { used: UsedName[]; recorded: Set<string> } {
  const groups = (YAML.parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }).groups;
  const rules = groups.flatMap((g) => g.rules);
  const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
  const used: UsedName[] = [];
  for (const r of rules) for (const name of metricNamesIn(r.expr)) used.push({ name, where: `rule ${r.alert ?? r.record}` });
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: { title: string; targets?: { expr?: string }[] }[] };
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) for (const name of metricNamesIn(target.expr ?? '')) used.push({ name, where: `panel "${panel.title}"` });
  }
  return { used, recorded };
}

/** `# TYPE <name> <type>` lines of a text exposition. */
function declaredTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

/** Whether `name` is a series of a metric the exposition declares. */
function isDeclared(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const suffixed = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!suffixed) return false;
  const [, base, suffix] = suffixed;
  const type = types.get(base!);
  return type === 'histogram' || (type === 'summary' && suffix !== 'bucket');
}

describe('metric names used by the alerts and the dashboard', () => {
  describe('the PromQL name extraction', () => {
    const cases: [string, string[]][] = [
      [
        'sum by (job) (rate(remit_http_requests_total{code="rate_limited",operation!~"getMetrics|getHealth"}[1m])) / on (job) group_left (instance) other_metric',
        ['remit_http_requests_total', 'other_metric'],
      ],
      [
        'histogram_quantile(0.99, sum without (instance) (rate(a_seconds_bucket{le!="+Inf"}[$__rate_interval] offset 5m))) > 0.5 and on(job) level:metric:rate5m > 1',
        ['a_seconds_bucket', 'level:metric:rate5m'],
      ],
      ['max_over_time(gauge_one[10m:1m]) or vector(0) unless {__name__="named_by_matcher", job="count"}', ['gauge_one', 'named_by_matcher']],
      ['count by (le) (x_total) # a comment naming not_a_metric', ['x_total']],
      ['topk(3, sum(rate(q_total{instance=~"$instance"}[${interval}])) by (w)) > bool Inf', ['q_total']],
      ['(sum(rate(a_total[1m])) or vector(0)) / sum(rate(a_total[1m])) + max by (instance) (b) * 2 + c @ start()', ['a_total', 'b', 'c']],
    ];
    for (const [expr, names] of cases) {
      it(`finds ${names.join(', ')} in ${expr.slice(0, 60)}…`, () => {
        expect(metricNamesIn(expr)).to.deep.equal(names);
      });
    }
  });

  describe('in ops/prometheus/rules/remit.yml and ops/grafana/dashboards/remit.json', function () {
    this.timeout(60_000);
    let app: TestApp;
    let exposition: string;

    before(async () => {
      app = await createTestApp();
      const res = await request(app.app).get('/metrics');
      expect(res.status, `GET /metrics: ${res.status} ${res.text.slice(0, 500)}`).to.equal(200);
      exposition = res.text;
    });
    after(() => app?.close());

    it(`finds at least ${AT_LEAST_NAMES} metric names, and every recording rule it reads is recorded`, () => {
      const { used, recorded } = usedNames();
      const metrics = new Set(used.filter((u) => !recorded.has(u.name)).map((u) => u.name));
      expect(metrics.size, `names found: ${[...metrics].join(', ')}`).to.be.at.least(AT_LEAST_NAMES);
      // A name with a colon is a recording rule's by convention; one the rules do not record reads nothing.
      const unrecorded = used.filter((u) => u.name.includes(':') && !recorded.has(u.name));
      expect(unrecorded.map((u) => `${u.name} (${u.where})`)).to.deep.equal([]);
    });

    it('declares in GET /metrics every metric they read', () => {
      const types = declaredTypes(exposition);
      expect(types.size, 'the exposition declares metrics').to.be.greaterThan(0);
      const { used, recorded } = usedNames();
      const missing = new Map<string, Set<string>>();
      for (const u of used) {
        if (recorded.has(u.name) || PROMETHEUS_SERIES.has(u.name) || isDeclared(u.name, types)) continue;
        missing.set(u.name, (missing.get(u.name) ?? new Set()).add(u.where));
      }
      const report = [...missing].map(([name, where]) => `${name} (used by ${[...where].join(', ')})`);
      expect(report, 'metrics used but not declared by GET /metrics').to.deep.equal([]);
    });
  });
});
