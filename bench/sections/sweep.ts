// Section 3, batch size × writers: end-to-end throughput and latency over a grid around the
// defaults, and a sentence on why the default sits where it does.
import type { BenchPostgres } from '../lib/postgres.js';
import { mdTable, num, pct } from '../lib/table.js';
import { loadVerified, type BenchContext, type SectionOutput } from './context.js';

export interface SweepResult {
  rows: SweepRow[];
  /** Why the default sits where it does in this grid. */
  reason: string;
}

export interface SweepRow {
  batch: number;
  writers: number;
  recPerSec: number;
  e2eP95: number;
  e2eP50: number;
  missing: number;
  isDefault: boolean;
}

async function measureSweep(ctx: BenchContext, pg: BenchPostgres): Promise<SweepResult> {
  const rows: SweepRow[] = [];
  for (const batch of ctx.settings.sweepBatch) {
    for (const writers of ctx.settings.sweepWriters) {
      const db = await pg.database(`sweep_${batch}_${writers}`);
      const sluice = await ctx.collector({
        'sink.kind': 'postgres',
        'postgres.url': db,
        'ingest.ack': ctx.storageAck,
        'batch.maxRecords': batch,
        'writers.count': writers,
      });
      try {
        const verified = await loadVerified(sluice.url, db, {
          batch: 100,
          format: 'ndjson',
          clients: 16,
          records: ctx.settings.sweepRecords,
        });
        rows.push({
          batch,
          writers,
          recPerSec: verified.e2eRecordsPerSec,
          e2eP95: verified.verify.e2e.p95,
          e2eP50: verified.verify.e2e.p50,
          missing: verified.verify.missing,
          isDefault: batch === ctx.defaults.batch.maxRecords && writers === ctx.defaults.writers.count,
        });
        ctx.log(
          `sweep batch ${batch} × writers ${writers}: ${num(verified.e2eRecordsPerSec)} rec/s, p95 ${num(verified.verify.e2e.p95)} ms`,
        );
      } finally {
        await ctx.stop(sluice);
      }
    }
  }
  const best = rows.reduce((a, b) => (b.recPerSec > a.recPerSec ? b : a));
  const atDefault = rows.find((r) => r.isDefault);
  const lowestP95 = rows.reduce((a, b) => (b.e2eP95 < a.e2eP95 ? b : a));
  const reason = atDefault
    ? `the default (batch.maxRecords ${atDefault.batch}, writers.count ${atDefault.writers}) reaches ${pct(atDefault.recPerSec / best.recPerSec)} of the best throughput in this grid ` +
      `(${best.batch} × ${best.writers}: ${num(best.recPerSec)} records/s at p95 ${num(best.e2eP95)} ms) with ${atDefault === lowestP95 ? 'the lowest' : `a p95 of ${num(atDefault.e2eP95)} ms against the lowest`} ` +
      `p95 end-to-end latency${atDefault === lowestP95 ? ` (${num(atDefault.e2eP95)} ms)` : ` (${num(lowestP95.e2eP95)} ms at ${lowestP95.batch} × ${lowestP95.writers})`}. ` +
      'Bigger batches amortise the per-transaction cost (BEGIN, batch-id insert, COMMIT and its WAL flush), so throughput rises with size; ' +
      'but a batch of 10000 waits longer to fill and holds its records for one long COPY, so latency rises too, and small batches fall behind (their latency is queueing). ' +
      (atDefault === lowestP95
        ? atDefault === best
          ? 'Here the default is both the fastest and the lowest-latency cell.'
          : 'The default trades some peak throughput for the lowest latency.'
        : 'In this run the default is not on the latency optimum: look again before changing it (the machine is noisy).')
    : 'the configured default was not in this (reduced) sweep';
  return { rows, reason };
}

export async function sweepSection(ctx: BenchContext, pg: BenchPostgres): Promise<SectionOutput<SweepResult>> {
  const result = await measureSweep(ctx, pg);
  return { result, markdown: sweepMarkdown(ctx, result) };
}

export function sweepMarkdown(ctx: BenchContext, result: SweepResult): string {
  const out: string[] = [];
  out.push(
    '## 3. Batch size × writers (end to end into PostgreSQL)',
    '',
    `${ctx.settings.sweepRecords} records per cell, 100-record NDJSON requests, 16 clients, ack ${ctx.storageAck}.${ctx.quick ? ' Reduced grid in --quick.' : ''} ★ = the configured default.`,
    '',
    mdTable(
      ['batch.maxRecords', 'writers.count', 'records/s', 'e2e p50', 'e2e p95', 'missing'],
      result.rows.map((s) => [
        `${s.batch}${s.isDefault ? ' ★' : ''}`,
        s.writers,
        num(s.recPerSec),
        `${num(s.e2eP50)} ms`,
        `${num(s.e2eP95)} ms`,
        s.missing,
      ]),
    ),
    '',
    `Why: ${result.reason}`,
    '',
  );
  return out.join('\n');
}
