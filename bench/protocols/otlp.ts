// Bench rows for OTLP (issue 16): records/s into a blackhole collector over OTLP/HTTP protobuf,
// OTLP/HTTP JSON and OTLP/gRPC, against the same records as NDJSON to POST /logs in the same run
// (measured before and after the OTLP rows, averaged, so drift on a shared machine cancels out).
// Also the in-process cost per record of decoding + mapping (readExport) next to parsing the
// NDJSON (parseBody), which is where the protocols differ. Alone:
// node --import tsx bench/protocols/otlp.ts [--quick]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { encodeExportRequest } from '../../src/ingest/otlp/codec.js';
import { EXPORT_PATH } from '../../src/ingest/otlp/grpc-server.js';
import { readExport } from '../../src/ingest/otlp/read-export.js';
import { normaliseLog } from '../../src/ingest/normalise.js';
import { UNLIMITED, parseBody } from '../../src/ingest/parse-body.js';
import { freePort } from '../../src/postgres/embedded.js';
import { ROOT, startCollector } from '../lib/child.js';
import { measure, ndjsonBodies, type Measured, type ProtocolRow } from './drive.js';

const RECORDS_PER_BODY = 100;
const BODIES = 40;
const CONNECTIONS = 16;

interface Plain {
  ts: string;
  level: string;
  service: string;
  message: string;
  attrs: Record<string, unknown>;
  trace_id: string;
  span_id: string;
}

const SEVERITY: Record<string, number> = { debug: 5, info: 9, warn: 13, error: 17 };
const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0').slice(-len);

/** One body's records in Sluice's own form; the OTLP bodies below carry exactly these. */
function plainRecords(body: number): Plain[] {
  return Array.from({ length: RECORDS_PER_BODY }, (_, i) => {
    const n = body * RECORDS_PER_BODY + i;
    return {
      ts: new Date(Date.UTC(2026, 11, 2, 12, 0, 0, n % 1000)).toISOString(),
      level: ['debug', 'info', 'warn', 'error'][n % 4]!,
      service: `svc-${n % 5}`,
      message: `GET /api/orders/${n} answered ${200 + (n % 3)} in ${n % 97} ms`,
      attrs: { 'http.route': '/api/orders/:id', 'http.status_code': 200 + (n % 3), user: `u${n % 1000}` },
      trace_id: hex(n + 1, 32),
      span_id: hex(n + 1, 16),
    };
  });
}

/** OTLP/JSON form of the records: one ResourceLogs per service, as an SDK would send them. */
function otlpRequest(records: Plain[]): object {
  const byService = new Map<string, Plain[]>();
  for (const r of records) byService.set(r.service, [...(byService.get(r.service) ?? []), r]);
  return {
    resourceLogs: [...byService].map(([service, rs]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeLogs: [
        {
          scope: { name: 'bench' },
          logRecords: rs.map((r) => ({
            timeUnixNano: `${Date.parse(r.ts)}000000`,
            severityNumber: SEVERITY[r.level],
            body: { stringValue: r.message },
            traceId: r.trace_id,
            spanId: r.span_id,
            attributes: Object.entries(r.attrs).map(([key, v]) => ({
              key,
              value: typeof v === 'number' ? { intValue: v } : { stringValue: String(v) },
            })),
          })),
        },
      ],
    })),
  };
}

/** Unary Export calls from `connections` loops over a few HTTP/2 channels, for `seconds`. */
async function measureGrpc(port: number, bodies: readonly Buffer[], seconds: number): Promise<Measured> {
  const clients = Array.from({ length: 4 }, () => new Client(`127.0.0.1:${port}`, credentials.createInsecure()));
  const until = Date.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const loop = async (c: number): Promise<void> => {
    const client = clients[c % clients.length]!;
    while (Date.now() < until) {
      const body = bodies[next++ % bodies.length]!;
      const ok = await new Promise<boolean>((resolve) =>
        client.makeUnaryRequest(
          EXPORT_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          new Metadata(),
          (err) => resolve(!err),
        ),
      );
      if (ok) requests++;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => loop(c)));
  const elapsed = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return { recordsPerSec: (requests * RECORDS_PER_BODY) / elapsed, requests, errors };
}

/** µs per record to turn a body into records in this process (median of a few rounds). */
function inProcessMicros(fn: (body: Buffer) => void, bodies: readonly Buffer[], rounds: number): number {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const b of bodies) fn(b);
    times.push(((performance.now() - t0) * 1000) / (bodies.length * RECORDS_PER_BODY));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

