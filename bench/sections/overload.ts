// Section 4, overload: ten times the sustainable rate with many clients; RSS growth (bounded by
// the buffer limits) and that every accepted record is stored.
import { runLoad } from '../../src/load/run-load.js';
import type { BenchPostgres } from '../lib/postgres.js';
import { mdTable, num, pct, showVerdict, verdict, type Verdict } from '../lib/table.js';
import { loadRunOptions, loadVerified, mib, type BenchContext, type SectionOutput, type Verified } from './context.js';

export interface OverloadResult {
  sustainableRecPerSec: number;
  offeredRecPerSec: number;
  achievedSendRecPerSec: number;
  seconds: number;
  statusCounts: Record<string, number>;
  accepted: number;
  stored: number;
  missing: number;
  duplicates: number;
  /** After the warm-up at the sustainable rate with the overload's own 200 clients (the baseline). */
  startRss: number;
  /** After a warm-up at the sustainable rate with 16 clients: growth from here includes the extra connections. */
  startRssFewClients: number;
  maxRss: number;
  growth: number;
  growthFromFewClients: number;
  firstHalfMaxRss: number;
  secondHalfMaxRss: number;
  /** Most records / accounted bytes seen in the buffer (sampled from /admin/jobs). */
  maxBuffered: number;
  maxBufferedBytes: number;
  verdictRss: Verdict;
  verdictLost: Verdict;
}

export const OVERLOAD_CLIENTS = 200;

