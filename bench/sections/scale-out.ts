// Scale-out (docs/scale-out.md): records stored per second and end-to-end p95 with 1 or 2
// ingest nodes and 1, 2 or 4 writer nodes through one JetStream server on loopback, beside
// the single process (role all) measured in the same run. Every process shares this
// machine's cores, so more nodes here show the cost of the hop and how the work spreads, not
// what more machines would give; the capacity plan in docs/scale-out.md multiplies per-node
// rates instead.
import { join } from 'node:path';
import { runLoad } from '../../src/load/run-load.js';
import type { VerifyResult } from '../../src/load/verify.js';
import { createStream, natsServerInstalled, startNatsCluster } from '../../test/helpers/nats-cluster.js';
import type { Child } from '../lib/child.js';
import type { BenchPostgres } from '../lib/postgres.js';
import { mdTable, num, ratio } from '../lib/table.js';
import { loadRunOptions, loadVerified, type BenchContext, type SectionOutput } from './context.js';

export interface ScaleOutRow {
  ingestNodes: number;
  writerNodes: number;
  /** 0 × 0: the single process. */
  recPerSec: number;
  e2eP95Ms: number;
  stored: number;
  missing: number;
  duplicates: number;
  /** Against the single process of this run. */
  ratio: number;
}

export interface ScaleOutResult {
  records: number;
  rows: ScaleOutRow[];
}

/**
 * An ingest node answers once its batch is in JetStream, so a client waits for the batch to be
 * cut: with the default batch.maxWaitMs (200) closed-loop clients would measure that wait, not
 * the nodes. Ingest nodes run with a short wait and more clients keep them busy.
 */
const CLIENTS = 64;
const INGEST_BATCH_WAIT_MS = 20;

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [1, 2],
  [1, 4],
  [2, 2],
  [2, 4],
];

/**
 * Splits the load over the ingest nodes (one load run each, at once) and sums what was stored,
 * after a warm-up of a quarter as many records (every process's JIT, the stream's first files).
 */
async function measure(
  urls: string[],
  db: string,
  records: number,
): Promise<Omit<ScaleOutRow, 'ingestNodes' | 'writerNodes' | 'ratio'>> {
  await Promise.all(
    urls.map((url) =>
      runLoad(
        loadRunOptions(url, {
          batch: 100,
          format: 'ndjson',
          clients: Math.max(1, Math.floor(CLIENTS / urls.length)),
          records: Math.floor(records / 4 / urls.length),
        }),
      ),
    ),
  );
  const runs = await Promise.all(
    urls.map((url) =>
      loadVerified(url, db, {
        batch: 100,
        format: 'ndjson',
        clients: Math.max(1, Math.floor(CLIENTS / urls.length)),
        records: Math.floor(records / urls.length),
      }),
    ),
  );
  const sum = (f: (v: VerifyResult) => number): number => runs.reduce((n, r) => n + f(r.verify), 0);
  return {
    recPerSec: runs.reduce((n, r) => n + r.e2eRecordsPerSec, 0),
    e2eP95Ms: Math.max(...runs.map((r) => r.verify.e2e.p95)),
    stored: sum((v) => v.distinct),
    missing: sum((v) => v.missing),
    duplicates: sum((v) => v.duplicates),
  };
}

export async function scaleOutSection(ctx: BenchContext, pg: BenchPostgres): Promise<SectionOutput<ScaleOutResult>> {
  if (!natsServerInstalled()) throw new Error('nats-server is not installed (Debian package nats-server)');
  const records = ctx.quick ? 20_000 : 100_000;
  const rows: ScaleOutRow[] = [];
  // The single process first: the figure every row is compared with.
  {
    const db = await pg.database('scale_single');
    const single = await ctx.collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': ctx.storageAck });
    try {
      rows.push({ ingestNodes: 0, writerNodes: 0, ratio: 1, ...(await measure([single.url], db, records)) });
    } finally {
      await ctx.stop(single);
    }
  }
  const nats = await startNatsCluster(1, join(ctx.workDir, 'nats'));
  try {
    for (const [ingestNodes, writerNodes] of SHAPES) {
      const tag = `${ingestNodes}x${writerNodes}`;
      const stream = `BENCH_${tag}`;
      const subject = `bench${tag}`;
      await createStream(nats.servers, stream, subject, 1);
      const db = await pg.database(`scale_${tag}`);
      const common = { 'nats.servers': nats.servers, 'nats.stream': stream, 'nats.subject': subject };
      const nodes: Child[] = [];
      try {
        for (let w = 0; w < writerNodes; w++)
          nodes.push(
            await ctx.collector({ ...common, 'server.role': 'writer', 'sink.kind': 'postgres', 'postgres.url': db }),
          );
        const ingest: Child[] = [];
        for (let i = 0; i < ingestNodes; i++)
          ingest.push(
            await ctx.collector({ ...common, 'server.role': 'ingest', 'batch.maxWaitMs': INGEST_BATCH_WAIT_MS }),
          );
        nodes.push(...ingest);
        const m = await measure(
          ingest.map((c) => c.url),
          db,
          records,
        );
        rows.push({ ingestNodes, writerNodes, ...m, ratio: m.recPerSec / rows[0]!.recPerSec });
        ctx.log(`scale-out ${tag}: ${num(m.recPerSec)} rec/s, e2e p95 ${num(m.e2eP95Ms)} ms`);
      } finally {
        for (const c of nodes) await ctx.stop(c);
      }
    }
  } finally {
    await nats.stop();
  }
  return { result: { records, rows }, markdown: scaleOutMarkdown(ctx, { records, rows }) };
}

function scaleOutMarkdown(ctx: BenchContext, r: ScaleOutResult): string {
  return [
    '## Scale-out: ingest and writer roles through JetStream',
    '',
    `${r.records} records (after a warm-up of a quarter as many) in 100-record NDJSON requests (${CLIENTS} clients, split over the ingest nodes) into PostgreSQL, ` +
      `through one JetStream server (file store, replicas 1) on loopback; each node a collector process with the ` +
      `defaults (batch ${ctx.defaults.batch.maxRecords}, ${ctx.defaults.writers.count} writers per writer node), except ` +
      `batch.maxWaitMs ${INGEST_BATCH_WAIT_MS} on ingest nodes (a client there waits for its batch to be cut and acked). ` +
      `Throughput = records stored / (first request → last commit); baseline: the single process (role all, ack ${ctx.storageAck}) in the same run. ` +
      "All processes share this machine's cores: the rows show the cost of the hop and how work spreads, not what more machines add (see docs/scale-out.md).",
    '',
    mdTable(
      ['ingest nodes', 'writer nodes', 'rec/s stored', 'vs single process', 'e2e p95', 'stored / missing / duplicates'],
      r.rows.map((row) => [
        row.ingestNodes === 0 ? 'single process' : String(row.ingestNodes),
        row.writerNodes === 0 ? '—' : String(row.writerNodes),
        num(row.recPerSec),
        ratio(row.ratio),
        `${num(row.e2eP95Ms)} ms`,
        `${row.stored} / ${row.missing} / ${row.duplicates}`,
      ]),
    ),
    '',
  ].join('\n');
}
