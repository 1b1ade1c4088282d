// A line over time drawn with uPlot (canvas: cheap for thousands of points). Colours come from
// the theme's CSS variables so the chart follows light and dark.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';

interface Props {
  /** Epoch seconds, ascending. */
  xs: number[];
  ys: Array<number | null>;
  label: string;
  unit: string;
  height?: number;
  /** Show only the last this many seconds (a live chart), instead of fitting the data. */
  windowSeconds?: number;
  /** Further lines over the same xs, drawn dashed in the muted colour (e.g. a p95 beside a p50). */
  more?: Array<{ label: string; ys: Array<number | null> }>;
  /** Few points with gaps (hourly or daily buckets): mark every point and join across gaps. */
  sparse?: boolean;
}

const NO_MORE: NonNullable<Props['more']> = [];

export function TimeChart({ xs, ys, label, unit, height = 200, windowSeconds, more = NO_MORE, sparse = false }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // Canvas colours are read from CSS once per chart: rebuild it when the theme changes.
  const [theme, setTheme] = useState(0);
  useEffect(() => {
    const onTheme = () => setTheme((n) => n + 1);
    const mq = matchMedia('(prefers-color-scheme: dark)');
    window.addEventListener('sluice:theme', onTheme);
    mq.addEventListener('change', onTheme);
    return () => {
      window.removeEventListener('sluice:theme', onTheme);
      mq.removeEventListener('change', onTheme);
    };
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--muted').trim() || '#888';
    const line = css.getPropertyValue('--accent').trim() || '#36c';
    const grid = css.getPropertyValue('--border').trim() || '#ccc';
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const p = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height,
        legend: { show: false },
        scales: {
          x: windowSeconds
            ? { time: true, range: () => [Date.now() / 1000 - windowSeconds, Date.now() / 1000] }
            : { time: true },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] as [number, number] },
        },
        axes: [axis, { ...axis, label: unit, size: 56 }],
        series: [
          {},
          { label, stroke: line, width: 1.5, spanGaps: sparse, points: { show: !!windowSeconds || sparse, size: 4 } },
          ...more.map((m) => ({
            label: m.label,
            stroke: fg,
            width: 1.5,
            dash: [6, 4],
            spanGaps: sparse,
            points: { show: sparse, size: 4 },
          })),
        ],
      },
      [xs, ys, ...more.map((m) => m.ys)],
      el,
    );
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: Math.max(300, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
    // The series are fixed when the chart is built: a different number of lines rebuilds it.
  }, [label, unit, height, windowSeconds, theme, more.length, sparse]);

  useEffect(() => {
    plot.current?.setData([xs, ys, ...more.map((m) => m.ys)]);
  }, [xs, ys, more]);

  return <div class="chart" ref={box} role="img" aria-label={`${label} chart, ${xs.length} points`} />;
}
