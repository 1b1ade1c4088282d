// A WalBuffer on a real directory for tests, as the app would open it (no group-commit delay),
// with the record and batch builders the WAL tests share.
import { readdirSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { Metrics } from '../../src/observability/metrics.js';
import { WalBuffer } from '../../src/pipeline/wal/wal-buffer.js';
import type { LogRecord } from '../../src/record.js';
import type { Batch } from '../../src/batch.js';

export const rec = (i: number, size = 100): LogRecord => ({
  type: 'log',
  id: `r${i}`,
  ts: 1_700_000_000_000_000,
  received_at: 1_700_000_000_000_000,
  level: 'info',
  service: 's',
  message: `message ${i}`,
  attrs: null,
  trace_id: null,
  span_id: null,
  size,
});
export const many = (n: number, start = 0): LogRecord[] => Array.from({ length: n }, (_, i) => rec(start + i));

export async function openWal(
  dir: string,
  over: { segmentBytes?: number; maxBytes?: number; maxRecords?: number; logger?: Logger } = {},
): Promise<{ wal: WalBuffer; metrics: Metrics }> {
  const metrics = new Metrics({ defaultMetrics: false });
  const wal = await WalBuffer.open({
    maxRecords: over.maxRecords ?? 1_000_000,
    maxBytes: 1e12,
    retryAfterSeconds: 2,
    wal: {
      dir,
      segmentBytes: over.segmentBytes ?? 1024 * 1024,
      maxBytes: over.maxBytes ?? 64 * 1024 * 1024,
      groupCommitDelayMs: 0,
    },
    logger: over.logger ?? pino({ level: 'silent' }),
    metrics,
  });
  return { wal, metrics };
}

/** Takes up to `n` records and cuts them as one batch, as the batcher does. */
export function cutBatch(wal: WalBuffer, n: number): Batch {
  const t = wal.take(n, Infinity);
  const id = wal.cut();
  return { id, records: t.records, bytes: t.bytes, createdAt: 0, trigger: 'size', tickets: [], links: [] };
}

/** The segment files in `dir`, oldest first. */
export const segments = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.wal'))
    .sort();
