// `npm run bench [-- --quick]`: every throughput claim measured against a baseline in the same
// run (the machine is small and shared, so only ratios travel), written to
// bench/results/<date>.md and .json. It starts what it needs: an embedded PostgreSQL in a temp
// dir, the collector from dist/ as a child process, a raw node:http server; the load generator
// (src/load) runs in this process and is the same client for Sluice and for each baseline.
import { existsSync, mkdirSync, mkdtempSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import { newRunId } from '../src/load/records.js';
import { runLoad, type LoadOptions, type LoadResult } from '../src/load/run-load.js';
import { Verifier, type VerifyResult } from '../src/load/verify.js';
import { resultsDir } from './lib/results-dir.js';
import { cliExitCode, startCollector, startRawHttp, type Child } from './lib/child.js';
import { runMicro, type MicroResult } from './lib/micro.js';
import { runQueryBench } from './query-latency.js';
import { startBenchPostgres, withSink, type BenchPostgres } from './lib/postgres.js';
import { encodeTextBatches, rawCopy } from './lib/raw-copy.js';
import { batchesOf, logRows } from './lib/rows.js';
import { mdTable, median, num, pct, ratio, showVerdict, verdict, type Verdict } from './lib/table.js';

const quick = process.argv.includes('--quick');
const only = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? new Set(process.argv[i + 1]!.split(',')) : null;
})();
const want = (section: string): boolean => !only || only.has(section);

/** Every knob that makes --quick quick, in one place. */
const P = quick
  ? {
      ingestSeconds: 1.2,
      warmupSeconds: 0.3,
      rounds: 1,
      e2eRecords: 60_000,
      sweepRecords: 20_000,
      sweepBatch: [100, 2000, 10000],
      sweepWriters: [4],
      overloadSeconds: 3,
      overloadWarmupSeconds: 1,
      sinkRows: 20_000,
      sinkRounds: 1,
      ackSeconds: 0.8,
    }
  : {
      ingestSeconds: 3,
      warmupSeconds: 0.5,
      rounds: 3,
      e2eRecords: 300_000,
      sweepRecords: 100_000,
      sweepBatch: [100, 500, 2000, 10000],
      sweepWriters: [1, 2, 4],
      overloadSeconds: 20,
      overloadWarmupSeconds: 3,
      sinkRows: 40_000,
      sinkRounds: 3,
      ackSeconds: 3,
    };

const DEFAULTS = loadConfig({ env: {}, flags: {} }).config;
const pgClient = pg.Client;
const t0 = Date.now();
const log = (s: string): void =>
  void process.stderr.write(`bench [${((Date.now() - t0) / 1000).toFixed(0)} s]: ${s}\n`);

let workDir = '';
/** Ack mode of the storage runs (e2e, sweep, overload): durable, as issue 7 asks, once the config has it. */
let storageAck = 'memory';
let pgServer: BenchPostgres | undefined;
const children = new Set<Child>();

async function collector(flags: Record<string, string | number>): Promise<Child> {
  const c = await startCollector(
    { 'deadLetter.dir': join(workDir, 'dead-letter'), 'file.dir': join(workDir, 'logs'), ...flags },
    workDir,
  );
  children.add(c);
  return c;
}

async function stopChild(c: Child): Promise<void> {
  children.delete(c);
  await c.stop();
}

function loadOpts(url: string, o: Partial<LoadOptions>): LoadOptions {
  const runId = newRunId();
  return {
    url,
    path: '/logs',
    records: Infinity,
    clients: 32,
    batch: 1,
    format: 'json',
    gzip: false,
    rate: 0,
    durationMs: 0,
    timeoutMs: 30_000,
    runId,
    service: `load-${runId}`,
    ...o,
  };
}

interface Verified {
  load: LoadResult;
  verify: VerifyResult;
  /** Records stored per second, from the first request to the last commit. */
  e2eRecordsPerSec: number;
}

