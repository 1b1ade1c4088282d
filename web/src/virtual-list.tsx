// A virtualised list: only the rows inside the viewport (plus a small margin) are in the DOM,
// so 10k rows scroll as smoothly as 50. Row heights are known up front (collapsed rows share
// one height, an expanded row adds a fixed detail height), so offsets are a prefix sum and the
// first visible row is a binary search: no measuring, no layout thrash.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

interface Props<T> {
  items: readonly T[];
  heightOf: (item: T) => number;
  keyOf: (item: T) => string;
  render: (item: T, index: number) => ComponentChildren;
  label: string;
  /** Changes when a row's height changes without the array changing (an expand/collapse). */
  version?: unknown;
}

const OVERSCAN_PX = 400;

export function VirtualList<T>({ items, heightOf, keyOf, render, label, version }: Props<T>) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  const offsets = useMemo(() => {
    const o = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i++) o[i + 1] = o[i]! + heightOf(items[i]!);
    return o;
  }, [items, version]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  let frame = 0;
  const onScroll = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (box.current) setScrollTop(box.current.scrollTop);
    });
  };

  const first = Math.max(0, lowerBound(offsets, scrollTop - OVERSCAN_PX) - 1);
  const limit = scrollTop + viewport + OVERSCAN_PX;
  const rows: ComponentChildren[] = [];
  for (let i = first; i < items.length && offsets[i]! < limit; i++) {
    const item = items[i]!;
    rows.push(
      <div
        key={keyOf(item)}
        class="vrow"
        role="listitem"
        style={{ top: `${offsets[i]}px`, height: `${heightOf(item)}px` }}
      >
        {render(item, i)}
      </div>,
    );
  }
  return (
    <div class="vlist" ref={box} onScroll={onScroll} role="list" aria-label={label} tabIndex={0}>
      <div class="vlist-inner" style={{ height: `${offsets[items.length]}px` }}>
        {rows}
      </div>
    </div>
  );
}

/** Index of the first offset ≥ y. */
function lowerBound(a: Float64Array, y: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
