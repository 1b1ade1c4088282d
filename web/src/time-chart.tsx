// A line over time drawn with uPlot (canvas: cheap for thousands of points). Colours come from
// the theme's CSS variables so the chart follows light and dark.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

interface Props {
  /** Epoch seconds, ascending. */
  xs: number[];
  ys: Array<number | null>;
  label: string;
  unit: string;
  height?: number;
}

export function TimeChart({ xs, ys, label, unit, height = 200 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

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
        scales: { x: { time: true } },
        axes: [axis, { ...axis, label: unit, size: 56 }],
        series: [{}, { label, stroke: line, width: 1.5, points: { show: false } }],
      },
      [[], []],
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
  }, [label, unit, height]);

  useEffect(() => {
    plot.current?.setData([xs, ys]);
  }, [xs, ys]);

  return <div class="chart" ref={box} role="img" aria-label={`${label} chart, ${xs.length} points`} />;
}
