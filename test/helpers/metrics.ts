/** Reading one series of an app's metrics in a test. */
import type { Metrics } from '../../src/platform/metrics.js';

/** The value of `name` with exactly `labels` (0 when the series has not been touched). */
export async function metricValue(metrics: Metrics | undefined, name: string, labels: Record<string, string> = {}): Promise<number> {
  if (!metrics) throw new Error('the app was built without metrics');
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const match = values.find((v) => {
    const have = v.labels as Record<string, string | number | undefined>;
    return Object.keys(have).length === wanted.length && wanted.every(([k, val]) => String(have[k]) === val);
  });
  return match?.value ?? 0;
}
