// Section 6, the PostgreSQL sink alone (PostgresSink.writeBatch called directly) against raw COPY
// of the same rows, binary and text COPY, over batch sizes.
import pg from 'pg';
import type { BenchPostgres } from '../lib/postgres.js';
import { withSink } from '../lib/postgres.js';
import { encodeTextBatches, rawCopy } from '../lib/raw-copy.js';
import { batchesOf, logRows } from '../lib/rows.js';
import { mdTable, median, num, ratio, showVerdict, verdict, type Verdict } from '../lib/table.js';
import type { BenchContext, SectionOutput } from './context.js';

export interface SinkResult {
  rows: SinkRow[];
  best: SinkRow;
  verdict: Verdict;
  fasterFormat: string;
  defaultFormat: string;
}

export interface SinkRow {
  batch: number;
  rawRecPerSec: number;
  binaryRecPerSec: number;
  textRecPerSec: number;
  ratio: number;
  binaryOverText: number;
}

async function measureSink(ctx: BenchContext, postgres: BenchPostgres): Promise<SinkResult> {
  // One database, emptied before every measurement, so every variant writes into the same
  // (empty, warmed) tables and indexes; variants interleave over rounds, medians reported.
  const db = await postgres.database('sink');
  const admin = new pg.Client({ connectionString: db });
  await admin.connect();
  const rows: SinkRow[] = [];
  try {
    const empty = async (): Promise<void> => void (await admin.query('TRUNCATE logs, sluice_batches'));
    const signal = new AbortController().signal;
    for (const size of [100, 500, 2000, 10000]) {
      const samples = { raw: [] as number[], binary: [] as number[], text: [] as number[] };
      // Batches of 100 commit 400 times per 40k rows: 200 batches per cell are enough at any size.
      const n = Math.min(ctx.settings.sinkRows, size * 200);
      for (let round = 0; round < ctx.settings.sinkRounds; round++) {
        const data = logRows(n);
        await empty();
        samples.raw.push((await rawCopy(db, encodeTextBatches(data, size), data.length, 1)).recordsPerSec);
        for (const format of ['binary', 'text'] as const) {
          const batches = batchesOf(logRows(n), size);
          await empty();
          samples[format].push(
            await withSink(db, format, 1, async (sink) => {
              await sink.writeBatch(batchesOf(logRows(10), 10)[0]!, signal); // connection and plan caches warm
              const t0 = performance.now();
              for (const b of batches) await sink.writeBatch(b, signal);
              return (n / (performance.now() - t0)) * 1000;
            }),
          );
        }
      }
      const [raw, binary, text] = [median(samples.raw), median(samples.binary), median(samples.text)];
      rows.push({
        batch: size,
        rawRecPerSec: raw,
        binaryRecPerSec: binary,
        textRecPerSec: text,
        ratio: Math.max(binary, text) / raw,
        binaryOverText: binary / text,
      });
      ctx.log(`sink alone, batch ${size}: raw ${num(raw)}, binary ${num(binary)}, text ${num(text)} rec/s`);
    }
  } finally {
    await admin.end();
  }
  const best = rows.reduce((a, b) =>
    Math.max(b.binaryRecPerSec, b.textRecPerSec) > Math.max(a.binaryRecPerSec, a.textRecPerSec) ? b : a,
  );
  const binaryWins = rows.filter((r) => r.binaryOverText >= 1).length;
  return {
    rows,
    best,
    verdict: verdict(best.ratio, '>=', 0.8),
    fasterFormat: binaryWins * 2 > rows.length ? 'binary' : binaryWins * 2 < rows.length ? 'text' : 'a tie',
    defaultFormat: ctx.defaults.postgres.copyFormat,
  };
}

export async function sinkSection(ctx: BenchContext, postgres: BenchPostgres): Promise<SectionOutput<SinkResult>> {
  const result = await measureSink(ctx, postgres);
  return { result, markdown: sinkMarkdown(ctx, result) };
}

export function sinkMarkdown(ctx: BenchContext, result: SinkResult): string {
  const out: string[] = [];
  const s = result;
  out.push(
    '## 6. The PostgreSQL sink alone vs raw COPY (issue 3)',
    '',
    `${ctx.settings.sinkRows} rows per cell (${Math.min(ctx.settings.sinkRows, 20_000)} at batch 100), median of ${ctx.settings.sinkRounds} interleaved round(s), one writer: \`PostgresSink.writeBatch\` called directly (encoding, batch-id insert and transaction included) vs the same rows pre-encoded as COPY text, one transaction per batch, one connection (minimal pg-copy-streams script). Same database, emptied before each measurement.`,
    '',
    mdTable(
      ['batch', 'raw COPY rec/s', 'sink binary rec/s', 'sink text rec/s', 'sink (faster) / raw', 'binary / text'],
      s.rows.map((x) => [
        `${x.batch}${x === s.best ? ' (best)' : ''}`,
        num(x.rawRecPerSec),
        num(x.binaryRecPerSec),
        num(x.textRecPerSec),
        ratio(x.ratio),
        ratio(x.binaryOverText),
      ]),
    ),
    '',
    `Target sink ≥ 0.8× raw COPY at its best batch size: ${showVerdict(s.verdict)} (${ratio(s.best.ratio)} at ${s.best.batch}). Faster format in this run: ${s.fasterFormat}; the default is ${s.defaultFormat}.`,
    '',
  );
  return out.join('\n');
}