async function measureOverload(ctx: BenchContext, pg: BenchPostgres, sustainable: number): Promise<OverloadResult> {
  const db = await pg.database('overload');
  const sluice = await ctx.collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': ctx.storageAck });
  try {
    // Warm up at the sustainable rate, so start RSS is that of a working collector (JIT, pools):
    // first with 16 clients, then with the overload's 200, so that the growth measured is the
    // overload's (the offered rate) and not the cost of 184 more connections, reported apart.
    await runLoad(
      loadRunOptions(sluice.url, {
        batch: 100,
        format: 'ndjson',
        clients: 16,
        rate: sustainable,
        durationMs: ctx.settings.overloadWarmupSeconds * 1000,
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const startRssFewClients = sluice.rss();
    await runLoad(
      loadRunOptions(sluice.url, {
        batch: 100,
        format: 'ndjson',
        clients: OVERLOAD_CLIENTS,
        rate: sustainable,
        durationMs: ctx.settings.overloadWarmupSeconds * 1000,
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const startRss = sluice.rss();
    const samples: Array<[number, number]> = [];
    const t0 = Date.now();
    const timer = setInterval(() => samples.push([Date.now() - t0, sluice.rss()]), 100);
    // How full the buffer is, to relate RSS to what the buffer holds.
    let maxBuffered = 0;
    let maxBufferedBytes = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const jobs = (await (await fetch(`${sluice.url}/admin/jobs`)).json()) as {
            buffer?: { records?: number; bytes?: number };
          };
          maxBuffered = Math.max(maxBuffered, jobs.buffer?.records ?? 0);
          maxBufferedBytes = Math.max(maxBufferedBytes, jobs.buffer?.bytes ?? 0);
        } catch {
          // an overloaded collector may be slow to answer; the next poll tries again
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let verified: Verified;
    try {
      verified = await loadVerified(sluice.url, db, {
        batch: 100,
        format: 'ndjson',
        clients: OVERLOAD_CLIENTS,
        rate: sustainable * 10,
        durationMs: ctx.settings.overloadSeconds * 1000,
      });
    } finally {
      clearInterval(timer);
      polling = false;
      await poller;
    }
    const halfMs = (ctx.settings.overloadSeconds * 1000) / 2;
    const maxOf = (xs: Array<[number, number]>): number => Math.max(0, ...xs.map(([, r]) => r));
    const maxRss = maxOf(samples);
    const growth = (maxRss - startRss) / startRss;
    const lost = verified.verify.missing;
    ctx.log(
      `overload: ${JSON.stringify(verified.load.statusCounts)}, RSS ${num(startRss / 2 ** 20)} → ${num(maxRss / 2 ** 20)} MiB, missing ${lost}`,
    );
    return {
      sustainableRecPerSec: sustainable,
      offeredRecPerSec: sustainable * 10,
      achievedSendRecPerSec: (verified.load.recordsSent / verified.load.elapsedMs) * 1000,
      seconds: ctx.settings.overloadSeconds,
      statusCounts: verified.load.statusCounts,
      accepted: verified.load.recordsAccepted,
      stored: verified.verify.distinct,
      missing: lost,
      duplicates: verified.verify.duplicates,
      startRss,
      startRssFewClients,
      maxRss,
      growth,
      growthFromFewClients: (maxRss - startRssFewClients) / startRssFewClients,
      firstHalfMaxRss: maxOf(samples.filter(([t]) => t < halfMs)),
      secondHalfMaxRss: maxOf(samples.filter(([t]) => t >= halfMs)),
      maxBuffered,
      maxBufferedBytes,
      verdictRss: verdict(growth * 100, '<', 20, 'RSS growth < 20%'),
      verdictLost: { target: 'nothing accepted lost', pass: lost === 0 && verified.verify.duplicates === 0 },
    };
  } finally {
    await ctx.stop(sluice);
  }
}

export async function overloadSection(
  ctx: BenchContext,
  pg: BenchPostgres,
  sustainable: number,
): Promise<SectionOutput<OverloadResult>> {
  const result = await measureOverload(ctx, pg, sustainable);
  return { result, markdown: overloadMarkdown(ctx, result) };
}

export function overloadMarkdown(ctx: BenchContext, result: OverloadResult): string {
  const out: string[] = [];
  out.push(
    '## 4. Overload',
    '',
    `Offered ${num(result.offeredRecPerSec)} records/s (10× the sustainable ${num(result.sustainableRecPerSec)} from section 2) for ${result.seconds} s with ${OVERLOAD_CLIENTS} clients, ack ${ctx.storageAck}; the client managed ${num(result.achievedSendRecPerSec)} records/s. Default buffer (${ctx.defaults.buffer.maxRecords} records / ${mib(ctx.defaults.buffer.maxBytes)}).`,
    '',
    mdTable(
      [
        'statuses',
        'accepted',
        'stored',
        'missing',
        'duplicates',
        'start RSS',
        'max RSS',
        'growth',
        'max RSS 1st / 2nd half',
        'max buffered',
        'targets',
      ],
      [
        [
          Object.entries(result.statusCounts)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
          result.accepted,
          result.stored,
          result.missing,
          result.duplicates,
          mib(result.startRss),
          mib(result.maxRss),
          pct(result.growth),
          `${mib(result.firstHalfMaxRss)} / ${mib(result.secondHalfMaxRss)}`,
          `${result.maxBuffered} records (${mib(result.maxBufferedBytes)} accounted)`,
          `${showVerdict(result.verdictRss)}; ${showVerdict(result.verdictLost)}`,
        ],
      ],
    ),
    '',
    ...((result.statusCounts['429'] ?? 0) === 0
      ? [
          '**No 429 in this run**: the client (same machine) could not offer enough for long enough to fill the buffer, so this is not yet overload; the default run (20 s) gets there.',
          '',
        ]
      : []),
    `Start RSS is taken after a warm-up at the sustainable rate with the same ${OVERLOAD_CLIENTS} clients, so the growth is what overload adds; ` +
      `after a warm-up with 16 clients RSS was ${mib(result.startRssFewClients)}, and the max is ${pct(result.growthFromFewClients)} above that (the extra connections' own memory included). Growth is bounded by the buffer limits (records and bytes): the 1st/2nd-half maxima show whether it keeps climbing; ` +
      `RSS growth per buffered record: ${result.maxBuffered ? `${num((result.maxRss - result.startRss) / result.maxBuffered)} bytes` : 'n/a'}.`,
    '',
  );
  return out.join('\n');
}