async function loadVerified(url: string, dbUrl: string, o: Partial<LoadOptions>): Promise<Verified> {
  const opts = loadOpts(url, o);
  const v = await Verifier.connect(dbUrl, opts.runId, opts.service);
  try {
    v.startWatching();
    const load = await runLoad(opts);
    const verify = await v.finish(load.recordsAccepted, { timeoutMs: 120_000, quietMs: 10_000 });
    const spanMs = (verify.lastCommitMs ?? load.endedAtMs) - load.startedAtMs;
    return { load, verify, e2eRecordsPerSec: (verify.distinct / spanMs) * 1000 };
  } finally {
    await v.close();
  }
}

// ---- 1. HTTP ingest: Sluice (blackhole) vs raw node:http ---------------------------------

interface IngestRow {
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

async function ingest(): Promise<IngestRow[]> {
  const raw = await startRawHttp();
  children.add(raw);
  const rawParse = await startRawHttp(true);
  children.add(rawParse);
  const sluice = await collector({ 'sink.kind': 'blackhole', 'ingest.ack': 'memory' });
  const urls = { raw: raw.url, rawParse: rawParse.url, sluice: sluice.url };
  type Who = keyof typeof urls;
  const modes = [
    {
      mode: 'single record (JSON object)',
      o: { batch: 1, format: 'json' as const, clients: 32 },
      target: 0.6,
      by: 'req',
      who: ['raw', 'sluice'] as Who[],
    },
    {
      mode: '100-record bulk (NDJSON)',
      o: { batch: 100, format: 'ndjson' as const, clients: 16 },
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
      for (let round = 0; round < P.rounds; round++) {
        // Rotate who goes first: a drifting machine then biases no one.
        const order = m.who.map((_, i) => m.who[(i + round) % m.who.length]!);
        for (const who of order) {
          await runLoad(loadOpts(urls[who], { ...m.o, durationMs: P.warmupSeconds * 1000 }));
          const cpu0 = sluice.cpuSeconds();
          const r = await runLoad(loadOpts(urls[who], { ...m.o, durationMs: P.ingestSeconds * 1000 }));
          res[who].push(r);
          if (who === 'sluice') cpuUs.push(((sluice.cpuSeconds() - cpu0) * 1e6) / Math.max(1, r.recordsAccepted));
        }
      }
      const med = (who: Who, f: (r: LoadResult) => number): number => (res[who].length ? median(res[who].map(f)) : NaN);
      const row: Omit<IngestRow, 'ratio' | 'verdict'> = {
        mode: m.mode,
        rawReqPerSec: med('raw', (r) => r.requestsPerSec),
        rawRecPerSec: med('raw', (r) => r.requestsPerSec * m.o.batch),
        rawParseRecPerSec: med('rawParse', (r) => r.requestsPerSec * m.o.batch),
        sluiceReqPerSec: med('sluice', (r) => r.requestsPerSec),
        sluiceRecPerSec: med('sluice', (r) => r.recordsPerSec),
        rawP99: med('raw', (r) => r.latency.p99),
        sluiceP99: med('sluice', (r) => r.latency.p99),
        non2xx: res.sluice.reduce((s, r) => s + r.requests - (r.statusCounts['202'] ?? 0), 0),
        sluiceCpuUsPerRecord: median(cpuUs),
      };
      const q = m.by === 'req' ? row.sluiceReqPerSec / row.rawReqPerSec : row.sluiceRecPerSec / row.rawRecPerSec;
      rows.push({ ...row, ratio: q, verdict: verdict(q, '>=', m.target) });
      log(`ingest ${m.mode}: ratio ${q.toFixed(2)}`);
    }
  } finally {
    await stopChild(sluice);
    await stopChild(rawParse);
    await stopChild(raw);
  }
  return rows;
}

// ---- 2. End to end into PostgreSQL vs raw COPY -------------------------------------------

interface E2eResult {
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

async function endToEnd(pg: BenchPostgres): Promise<E2eResult> {
  const db = await pg.database('e2e');
  const c = await collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': storageAck });
  let v: Verified;
  let cpuUsPerRecord = NaN;
  try {
    await runLoad(loadOpts(c.url, { batch: 100, format: 'ndjson', clients: 16, records: 10_000 }));
    const cpu0 = c.cpuSeconds();
    v = await loadVerified(c.url, db, { batch: 100, format: 'ndjson', clients: 16, records: P.e2eRecords });
    cpuUsPerRecord = ((c.cpuSeconds() - cpu0) * 1e6) / Math.max(1, v.verify.distinct);
  } finally {
    await stopChild(c);
  }
  const rawDb = await pg.database('e2e_raw');
  const rows = logRows(P.e2eRecords);
  const copy = await rawCopy(
    rawDb,
    encodeTextBatches(rows, DEFAULTS.batch.maxRecords),
    rows.length,
    DEFAULTS.writers.count,
  );
  const q = v.e2eRecordsPerSec / copy.recordsPerSec;
  log(`e2e: sluice ${num(v.e2eRecordsPerSec)} rec/s, raw COPY ${num(copy.recordsPerSec)} rec/s, ratio ${q.toFixed(2)}`);
  return {
    records: P.e2eRecords,
    sluiceRecPerSec: v.e2eRecordsPerSec,
    rawCopyRecPerSec: copy.recordsPerSec,
    ratio: q,
    verdict: verdict(q, '>=', 0.7),
    e2e: v.verify.e2e,
    e2eMethod: v.verify.e2eMethod,
    stored: v.verify.distinct,
    missing: v.verify.missing,
    duplicates: v.verify.duplicates,
    requestP99: v.load.latency.p99,
    cpuUsPerRecord,
  };
}

// ---- 3. Batch size × writers sweep -------------------------------------------------------

interface SweepRow {
  batch: number;
  writers: number;
  recPerSec: number;
  e2eP95: number;
  e2eP50: number;
  missing: number;
  isDefault: boolean;
}

async function sweep(pg: BenchPostgres): Promise<{ rows: SweepRow[]; reason: string }> {
  const rows: SweepRow[] = [];
  for (const batch of P.sweepBatch) {
    for (const writers of P.sweepWriters) {
      const db = await pg.database(`sweep_${batch}_${writers}`);
      const c = await collector({
        'sink.kind': 'postgres',
        'postgres.url': db,
        'ingest.ack': storageAck,
        'batch.maxRecords': batch,
        'writers.count': writers,
      });
      try {
        const v = await loadVerified(c.url, db, { batch: 100, format: 'ndjson', clients: 16, records: P.sweepRecords });
        rows.push({
          batch,
          writers,
          recPerSec: v.e2eRecordsPerSec,
          e2eP95: v.verify.e2e.p95,
          e2eP50: v.verify.e2e.p50,
          missing: v.verify.missing,
          isDefault: batch === DEFAULTS.batch.maxRecords && writers === DEFAULTS.writers.count,
        });
        log(
          `sweep batch ${batch} × writers ${writers}: ${num(v.e2eRecordsPerSec)} rec/s, p95 ${num(v.verify.e2e.p95)} ms`,
        );
      } finally {
        await stopChild(c);
      }
    }
  }
  const best = rows.reduce((a, b) => (b.recPerSec > a.recPerSec ? b : a));
  const d = rows.find((r) => r.isDefault);
  const lowestP95 = rows.reduce((a, b) => (b.e2eP95 < a.e2eP95 ? b : a));
  const reason = d
    ? `the default (batch.maxRecords ${d.batch}, writers.count ${d.writers}) reaches ${pct(d.recPerSec / best.recPerSec)} of the best throughput in this grid ` +
      `(${best.batch} × ${best.writers}: ${num(best.recPerSec)} records/s at p95 ${num(best.e2eP95)} ms) with ${d === lowestP95 ? 'the lowest' : `a p95 of ${num(d.e2eP95)} ms against the lowest`} ` +
      `p95 end-to-end latency${d === lowestP95 ? ` (${num(d.e2eP95)} ms)` : ` (${num(lowestP95.e2eP95)} ms at ${lowestP95.batch} × ${lowestP95.writers})`}. ` +
      'Bigger batches amortise the per-transaction cost (BEGIN, batch-id insert, COMMIT and its WAL flush), so throughput rises with size; ' +
      'but a batch of 10000 waits longer to fill and holds its records for one long COPY, so latency rises too, and small batches fall behind (their latency is queueing). ' +
      (d === lowestP95
        ? d === best
          ? 'Here the default is both the fastest and the lowest-latency cell.'
          : 'The default trades some peak throughput for the lowest latency.'
        : 'In this run the default is not on the latency optimum: look again before changing it (the machine is noisy).')
    : 'the configured default was not in this (reduced) sweep';
  return { rows, reason };
}

// ---- 4. Overload ---------------------------------------------------------------------------

interface OverloadResult {
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

const OVERLOAD_CLIENTS = 200;

async function overload(pg: BenchPostgres, sustainable: number): Promise<OverloadResult> {
  const db = await pg.database('overload');
  const c = await collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': storageAck });
  try {
    // Warm up at the sustainable rate, so start RSS is that of a working collector (JIT, pools):
    // first with 16 clients, then with the overload's 200, so that the growth measured is the
    // overload's (the offered rate) and not the cost of 184 more connections, reported apart.
    await runLoad(
      loadOpts(c.url, {
        batch: 100,
        format: 'ndjson',
        clients: 16,
        rate: sustainable,
        durationMs: P.overloadWarmupSeconds * 1000,
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const startRssFewClients = c.rss();
    await runLoad(
      loadOpts(c.url, {
        batch: 100,
        format: 'ndjson',
        clients: OVERLOAD_CLIENTS,
        rate: sustainable,
        durationMs: P.overloadWarmupSeconds * 1000,
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const startRss = c.rss();
    const samples: Array<[number, number]> = [];
    const t0 = Date.now();
    const timer = setInterval(() => samples.push([Date.now() - t0, c.rss()]), 100);
    // How full the buffer is, to relate RSS to what the buffer holds.
    let maxBuffered = 0;
    let maxBufferedBytes = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const j = (await (await fetch(`${c.url}/admin/jobs`)).json()) as {
            buffer?: { records?: number; bytes?: number };
          };
          maxBuffered = Math.max(maxBuffered, j.buffer?.records ?? 0);
          maxBufferedBytes = Math.max(maxBufferedBytes, j.buffer?.bytes ?? 0);
        } catch {
          // an overloaded collector may be slow to answer; the next poll tries again
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let v: Verified;
    try {
      v = await loadVerified(c.url, db, {
        batch: 100,
        format: 'ndjson',
        clients: OVERLOAD_CLIENTS,
        rate: sustainable * 10,
        durationMs: P.overloadSeconds * 1000,
      });
    } finally {
      clearInterval(timer);
      polling = false;
      await poller;
    }
    const halfMs = (P.overloadSeconds * 1000) / 2;
    const maxOf = (xs: Array<[number, number]>): number => Math.max(0, ...xs.map(([, r]) => r));
    const maxRss = maxOf(samples);
    const growth = (maxRss - startRss) / startRss;
    const lost = v.verify.missing;
    log(
      `overload: ${JSON.stringify(v.load.statusCounts)}, RSS ${num(startRss / 2 ** 20)} → ${num(maxRss / 2 ** 20)} MiB, missing ${lost}`,
    );
    return {
      sustainableRecPerSec: sustainable,
      offeredRecPerSec: sustainable * 10,
      achievedSendRecPerSec: (v.load.recordsSent / v.load.elapsedMs) * 1000,
      seconds: P.overloadSeconds,
      statusCounts: v.load.statusCounts,
      accepted: v.load.recordsAccepted,
      stored: v.verify.distinct,
      missing: lost,
      duplicates: v.verify.duplicates,
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
      verdictLost: { target: 'nothing accepted lost', pass: lost === 0 && v.verify.duplicates === 0 },
    };
  } finally {
    await stopChild(c);
  }
}

// ---- 6. The PostgreSQL sink alone vs raw COPY, binary vs text ------------------------------

interface SinkRow {
  batch: number;
  rawRecPerSec: number;
  binaryRecPerSec: number;
  textRecPerSec: number;
  ratio: number;
  binaryOverText: number;
}

async function sinkAlone(
  pg: BenchPostgres,
): Promise<{ rows: SinkRow[]; best: SinkRow; verdict: Verdict; fasterFormat: string; defaultFormat: string }> {
  // One database, emptied before every measurement, so every variant writes into the same
  // (empty, warmed) tables and indexes; variants interleave over rounds, medians reported.
  const db = await pg.database('sink');
  const admin = new pgClient({ connectionString: db });
  await admin.connect();
  const rows: SinkRow[] = [];
  try {
    const empty = async (): Promise<void> => void (await admin.query('TRUNCATE logs, sluice_batches'));
    const signal = new AbortController().signal;
    for (const size of [100, 500, 2000, 10000]) {
      const samples = { raw: [] as number[], binary: [] as number[], text: [] as number[] };
      // Batches of 100 commit 400 times per 40k rows: 200 batches per cell are enough at any size.
      const n = Math.min(P.sinkRows, size * 200);
      for (let round = 0; round < P.sinkRounds; round++) {
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
      log(`sink alone, batch ${size}: raw ${num(raw)}, binary ${num(binary)}, text ${num(text)} rec/s`);
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
    defaultFormat: DEFAULTS.postgres.copyFormat,
  };
}

// ---- 7. Ack modes ----------------------------------------------------------------------------

interface AckRow {
  mode: string;
  built: boolean;
  recPerSec: number | null;
  p50: number | null;
  p99: number | null;
  statusCounts: Record<string, number> | null;
  note: string;
}

async function ackModes(pg: BenchPostgres): Promise<AckRow[]> {
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
    let c: Child;
    try {
      c = await collector({ 'sink.kind': 'postgres', 'postgres.url': db, 'ingest.ack': mode });
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
      const o = { batch: 100, format: 'ndjson' as const, clients: 32 };
      await runLoad(loadOpts(c.url, { ...o, durationMs: P.warmupSeconds * 1000 }));
      const r = await runLoad(loadOpts(c.url, { ...o, durationMs: P.ackSeconds * 1000 }));
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
      log(`ack ${mode}: ${num(r.recordsPerSec)} rec/s, p99 ${num(r.latency.p99)} ms`);
    } finally {
      await stopChild(c);
    }
  }
  return rows;
}

// ---- 8. Health scheduler (another engineer's bench, when present) ----------------------------

async function healthScheduler(): Promise<{ ran: boolean; note: string; result?: unknown; markdown?: string }> {
  const file = resolve(import.meta.dirname, 'health-scheduler.ts');
  if (!existsSync(file)) return { ran: false, note: 'skipped: bench/health-scheduler.ts does not exist yet' };
  // Imported by URL so this file type-checks whether or not the other bench exists yet.
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const run = mod.runSchedulerBench;
  if (typeof run !== 'function')
    return { ran: false, note: 'skipped: bench/health-scheduler.ts exports no runSchedulerBench()' };
  const opts = quick
    ? { checks: 1000, intervalMs: 1000, measureMs: 2000, outDir: false }
    : { measureMs: 10_000, outDir: false };
  let timer: NodeJS.Timeout | undefined;
  try {
    const result: unknown = await Promise.race([
      (run as (o: unknown) => Promise<unknown>)(opts),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('took longer than 180 s')), 180_000);
      }),
    ]);
    const table =
      typeof mod.resultTable === 'function' ? (mod.resultTable as (r: unknown) => string)(result) : undefined;
    return {
      ran: true,
      note: `runSchedulerBench(${JSON.stringify(opts)}) from bench/health-scheduler.ts (that file's own method and targets)`,
      result,
      ...(table ? { markdown: table } : {}),
    };
  } catch (err) {
    return { ran: false, note: `failed: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

// ---- report --------------------------------------------------------------------------------

interface Results {
  date: string;
  mode: 'quick' | 'default';
  durationSeconds: number;
  /** ingest.ack of the end-to-end, sweep and overload runs. */
  storageAck: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  ingest?: IngestRow[];
  e2e?: E2eResult;
  sweep?: { rows: SweepRow[]; reason: string };
  overload?: OverloadResult;
  micro?: MicroResult[];
  sink?: Awaited<ReturnType<typeof sinkAlone>>;
  ack?: AckRow[];
  health?: Awaited<ReturnType<typeof healthScheduler>>;
  errors: string[];
}

const mib = (b: number): string => `${num(b / 2 ** 20)} MiB`;

export function summaryTable(r: Results): string {
  const rows: string[][] = [];
  for (const i of r.ingest ?? []) {
    const what = i.mode.startsWith('single') ? 'requests/s' : 'records/s';
    const [s, b] = i.mode.startsWith('single')
      ? [i.sluiceReqPerSec, i.rawReqPerSec]
      : [i.sluiceRecPerSec, i.rawRecPerSec];
    rows.push([
      `HTTP ingest, ${i.mode}, vs raw node:http`,
      `${num(s)} vs ${num(b)} ${what}`,
      ratio(i.ratio),
      showVerdict(i.verdict),
    ]);
  }
  if (r.e2e)
    rows.push([
      `End to end into PostgreSQL (ack ${r.storageAck}) vs raw COPY`,
      `${num(r.e2e.sluiceRecPerSec)} vs ${num(r.e2e.rawCopyRecPerSec)} records/s`,
      ratio(r.e2e.ratio),
      showVerdict(r.e2e.verdict),
    ]);
  if (r.sink)
    rows.push([
      `PostgreSQL sink alone vs raw COPY (best batch size: ${r.sink.best.batch})`,
      `${num(Math.max(r.sink.best.binaryRecPerSec, r.sink.best.textRecPerSec))} vs ${num(r.sink.best.rawRecPerSec)} records/s`,
      ratio(r.sink.best.ratio),
      showVerdict(r.sink.verdict),
    ]);
  if (r.overload) {
    const o = r.overload;
    rows.push([
      `Overload (10× sustainable, ${o.seconds} s, ${OVERLOAD_CLIENTS} clients, ack ${r.storageAck}): RSS growth over the same clients at the sustainable rate`,
      `${mib(o.startRss)} → ${mib(o.maxRss)} (from 16 clients: ${mib(o.startRssFewClients)}, ${pct(o.growthFromFewClients)})`,
      pct(o.growth),
      showVerdict(o.verdictRss),
    ]);
    rows.push([
      'Overload: accepted records stored',
      `${o.stored} of ${o.accepted} (${o.statusCounts['429'] ?? 0} × 429)`,
      '',
      showVerdict(o.verdictLost),
    ]);
  }
  const ackRate = (mode: string): number | null => r.ack?.find((a) => a.mode === mode)?.recPerSec ?? null;
  const [mem, dur] = [ackRate('memory'), ackRate('durable')];
  if (mem && dur) {
    // Issue 4: durable may cost at most 25% of memory's throughput on bulk NDJSON ingest.
    rows.push([
      'Ack durable vs memory, 100-record NDJSON into PostgreSQL',
      `${num(dur)} vs ${num(mem)} records/s`,
      ratio(dur / mem),
      showVerdict(verdict(dur / mem, '>=', 0.75)),
    ]);
  }
  return mdTable(['measure', 'Sluice vs baseline', 'ratio', 'target'], rows);
}

function markdown(r: Results): string {
  const out: string[] = [];
  out.push(`# Sluice benchmarks — ${r.date} (${r.mode})`, '');
  out.push(
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.platform}; shared with other work, so absolute numbers are noisy ` +
      `and only the ratios (Sluice vs a baseline measured in the same run) carry claims. Took ${r.durationSeconds.toFixed(0)} s. Reproduce: \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\`.`,
    '',
  );
  out.push('## Targets', '', summaryTable(r), '');
  if (r.ingest) {
    out.push(
      '## 1. HTTP ingest: Sluice (blackhole sink, ack memory) vs raw node:http',
      '',
      `Same client (\`sluice load\`'s engine, keep-alive connections), ${P.ingestSeconds} s per run after a ${P.warmupSeconds} s warm-up, median of ${P.rounds} interleaved round(s). The raw server reads the body and answers 202.`,
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
        r.ingest.map((i) => [
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
  }
  if (r.e2e) {
    const e = r.e2e;
    out.push(
      '## 2. End to end into PostgreSQL vs raw COPY',
      '',
      `${e.records} records in 100-record NDJSON requests (16 clients) through Sluice (defaults: batch ${DEFAULTS.batch.maxRecords}, ${DEFAULTS.writers.count} writers, binary COPY, ack ${r.storageAck}) into PostgreSQL; ` +
        `throughput = records stored / (first request → last commit). Baseline: the same rows pre-encoded as COPY text, ${DEFAULTS.batch.maxRecords} per transaction over ${DEFAULTS.writers.count} connections, into a fresh database of the same schema.`,
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
            num(e.sluiceRecPerSec),
            num(e.rawCopyRecPerSec),
            ratio(e.ratio),
            showVerdict(e.verdict),
            `${num(e.e2e.p50)} ms`,
            `${num(e.e2e.p95)} ms`,
            `${num(e.e2e.p99)} ms`,
            `${e.stored} / ${e.missing} / ${e.duplicates}`,
            `${num(e.cpuUsPerRecord)} µs`,
          ],
        ],
      ),
      '',
      `End-to-end latency: record \`ts\` (stamped by the client just before sending) → commit of the row's transaction (\`pg_xact_commit_timestamp\`, the server runs with track_commit_timestamp=on; method: ${e.e2eMethod}).`,
      '',
    );
  }
  if (r.sweep) {
    out.push(
      '## 3. Batch size × writers (end to end into PostgreSQL)',
      '',
      `${P.sweepRecords} records per cell, 100-record NDJSON requests, 16 clients, ack ${r.storageAck}.${quick ? ' Reduced grid in --quick.' : ''} ★ = the configured default.`,
      '',
      mdTable(
        ['batch.maxRecords', 'writers.count', 'records/s', 'e2e p50', 'e2e p95', 'missing'],
        r.sweep.rows.map((s) => [
          `${s.batch}${s.isDefault ? ' ★' : ''}`,
          s.writers,
          num(s.recPerSec),
          `${num(s.e2eP50)} ms`,
          `${num(s.e2eP95)} ms`,
          s.missing,
        ]),
      ),
      '',
      `Why: ${r.sweep.reason}`,
      '',
    );
  }
  if (r.overload) {
    const o = r.overload;
    out.push(
      '## 4. Overload',
      '',
      `Offered ${num(o.offeredRecPerSec)} records/s (10× the sustainable ${num(o.sustainableRecPerSec)} from section 2) for ${o.seconds} s with ${OVERLOAD_CLIENTS} clients, ack ${r.storageAck}; the client managed ${num(o.achievedSendRecPerSec)} records/s. Default buffer (${DEFAULTS.buffer.maxRecords} records / ${mib(DEFAULTS.buffer.maxBytes)}).`,
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
            Object.entries(o.statusCounts)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', '),
            o.accepted,
            o.stored,
            o.missing,
            o.duplicates,
            mib(o.startRss),
            mib(o.maxRss),
            pct(o.growth),
            `${mib(o.firstHalfMaxRss)} / ${mib(o.secondHalfMaxRss)}`,
            `${o.maxBuffered} records (${mib(o.maxBufferedBytes)} accounted)`,
            `${showVerdict(o.verdictRss)}; ${showVerdict(o.verdictLost)}`,
          ],
        ],
      ),
      '',
      ...((o.statusCounts['429'] ?? 0) === 0
        ? [
            '**No 429 in this run**: the client (same machine) could not offer enough for long enough to fill the buffer, so this is not yet overload; the default run (20 s) gets there.',
            '',
          ]
        : []),
      `Start RSS is taken after a warm-up at the sustainable rate with the same ${OVERLOAD_CLIENTS} clients, so the growth is what overload adds; ` +
        `after a warm-up with 16 clients RSS was ${mib(o.startRssFewClients)}, and the max is ${pct(o.growthFromFewClients)} above that (the extra connections' own memory included). Growth is bounded by the buffer limits (records and bytes): the 1st/2nd-half maxima show whether it keeps climbing; ` +
        `RSS growth per buffered record: ${o.maxBuffered ? `${num((o.maxRss - o.startRss) / o.maxBuffered)} bytes` : 'n/a'}.`,
      '',
    );
  }
  if (r.micro) {
    out.push(
      '## 5. Micro-benchmarks (tinybench, in process)',
      '',
      mdTable(
        ['hot path', 'ops/s', 'ns / record', 'records/s (one core)'],
        r.micro.map((m) => [m.name, num(m.opsPerSec), num(m.nsPerRecord), num(m.recordsPerSec)]),
      ),
      '',
    );
  }
  if (r.sink) {
    const s = r.sink;
    out.push(
      '## 6. The PostgreSQL sink alone vs raw COPY (issue 3)',
      '',
      `${P.sinkRows} rows per cell (${Math.min(P.sinkRows, 20_000)} at batch 100), median of ${P.sinkRounds} interleaved round(s), one writer: \`PostgresSink.writeBatch\` called directly (encoding, batch-id insert and transaction included) vs the same rows pre-encoded as COPY text, one transaction per batch, one connection (minimal pg-copy-streams script). Same database, emptied before each measurement.`,
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
  }
  if (r.ack) {
    out.push(
      '## 7. Ack modes (issue 4), PostgreSQL sink, 100-record NDJSON, 32 clients',
      '',
      mdTable(
        ['ingest.ack', 'records/s accepted', 'request p50', 'request p99', 'statuses', 'meaning'],
        r.ack.map((a) => [
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
  }
  if (r.health) {
    out.push('## 8. Health scheduler', '', r.health.note, '');
    if (r.health.markdown) out.push(r.health.markdown, '');
    else if (r.health.result !== undefined) out.push('```json', JSON.stringify(r.health.result, null, 2), '```', '');
  }
  if (r.errors.length) out.push('## Errors', '', ...r.errors.map((e) => `- ${e}`), '');
  return out.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const parent = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  chmodSync(parent, 0o755);
  workDir = parent;
  const results: Results = {
    date: new Date().toISOString().slice(0, 10),
    mode: quick ? 'quick' : 'default',
    durationSeconds: 0,
    storageAck: 'memory',
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? '?',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
    },
    errors: [],
  };
  const section = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!want(name)) return undefined;
    log(`${name}…`);
    try {
      return await fn();
    } catch (err) {
      results.errors.push(`${name}: ${(err as Error).stack ?? String(err)}`);
      log(`${name} FAILED: ${(err as Error).message}`);
      return undefined;
    }
  };
  const cleanup = async (): Promise<void> => {
    for (const c of [...children]) await c.stop(5000).catch(() => undefined);
    await pgServer?.stop().catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    results.ingest = await section('ingest', ingest);
    const needsPg = ['e2e', 'sweep', 'overload', 'sink', 'ack'].some(want);
    storageAck = (await cliExitCode(['config', 'print', '--ingest.ack', 'durable'])) === 0 ? 'durable' : 'memory';
    results.storageAck = storageAck;
    if (needsPg) pgServer = await startBenchPostgres();
    const pg = pgServer!;
    results.e2e = await section('e2e', () => endToEnd(pg));
    results.sweep = await section('sweep', () => sweep(pg));
    const sustainable =
      results.e2e?.sluiceRecPerSec ?? results.sweep?.rows.find((r) => r.isDefault)?.recPerSec ?? 20_000;
    results.overload = await section('overload', () => overload(pg, sustainable));
    results.micro = await section('micro', () => runMicro(quick));
    results.sink = await section('sink', () => sinkAlone(pg));
    results.ack = await section('ack', () => ackModes(pg));
    results.health = await section('health', healthScheduler);
    // The read API's bench has its own server and results file (bench/results/query-latency-*.md).
    await section('query', () => runQueryBench(quick ? { rows: 100_000, ingestRows: 20_000, runs: 10 } : {}));
  } finally {
    await cleanup();
  }
  results.durationSeconds = (Date.now() - started) / 1000;
  const dir = resultsDir(quick);
  mkdirSync(dir, { recursive: true });
  // A quick run never overwrites the day's full results, and is not committed.
  const base = join(dir, results.date);
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(`${base}.md`, markdown(results));
  process.stdout.write(markdown(results) + '\n');
  log(`wrote ${base}.md and ${base}.json in ${results.durationSeconds.toFixed(0)} s`);
  if (results.errors.length) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
