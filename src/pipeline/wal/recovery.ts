// Crash recovery as a pure function: from what start-up read back from the segments (record
// frames, cut frames, done frames), works out which batches to send again — exactly as they
// were cut, so their ids match what a sink may already hold — which records were never cut
// (they go back to the batcher), and below which position everything is done with.
import type { SluiceRecord } from '../../record.js';
import type { PositionedRecords } from './replay.js';

/** What the segments held, as `replaySegments` returns it. */
export interface RecoveryInput {
  /** Record frames in log order (ascending positions). */
  recordFrames: PositionedRecords[];
  /** Batch boundaries [from, to), in the order they were cut. */
  cuts: Array<[number, number]>;
  /** `from-to` of batches that were done with (committed or dead-lettered). */
  done: Set<string>;
  /** One past the highest record position seen. */
  recordEnd: number;
}

/** A batch to send again, under the id its range gives. */
export interface ResendBatch {
  from: number;
  to: number;
  records: SluiceRecord[];
  /** Records whose cut frame was lost (damage mid-log), gathered into one batch of their own. */
  cutLost: boolean;
}

export interface RecoveryPlan {
  /** Cut batches never done with, in position order; after damage, the records without a cut last. */
  resend: ResendBatch[];
  /** Records after the last cut, never in a batch: runs of consecutive positions, for the batcher. */
  uncut: PositionedRecords[];
  /** Cut batches none of whose records are left (their segment was damaged): nothing to resend. */
  emptyCuts: Array<[number, number]>;
  /** Where the next batch starts. */
  cutStart: number;
  /** Every record below this position is done with: the segments under it may be deleted. */
  doneBelow: number;
}

/**
 * `nextSeq` is the position the next new record gets (after lost bytes, past every position
 * they could have held); it is where the next batch starts when nothing uncut was read back.
 */
export function planRecovery(input: RecoveryInput, nextSeq: number): RecoveryPlan {
  const cuts = input.cuts.slice().sort((a, b) => a[0] - b[0]);
  const isDone = (from: number, to: number): boolean => input.done.has(`${from}-${to}`);
  let cutEnd = cuts.reduce((end, cut) => Math.max(end, cut[1]), input.recordFrames[0]?.firstSeq ?? input.recordEnd);
  const recordsOfCut = new Map<number, SluiceRecord[]>();
  const withoutCut: Array<[number, SluiceRecord]> = [];
  const uncut: PositionedRecords[] = [];
  let cutIndex = 0;
  for (const frame of input.recordFrames) {
    let tail: PositionedRecords | undefined;
    frame.records.forEach((record, i) => {
      const seq = frame.firstSeq + i;
      while (cutIndex < cuts.length && cuts[cutIndex]![1] <= seq) cutIndex++;
      const cut = cuts[cutIndex];
      if (cut && cut[0] <= seq) {
        if (isDone(cut[0], cut[1])) return;
        const list = recordsOfCut.get(cut[0]) ?? [];
        list.push(record);
        recordsOfCut.set(cut[0], list);
      } else if (seq >= cutEnd) {
        tail ??= { firstSeq: seq, records: [] };
        tail.records.push(record);
      } else {
        withoutCut.push([seq, record]);
      }
    });
    if (tail) uncut.push(tail);
  }
  const resend: ResendBatch[] = [];
  const emptyCuts: Array<[number, number]> = [];
  for (const [from, to] of cuts) {
    if (isDone(from, to)) continue;
    const records = recordsOfCut.get(from);
    if (records) resend.push({ from, to, records, cutLost: false });
    else emptyCuts.push([from, to]);
  }
  if (withoutCut.length > 0) {
    // Only after damage in the middle of the log: sent once more, as their own batch.
    resend.push({
      from: withoutCut[0]![0],
      to: withoutCut[withoutCut.length - 1]![0] + 1,
      records: withoutCut.map(([, record]) => record),
      cutLost: true,
    });
  }
  if (uncut.length === 0) cutEnd = nextSeq;
  let doneBelow = cutEnd;
  for (const { from } of resend) if (from < doneBelow) doneBelow = from;
  return { resend, uncut, emptyCuts, cutStart: cutEnd, doneBelow };
}
