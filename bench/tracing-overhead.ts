// What observability costs on the ingest hot path, reported as ratios (absolute numbers
// depend on the machine and its load; the ratios carry the claims in docs/observability.md):
//   - tracing off: the touch-points left on the request path, per request, against the
//     time a request takes (micro-benchmark), and off against off (the noise band);
//   - tracing on (exporting to a local OTLP receiver) against off;
//   - log level info against silent, and how many log lines ingest writes at info.
// The collector runs in this process; autocannon drives it from a child process so the
// load generator does not share the event loop being measured. Variants are interleaved
// over rounds and the median taken, because the machine is shared.
// Run: node --import tsx bench/tracing-overhead.ts [--seconds 2] [--rounds 3] [--connections 16]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FastifyRequest } from 'fastify';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { createTracing, requestSpanContext } from '../src/observability/tracing.js';
import type { Batch } from '../src/batch.js';

export interface OverheadOptions {
  seconds?: number;
  rounds?: number;
  connections?: number;
  /** Records per request; 1 is the worst case for per-request costs such as spans. */
  recordsPerRequest?: number;
}

type Variant = 'off' | 'off-again' | 'on' | 'unsampled' | 'silent';

export interface OverheadReport {
  /** Median requests/s per variant: tracing off (log info), off again (noise), tracing on, on at sampleRatio 0, log silent. */
  reqPerSec: Record<Variant, number>;
  /** Median CPU microseconds of the collector process per request, per variant. */
  cpuUsPerRequest: Record<Variant, number>;
  /** Throughput with tracing on / off (1.0 = free). On a small shared machine this includes
   *  the OTLP receiver's CPU, which a real deployment runs elsewhere. */
  tracingOnVsOff: number;
  /** Collector CPU per request with tracing on / off (1.0 = free): the cost in this process. */
  tracingOnCpuRatio: number;
  /** Collector CPU per request with tracing on but sampleRatio 0 (hooks and ids, nothing recorded) / off. */
  tracingUnsampledCpuRatio: number;
  /** Collector CPU per request, log info / silent. */
  logInfoCpuRatio: number;
  /** off-again / off: what "no difference" looks like on this machine right now. */
  noise: number;
  /** Time of the tracing touch-points left on the request path when off, per request. */
  tracingOffNsPerRequest: number;
  /** That time as a fraction of one request's share of the event loop. */
  tracingOffShareOfRequest: number;
  /** Throughput at log level info / silent (1.0 = logging costs nothing). */
  logInfoVsSilent: number;
  /** Log lines written per request at info during ingest (0: no per-request or per-record lines). */
  logLinesPerRequestAtInfo: number;
  /** Records written by the sink per request, to show the requests really ingested. */
  recordsPerRequest: number;
}

const AUTOCANNON = resolve(import.meta.dirname, '../node_modules/autocannon/autocannon.js');

async function startDrain(): Promise<{ url: string; close: () => Promise<void> }> {
  // An OTLP receiver that accepts and discards, in its own process: the collector pays for
  // building and sending spans, not for receiving them.
  const script = `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(200, { 'content-type': 'application/json' }).end('{}')); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((res, rej) => {
    child.stdout.once('data', (c: Buffer) => res(c.toString().trim()));
    child.once('exit', (code) => rej(new Error(`OTLP drain exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill();
      }),
  };
}

function load(
  url: string,
  seconds: number,
  connections: number,
  body: string,
): Promise<{ reqPerSec: number; total: number; non2xx: number }> {
  return new Promise((resolveRun, reject) => {
    const args = [
      AUTOCANNON,
      '-j',
      '-c',
      String(connections),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      body,
      `${url}/logs`,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        const r = JSON.parse(out) as { requests: { average: number; total: number }; non2xx: number };
        resolveRun({ reqPerSec: r.requests.average, total: r.requests.total, non2xx: r.non2xx });
      } catch (err) {
        reject(new Error(`autocannon gave no result: ${String(err)}`));
      }
    });
  });
}

