// The WAL wired to the real batcher and writer pool: batch ids come from positions, a sink
// never sees a batch before its cut frame is on disk, the buffer hears of every commit and
// dead-letter, and the shutdown deadline keeps batches in the WAL rather than dead-lettering.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { PermanentSinkError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Batcher } from '../../src/pipeline/batcher.js';
import { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { FrameType, SEGMENT_HEADER, decodeFrame } from '../../src/pipeline/wal/frame.js';
import { WalBuffer } from '../../src/pipeline/wal/wal-buffer.js';
import { WriterPool } from '../../src/pipeline/writer-pool.js';
import type { LogRecord } from '../../src/record.js';
import type { Batch } from '../../src/batch.js';
import type { Sink } from '../../src/sinks/sink.js';
import { tempDir } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

const many = (n: number, start = 0): LogRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    type: 'log',
    id: `r${start + i}`,
    ts: 1,
    received_at: 1,
    level: 'info',
    service: null,
    message: 'm',
    attrs: null,
    trace_id: null,
    span_id: null,
    size: 100,
  }));

/** Cut frames on disk right now, read without touching the files. */
function cutsOnDisk(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort()) {
    const buf = readFileSync(join(dir, f));
    for (let off = SEGMENT_HEADER; off < buf.length;) {
      const r = decodeFrame(buf, off);
      if ('error' in r) break;
      if (r.frame.type === FrameType.Cut) out.push(`${r.frame.from}-${r.frame.to}`);
      off = r.next;
    }
  }
  return out;
}

async function pipeline(sink: Sink, opts: { maxRetries?: number } = {}) {
  const d = tempDir('sluice-walp-');
  dirs.push(d.remove);
  const walDir = join(d.path, 'wal');
  const logger = pino({ level: 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  const wal = await WalBuffer.open({
    maxRecords: 1e6,
    maxBytes: 1e12,
    retryAfterSeconds: 1,
    logger,
    metrics,
    wal: { dir: walDir, segmentBytes: 1 << 20, maxBytes: 1 << 26, groupCommitDelayMs: 0 },
  });
  const pool = new WriterPool({
    sink,
    writers: 2,
    queue: 2,
    logger,
    metrics,
    ledger: wal,
    retry: { maxRetries: opts.maxRetries ?? 0, baseDelayMs: 1, maxDelayMs: 2 },
    breaker: { failureThreshold: 100, halfOpenAfterMs: 50 },
    deadLetter: new DeadLetter(join(d.path, 'dead-letter')),
  });
  const batcher = new Batcher(
    wal,
    { maxRecords: 10, maxBytes: 1e9, maxWaitMs: 5 },
    (b) => pool.submit(b),
    () => pool.hasRoom(),
  );
  pool.onRoom(() => batcher.pump());
  return { wal, pool, batcher, walDir, deadLetterFile: join(d.path, 'dead-letter', `${sink.name}.ndjson`) };
}

describe('WAL + batcher + writer pool', () => {
  test('ids come from positions, and each batch reaches the sink only after its cut is durable', async () => {
    let walDir = '';
    const seen: Array<{ id: string; cutOnDisk: boolean; records: string[] }> = [];
    const sink: Sink = {
      name: 'check',
      writeBatch: async (b: Batch) => {
        const range = b.id.split('-').slice(2).join('-');
        seen.push({ id: b.id, cutOnDisk: cutsOnDisk(walDir).includes(range), records: b.records.map((r) => r.id) });
      },
      close: async () => {},
    };
    const p = await pipeline(sink);
    walDir = p.walDir;
    await Promise.all([p.wal.push(many(15), 1500, { timeoutMs: 0 }), p.wal.push(many(7, 15), 700, { timeoutMs: 0 })]);
    // The last two records go out on the batcher's timer: wait until every record reached the sink.
    await waitFor('all 22 records are committed', () => p.pool.stats().committedRecords === 22, 10_000);
    await p.pool.idle();
    assert.deepEqual(
      seen.map((s) => s.id.split('-').slice(2).join('-')),
      ['0-10', '10-20', '20-22'],
    );
    assert.ok(
      seen.every((s) => s.cutOnDisk),
      'cut frame was on disk at write time',
    );
    assert.deepEqual(
      seen.flatMap((s) => s.records),
      many(22).map((r) => r.id),
    );
    assert.equal(p.wal.walStats().unsettledBatches, 0, 'every commit was reported to the buffer');
    await p.wal.shutdown();
  });

  test('a dead-lettered batch is settled too (it left the collector through the dead-letter file)', async () => {
    const sink: Sink = {
      name: 'bad',
      writeBatch: () => Promise.reject(new PermanentSinkError('bad data')),
      close: async () => {},
    };
    const p = await pipeline(sink);
    await p.wal.push(many(5), 500, { timeoutMs: 0 });
    // Every record fails: the batch is narrowed down to its 5 records, each dead-lettered.
    await waitFor('every record is dead-lettered', () => p.pool.stats().deadLetteredBatches === 5, 10_000);
    await p.pool.idle();
    assert.equal(readFileSync(p.deadLetterFile, 'utf8').trim().split('\n').length, 5);
    assert.equal(p.wal.walStats().unsettledBatches, 0);
    await p.wal.shutdown();
  });

  test('at the deadline, batches stay unsettled in the WAL and nothing is dead-lettered', async () => {
    const sink: Sink = {
      name: 'stuck',
      writeBatch: (_b: Batch, signal: AbortSignal) =>
        new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      close: async () => {},
    };
    const p = await pipeline(sink);
    await p.wal.push(many(25), 2500, { timeoutMs: 0 });
    // Two writers are stuck in the sink and the third batch (cut on the batcher's timer) is sealed or queued.
    await waitFor(
      'three batches are cut and two are in the sink',
      () => p.wal.walStats().unsettledBatches === 3 && p.pool.stats().inFlight.length === 2,
      10_000,
    );
    p.batcher.drain();
    p.pool.abortAll('deadline');
    await p.pool.idle();
    assert.equal(p.pool.stats().keptBatches, 3);
    assert.equal(p.pool.stats().deadLetteredBatches, 0);
    assert.equal(existsSync(p.deadLetterFile), false);
    assert.equal(p.wal.walStats().unsettledBatches, 3);
    await p.wal.shutdown();
  });
});
