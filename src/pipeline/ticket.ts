// A ticket lets a request wait until every one of its records is committed by the sink
// (ack mode `sink`). Batches carry (ticket, count) pairs; the writer pool settles them.

export class Ticket {
  private remaining: number;
  private failed: Error | undefined;
  readonly done: Promise<void>;
  private resolveFn!: () => void;
  private rejectFn!: (err: Error) => void;

  constructor(records: number) {
    this.remaining = records;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // A rejection nobody awaits (ack mode memory) must not crash the process.
    this.done.catch(() => undefined);
    if (records === 0) this.resolveFn();
  }

  /** Marks `count` records as settled; the ticket fails if any of them failed. */
  settle(count: number, err?: Error): void {
    if (err && !this.failed) this.failed = err;
    this.remaining -= count;
    if (this.remaining <= 0) {
      if (this.failed) this.rejectFn(this.failed);
      else this.resolveFn();
    }
  }
}

export function settleTickets(tickets: ReadonlyArray<readonly [Ticket, number]>, err?: Error): void {
  for (const [ticket, count] of tickets) ticket.settle(count, err);
}
