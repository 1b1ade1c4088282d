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

const MODES = ['memory', 'durable', 'sink'] as const;
/**
 * Each mode runs twice, in the order A B C C B A, and its row is the mean of its two runs: the
 * first collector of the section starts on a cold machine (JIT, PostgreSQL's caches), and a
 * single pass in a fixed order read memory at 0.72-0.87x durable where alternated runs of the
 * same build read 0.97x.
 */
const ORDER = [...MODES, ...[...MODES].reverse()];

const NOTES: Record<(typeof MODES)[number], string> = {
  memory: '202 once buffered in memory',
  durable: '202 once on disk (WAL)',
  sink: '202 once the batch committed in PostgreSQL (waits up to batch.maxWaitMs for the batch to fill)',
};

async function measureAckModes(ctx: BenchContext, pg: BenchPostgres): Promise<AckRow[]> {
  const runs = new Map<
    string,
    Array<{ recPerSec: number; p50: number; p99: number; statusCounts: Record<string, number> }>
  >();
  const failed = new Map<string, string>();
  for (const [round, mode] of ORDER.entries()) {
    if (failed.has(mode)) continue;
    const accepted = (await cliExitCode(['config', 'print', '--ingest.ack', mode])) === 0;
    if (!accepted) {
      failed.set(mode, 'n/a (not built: the config does not accept it yet)');
      continue;
    }
    const db = await pg.database(`ack_${mode}_${round}`);
    let sluice: Child;
    try {
      sluice = await ctx.collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': mode });
    } catch (err) {
      failed.set(mode, `did not start: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    try {
      const request = { batch: 100, format: 'ndjson' as const, clients: 32 };
      await runLoad(loadRunOptions(sluice.url, { ...request, durationMs: ctx.settings.warmupSeconds * 1000 }));
      const r = await runLoad(loadRunOptions(sluice.url, { ...request, durationMs: ctx.settings.ackSeconds * 1000 }));
      const list = runs.get(mode) ?? [];
      list.push({ recPerSec: r.recordsPerSec, p50: r.latency.p50, p99: r.latency.p99, statusCounts: r.statusCounts });
      runs.set(mode, list);
      ctx.log(`ack ${mode}: ${num(r.recordsPerSec)} rec/s, p99 ${num(r.latency.p99)} ms`);
    } finally {
      await ctx.stop(sluice);
    }
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return MODES.map((mode): AckRow => {
    const list = runs.get(mode);
    const why = failed.get(mode);
    if (!list || why !== undefined)
      return {
        mode,
        built: !why?.startsWith('n/a'),
        recPerSec: null,
        p50: null,
        p99: null,
        statusCounts: null,
        note: why ?? '',
      };
    const statusCounts: Record<string, number> = {};
    for (const run of list)
      for (const [k, v] of Object.entries(run.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
    return {
      mode,
      built: true,
      recPerSec: mean(list.map((x) => x.recPerSec)),
      p50: mean(list.map((x) => x.p50)),
      p99: mean(list.map((x) => x.p99)),
      statusCounts,
      note: NOTES[mode],
    };
  });
}

export async function ackSection(ctx: BenchContext, pg: BenchPostgres): Promise<SectionOutput<AckRow[]>> {
  const result = await measureAckModes(ctx, pg);
  return { result, markdown: ackMarkdown(ctx, result) };
}

export function ackMarkdown(ctx: BenchContext, result: AckRow[]): string {
  const out: string[] = [];
  out.push(
    '## 7. Ack modes (issue 4), PostgreSQL sink, 100-record NDJSON, 32 clients (mean of two runs each, in the order A B C C B A)',
    '',
    mdTable(
      [
        'ingest.ack',
        'records/s accepted',
        'request p50 (mean of the runs’)',
        'request p99 (mean of the runs’)',
        'statuses',
        'meaning',
      ],
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
