// Group commit with wal.groupCommitDelayMs > 0: requests arriving within the delay share one
// fsync, at the price of waiting up to the delay; with 0, each spaced-out request gets its own.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Metrics } from '../../src/observability/metrics.js';
import { WalBuffer } from '../../src/pipeline/wal/wal-buffer.js';
import type { LogRecord } from '../../src/record.js';
import { tempDir } from '../helpers/app.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

const rec = (i: number): LogRecord => ({
  type: 'log',
  id: `r${i}`,
  ts: 1_700_000_000_000_000,
  received_at: 1_700_000_000_000_000,
  level: 'info',
  service: 's',
  message: `m${i}`,
  attrs: null,
  trace_id: null,
  span_id: null,
  size: 100,
});

async function fsyncs(metrics: Metrics): Promise<number> {
  const m = await metrics.registry.getSingleMetric('sluice_wal_fsync_seconds')!.get();
  return (
    (m.values as Array<{ value: number; metricName?: string }>).find(
      (v) => v.metricName === 'sluice_wal_fsync_seconds_count',
    )?.value ?? 0
  );
}

/** Ten single-record pushes 10 ms apart; resolves with the fsyncs they took and when each was acknowledged. */
async function tenPushes(groupCommitDelayMs: number): Promise<{ syncs: number; ackedAfterMs: number[] }> {
  const d = tempDir('sluice-gc-');
  dirs.push(d.remove);
  const metrics = new Metrics({ defaultMetrics: false });
  const wal = await WalBuffer.open({
    maxRecords: 1000,
    maxBytes: 1e9,
    retryAfterSeconds: 1,
    wal: { dir: d.path, segmentBytes: 1024 * 1024, maxBytes: 64 * 1024 * 1024, groupCommitDelayMs },
    logger: pino({ level: 'silent' }),
    metrics,
  });
  try {
    const before = await fsyncs(metrics);
    const acks: Array<Promise<number>> = [];
    for (let i = 0; i < 10; i++) {
      const sent = performance.now();
      acks.push(wal.push([rec(i)], 100, { timeoutMs: 1000 }).then(() => performance.now() - sent));
      await sleep(10);
    }
    const ackedAfterMs = await Promise.all(acks);
    return { syncs: (await fsyncs(metrics)) - before, ackedAfterMs };
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
