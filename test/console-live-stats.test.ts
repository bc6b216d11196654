/**
 * The live view's arithmetic (console/src/live/stats.ts) against what Prometheus would answer for
 * the same counters: rate() over two snapshots, histogram_quantile() over bucket deltas, and a
 * restarted instance's counters counted from zero.
 */
import { expect } from 'chai';
import { histogramQuantile, operationLatencies, overallLatency, pointBetween, type Feed } from '../console/src/live/stats.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];

/** A snapshot whose client traffic is one operation's, beside the page's own polling (left out). */
function feed(atS: number, o: { classes?: Partial<Feed['requests']['by_status_class']>; retried?: number; limited?: number; replayed?: number; ops?: Feed['operations'] } = {}): Feed {
  const classes = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, ...o.classes };
  const traffic = { ...op('listCustomers', [0, 0, 0, 0], 0), by_status_class: classes, retried: o.retried ?? 0 };
  const polling = op('getConsoleFeed', [atS, atS, atS, atS], atS);
  return {
    instance: { id: 'host:1', started_at: new Date(0).toISOString(), scope: 'instance' },
    at: new Date(atS * 1000).toISOString(),
    requests: {
      by_status_class: classes,
      by_code: { rate_limited: o.limited ?? 0 },
      in_flight: 0,
      retried: o.retried ?? 0,
      rate_limited: { write: o.limited ?? 0 },
    },
    duration_buckets: BOUNDS,
    operations: [...(o.ops ?? [traffic]), polling],
    idempotency: { replayed: o.replayed ?? 0 },
    processor: { circuit: 'closed', calls: {} },
    rate_limit: { insurance_mode: false, insurance_decisions: 0 },
    webhooks: { backlog: { fan_out: 0, pending: 0, due: 0 }, oldest_pending_age_seconds: 0, endpoints: { enabled: 0, degraded: 0, disabled: 0 } },
  };
}

function op(name: string, counts: number[], count: number, fivexx = 0): Feed['operations'][number] {
  return { operation: name, by_status_class: { '1xx': 0, '2xx': count - fivexx, '3xx': 0, '4xx': 0, '5xx': fivexx }, retried: 0, duration: { counts, count, sum: 0 } } as Feed['operations'][number];
}

describe('the console live view arithmetic', () => {
  it('turns two snapshots into per-second rates and shares', () => {
    const p = pointBetween(feed(100, { classes: { '2xx': 1000, '4xx': 10, '5xx': 1 }, retried: 5, limited: 4, replayed: 2 }), feed(102, { classes: { '2xx': 3000, '4xx': 110, '5xx': 5 }, retried: 55, limited: 84, replayed: 12 }));
    expect(p.rate['2xx']).to.equal(1000);
    expect(p.rate['5xx']).to.equal(2);
    expect(p.total).to.equal(1052);
    expect(p.errorShare).to.be.closeTo(4 / 2104, 1e-12);
    expect(p.rateLimitedPerS).to.equal(40);
    expect(p.rateLimitedShare).to.be.closeTo(80 / 2104, 1e-12);
    expect(p.retryShare).to.be.closeTo(50 / 2104, 1e-12);
    expect(p.replayedPerS).to.equal(5);
  });

  it('counts a restarted instance from zero instead of a negative rate', () => {
    const p = pointBetween(feed(100, { classes: { '2xx': 5000 } }), feed(101, { classes: { '2xx': 30 } }));
    expect(p.rate['2xx']).to.equal(30);
  });

  it('answers no share, not zero, when nothing was asked', () => {
    expect(Number.isNaN(pointBetween(feed(1), feed(2)).errorShare)).to.equal(true);
  });

  it('interpolates a quantile inside its bucket, as histogram_quantile() does', () => {
    // 100 requests: 50 under 1 ms, 40 in (1 ms, 10 ms], 10 in (10 ms, 100 ms].
    expect(histogramQuantile(0.5, BOUNDS, [50, 90, 100, 100], 100)).to.be.closeTo(0.001, 1e-12);
    expect(histogramQuantile(0.7, BOUNDS, [50, 90, 100, 100], 100)).to.be.closeTo(0.001 + 0.009 * 0.5, 1e-12);
    expect(histogramQuantile(0.99, BOUNDS, [50, 90, 100, 100], 100)).to.be.closeTo(0.01 + 0.09 * 0.9, 1e-12);
    // A rank in the +Inf bucket answers the highest finite bound.
    expect(histogramQuantile(0.99, BOUNDS, [0, 0, 0, 0], 10)).to.equal(1);
    expect(Number.isNaN(histogramQuantile(0.5, BOUNDS, [0, 0, 0, 0], 0))).to.equal(true);
  });

  it('computes each operation over the window only, and the overall latency from all of them', () => {
    const before = feed(0, { ops: [op('listCustomers', [100, 100, 100, 100], 100)] });
    const now = feed(60, { ops: [op('listCustomers', [100, 100, 160, 160], 160, 6), op('createPayment', [0, 30, 30, 30], 30)] });
    const rows = operationLatencies(before, now);
    // The page's own polling (getConsoleFeed) is not client traffic.
    expect(rows.map((r) => r.operation)).to.deep.equal(['listCustomers', 'createPayment']);
    // The window's 60 listCustomers requests were all in (10 ms, 100 ms]; the 100 before it are not counted.
    expect(rows[0]!.p50).to.be.closeTo(0.01 + 0.09 * 0.5, 1e-12);
    expect(rows[0]!.errorShare).to.equal(0.1);
    expect(rows[0]!.rate).to.equal(1);
    const overall = overallLatency(before, now);
    // 90 requests: 30 in (1 ms, 10 ms], 60 in (10 ms, 100 ms]; rank 45 is the 15th of the 60.
    expect(overall.p50).to.be.closeTo(0.01 + 0.09 * (15 / 60), 1e-12);
  });
});
