// Bisect on a permanent error: a batch the sink refuses for its data is halved, and each half
// written on its own, down to the records at fault, so one client's bad record does not
// dead-letter everyone else's. Tracks which parts came from which batch, so the batch counts as
// done (for the ledger) only once all its parts are.
import type { Batch, Ticket } from '../batch.js';

type TicketCounts = Array<[Ticket, number]>;

export class BatchHalving {
  /** Parts of a halved batch: the batch they came from and how many of its parts are still open. */
  private readonly partOf = new WeakMap<Batch, { root: Batch; open: number }>();

  /**
   * The two halves of `batch`, ids `<id>/0` and `<id>/1`: stable, so a replay after a crash
   * skips halves already stored. Halves of a half share the first batch's count of open parts.
   */
  halve(batch: Batch): [Batch, Batch] {
    const at = Math.ceil(batch.count / 2);
    const [ticketsA, ticketsB] = splitTickets(batch.tickets, at);
    // Built field by field: a spread would copy the whole batch's rows and receive times.
    // A part has no rows: the sink encodes its records itself.
    const part = (index: number, records: Batch['records'], tickets: TicketCounts): Batch => ({
      id: `${batch.id}/${index}`,
      count: records.length,
      records,
      bytes: records.reduce((n, r) => n + r.size, 0),
      createdAt: batch.createdAt,
      trigger: batch.trigger,
      tickets,
      links: batch.links,
    });
    const first = part(0, batch.records.slice(0, at), ticketsA);
    const second = part(1, batch.records.slice(at), ticketsB);
    const group = this.partOf.get(batch) ?? { root: batch, open: 1 };
    group.open += 1; // this batch becomes two
    this.partOf.set(first, group);
    this.partOf.set(second, group);
    return [first, second];
  }

  /**
   * Marks `batch` (whole or part) as done with; returns the batch the ledger should be told
   * about — itself, or the batch it came from once its last part is done — or undefined.
   */
  finish(batch: Batch): Batch | undefined {
    const group = this.partOf.get(batch);
    if (!group) return batch;
    return --group.open === 0 ? group.root : undefined;
  }
}

/** Splits (ticket, count) pairs, in record order, at record index `at`. */
function splitTickets(tickets: Batch['tickets'], at: number): [TicketCounts, TicketCounts] {
  const first: TicketCounts = [];
  const second: TicketCounts = [];
  let seen = 0;
  for (const [ticket, count] of tickets) {
    const inFirst = Math.max(0, Math.min(count, at - seen));
    if (inFirst > 0) first.push([ticket, inFirst]);
    if (count > inFirst) second.push([ticket, count - inFirst]);
    seen += count;
  }
  return [first, second];
}
