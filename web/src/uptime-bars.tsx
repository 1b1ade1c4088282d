// One bar per bucket (hour or day): green when every result was up, red when any was down
// (shaded by how many), grey when nothing was observed. Each bar has a text title.
import type { Bucket } from './types.js';

export function UptimeBars({ items, label, unit }: { items: Bucket[]; label: string; unit: 'hour' | 'day' }) {
  const observed = items.reduce((n, b) => n + b.total, 0);
  const up = items.reduce((n, b) => n + b.up, 0);
  const summary = observed ? `${((up / observed) * 100).toFixed(2)}% of ${observed} results up` : 'no results yet';
  return (
    <figure class="bars">
      <figcaption>
        {label} <span class="muted">({summary})</span>
      </figcaption>
      <div class="bar-row" role="img" aria-label={`${label}: ${summary}`}>
        {items.map((b) => {
          const cls = b.total === 0 ? 'none' : b.down === 0 ? 'up' : b.down === b.total ? 'down' : 'partial';
          const when = unit === 'hour' ? new Date(b.start).toLocaleString() : new Date(b.start).toLocaleDateString();
          const title =
            b.total === 0
              ? `${when}: no data`
              : `${when}: ${b.up}/${b.total} up${b.avg_latency_ms !== null ? `, avg ${Math.round(b.avg_latency_ms)} ms` : ''}`;
          return <span key={b.start} class={`bar ${cls}`} title={title} />;
        })}
      </div>
    </figure>
  );
}
