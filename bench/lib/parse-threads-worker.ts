// Worker side of bench/parse-threads.ts: parses and normalises the NDJSON bodies it is sent and
// answers with the records (structured clone), or with their COPY tuples (transferred bytes)
// and the little the main thread needs beside them, or with the records' fields as columns. Also reports its own thread's CPU time.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { normaliseLog } from '../../src/ingest/normalise.js';
import { parseBody } from '../../src/ingest/parse-body.js';
import { BinaryWriter, encodeTuple } from '../../src/sinks/postgres/copy-encode.js';
import type { LogRecord } from '../../src/record.js';

export interface ParseJob {
  id: number;
  body: Uint8Array;
  receivedAt: number;
  answer: 'records' | 'tuples' | 'columns';
}

/** LogRecords as one array per field: fewer objects for the structured clone to walk. */
export interface Columns {
  id: string[];
  ts: Float64Array;
  receivedAt: Float64Array;
  level: string[];
  service: Array<string | null>;
  message: Array<string | null>;
  attrs: Array<string | null>;
  traceId: Array<string | null>;
  spanId: Array<string | null>;
  size: Float64Array;
}

function columnsOf(rs: readonly LogRecord[]): Columns {
  const n = rs.length;
  const c: Columns = {
    id: new Array<string>(n),
    ts: new Float64Array(n),
    receivedAt: new Float64Array(n),
    level: new Array<string>(n),
    service: new Array<string | null>(n),
    message: new Array<string | null>(n),
    attrs: new Array<string | null>(n),
    traceId: new Array<string | null>(n),
    spanId: new Array<string | null>(n),
    size: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = rs[i]!;
    c.id[i] = r.id;
    c.ts[i] = r.ts;
    c.receivedAt[i] = r.received_at;
    c.level[i] = r.level;
    c.service[i] = r.service;
    c.message[i] = r.message;
    c.attrs[i] = r.attrs;
    c.traceId[i] = r.trace_id;
    c.spanId[i] = r.span_id;
    c.size[i] = r.size;
  }
  return c;
}

const port = parentPort!;
const writer = new BinaryWriter(64 * 1024);

port.on('message', (m: ParseJob | 'cpu') => {
  if (m === 'cpu') {
    // Nanoseconds this thread has run on a CPU (first field of schedstat).
    port.postMessage({ cpuNs: Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) });
    return;
  }
  const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  try {
    const parsed = parseBody(body, true, m.receivedAt, normaliseLog);
    if (m.answer === 'records') {
      port.postMessage({ id: m.id, records: parsed.records, bytes: parsed.bytes });
      return;
    }
    if (m.answer === 'columns') {
      port.postMessage({ id: m.id, columns: columnsOf(parsed.records as LogRecord[]), bytes: parsed.bytes });
      return;
    }
    const n = parsed.records.length;
    const offsets = new Uint32Array(n + 1);
    const sizes = new Uint32Array(n);
    writer.off = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = writer.off;
      encodeTuple(writer, parsed.records[i]!);
      sizes[i] = parsed.records[i]!.size;
    }
    offsets[n] = writer.off;
    // A fresh ArrayBuffer of the exact size, so it can be transferred rather than copied.
    const tuples = new Uint8Array(writer.off);
    tuples.set(writer.buf.subarray(0, writer.off));
    port.postMessage({ id: m.id, tuples, offsets, sizes, bytes: parsed.bytes }, [
      tuples.buffer,
      offsets.buffer,
      sizes.buffer,
    ]);
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
  }
});
