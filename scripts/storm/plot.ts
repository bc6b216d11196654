/**
 * A run's timeline as an SVG, drawn by Vega-Lite (compiled to Vega and rendered headless, with no
 * browser and no canvas): answers per second by status, stacked; processor calls per second; and
 * the charges made against the logical payments charged, whose gap is the duplicate charges. The
 * three runs share the time axis, so their plots can be read side by side.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { STATUS_CLASSES, type Timeline } from './timeline.js';

const COLOURS: Record<(typeof STATUS_CLASSES)[number], string> = {
  '2xx': '#2e7d32',
  '409': '#8e24aa',
  '429': '#f9a825',
  '503': '#1e88e5',
  'other 5xx': '#c62828',
  'other 4xx': '#6d4c41',
  'no answer': '#9e9e9e',
};
const WIDTH = 640;

export async function plotTimeline(title: string, subtitle: string[], timeline: Timeline, seconds: number): Promise<string> {
  const x = { field: 't', type: 'quantitative' as const, title: 'seconds from the storm’s start', scale: { domain: [0, seconds], nice: false } };
  const answers = timeline.seconds.flatMap((s) => STATUS_CLASSES.filter((c) => s.answers[c] > 0).map((c) => ({ t: s.t, t1: s.t + 1, status: c, n: s.answers[c] })));
  const calls = timeline.seconds.map((s) => ({ t: s.t, n: Math.round(s.processorCalls) }));
  const books = [{ t: 0, series: 'charges', n: 0 }, { t: 0, series: 'logical payments charged', n: 0 }, ...timeline.seconds.flatMap((s) => [
    { t: s.t + 1, series: 'charges', n: s.charges },
    { t: s.t + 1, series: 'logical payments charged', n: s.logicalCharged },
  ])];
  const stormEnd = { data: { values: [{ t: timeline.stormEndS }] }, mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#555' }, encoding: { x: { field: 't', type: 'quantitative' as const } } };

  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 16, subtitleFontSize: 12, offset: 12 },
    // The answers' statuses and the books' two series are separate colour scales, with a legend each.
    resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent' } },
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, axis: { grid: true, gridColor: '#eee' } },
    vconcat: [
      {
        width: WIDTH,
        height: 170,
        title: { text: 'answers per second, by status (dashed: storm over, faults off, drain)', anchor: 'start', fontSize: 12 },
        layer: [
          {
            data: { values: answers },
            mark: { type: 'bar' },
            encoding: {
              x: { ...x, title: null },
              x2: { field: 't1' },
              y: { field: 'n', type: 'quantitative', aggregate: 'sum', stack: 'zero', title: 'answers / s' },
              color: { field: 'status', type: 'nominal', scale: { domain: [...STATUS_CLASSES], range: STATUS_CLASSES.map((c) => COLOURS[c]) }, legend: { orient: 'right', title: 'status' } },
              order: { field: 'status', sort: 'ascending' },
            },
          },
          stormEnd,
        ],
      },
      {
        width: WIDTH,
        height: 90,
        title: { text: 'calls the processor received per second', anchor: 'start', fontSize: 12 },
        layer: [{ data: { values: calls }, mark: { type: 'area', interpolate: 'step-after', color: '#455a64', opacity: 0.8 }, encoding: { x: { ...x, title: null }, y: { field: 'n', type: 'quantitative', title: 'calls / s' } } }, stormEnd],
      },
      {
        width: WIDTH,
        height: 110,
        title: { text: 'charges, against the logical payments charged (the gap is duplicate charges)', anchor: 'start', fontSize: 12 },
        layer: [
          {
            data: { values: books },
            mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
            encoding: {
              x,
              y: { field: 'n', type: 'quantitative', title: 'cumulative' },
              color: { field: 'series', type: 'nominal', scale: { domain: ['charges', 'logical payments charged'], range: ['#c62828', '#2e7d32'] }, legend: { orient: 'right', title: null, labelLimit: 300 } },
              strokeDash: { field: 'series', type: 'nominal', scale: { domain: ['charges', 'logical payments charged'], range: [[1, 0], [5, 3]] }, legend: { orient: 'right', title: null, labelLimit: 300 } },
            },
          },
          stormEnd,
        ],
      },
    ],
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