interface VariantResult {
  reqPerSec: number;
  /** CPU time of this process (the collector, its exporter included) per request. */
  cpuUsPerRequest: number;
  lines: number;
  requests: number;
  records: number;
}

async function runVariant(variant: Variant, o: Required<OverheadOptions>, drainUrl: string): Promise<VariantResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const flags: Record<string, string> = {
    'server.host': '127.0.0.1',
    'server.port': '0',
    'sink.kind': 'blackhole',
    'log.level': variant === 'silent' ? 'silent' : 'info',
    'log.pretty': 'false',
    'deadLetter.dir': join(dir, 'dead-letter'),
    'tracing.endpoint': variant === 'on' || variant === 'unsampled' ? drainUrl : '',
    'tracing.sampleRatio': variant === 'unsampled' ? '0' : '1',
  };
  const { config } = loadConfig({ env: {}, flags });
  let lines = 0;
  // A real destination that only counts: the serialisation cost is paid, the disk's is not.
  const app = await createApp(config, { logger: createLogger(config.log, { write: () => void lines++ }) });
  await app.start();
  const body = JSON.stringify(
    Array.from({ length: o.recordsPerRequest }, (_, i) => ({
      message: `bench record ${i}`,
      level: 'info',
      service: 'bench',
    })),
  );
  try {
    await load(app.url, 1, o.connections, body); // warm-up: JIT, connection pools
    const before = lines;
    const recordsBefore = app.pool.stats().committedRecords;
    const cpu = process.cpuUsage();
    const r = await load(app.url, o.seconds, o.connections, body);
    await app.pool.idle();
    await app.tracing.shutdown(); // the export of this run's spans counts against it
    const used = process.cpuUsage(cpu);
    if (r.non2xx > 0)
      throw new Error(`${variant}: ${r.non2xx} requests were not 2xx (buffer full? lower --connections)`);
    return {
      reqPerSec: r.reqPerSec,
      cpuUsPerRequest: (used.user + used.system) / Math.max(1, r.total),
      lines: lines - before,
      requests: r.total,
      records: app.pool.stats().committedRecords - recordsBefore,
    };
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nanoseconds per request spent in tracing code that stays on the path when tracing is off. */
async function offTouchPointsNs(recordsPerRequest: number): Promise<number> {
  const tracing = await createTracing(
    { endpoint: '', serviceName: 'bench', sampleRatio: 1 },
    { logger: createLogger({ level: 'silent', pretty: 'false' }) },
  );
  const requests = Array.from({ length: 1024 }, () => ({}) as FastifyRequest);
  const batch = { links: [], records: [] } as unknown as Batch;
  const n = 2_000_000;
  let sink = 0;
  // Per request: requestSpanContext (ingest route). Per batch (amortised over its requests,
  // at most batch.maxRecords / recordsPerRequest): batchFlushed. writeHook is undefined when off.
  const perBatchShare = recordsPerRequest / 2000;
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (requestSpanContext(requests[i & 1023]!) !== undefined) sink++;
      if (i % Math.max(1, Math.round(1 / perBatchShare)) === 0) tracing.batchFlushed(batch);
    }
    const ns = ((performance.now() - t0) * 1e6) / n;
    if (round === 1) return ns + sink; // sink is 0; it keeps the calls from being optimised away
  }
  return 0;
}

