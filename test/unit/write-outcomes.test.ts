// What happens to a batch at the end of its write (src/pipeline/write-outcomes.ts) in the cases
// the writer-pool tests do not reach: a dead-letter file that stays unwritable past the
// shutdown deadline, and a sink that cannot say whether a batch cut at the deadline committed.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { Ticket, type Batch } from '../../src/batch.js';
import { SluiceError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { BatchHalving } from '../../src/pipeline/batch-halving.js';
import type { BatchLedger } from '../../src/pipeline/buffer.js';
import { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { WriteOutcomes, type OutcomeCounters } from '../../src/pipeline/write-outcomes.js';
import type { Sink } from '../../src/sinks/sink.js';
import { tempDir } from '../helpers/app.js';
import { useFakeTime, type FakeTime } from '../helpers/fake-time.js';
import { many } from '../helpers/wal.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

function newDir(): string {
  const d = tempDir('sluice-outcomes-');
  dirs.push(d.remove);
  return d.path;
}

/** A dead-letter directory that can never be created: its path is a file. */
function unwritableDeadLetter(): DeadLetter {
  const file = join(newDir(), 'not-a-dir');
  writeFileSync(file, '');
  return new DeadLetter(join(file, 'dead-letter'));
}

function batchOf(records: number): { batch: Batch; ticket: Ticket } {
  const ticket = new Ticket(records);
  const batch: Batch = {
    id: 'b1',
    count: records,
    records: many(records),
    bytes: 100 * records,
    createdAt: 0,
    trigger: 'size',
    tickets: [[ticket, records]],
    links: [],
  };
  return { batch, ticket };
}

function outcomes(opts: { deadLetter: DeadLetter; sink?: Partial<Sink>; ledger?: BatchLedger; aborted?: boolean }) {
  const counters: OutcomeCounters = {
    committedBatches: 0,
    committedRecords: 0,
    deadLetteredBatches: 0,
    keptBatches: 0,
  };
  const abort = new AbortController();
  if (opts.aborted) abort.abort();
  const sink: Sink = { name: 'test', writeBatch: async () => undefined, close: async () => undefined, ...opts.sink };
  const subject = new WriteOutcomes({
    sink,
    deadLetter: opts.deadLetter,
    metrics: new Metrics({ defaultMetrics: false }),
    logger: pino({ level: 'silent' }),
    ledger: opts.ledger,
    halving: new BatchHalving(),
    counters,
    signal: abort.signal,
  });
  return { subject, counters };
}

/** Moves fake time on while `work` runs (its file operations are real I/O, done between steps). */
async function untilDone(time: FakeTime, work: Promise<void>): Promise<void> {
  let done = false;
  const finished = work.finally(() => (done = true));
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    await time.advance(100);
  }
  await finished;
}

/** A ledger that records what it was told. */
function recordingLedger(): BatchLedger & { settledIds: string[] } {
  const settledIds: string[] = [];
  return {
    settledIds,
    sealed: async () => undefined,
    started: () => undefined,
    settled: (batch) => void settledIds.push(batch.id),
  };
}

describe('dead-letter file unwritable past the deadline', () => {
  test('without a WAL: after three tries the request fails, and nothing is counted as dead-lettered', async (t) => {
    const time = useFakeTime(t);
    const { subject, counters } = outcomes({ deadLetter: unwritableDeadLetter(), aborted: true });
    const { batch, ticket } = batchOf(3);
    // Three tries with a pause of 1 s between them: on fake time, the pauses pass at once.
    await untilDone(time, subject.deadLetter(batch, 'permanent: bad row', 1));
    await assert.rejects(ticket.done, (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'SLUICE_ERR_SINK_FAILED');
      assert.doesNotMatch(err.message, /dead-lettered/);
      return true;
    });
    assert.equal(counters.deadLetteredBatches, 0, 'the metric counts only what the file holds');
  });

  test('with a WAL: the batch is kept there for the next start instead, and not settled', async (t) => {
    const time = useFakeTime(t);
    const ledger = recordingLedger();
    const { subject, counters } = outcomes({ deadLetter: unwritableDeadLetter(), ledger, aborted: true });
    const { batch, ticket } = batchOf(2);
    await untilDone(time, subject.deadLetter(batch, 'permanent: bad row', 1));
    await assert.rejects(
      ticket.done,
      (err: unknown) => err instanceof SluiceError && /kept in the WAL/.test(err.message),
    );
    assert.equal(counters.keptBatches, 1);
    assert.deepEqual(ledger.settledIds, [], 'its records stay in the WAL');
  });
});

describe('a write cut by the deadline', () => {
  test('a sink that cannot say whether the batch committed: it is dead-lettered', async () => {
    const dir = newDir();
    const deadLetter = new DeadLetter(dir);
    const { subject, counters } = outcomes({
      deadLetter,
      sink: { wasCommitted: () => Promise.reject(new Error('connection refused')) },
    });
    const { batch, ticket } = batchOf(2);
    subject.writing(batch);
    await subject.aborted(batch, 'shutdown deadline', 1);
    await assert.rejects(ticket.done, /dead-lettered/);
    assert.equal(counters.deadLetteredBatches, 1);
    assert.equal(readFileSync(deadLetter.pathFor('test'), 'utf8').trim().split('\n').length, 2);
  });

  test('a sink that says it committed: the batch counts as committed, nothing dead-lettered', async () => {
    const { subject, counters } = outcomes({
      deadLetter: new DeadLetter(newDir()),
      sink: { wasCommitted: async () => true },
    });
    const { batch, ticket } = batchOf(2);
    subject.writing(batch);
    await subject.aborted(batch, 'shutdown deadline', 1);
    await ticket.done;
    assert.deepEqual([counters.committedBatches, counters.deadLetteredBatches], [1, 0]);
  });
});
