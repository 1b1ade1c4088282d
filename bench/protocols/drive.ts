// Shared driver for the per-protocol rows of the bench (issue 16): posts pre-built bodies of one
// protocol to a running collector as fast as `connections` clients can for `seconds`, and counts
// records/s accepted. Each protocol's file (bench/protocols/<name>.ts) builds its bodies and the
// NDJSON bodies of the same records, runs both through `measure` against the same collector (a
// blackhole sink) in the same run, and returns a ProtocolRow.
import { Pool } from 'undici';

export interface ProtocolRow {
  /** e.g. "OTLP/HTTP protobuf", "Loki push (snappy protobuf)", "Elasticsearch _bulk". */
  protocol: string;
  recordsPerBody: number;
  recordsPerSec: number;
  /** The same records as NDJSON to `POST /logs`, same collector, same run. */
  ndjsonRecordsPerSec: number;
  /** recordsPerSec / ndjsonRecordsPerSec. */
  ratio: number;
  /** Non-2xx answers seen while measuring (should be 0). */
  errors: number;
  note?: string;
}

export interface MeasureOptions {
  /** Base URL of the collector, e.g. http://127.0.0.1:4000. */
  url: string;
  path: string;
  headers: Record<string, string>;
  /** Bodies sent round-robin; each holds `recordsPerBody` records. */
  bodies: readonly Buffer[];
  recordsPerBody: number;
  seconds: number;
  connections?: number;
}

export interface Measured {
  recordsPerSec: number;
  requests: number;
  errors: number;
}

export async function measure(o: MeasureOptions): Promise<Measured> {
  const connections = o.connections ?? 16;
  const pool = new Pool(o.url, { connections, pipelining: 1 });
  const until = Date.now() + o.seconds * 1000;
  let requests = 0;
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const client = async (): Promise<void> => {
    while (Date.now() < until) {
      const body = o.bodies[next++ % o.bodies.length]!;
      const res = await pool.request({ method: 'POST', path: o.path, headers: o.headers, body });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) requests++;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  return { recordsPerSec: (requests * o.recordsPerBody) / elapsed, requests, errors };
}

/** NDJSON bodies of the given plain records, for the baseline of a protocol's row. */
export function ndjsonBodies(records: readonly object[][]): Buffer[] {
  return records.map((rs) => Buffer.from(rs.map((r) => JSON.stringify(r)).join('\n') + '\n'));
}
