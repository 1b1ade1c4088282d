// Records as the buffers hold them between admission and the sink. With a sink that sends COPY
// tuples as they are, both buffers keep an admitted request as its tuples (the WAL's are the
// ones it wrote to disk), not as objects: objects held until their batch commits outlive V8's
// young generation, and their collection was ~12% of the collector's CPU into PostgreSQL.
// Tuples are decoded back into records only when something asks for them (a dead letter,
// halving).
import { addReceived, type Batch, type FlushTrigger, type Ticket, type TypedRows } from '../batch.js';
import type { RecordType, SluiceRecord } from '../record.js';
import { decodeTuples } from '../sinks/postgres/copy-decode.js';
import type { SpanContext } from '@opentelemetry/api';

/** Records of one type held as their COPY tuples. */
export interface TupleRun {
  /** The tuples, back to back. */
  readonly tuples: Buffer;
  /** Each record's accounted size. */
  readonly sizes: readonly number[];
  readonly type: RecordType;
  /** When the records were received: one time for all of them, or one each. */
  readonly receivedAt: number | readonly number[];
}

/** A run of records in a slice or a batch: objects, or tuples. */
export type Held = SluiceRecord[] | TupleRun;

/**
 * The tuple run of one request's records, or undefined when they are of several types (then
 * they are held as objects and the sink encodes them) or none (a request let in from the wait
 * line that parsed to no records).
 */
export function tupleRun(
  records: readonly SluiceRecord[],
  tuples: Buffer,
  sizes: readonly number[],
): TupleRun | undefined {
  if (records.length === 0) return undefined;
  const type = records[0]!.type;
  const at = records[0]!.received_at;
  let sameTime = true;
  for (let i = 1; i < records.length; i++) {
    const r = records[i]!;
    if (r.type !== type) return undefined;
    if (r.received_at !== at) sameTime = false;
  }
  return { tuples, sizes, type, receivedAt: sameTime ? at : records.map((r) => r.received_at) };
}

/** Records [from, to) of a run whose record i starts at `offsets[i]` in its tuples. */
export function sliceRun(run: TupleRun, offsets: readonly number[], from: number, to: number): TupleRun {
  const { receivedAt } = run;
  return {
    tuples: run.tuples.subarray(offsets[from], offsets[to]),
    sizes: run.sizes.slice(from, to),
    type: run.type,
    receivedAt: typeof receivedAt === 'number' ? receivedAt : receivedAt.slice(from, to),
  };
}

/** Tuple runs decoded back into records since start: the path into PostgreSQL should decode none. */
export const decodedRuns = { count: 0 };

/** The records of `parts`, in order: decoded from tuples, objects as they are. */
export function heldRecords(parts: readonly Held[]): SluiceRecord[] {
  if (parts.length === 1 && Array.isArray(parts[0])) return parts[0];
  const out: SluiceRecord[] = [];
  for (const part of parts) {
    if (Array.isArray(part)) {
      for (const r of part) out.push(r);
      continue;
    }
    decodedRuns.count++;
    for (const r of decodeTuples(part.tuples, 0, part.tuples.length, part.sizes)) out.push(r);
  }
  return out;
}

/** Receive times of `parts` as runs (see Batch.received). */
function receivedOf(parts: readonly Held[]): number[] {
  const runs: number[] = [];
  for (const part of parts) {
    if (Array.isArray(part)) for (const r of part) addReceived(runs, r.received_at, 1);
    else if (typeof part.receivedAt === 'number') addReceived(runs, part.receivedAt, part.sizes.length);
    else for (const at of part.receivedAt) addReceived(runs, at, 1);
  }
  return runs;
}

export interface HeldBatchFields {
  id: string;
  count: number;
  bytes: number;
  createdAt: number;
  trigger: FlushTrigger;
  tickets: ReadonlyArray<readonly [Ticket, number]>;
  links: readonly SpanContext[];
}

/**
 * A batch of `parts`. It carries their tuples as `rows`, by type, when every part is tuples,
 * and builds its records only when they are first read. A class: its getter is on the
 * prototype, where an object literal would define one per batch; so do not spread one (the
 * copy would have no `records`): build the new batch field by field, as batch-halving.ts does.
 */
class HeldBatch implements Batch {
  readonly id: string;
  readonly count: number;
  readonly bytes: number;
  readonly createdAt: number;
  readonly trigger: FlushTrigger;
  readonly tickets: ReadonlyArray<readonly [Ticket, number]>;
  readonly links: readonly SpanContext[];
  readonly rows: TypedRows[] | undefined;
  readonly received: number[];
  private decoded: SluiceRecord[] | undefined;

  constructor(
    fields: HeldBatchFields,
    private readonly parts: readonly Held[],
  ) {
    ({
      id: this.id,
      count: this.count,
      bytes: this.bytes,
      createdAt: this.createdAt,
      trigger: this.trigger,
      tickets: this.tickets,
      links: this.links,
    } = fields);
    // Health checks' results and pings share the buffer with logs: a batch often holds two types.
    let rows: Array<{ type: RecordType; count: number; tuples: Buffer[] }> | undefined = [];
    for (const part of parts) {
      if (Array.isArray(part)) {
        rows = undefined;
        break;
      }
      let group = rows.find((g) => g.type === part.type);
      if (!group) rows.push((group = { type: part.type, count: 0, tuples: [] }));
      group.count += part.sizes.length;
      group.tuples.push(part.tuples);
    }
    this.rows = rows;
    this.received = receivedOf(parts);
  }

  get records(): SluiceRecord[] {
    return (this.decoded ??= heldRecords(this.parts));
  }
}

export function heldBatch(fields: HeldBatchFields, parts: readonly Held[]): Batch {
  return new HeldBatch(fields, parts);
}
