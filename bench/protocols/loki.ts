// Bench rows for the Loki push API (issue 16): the same records as snappy protobuf, as Loki
// JSON, and as NDJSON to POST /logs, against one collector (blackhole sink, ack memory) in the
// same run. Alone: `node --import tsx bench/protocols/loki.ts [--quick]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, startCollector } from '../lib/child.js';
import { pushJson, pushProto, type PushStream } from '../../test/helpers/loki-push.js';
import { ndjsonBodies, type Measured, type ProtocolRow } from './drive.js';
import { interleaved } from './rounds.js';

const RECORDS_PER_BODY = 100;
const BODIES = 16;
const SERVICES = ['api', 'billing', 'search', 'auth'];
const LEVELS = ['info', 'info', 'info', 'warn', 'error'];

/** One body's records: a few streams (service × level), lines like a web service's. */
function bodyStreams(b: number): { streams: PushStream[]; plain: object[] } {
  const streams = new Map<string, PushStream>();
  const plain: object[] = [];
  const baseNs = BigInt(Date.UTC(2026, 11, 2, 10)) * 1_000_000n;
  for (let i = 0; i < RECORDS_PER_BODY; i++) {
    const service = SERVICES[(b + i) % SERVICES.length]!;
    const level = LEVELS[i % LEVELS.length]!;
    const ns = (baseNs + BigInt(b * RECORDS_PER_BODY + i) * 1_000_000n).toString();
    const line = `GET /api/v1/orders/${b * 1000 + i} 200 ${(i * 7) % 300}ms user=${i % 50} req=${b}-${i}`;
    const key = `${service}/${level}`;
    let s = streams.get(key);
    if (!s)
      streams.set(
        key,
        (s = {
          labels: [
            ['service_name', service],
            ['env', 'prod'],
            ['level', level],
          ],
          entries: [],
        }),
      );
    s.entries.push({ ns, line });
    plain.push({ ts: ns, level, service, message: line, attrs: { service_name: service, env: 'prod', level } });
  }
  return { streams: [...streams.values()], plain };
}

export async function run(opts: { quick: boolean }): Promise<ProtocolRow[]> {
  execFileSync(process.execPath, [resolve(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const seconds = opts.quick ? 2 : 3;
  const built = Array.from({ length: BODIES }, (_, b) => bodyStreams(b));
  const proto = built.map((x) => pushProto(x.streams));
  const json = built.map((x) => pushJson(x.streams));
  const ndjson = ndjsonBodies(built.map((x) => x.plain));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-loki-'));
  const c = await startCollector(
    {
      'sink.kind': 'blackhole',
      'ingest.ack': 'memory',
      'deadLetter.dir': join(dir, 'dl'),
      'file.dir': join(dir, 'logs'),
    },
    dir,
  );
  try {
    const common = { url: c.url, recordsPerBody: RECORDS_PER_BODY };
    const nd = { ...common, path: '/logs', headers: { 'content-type': 'application/x-ndjson' }, bodies: ndjson };
    const lp = {
      ...common,
      path: '/loki/api/v1/push',
      headers: { 'content-type': 'application/x-protobuf' },
      bodies: proto,
    };
    const lj = { ...common, path: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, bodies: json };
    // A warm-up round, so the first measured path does not pay for the JIT alone.
    await interleaved([nd, lp, lj], 1, 0.5);
    const [base, p, j] = (await interleaved([nd, lp, lj], opts.quick ? 1 : 5, seconds)) as [
      Measured,
      Measured,
      Measured,
    ];
    const row = (protocol: string, m: Measured, bodies: Buffer[], ndjsonBytes: number): ProtocolRow => ({
      protocol,
      recordsPerBody: RECORDS_PER_BODY,
      recordsPerSec: m.recordsPerSec,
      ndjsonRecordsPerSec: base.recordsPerSec,
      ratio: m.recordsPerSec / base.recordsPerSec,
      errors: m.errors + base.errors,
      note: `body ${Math.round(avg(bodies))} B vs NDJSON ${Math.round(ndjsonBytes)} B`,
    });
    const ndBytes = avg(ndjson);
    return [row('Loki push (snappy protobuf)', p, proto, ndBytes), row('Loki push (JSON)', j, json, ndBytes)];
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function avg(bodies: Buffer[]): number {
  return bodies.reduce((a, b) => a + b.length, 0) / bodies.length;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const rows = await run({ quick: process.argv.includes('--quick') });
  console.table(rows);
}
