// Records, batches and a line reader shared by the file sink's unit and system tests.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthRecord, LogRecord, SluiceRecord } from '../../src/record.js';
import type { Batch } from '../../src/batch.js';

export const log = (i: number): LogRecord => ({
  type: 'log',
  id: `l${i}`,
  ts: 1_790_000_000_000_000 + i,
  received_at: 1_790_000_000_000_000,
  level: 'info',
  service: 'svc',
  message: `m${i}`,
  attrs: '{"k":1}',
  trace_id: null,
  span_id: null,
  size: 100,
});
export const ping = (i: number): HealthRecord => ({
  type: 'health',
  id: `h${i}`,
  ts: 1_790_000_000_000_000,
  received_at: 1_790_000_000_000_000,
  service: 'db',
  status: 'up',
  latency_ms: 3,
  message: null,
  attrs: null,
  size: 100,
});
export const batch = (records: SluiceRecord[]): Batch => ({
  id: 'b',
  count: records.length,
  records,
  bytes: 0,
  createdAt: 0,
  trigger: 'size',
  tickets: [],
  links: [],
});

export function many(n: number, first: number): LogRecord[] {
  return Array.from({ length: n }, (_, i) => log(first + i));
}

/** Ids of the lines in the files named `prefix…` (in name order), and how many lines do not parse. */
export function linesIn(dir: string, prefix: string): { ids: string[]; torn: number } {
  const ids: string[] = [];
  let torn = 0;
  for (const f of readdirSync(dir)
    .filter((n) => n.startsWith(prefix))
    .sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) torn++;
    for (const line of text.split('\n').filter((l) => l.length > 0)) {
      try {
        ids.push((JSON.parse(line) as { id: string }).id);
      } catch {
        torn++;
      }
    }
  }
  return { ids, torn };
}
