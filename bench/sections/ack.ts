// Section 7, ack modes: accepted records/s and request latency with ingest.ack memory, durable
// and sink, into PostgreSQL.
import { runLoad } from '../../src/load/run-load.js';
import { cliExitCode, type Child } from '../lib/child.js';
import type { BenchPostgres } from '../lib/postgres.js';
import { mdTable, num } from '../lib/table.js';
import { loadRunOptions, type BenchContext, type SectionOutput } from './context.js';

export interface AckRow {
  mode: string;
  built: boolean;
  recPerSec: number | null;
  p50: number | null;
  p99: number | null;
  statusCounts: Record<string, number> | null;
  note: string;
}

async function measureAckModes(ctx: BenchContext, pg: BenchPostgres): Promise<AckRow[]> {
  const rows: AckRow[] = [];
  for (const mode of ['memory', 'durable', 'sink']) {
    const accepted = (await cliExitCode(['config', 'print', '--ingest.ack', mode])) === 0;
    if (!accepted) {
      rows.push({
        mode,
        built: false,
        recPerSec: null,
        p50: null,
        p99: null,
        statusCounts: null,
        note: 'n/a (not built: the config does not accept it yet)',
      });
      continue;
    }
    const db = await pg.database(`ack_${mode}`);
    let sluice: Child;
    try {
      sluice = await ctx.collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': mode });
    } catch (err) {
      rows.push({
        mode,
        built: true,
        recPerSec: null,
        p50: null,
        p99: null,
        statusCounts: null,
        note: `did not start: ${(err as Error).message.split('\n')[0]}`,
      });
      continue;
    }
    try {
      const request = { batch: 100, format: 'ndjson' as const, clients: 32 };
      await runLoad(loadRunOptions(sluice.url, { ...request, durationMs: ctx.settings.warmupSeconds * 1000 }));
      const r = await runLoad(loadRunOptions(sluice.url, { ...request, durationMs: ctx.settings.ackSeconds * 1000 }));
      const note =
        mode === 'memory'
          ? '202 once buffered in memory'
          : mode === 'sink'
            ? '202 once the batch committed in PostgreSQL (waits up to batch.maxWaitMs for the batch to fill)'
            : '202 once on disk (WAL)';
      rows.push({
        mode,
        built: true,
        recPerSec: r.recordsPerSec,
        p50: r.latency.p50,
        p99: r.latency.p99,
        statusCounts: r.statusCounts,
        note,
      });
      ctx.log(`ack ${mode}: ${num(r.recordsPerSec)} rec/s, p99 ${num(r.latency.p99)} ms`);
    } finally {
      await ctx.stop(sluice);
    }
  }
  return rows;
}

export async function ackSection(ctx: BenchContext, pg: BenchPostgres): Promise<SectionOutput<AckRow[]>> {
  const result = await measureAckModes(ctx, pg);
  return { result, markdown: ackMarkdown(ctx, result) };
}

export function ackMarkdown(ctx: BenchContext, result: AckRow[]): string {
  const out: string[] = [];
  out.push(
    '## 7. Ack modes (issue 4), PostgreSQL sink, 100-record NDJSON, 32 clients',
    '',
    mdTable(
      ['ingest.ack', 'records/s accepted', 'request p50', 'request p99', 'statuses', 'meaning'],
      result.map((a) => [
        a.mode,
        a.built ? num(a.recPerSec) : 'n/a (not built)',
        a.p50 === null ? 'n/a' : `${num(a.p50)} ms`,
        a.p99 === null ? 'n/a' : `${num(a.p99)} ms`,
        a.statusCounts
          ? Object.entries(a.statusCounts)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')
          : '',
        a.note,
      ]),
    ),
    '',
  );
  return out.join('\n');
}
