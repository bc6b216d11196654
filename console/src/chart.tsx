/**
 * A uPlot chart as a Preact component: made once, fed new data on every render, resized with its
 * container so the page reads at 1280×800 and in a narrow window alike.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  /** What the chart shows, for people who cannot see it (the canvas is hidden from assistive tech). */
  label: string;
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height?: number;
}

export function Chart({ label, options, data, height = 220 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    plot.current = new uPlot({ ...options, width: Math.max(el.clientWidth, 200), height }, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The options are fixed for the life of a chart; data changes go through setData below.
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <figure class="chart" role="img" aria-label={label} ref={box} />;
}

/** Time axis and the common look; each chart adds its series and scales. */
export function timeOptions(title: string, series: uPlot.Series[], scales: uPlot.Scales, axes: uPlot.Axis[]): Omit<uPlot.Options, 'width' | 'height'> {
  return {
    title,
    scales: { x: { time: true }, ...scales },
    series: [{}, ...series],
    axes: [{ stroke: '#555' }, ...axes],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
}
