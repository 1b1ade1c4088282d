// The rows the storage benchmarks write: normalised exactly as Sluice's ingest would normalise
// what the load generator sends, so the sink, the raw COPY and the HTTP runs store the same data.
import { normaliseLog } from '../../src/ingest/normalise.js';
import { bodyBuilder, newRunId } from '../../src/load/records.js';
import { type LogRecord } from '../../src/record.js';
import { nowMicros } from '../../src/timestamp.js';
import { uuidv7 } from '../../src/uuidv7.js';
import type { Batch } from '../../src/batch.js';

export function logRows(n: number, runId = newRunId()): LogRecord[] {
  const builder = bodyBuilder('ndjson', runId, `bench-${runId}`, true);
  const out: LogRecord[] = [];
  const received = nowMicros();
  for (let seq = 0; seq < n; seq += 1000) {
    const lines = builder.build(seq, Math.min(1000, n - seq), Date.now()).split('\n');
    for (const line of lines) {
      if (!line) continue;
      const r = normaliseLog(JSON.parse(line), { line: 0 }, received);
      if (!r.ok) throw new Error(`bench row did not normalise: ${r.problem.message}`);
      out.push(r.record);
    }
  }
  return out;
}

export function batchesOf(rows: readonly LogRecord[], size: number): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += size) {
    const records = rows.slice(i, i + size);
    out.push({
      id: uuidv7(),
      count: records.length,
      records,
      bytes: records.reduce((s, r) => s + r.size, 0),
      createdAt: Date.now(),
      trigger: 'size',
      tickets: [],
      links: [],
    });
  }
  return out;
}
