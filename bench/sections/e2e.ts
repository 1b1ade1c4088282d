// Section 2, end to end into PostgreSQL: records through Sluice (defaults, ack durable) counted
// in the database, against the same rows written with raw COPY over as many connections.
import { runLoad } from '../../src/load/run-load.js';
import type { VerifyResult } from '../../src/load/verify.js';
import type { BenchPostgres } from '../lib/postgres.js';
import { encodeTextBatches, rawCopy } from '../lib/raw-copy.js';
import { logRows } from '../lib/rows.js';
import { mdTable, num, ratio, showVerdict, verdict, type Verdict } from '../lib/table.js';
import { loadRunOptions, loadVerified, type BenchContext, type SectionOutput, type Verified } from './context.js';

export interface E2eResult {
  records: number;
  sluiceRecPerSec: number;
  rawCopyRecPerSec: number;
  ratio: number;
  verdict: Verdict;
  e2e: VerifyResult['e2e'];
  e2eMethod: string;
  stored: number;
  missing: number;
  duplicates: number;
  requestP99: number;
  /** Collector CPU per stored record, µs (the verify wait included: the collector is idle then). */
  cpuUsPerRecord: number;
}

async function measureEndToEnd(ctx: BenchContext, pg: BenchPostgres): Promise<E2eResult> {
  const db = await pg.database('e2e');
  const sluice = await ctx.collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': ctx.storageAck });
  let verified: Verified;
  let cpuUsPerRecord = NaN;
  try {
    await runLoad(loadRunOptions(sluice.url, { batch: 100, format: 'ndjson', clients: 16, records: 10_000 }));
    const cpu0 = sluice.cpuSeconds();
    verified = await loadVerified(sluice.url, db, {
      batch: 100,
      format: 'ndjson',
      clients: 16,
      records: ctx.settings.e2eRecords,
    });
    cpuUsPerRecord = ((sluice.cpuSeconds() - cpu0) * 1e6) / Math.max(1, verified.verify.distinct);
  } finally {
    await ctx.stop(sluice);
  }
  const rawDb = await pg.database('e2e_raw');
  const rows = logRows(ctx.settings.e2eRecords);
  const copy = await rawCopy(
    rawDb,
    encodeTextBatches(rows, ctx.defaults.batch.maxRecords),
    rows.length,
    ctx.defaults.writers.count,
  );
  const toCopy = verified.e2eRecordsPerSec / copy.recordsPerSec;
  ctx.log(
    `e2e: sluice ${num(verified.e2eRecordsPerSec)} rec/s, raw COPY ${num(copy.recordsPerSec)} rec/s, ratio ${toCopy.toFixed(2)}`,
  );
  return {
    records: ctx.settings.e2eRecords,
    sluiceRecPerSec: verified.e2eRecordsPerSec,
    rawCopyRecPerSec: copy.recordsPerSec,
    ratio: toCopy,
    verdict: verdict(toCopy, '>=', 0.7),
    e2e: verified.verify.e2e,
    e2eMethod: verified.verify.e2eMethod,
    stored: verified.verify.distinct,
    missing: verified.verify.missing,
    duplicates: verified.verify.duplicates,
    requestP99: verified.load.latency.p99,
    cpuUsPerRecord,
  };
}

export async function e2eSection(ctx: BenchContext, pg: BenchPostgres): Promise<SectionOutput<E2eResult>> {
  const result = await measureEndToEnd(ctx, pg);
  return { result, markdown: e2eMarkdown(ctx, result) };
}

export function e2eMarkdown(ctx: BenchContext, result: E2eResult): string {
  const out: string[] = [];
  out.push(
    '## 2. End to end into PostgreSQL vs raw COPY',
    '',
    `${result.records} records in 100-record NDJSON requests (16 clients) through Sluice (defaults: batch ${ctx.defaults.batch.maxRecords}, ${ctx.defaults.writers.count} writers, binary COPY, ack ${ctx.storageAck}) into PostgreSQL; ` +
      `throughput = records stored / (first request → last commit). Baseline: the same rows pre-encoded as COPY text, ${ctx.defaults.batch.maxRecords} per transaction over ${ctx.defaults.writers.count} connections, into a fresh database of the same schema.`,
    '',
    mdTable(
      [
        'Sluice rec/s',
        'raw COPY rec/s',
        'ratio',
        'target',
        'e2e p50',
        'e2e p95',
        'e2e p99',
        'stored / missing / duplicates',
        'collector CPU / record',
      ],
      [
        [
          num(result.sluiceRecPerSec),
          num(result.rawCopyRecPerSec),
          ratio(result.ratio),
          showVerdict(result.verdict),
          `${num(result.e2e.p50)} ms`,
          `${num(result.e2e.p95)} ms`,
          `${num(result.e2e.p99)} ms`,
          `${result.stored} / ${result.missing} / ${result.duplicates}`,
          `${num(result.cpuUsPerRecord)} µs`,
        ],
      ],
    ),
    '',
    `End-to-end latency: record \`ts\` (stamped by the client just before sending) → commit of the row's transaction (\`pg_xact_commit_timestamp\`, the server runs with track_commit_timestamp=on; method: ${result.e2eMethod}).`,
    '',
  );
  return out.join('\n');
}
