// Counts taken on the hot path as plain additions, moved into their prom-client counters when a
// scrape reads them. prom-client hashes a child's labels on every `inc`, even through a cached
// child: for a small ingest request that was a few µs of its CPU (issue 17's profile).

/** What a route keeps and increments: one series of a counter. */
export interface TallyCell {
  inc(n?: number): void;
}

interface Cell extends TallyCell {
  n: number;
  readonly child: { inc(n: number): void };
}

export class Tally {
  private readonly cells: Cell[] = [];

  /** A cell adding to `child` (a counter's labelled series) at the next flush. */
  cell(child: { inc(n: number): void }): TallyCell {
    const c: Cell = {
      n: 0,
      child,
      inc(k = 1) {
        this.n += k;
      },
    };
    this.cells.push(c);
    return c;
  }

  /** Adds what each cell counted since the last flush to its series. */
  flush(): void {
    for (const c of this.cells) {
      if (c.n === 0) continue;
      c.child.inc(c.n);
      c.n = 0;
    }
  }
}
