// Bench row for Elasticsearch _bulk (issue 16): the same records as _bulk NDJSON (create
// actions, ECS documents) and as NDJSON to POST /logs, against one collector (blackhole sink,
// ack memory) in the same run. Alone: `node --import tsx bench/protocols/elasticsearch.ts [--quick]`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, startCollector } from '../lib/child.js';
import { ndjsonBodies, type Measured, type ProtocolRow } from './drive.js';
import { interleaved } from './rounds.js';

const RECORDS_PER_BODY = 100;
const BODIES = 16;
const SERVICES = ['api', 'billing', 'search', 'auth'];
const LEVELS = ['info', 'info', 'info', 'warn', 'error'];

/** One body: the _bulk text and the same records as Sluice's own fields. */
function body(b: number): { bulk: Buffer; plain: object[] } {
  const lines: string[] = [];
  const plain: object[] = [];
  const base = Date.UTC(2026, 11, 2, 10);
  for (let i = 0; i < RECORDS_PER_BODY; i++) {
    const service = SERVICES[(b + i) % SERVICES.length]!;
    const level = LEVELS[i % LEVELS.length]!;
    const ts = new Date(base + b * RECORDS_PER_BODY + i).toISOString();
    const message = `GET /api/v1/orders/${b * 1000 + i} 200 ${(i * 7) % 300}ms user=${i % 50} req=${b}-${i}`;
    lines.push(JSON.stringify({ create: { _index: 'logs-app' } }));
    lines.push(
      JSON.stringify({
        '@timestamp': ts,
        message,
        log: { level },
        service: { name: service },
        host: { name: 'web-1' },
        http: { response: { status_code: 200 } },
      }),
    );
    plain.push({
      ts,
      level,
      service,
      message,
      attrs: { _index: 'logs-app', host: { name: 'web-1' }, http: { response: { status_code: 200 } } },
    });
  }
  return { bulk: Buffer.from(`${lines.join('\n')}\n`), plain };
}

export async function run(opts: { quick: boolean }): Promise<ProtocolRow[]> {
  execFileSync(process.execPath, [resolve(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const seconds = opts.quick ? 2 : 3;
  const built = Array.from({ length: BODIES }, (_, b) => body(b));
  const bulk = built.map((x) => x.bulk);
  const ndjson = ndjsonBodies(built.map((x) => x.plain));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-es-'));
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
    const es = { ...common, path: '/_bulk', headers: { 'content-type': 'application/x-ndjson' }, bodies: bulk };
    await interleaved([nd, es], 1, 0.5);
    const [base, m] = (await interleaved([nd, es], opts.quick ? 1 : 5, seconds)) as [Measured, Measured];
    return [
      {
        protocol: 'Elasticsearch _bulk',
        recordsPerBody: RECORDS_PER_BODY,
        recordsPerSec: m.recordsPerSec,
        ndjsonRecordsPerSec: base.recordsPerSec,
        ratio: m.recordsPerSec / base.recordsPerSec,
        errors: m.errors + base.errors,
        note: `body ${Math.round(avg(bulk))} B vs NDJSON ${Math.round(avg(ndjson))} B`,
      },
    ];
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function avg(bodies: Buffer[]): number {
  return bodies.reduce((a, b) => a + b.length, 0) / bodies.length;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  console.table(await run({ quick: process.argv.includes('--quick') }));
}
