// Micro-benchmarks of the hot path, in process with tinybench: NDJSON parse + normalise of a
// 100-record body, the buffer → batcher hand-off, and COPY encoding (binary vs text) of a
// 2000-record batch. Reported per record, so the stages can be compared with each other.
import { Bench } from 'tinybench';
import { normaliseLog } from '../../src/ingest/normalise.js';
import { parseBody } from '../../src/ingest/parse-body.js';
import { bodyBuilder } from '../../src/load/records.js';
import { Batcher } from '../../src/pipeline/batcher.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import { nowMicros } from '../../src/timestamp.js';
import { encodeBinary, encodeText } from '../../src/sinks/postgres/copy-encode.js';
import { logRows } from './rows.js';

export interface MicroResult {
  name: string;
  recordsPerOp: number;
  opsPerSec: number;
  nsPerRecord: number;
  recordsPerSec: number;
}

export async function runMicro(quick: boolean): Promise<MicroResult[]> {
  const body = Buffer.from(bodyBuilder('ndjson', 'micro', 'bench-micro', true).build(0, 100, Date.now()));
  const rows = logRows(2000, 'micro');
  const chunk = rows.slice(0, 100);
  const chunkBytes = chunk.reduce((s, r) => s + r.size, 0);
  const buffer = new MemoryBuffer({ maxRecords: 1_000_000, maxBytes: 1 << 30, retryAfterSeconds: 1 });
  let emitted = 0;
  const batcher = new Batcher(
    buffer,
    { maxRecords: 2000, maxBytes: 64 << 20, maxWaitMs: 1000 },
    (b) => (emitted += b.records.length),
    () => true,
  );
  void batcher;
  let sink = 0;

  const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: quick ? 100 : 300 });
  const per: Record<string, number> = {
    'NDJSON parse + normalise (100-record body)': 100,
    'buffer push → batcher (20 × 100 records → one 2000-record batch)': 2000,
    'COPY encode, binary (2000 records)': 2000,
    'COPY encode, text (2000 records)': 2000,
  };
  bench
    .add('NDJSON parse + normalise (100-record body)', () => {
      sink += parseBody(body, true, nowMicros(), normaliseLog).records.length;
    })
    .add('buffer push → batcher (20 × 100 records → one 2000-record batch)', async () => {
      // The buffer has room, so every push resolves at once; the batcher cuts by size.
      for (let i = 0; i < 20; i++) await buffer.push(chunk, chunkBytes, { timeoutMs: 0 });
    })
    .add('COPY encode, binary (2000 records)', () => {
      sink += encodeBinary(rows, 600_000).length;
    })
    .add('COPY encode, text (2000 records)', () => {
      sink += encodeText(rows).length;
    });
  await bench.run();
  if (sink < 0 || emitted < 0) throw new Error('unreachable');
  batcher.drain();
  return bench.tasks.map((t) => {
    const meanMs = t.result?.latency.mean ?? NaN;
    const recordsPerOp = per[t.name] ?? 1;
    const opsPerSec = 1000 / meanMs;
    return {
      name: t.name,
      recordsPerOp,
      opsPerSec,
      nsPerRecord: (meanMs * 1e6) / recordsPerOp,
      recordsPerSec: opsPerSec * recordsPerOp,
    };
  });
}