export async function measureObservabilityOverhead(opts: OverheadOptions = {}): Promise<OverheadReport> {
  const o: Required<OverheadOptions> = { seconds: 2, rounds: 3, connections: 16, recordsPerRequest: 1, ...opts };
  const drain = await startDrain();
  const samples: Record<Variant, number[]> = { off: [], 'off-again': [], on: [], unsampled: [], silent: [] };
  const cpu: Record<Variant, number[]> = { off: [], 'off-again': [], on: [], unsampled: [], silent: [] };
  let infoLines = 0;
  let infoRequests = 0;
  let records = 0;
  let requests = 0;
  try {
    for (let r = 0; r < o.rounds; r++) {
      for (const v of ['off', 'on', 'silent', 'unsampled', 'off-again'] as const) {
        const res = await runVariant(v, o, drain.url);
        samples[v].push(res.reqPerSec);
        cpu[v].push(res.cpuUsPerRequest);
        if (v !== 'silent') {
          infoLines += res.lines;
          infoRequests += res.requests;
        }
        records += res.records;
        requests += res.requests;
      }
    }
  } finally {
    await drain.close();
  }
  const med = (r: Record<Variant, number[]>): Record<Variant, number> => ({
    off: median(r.off),
    'off-again': median(r['off-again']),
    on: median(r.on),
    unsampled: median(r.unsampled),
    silent: median(r.silent),
  });
  const reqPerSec = med(samples);
  const cpuUsPerRequest = med(cpu);
  const offNs = await offTouchPointsNs(o.recordsPerRequest);
  const offBase = (reqPerSec.off + reqPerSec['off-again']) / 2;
  const offCpu = (cpuUsPerRequest.off + cpuUsPerRequest['off-again']) / 2;
  return {
    reqPerSec,
    cpuUsPerRequest,
    tracingOnVsOff: reqPerSec.on / offBase,
    tracingOnCpuRatio: cpuUsPerRequest.on / offCpu,
    tracingUnsampledCpuRatio: cpuUsPerRequest.unsampled / offCpu,
    logInfoCpuRatio: offCpu / cpuUsPerRequest.silent,
    noise: reqPerSec['off-again'] / reqPerSec.off,
    tracingOffNsPerRequest: offNs,
    tracingOffShareOfRequest: offNs / (1e9 / offBase),
    logInfoVsSilent: offBase / reqPerSec.silent,
    logLinesPerRequestAtInfo: infoLines / Math.max(1, infoRequests),
    recordsPerRequest: records / Math.max(1, requests),
  };
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const report = await measureObservabilityOverhead({
    seconds: flag('seconds', 2),
    rounds: flag('rounds', 3),
    connections: flag('connections', 16),
    recordsPerRequest: flag('records', 1),
  });
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  console.log(`| measure | value |
|---|---|
| req/s tracing off, log info (median) | ${report.reqPerSec.off.toFixed(0)} |
| req/s tracing off again (noise) | ${report.reqPerSec['off-again'].toFixed(0)} (ratio ${report.noise.toFixed(3)}) |
| req/s tracing on (OTLP to local receiver) | ${report.reqPerSec.on.toFixed(0)} |
| req/s log silent | ${report.reqPerSec.silent.toFixed(0)} |
| req/s tracing on, sampleRatio 0 | ${report.reqPerSec.unsampled.toFixed(0)} |
| collector CPU per request: off / on / on-unsampled / log silent | ${report.cpuUsPerRequest.off.toFixed(1)} / ${report.cpuUsPerRequest.on.toFixed(1)} / ${report.cpuUsPerRequest.unsampled.toFixed(1)} / ${report.cpuUsPerRequest.silent.toFixed(1)} µs |
| tracing on / off: throughput | ${report.tracingOnVsOff.toFixed(3)} |
| tracing on / off: collector CPU per request | ${report.tracingOnCpuRatio.toFixed(3)} (sampleRatio 0: ${report.tracingUnsampledCpuRatio.toFixed(3)}) |
| log info / silent: collector CPU per request | ${report.logInfoCpuRatio.toFixed(3)} |
| tracing off: touch-points per request | ${report.tracingOffNsPerRequest.toFixed(1)} ns = ${pct(report.tracingOffShareOfRequest)} of a request |
| log info / silent: throughput | ${report.logInfoVsSilent.toFixed(3)} |
| log lines per request at info | ${report.logLinesPerRequestAtInfo} |
| records committed per request | ${report.recordsPerRequest.toFixed(3)} |`);
  console.log(JSON.stringify(report));
}
