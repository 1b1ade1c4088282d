// Group commit with wal.groupCommitDelayMs > 0: requests arriving within the delay share one
// fsync, at the price of waiting up to the delay; with 0, each spaced-out request gets its own.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { metricCount, openWal, rec } from '../helpers/wal.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

/** Ten single-record pushes 10 ms apart; resolves with the fsyncs they took and when each was acknowledged. */
async function tenPushes(groupCommitDelayMs: number): Promise<{ syncs: number; ackedAfterMs: number[] }> {
  const d = tempDir('sluice-gc-');
  dirs.push(d.remove);
  const { wal, metrics } = await openWal(d.path, { groupCommitDelayMs });
  try {
    const before = await metricCount(metrics, 'sluice_wal_fsync_seconds');
    const acks: Array<Promise<number>> = [];
    for (let i = 0; i < 10; i++) {
      const sent = performance.now();
      acks.push(wal.push([rec(i)], 100, { timeoutMs: 1000 }).then(() => performance.now() - sent));
      await sleep(10); // the requests' spacing, not a wait for anything
    }
    const ackedAfterMs = await Promise.all(acks);
    return { syncs: (await metricCount(metrics, 'sluice_wal_fsync_seconds')) - before, ackedAfterMs };
  } finally {
    await wal.shutdown();
  }
}

test('with a 300 ms delay, ten requests 10 ms apart share one or two fsyncs, and the first waited for the delay', async () => {
  const { syncs, ackedAfterMs } = await tenPushes(300);
  assert.ok(syncs >= 1 && syncs <= 2, `${syncs} fsyncs`);
  assert.ok(ackedAfterMs[0]! >= 290, `first acknowledged after ${ackedAfterMs[0]} ms`);
});

test('without a delay, requests 10 ms apart are not held for each other', async () => {
  const { syncs, ackedAfterMs } = await tenPushes(0);
  assert.ok(syncs >= 3, `${syncs} fsyncs for 10 spaced-out requests`);
  assert.ok(Math.min(...ackedAfterMs) < 290, `fastest acknowledged after ${Math.min(...ackedAfterMs)} ms`);
});
