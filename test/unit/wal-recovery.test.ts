// Crash recovery as a pure function (src/pipeline/wal/recovery.ts): given the record, cut and
// done frames read back from the segments, which batches are sent again under which ranges,
// which records go back to the batcher uncut, and below which position the log may be freed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planRecovery, type RecoveryInput } from '../../src/pipeline/wal/recovery.js';
import { many } from '../helpers/wal.js';

const ids = (records: Array<{ id: string }>): string[] => records.map((r) => r.id);

function input(over: Partial<RecoveryInput>): RecoveryInput {
  return { recordFrames: [], cuts: [], done: new Set(), recordEnd: 0, ...over };
}

describe('planRecovery', () => {
  test('an empty log: nothing to resend or queue; the next batch starts at the next position', () => {
    const plan = planRecovery(input({}), 7);
    assert.deepEqual(plan, { resend: [], uncut: [], emptyCuts: [], cutStart: 7, doneBelow: 7 });
  });

  test('resends each cut batch that was never done, with its own records, across record frames', () => {
    // Positions 0..9 in two frames; batches [0,4) done, [4,7) and [7,10) not.
    const plan = planRecovery(
      input({
        recordFrames: [
          { firstSeq: 0, records: many(6, 0) },
          { firstSeq: 6, records: many(4, 6) },
        ],
        cuts: [
          [0, 4],
          [4, 7],
          [7, 10],
        ],
        done: new Set(['0-4']),
        recordEnd: 10,
      }),
      10,
    );
    assert.deepEqual(
      plan.resend.map((b) => [b.from, b.to, ids(b.records), b.cutLost]),
      [
        [4, 7, ['r4', 'r5', 'r6'], false],
        [7, 10, ['r7', 'r8', 'r9'], false],
      ],
    );
    assert.deepEqual(plan.uncut, []);
    assert.equal(plan.cutStart, 10);
    assert.equal(plan.doneBelow, 4, 'the oldest batch still to resend holds the log back');
  });

  test('cut frames read out of order are matched by position', () => {
    const plan = planRecovery(
      input({
        recordFrames: [{ firstSeq: 0, records: many(4) }],
        cuts: [
          [2, 4],
          [0, 2],
        ],
        recordEnd: 4,
      }),
      4,
    );
    assert.deepEqual(
      plan.resend.map((b) => [b.from, b.to]),
      [
        [0, 2],
        [2, 4],
      ],
    );
  });

  test('records after the last cut go back to the batcher, and the next batch starts where the last cut ended', () => {
    const plan = planRecovery(
      input({
        recordFrames: [
          { firstSeq: 0, records: many(3, 0) },
          { firstSeq: 3, records: many(4, 3) },
        ],
        cuts: [[0, 5]],
        done: new Set(['0-5']),
        recordEnd: 7,
      }),
      7,
    );
    assert.deepEqual(plan.resend, []);
    assert.deepEqual(
      plan.uncut.map((run) => [run.firstSeq, ids(run.records)]),
      [[5, ['r5', 'r6']]],
    );
    assert.equal(plan.cutStart, 5);
    assert.equal(plan.doneBelow, 5);
  });

  test('when every record was done with, the next batch starts at nextSeq (past positions lost with torn bytes)', () => {
    const plan = planRecovery(
      input({
        recordFrames: [{ firstSeq: 0, records: many(2) }],
        cuts: [[0, 2]],
        done: new Set(['0-2']),
        recordEnd: 2,
      }),
      50,
    );
    assert.equal(plan.cutStart, 50);
    assert.equal(plan.doneBelow, 50);
  });

  test('a cut whose records were lost with a damaged segment is reported, not resent', () => {
    const plan = planRecovery(
      input({
        recordFrames: [{ firstSeq: 5, records: many(2, 5) }],
        cuts: [
          [0, 5],
          [5, 7],
        ],
        recordEnd: 7,
      }),
      7,
    );
    assert.deepEqual(plan.emptyCuts, [[0, 5]]);
    assert.deepEqual(
      plan.resend.map((b) => [b.from, b.to]),
      [[5, 7]],
    );
  });

  test('records whose cut frame was lost are resent once, as one batch of their own, marked so', () => {
    // Records 0..5; the cut [0,3) was lost, the cut [3,6) survived. Records before the last cut's
    // end with no cut covering them are the orphans.
    const plan = planRecovery(
      input({ recordFrames: [{ firstSeq: 0, records: many(6) }], cuts: [[3, 6]], recordEnd: 6 }),
      6,
    );
    assert.deepEqual(
      plan.resend.map((b) => [b.from, b.to, ids(b.records), b.cutLost]),
      [
        [3, 6, ['r3', 'r4', 'r5'], false],
        [0, 3, ['r0', 'r1', 'r2'], true],
      ],
    );
    assert.equal(plan.doneBelow, 0);
  });

  test('does not change its input', () => {
    const read = input({
      recordFrames: [{ firstSeq: 0, records: many(4) }],
      cuts: [
        [2, 4],
        [0, 2],
      ],
      recordEnd: 4,
    });
    const before = JSON.stringify({ ...read, done: [...read.done] });
    planRecovery(read, 4);
    assert.equal(JSON.stringify({ ...read, done: [...read.done] }), before);
  });
});
