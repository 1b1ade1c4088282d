// `npm run bench [-- --quick] [-- --only a,b]`: every throughput claim measured against a
// baseline in the same run (the machine is small and shared, so only ratios travel), written
// to bench/results/<date>.md and .json. It starts what it needs: an embedded PostgreSQL in a
// temp dir, the collector from dist/ as a child process, a raw node:http server; the load
// generator (src/load) runs in this process and is the same client for Sluice and for each
// baseline. Each section lives in bench/sections/ and returns its result and its part of the
// report; this file parses the arguments, runs the sections in order and writes the report.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { cliExitCode } from './lib/child.js';
import { startBenchPostgres, type BenchPostgres } from './lib/postgres.js';
import { resultsDir } from './lib/results-dir.js';
import { runQueryBench } from './query-latency.js';
import { ackSection } from './sections/ack.js';
import { BenchContext, type SectionOutput } from './sections/context.js';
import { e2eSection } from './sections/e2e.js';
import { healthSection } from './sections/health.js';
import { ingestSection } from './sections/ingest.js';
import { microSection } from './sections/micro.js';
import { overloadSection } from './sections/overload.js';
import { protocolsSection } from './sections/protocols.js';
import { scaleOutSection } from './sections/scale-out.js';
import { sinkSection } from './sections/sink.js';
import { summaryTable, type BenchResults } from './sections/summary.js';
import { sweepSection } from './sections/sweep.js';

const quick = process.argv.includes('--quick');
const only = ((): Set<string> | null => {
  const at = process.argv.indexOf('--only');
  return at > 0 ? new Set(process.argv[at + 1]!.split(',')) : null;
})();
const want = (section: string): boolean => !only || only.has(section);

function header(results: BenchResults): string[] {
  const { machine } = results;
  return [
    `# Sluice benchmarks — ${results.date} (${results.mode})`,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}; ` +
      'shared with other work, so absolute numbers are noisy and only the ratios (Sluice vs a baseline measured in ' +
      `the same run) carry claims. Took ${results.durationSeconds.toFixed(0)} s. ` +
      `Reproduce: \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\`.`,
    '',
  ];
}

async function main(): Promise<void> {
  const started = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  chmodSync(workDir, 0o755);
  const ctx = new BenchContext(quick, workDir);
  const results: BenchResults = {
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
  /** Each section's part of the report, in run order. */
  const sections: string[] = [];
  const section = async <T>(name: string, run: () => Promise<SectionOutput<T>>): Promise<T | undefined> => {
    if (!want(name)) return undefined;
    ctx.log(`${name}…`);
    try {
      const { result, markdown } = await run();
      sections.push(markdown);
      return result;
    } catch (err) {
      results.errors.push(`${name}: ${(err as Error).stack ?? String(err)}`);
      ctx.log(`${name} FAILED: ${(err as Error).message}`);
      return undefined;
    }
  };
  let postgres: BenchPostgres | undefined;
  const cleanup = async (): Promise<void> => {
    await ctx.stopAll();
    await postgres?.stop().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    results.ingest = await section('ingest', () => ingestSection(ctx));
    const needsPostgres = ['e2e', 'sweep', 'overload', 'sink', 'ack', 'scale-out'].some(want);
    ctx.storageAck = (await cliExitCode(['config', 'print', '--ingest.ack', 'durable'])) === 0 ? 'durable' : 'memory';
    results.storageAck = ctx.storageAck;
    if (needsPostgres) postgres = await startBenchPostgres();
    const pg = postgres!;
    results.e2e = await section('e2e', () => e2eSection(ctx, pg));
    results.sweep = await section('sweep', () => sweepSection(ctx, pg));
    const sustainable =
      results.e2e?.sluiceRecPerSec ?? results.sweep?.rows.find((row) => row.isDefault)?.recPerSec ?? 20_000;
    results.overload = await section('overload', () => overloadSection(ctx, pg, sustainable));
    results.micro = await section('micro', () => microSection(ctx));
    results.sink = await section('sink', () => sinkSection(ctx, pg));
    results.ack = await section('ack', () => ackSection(ctx, pg));
    results.health = await section('health', () => healthSection(ctx));
    results.scaleOut = await section('scale-out', () => scaleOutSection(ctx, pg));
    // The read API's bench has its own server and results file (bench/results/query-latency-*.md).
    await section('query', async () => {
      await runQueryBench(quick ? { rows: 100_000, ingestRows: 20_000, runs: 10 } : {});
      return { result: undefined, markdown: '' };
    });
    // bench/protocols/<name>.ts, one file per ingest protocol (each starts its own collector).
    results.protocols = await section('protocols', () => protocolsSection(ctx));
    for (const { file, error } of results.protocols?.failures ?? []) results.errors.push(`protocols ${file}: ${error}`);
  } finally {
    await cleanup();
  }
  results.durationSeconds = (Date.now() - started) / 1000;
  const report = [
    ...header(results),
    '## Targets',
    '',
    summaryTable(results),
    '',
    ...sections.filter((markdown) => markdown !== ''),
    ...(results.errors.length ? ['## Errors', '', ...results.errors.map((e) => `- ${e}`), ''] : []),
  ].join('\n');
  // A quick or partial (--only) run never overwrites the day's full results, and is not committed.
  const dir = resultsDir(quick || only !== null);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, results.date);
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(`${base}.md`, report);
  process.stdout.write(report + '\n');
  ctx.log(`wrote ${base}.md and ${base}.json in ${results.durationSeconds.toFixed(0)} s`);
  if (results.errors.length) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
