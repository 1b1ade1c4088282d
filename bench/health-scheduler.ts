// Health scheduler benchmark: N checks (default 10,000) at one interval (default 10 s) against
// HTTP targets on 127.0.0.1 that run in a child process, so this process's CPU is the checker's
// own. The full app runs here (blackhole sink: results still go buffer → batcher → writers).
// Reports scheduling lag p50/p99/max and this process's CPU as a fraction of one core, over a
// window that starts after one warm-up interval. Stops by itself. Used by bench/run.ts through
// runSchedulerBench(); alone: node --import tsx bench/health-scheduler.ts [--quick] [--durable]
// [--conditions] (three conditions on every check, one reading the body: see CONDITIONS)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resultsDir } from './lib/results-dir.js';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';

export interface SchedulerBenchOptions {
  checks?: number;
  intervalMs?: number;
  /** Measured window, after one warm-up interval. */
  measureMs?: number;
  targets?: number;
  /** Ack mode of the app: memory (default here) or durable (results also go through the disk WAL). */
  ack?: 'memory' | 'durable';
  /** Directory for the .md/.json results; false: write nothing. */
  outDir?: string | false;
  /** Appended to the result file names (e.g. "quick"). */
  label?: string;
  /** Give every check the three CONDITIONS (the issue's bench: "now with three conditions each"). */
  conditions?: boolean;
}

/**
 * Three conditions per check; `[BODY] == pat(o*)` makes every run read and match the body. None
 * reads [RESPONSE_TIME]: on a starved machine that one fails, and the state changes, alerts
 * and log lines that follow load the machine further (the bench would measure that spiral).
 */
export const CONDITIONS = ['[STATUS] == 200', '[BODY] == pat(o*)', '[CONNECTED] == true'];

export interface SchedulerBenchResult {
  ack: 'memory' | 'durable';
  checks: number;
  intervalMs: number;
  targets: number;
  measuredSeconds: number;
  runs: number;
  runsPerSecond: number;
  expectedRunsPerSecond: number;
  lagMs: { p50: number; p90: number; p99: number; max: number };
  cpuCores: number;
  eventLoopDelayP99Ms: number;
  rssMiB: number;
  results: { up: number; failure: number; timeout: number; skippedOverlap: number };
  conditionsPerCheck: number;
  pass: { lag: boolean; cpu: boolean };
  files?: { md: string; json: string };
}

