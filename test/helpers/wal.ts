// A WalBuffer on a real directory for tests, as the app would open it (no group-commit delay),
// with the record and batch builders and the metric reader the WAL tests share.
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
  over: {
    segmentBytes?: number;
    maxBytes?: number;
    maxRecords?: number;
    maxWaitingBytes?: number;
    groupCommitDelayMs?: number;
    retryAfterSeconds?: number;
    logger?: Logger;
    holdTuples?: boolean;
  } = {},
): Promise<{ wal: WalBuffer; metrics: Metrics }> {
  const metrics = new Metrics({ defaultMetrics: false });
  const wal = await WalBuffer.open({
    maxRecords: over.maxRecords ?? 1_000_000,
    maxBytes: 1e12,
    retryAfterSeconds: over.retryAfterSeconds ?? 2,
    ...(over.maxWaitingBytes === undefined ? {} : { maxWaitingBytes: over.maxWaitingBytes }),
    wal: {
      dir,
      segmentBytes: over.segmentBytes ?? 1024 * 1024,
      maxBytes: over.maxBytes ?? 64 * 1024 * 1024,
      groupCommitDelayMs: over.groupCommitDelayMs ?? 0,
    },
    logger: over.logger ?? pino({ level: 'silent' }),
    ...(over.holdTuples === undefined ? {} : { holdTuples: over.holdTuples }),
    metrics,
  });
  return { wal, metrics };
}

/** Takes up to `n` records and cuts them as one batch, as the batcher does. */
export function cutBatch(wal: WalBuffer, n: number): Batch {
  const t = wal.take(n, Infinity);
  const id = wal.cut();
  return {
    id,
    count: t.count,
    records: t.records,
    bytes: t.bytes,
    createdAt: 0,
    trigger: 'size',
    tickets: [],
    links: [],
  };
}

/** A counter's value, or a histogram's count (`<name>_count`): 0 before anything was recorded. */
export async function metricCount(metrics: Metrics, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const values = metric.values as Array<{ value: number; metricName?: string }>;
  const count = values.find((v) => v.metricName === `${name}_count`);
  return (count ?? values[0])?.value ?? 0;
}

/** The segment files in `dir`, oldest first. */
export const segments = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.wal'))
    .sort();