export async function run(opts: { quick: boolean }): Promise<ProtocolRow[]> {
  const seconds = opts.quick ? 3 : 10;
  const plain = Array.from({ length: BODIES }, (_, b) => plainRecords(b));
  const ndjson = ndjsonBodies(plain);
  const requests = plain.map(otlpRequest);
  const proto = requests.map((r) => encodeExportRequest(r));
  const json = requests.map((r) => Buffer.from(JSON.stringify(r)));

  const cost = {
    ndjson: inProcessMicros((b) => parseBody(b, true, 0, normaliseLog), ndjson, 9),
    proto: inProcessMicros((b) => readExport(b, 'protobuf', 0, UNLIMITED), proto, 9),
    json: inProcessMicros((b) => readExport(b, 'json', 0, UNLIMITED), json, 9),
  };

  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-otlp-'));
  const grpcPort = await freePort();
  const collector = await startCollector(
    {
      'sink.kind': 'blackhole',
      'ingest.ack': 'memory',
      'otlp.grpcPort': grpcPort,
      'otlp.grpcHost': '127.0.0.1',
      'deadLetter.dir': join(dir, 'dead-letter'),
      'wal.dir': join(dir, 'wal'),
    },
    dir,
  );
  try {
    // The collector's own CPU per record accepted, apart from the client's (which shares the machine).
    const cpuPerRecord = new Map<Measured, number>();
    const withCpu = async (run: () => Promise<Measured>): Promise<Measured> => {
      const cpu0 = collector.cpuSeconds();
      const m = await run();
      cpuPerRecord.set(m, ((collector.cpuSeconds() - cpu0) * 1e6) / Math.max(1, m.requests * RECORDS_PER_BODY));
      return m;
    };
    const http = (path: string, contentType: string, bodies: Buffer[]): Promise<Measured> =>
      withCpu(() =>
        measure({
          url: collector.url,
          path,
          headers: { 'content-type': contentType },
          bodies,
          recordsPerBody: RECORDS_PER_BODY,
          seconds,
          connections: CONNECTIONS,
        }),
      );
    // Warm-up (JIT, connections), not counted.
    await http('/logs', 'application/x-ndjson', ndjson.slice(0, 4));
    await http('/v1/logs', 'application/x-protobuf', proto.slice(0, 4));
    const ndjsonBefore = await http('/logs', 'application/x-ndjson', ndjson);
    const protoRate = await http('/v1/logs', 'application/x-protobuf', proto);
    const jsonRate = await http('/v1/logs', 'application/json', json);
    const grpcRate = await withCpu(() => measureGrpc(grpcPort, proto, seconds));
    const ndjsonAfter = await http('/logs', 'application/x-ndjson', ndjson);
    const base = (ndjsonBefore.recordsPerSec + ndjsonAfter.recordsPerSec) / 2;
    const ndjsonCpu = (cpuPerRecord.get(ndjsonBefore)! + cpuPerRecord.get(ndjsonAfter)!) / 2;
    const row = (protocol: string, m: Measured, note: string): ProtocolRow => ({
      protocol,
      recordsPerBody: RECORDS_PER_BODY,
      recordsPerSec: Math.round(m.recordsPerSec),
      ndjsonRecordsPerSec: Math.round(base),
      ratio: m.recordsPerSec / base,
      errors: m.errors + ndjsonBefore.errors + ndjsonAfter.errors,
      note:
        `collector CPU ${cpuPerRecord.get(m)!.toFixed(1)} µs/record vs NDJSON ${ndjsonCpu.toFixed(1)}; ` +
        `NDJSON before/after ${Math.round(ndjsonBefore.recordsPerSec)}/${Math.round(ndjsonAfter.recordsPerSec)} records/s; ${note}`,
    });
    const ndjsonNote = `NDJSON parse ${cost.ndjson.toFixed(2)} µs/record in process`;
    return [
      row('OTLP/HTTP protobuf', protoRate, `decode+map ${cost.proto.toFixed(2)} µs/record in process; ${ndjsonNote}`),
      row('OTLP/HTTP JSON', jsonRate, `decode+map ${cost.json.toFixed(2)} µs/record in process; ${ndjsonNote}`),
      row(
        'OTLP/gRPC',
        grpcRate,
        `@grpc/grpc-js client, 4 channels, ${CONNECTIONS} calls in flight; same bodies as protobuf`,
      ),
    ];
  } finally {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  const rows = await run({ quick: process.argv.includes('--quick') });
  console.table(
    rows.map((r) => ({
      protocol: r.protocol,
      'records/s': r.recordsPerSec,
      'NDJSON records/s': r.ndjsonRecordsPerSec,
      ratio: r.ratio.toFixed(2),
      errors: r.errors,
    })),
  );
  for (const r of rows) console.log(`${r.protocol}: ${r.note}`);
}