// The targets: plain node:http servers answering 200 "ok", keep-alive on. Plain JS so the
// child needs no TypeScript loader.
const TARGETS_JS = `
const http = require('node:http');
const n = Number(process.argv[1]);
const ports = [];
let pending = n;
for (let i = 0; i < n; i++) {
  const s = http.createServer((req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); });
  s.keepAliveTimeout = 120000;
  s.listen(0, '127.0.0.1', () => { ports.push(s.address().port); if (--pending === 0) process.stdout.write(JSON.stringify(ports) + '\\n'); });
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

async function startTargets(n: number): Promise<{ ports: number[]; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', TARGETS_JS, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((res, rej) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('\n')) res(JSON.parse(buf) as number[]);
    });
    child.once('exit', (code) => rej(new Error(`targets exited (${code})`)));
  });
  return { ports, child };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const r2 = (n: number): number => Math.round(n * 100) / 100;

export async function runSchedulerBench(opts: SchedulerBenchOptions = {}): Promise<SchedulerBenchResult> {
  const checks = opts.checks ?? 10_000;
  const intervalMs = opts.intervalMs ?? 10_000;
  const measureMs = opts.measureMs ?? 30_000;
  const nTargets = opts.targets ?? 8;
  const ack = opts.ack ?? 'memory';
  const log = (s: string): void => void process.stderr.write(`health-scheduler: ${s}\n`);

  const { ports, child } = await startTargets(nTargets);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-health-'));
  const config = loadConfig({
    env: {},
    flags: {
      'server.host': '127.0.0.1',
      'server.port': '0',
      'log.level': 'warn',
      'sink.kind': 'blackhole',
      'ingest.ack': ack,
      'wal.dir': join(dir, 'wal'),
      'deadLetter.dir': join(dir, 'dead-letter'),
      'health.dataDir': join(dir, 'health'),
      'health.concurrency': '512',
      'health.perHostConcurrency': '64',
      'health.maxChecks': String(checks),
      // The scheduler's own capacity is measured: no probe rate caps.
      'health.maxProbesPerSecond': '0',
      'health.maxProbesPerSecondPerHost': '0',
    },
  }).config;
  // The check list is file-only config; set it directly (the same path a config file takes).
  config.checks = Array.from({ length: checks }, (_, i) => ({
    id: `bench-${i}`,
    name: `bench ${i}`,
    kind: 'http',
    url: `http://127.0.0.1:${ports[i % ports.length]}/health/${i}`,
    interval: intervalMs,
    timeout: Math.min(5000, intervalMs),
    ...(opts.conditions ? { conditions: CONDITIONS } : {}),
  }));
  const app = await createApp(config, { logger: pino({ level: 'warn' }), defaultMetrics: false });
  let measuring = false;
  const lags: number[] = [];
  app.health.lagListener = (ms) => {
    if (measuring) lags.push(ms);
  };
  const runsOf = async (): Promise<Record<string, number>> => {
    const m = await app.metrics.registry.getSingleMetric('sluice_check_runs_total')!.get();
    const out: Record<string, number> = { up: 0, failure: 0, timeout: 0, skipped_overlap: 0, degraded: 0 };
    for (const v of m.values) out[String(v.labels.result)] = (out[String(v.labels.result)] ?? 0) + v.value;
    return out;
  };
  try {
    await app.start();
    log(`${checks} checks at ${intervalMs} ms against ${nTargets} local targets; warming up for one interval`);
    await new Promise((r) => setTimeout(r, intervalMs));
    const before = await runsOf();
    const startedBefore = app.health.schedulerStats().started;
    const eld = monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
    measuring = true;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, measureMs));
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    measuring = false;
    eld.disable();
    const after = await runsOf();
    const runs = app.health.schedulerStats().started - startedBefore;
    const sorted = Float64Array.from(lags).sort();
    const cpuCores = (cpu.user + cpu.system) / 1000 / wall;
    const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    const result: SchedulerBenchResult = {
      ack,
      checks,
      conditionsPerCheck: opts.conditions ? CONDITIONS.length : 0,
      intervalMs,
      targets: nTargets,
      measuredSeconds: r2(wall / 1000),
      runs,
      runsPerSecond: r2(runs / (wall / 1000)),
      expectedRunsPerSecond: r2(checks / (intervalMs / 1000)),
      lagMs: {
        p50: r2(quantile(sorted, 0.5)),
        p90: r2(quantile(sorted, 0.9)),
        p99: r2(quantile(sorted, 0.99)),
        max: r2(sorted[sorted.length - 1] ?? NaN),
      },
      cpuCores: r2(cpuCores),
      eventLoopDelayP99Ms: r2(eld.percentile(99) / 1e6),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
      results: {
        up: delta('up') + delta('degraded'),
        failure: delta('failure'),
        timeout: delta('timeout'),
        skippedOverlap: delta('skipped_overlap'),
      },
      pass: { lag: quantile(sorted, 0.99) < 100, cpu: cpuCores < 1 },
    };
    if (opts.outDir !== false)
      result.files = writeResults(result, opts.outDir ?? resolve(import.meta.dirname, 'results'), opts.label);
    return result;
  } finally {
    await app.stop();
    child.stdin!.end();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function resultTable(r: SchedulerBenchResult): string {
  const verdict = (ok: boolean): string => (ok ? '**PASS**' : '**FAIL**');
  return [
    '| checks | interval | runs/s (expected) | lag p50 | lag p90 | lag p99 | lag max | CPU (cores) | event-loop p99 | RSS | up / fail / timeout / overlap-skipped |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${r.checks.toLocaleString('en')} | ${r.intervalMs / 1000} s | ${r.runsPerSecond} (${r.expectedRunsPerSecond}) | ${r.lagMs.p50} ms | ${r.lagMs.p90} ms | ${r.lagMs.p99} ms | ${r.lagMs.max} ms | ${r.cpuCores} | ${r.eventLoopDelayP99Ms} ms | ${r.rssMiB} MiB | ${r.results.up} / ${r.results.failure} / ${r.results.timeout} / ${r.results.skippedOverlap} |`,
    '',
    `Targets: lag p99 < 100 ms: ${r.lagMs.p99} ms ${verdict(r.pass.lag)}; CPU < 1 core: ${r.cpuCores} ${verdict(r.pass.cpu)}.`,
  ].join('\n');
}

function writeResults(r: SchedulerBenchResult, outDir: string, label?: string): { md: string; json: string } {
  mkdirSync(outDir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const base = `health-scheduler-${date}${label ? `-${label}` : ''}`;
  const md = join(outDir, `${base}.md`);
  const json = join(outDir, `${base}.json`);
  const cpu = cpus();
  const text = `# Health scheduler benchmark — ${date}

${r.checks.toLocaleString('en')} HTTP checks${r.conditionsPerCheck > 0 ? ` with ${r.conditionsPerCheck} conditions each (${CONDITIONS.map((c) => `\`${c}\``).join(', ')})` : ''} at a ${r.intervalMs / 1000} s interval against ${r.targets} node:http servers on 127.0.0.1 in a child process (so the CPU below is the checker's own). The whole app runs in the measured process with the blackhole sink and ack mode \`${r.ack}\`: every result is a record through buffer → batcher → writer pool${r.ack === 'durable' ? ' (and the disk WAL)' : ''}. Measured for ${r.measuredSeconds} s after one warm-up interval. Lag = when a run starts − when it was due (includes waiting for a concurrency slot). CPU = process.cpuUsage() user + system over wall time, in cores.

Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.versions.node}, ${process.platform}-${process.arch}; shared with other work, so numbers are noisy. Reproduce: \`node --import tsx bench/health-scheduler.ts\`.

${resultTable(r)}
`;
  writeFileSync(md, text);
  writeFileSync(json, JSON.stringify({ date, ...r, files: undefined }, null, 2) + '\n');
  return { md, json };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const ack = process.argv.includes('--durable') ? 'durable' : 'memory';
  const conditions = process.argv.includes('--conditions');
  const label =
    [quick ? 'quick' : '', ack === 'durable' ? 'durable' : '', conditions ? 'conditions' : '']
      .filter(Boolean)
      .join('-') || undefined;
  const r = await runSchedulerBench({
    ...(quick ? { checks: 2000, intervalMs: 5000, measureMs: 10_000 } : {}),
    ack,
    conditions,
    outDir: resultsDir(quick),
    ...(label ? { label } : {}),
  });
  process.stdout.write(resultTable(r) + '\n');
  if (r.files) process.stdout.write(`written: ${r.files.md}\n`);
  process.exit(0);
}
