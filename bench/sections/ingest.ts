// Section 1, HTTP ingest: Sluice (blackhole sink, ack memory) against a raw node:http server
// that only reads the body (and one that also JSON.parses it, for bulk), same client, same run.
import type { LoadResult } from '../../src/load/run-load.js';
import { runLoad } from '../../src/load/run-load.js';
import { startRawHttp } from '../lib/child.js';
import { mdTable, median, num, ratio, showVerdict, verdict, type Verdict } from '../lib/table.js';
import { loadRunOptions, type BenchContext, type SectionOutput } from './context.js';

export interface IngestRow {
  mode: string;
  rawReqPerSec: number;
  rawRecPerSec: number;
  /** The raw server that also JSON.parses the body (bulk only; informational). */
  rawParseRecPerSec: number;
  sluiceReqPerSec: number;
  sluiceRecPerSec: number;
  rawP99: number;
  sluiceP99: number;
  /** Collector CPU (user + system) per accepted record, µs. */
  sluiceCpuUsPerRecord: number;
  ratio: number;
  verdict: Verdict;
  non2xx: number;
}

async function measureIngest(ctx: BenchContext): Promise<IngestRow[]> {
  const raw = ctx.track(await startRawHttp());
  const rawParse = ctx.track(await startRawHttp(true));
  const sluice = await ctx.collector({ 'sink.kind': 'blackhole', 'ingest.ack': 'memory' });
  const urls = { raw: raw.url, rawParse: rawParse.url, sluice: sluice.url };
  type Who = keyof typeof urls;
  const modes = [
    {
      mode: 'single record (JSON object)',
      request: { batch: 1, format: 'json' as const, clients: 32 },
      target: 0.6,
      by: 'req',
      who: ['raw', 'sluice'] as Who[],
    },
    {
      mode: '100-record bulk (NDJSON)',
      request: { batch: 100, format: 'ndjson' as const, clients: 16 },
      target: 0.7,
      by: 'rec',
      who: ['raw', 'rawParse', 'sluice'] as Who[],
    },
  ];
  const rows: IngestRow[] = [];
  try {
    for (const m of modes) {
      const res: Record<Who, LoadResult[]> = { raw: [], rawParse: [], sluice: [] };
      const cpuUs: number[] = [];
      for (let round = 0; round < ctx.settings.rounds; round++) {
        // Rotate who goes first: a drifting machine then biases no one.
        const order = m.who.map((_, i) => m.who[(i + round) % m.who.length]!);
        for (const who of order) {
          await runLoad(loadRunOptions(urls[who], { ...m.request, durationMs: ctx.settings.warmupSeconds * 1000 }));
          const cpu0 = sluice.cpuSeconds();
          const r = await runLoad(
            loadRunOptions(urls[who], { ...m.request, durationMs: ctx.settings.ingestSeconds * 1000 }),
          );
          res[who].push(r);
          if (who === 'sluice') cpuUs.push(((sluice.cpuSeconds() - cpu0) * 1e6) / Math.max(1, r.recordsAccepted));
        }
      }
      const med = (who: Who, f: (r: LoadResult) => number): number => (res[who].length ? median(res[who].map(f)) : NaN);
      const row: Omit<IngestRow, 'ratio' | 'verdict'> = {
        mode: m.mode,
        rawReqPerSec: med('raw', (r) => r.requestsPerSec),
        rawRecPerSec: med('raw', (r) => r.requestsPerSec * m.request.batch),
        rawParseRecPerSec: med('rawParse', (r) => r.requestsPerSec * m.request.batch),
        sluiceReqPerSec: med('sluice', (r) => r.requestsPerSec),
        sluiceRecPerSec: med('sluice', (r) => r.recordsPerSec),
        rawP99: med('raw', (r) => r.latency.p99),
        sluiceP99: med('sluice', (r) => r.latency.p99),
        non2xx: res.sluice.reduce((s, r) => s + r.requests - (r.statusCounts['202'] ?? 0), 0),
        sluiceCpuUsPerRecord: median(cpuUs),
      };
      const toRaw = m.by === 'req' ? row.sluiceReqPerSec / row.rawReqPerSec : row.sluiceRecPerSec / row.rawRecPerSec;
      rows.push({ ...row, ratio: toRaw, verdict: verdict(toRaw, '>=', m.target) });
      ctx.log(`ingest ${m.mode}: ratio ${toRaw.toFixed(2)}`);
    }
  } finally {
    await ctx.stop(sluice);
    await ctx.stop(rawParse);
    await ctx.stop(raw);
  }
  return rows;
}

export async function ingestSection(ctx: BenchContext): Promise<SectionOutput<IngestRow[]>> {
  const result = await measureIngest(ctx);
  return { result, markdown: ingestMarkdown(ctx, result) };
}

export function ingestMarkdown(ctx: BenchContext, result: IngestRow[]): string {
  const out: string[] = [];
  out.push(
    '## 1. HTTP ingest: Sluice (blackhole sink, ack memory) vs raw node:http',
    '',
    `Same client (\`sluice load\`'s engine, keep-alive connections), ${ctx.settings.ingestSeconds} s per run after a ${ctx.settings.warmupSeconds} s warm-up, median of ${ctx.settings.rounds} interleaved round(s). The raw server reads the body and answers 202.`,
    '',
    mdTable(
      [
        'mode',
        'raw req/s',
        'raw rec/s',
        'raw + JSON.parse rec/s',
        'Sluice req/s',
        'Sluice rec/s',
        'raw p99',
        'Sluice p99',
        'Sluice CPU / record',
        'Sluice non-202',
        'ratio',
        'target',
      ],
      result.map((i) => [
        i.mode,
        num(i.rawReqPerSec),
        num(i.rawRecPerSec),
        num(i.rawParseRecPerSec),
        num(i.sluiceReqPerSec),
        num(i.sluiceRecPerSec),
        `${num(i.rawP99)} ms`,
        `${num(i.sluiceP99)} ms`,
        `${num(i.sluiceCpuUsPerRecord)} µs`,
        i.non2xx,
        ratio(i.ratio),
        showVerdict(i.verdict),
      ]),
    ),
    '',
    '"raw + JSON.parse" is the same raw server also parsing each NDJSON line (no validation, no storage): how much of the bulk gap is just JSON parsing, which any JSON ingest pays. Informational; the target is against the plain raw server.',
    '',
  );
  return out.join('\n');
}
