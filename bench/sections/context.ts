// What every bench section shares: the run's settings (--quick or not), the collector's
// defaults, the work directory, child collectors started for the run (stopped at the end, even
// on failure), and the load generator driven as a client of Sluice or of a baseline.
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { newRunId } from '../../src/load/records.js';
import { runLoad, type LoadRunOptions, type LoadResult } from '../../src/load/run-load.js';
import { Verifier, type VerifyResult } from '../../src/load/verify.js';
import { startCollector, type Child } from '../lib/child.js';
import { num } from '../lib/table.js';

/** Every knob that makes --quick quick, in one place. */
export interface BenchSettings {
  ingestSeconds: number;
  warmupSeconds: number;
  rounds: number;
  e2eRecords: number;
  sweepRecords: number;
  sweepBatch: number[];
  sweepWriters: number[];
  overloadSeconds: number;
  overloadWarmupSeconds: number;
  sinkRows: number;
  sinkRounds: number;
  ackSeconds: number;
}

const QUICK: BenchSettings = {
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
};

const FULL: BenchSettings = {
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

export class BenchContext {
  readonly settings: BenchSettings;
  /** The collector's configuration defaults (batch size, writers, buffer): what the runs measure. */
  readonly defaults: Config = loadConfig({ env: {}, flags: {} }).config;
  /** Ack mode of the storage runs (e2e, sweep, overload): durable, as issue 7 asks, once the config has it. */
  storageAck = 'memory';
  private readonly children = new Set<Child>();
  private readonly startedAt = Date.now();

  constructor(
    readonly quick: boolean,
    /** A temp directory of this run: dead letters, file sink output, child WAL dirs. */
    readonly workDir: string,
  ) {
    this.settings = quick ? QUICK : FULL;
  }

  log(message: string): void {
    process.stderr.write(`bench [${((Date.now() - this.startedAt) / 1000).toFixed(0)} s]: ${message}\n`);
  }

  /** A collector from dist/ with the given flags, stopped by `stopAll` if the section does not. */
  async collector(flags: Record<string, string | number>): Promise<Child> {
    const child = await startCollector(
      { 'deadLetter.dir': join(this.workDir, 'dead-letter'), 'file.dir': join(this.workDir, 'logs'), ...flags },
      this.workDir,
    );
    return this.track(child);
  }

  /** Tracks a child started elsewhere (a raw server) so that `stopAll` stops it. */
  track(child: Child): Child {
    this.children.add(child);
    return child;
  }

  async stop(child: Child): Promise<void> {
    this.children.delete(child);
    await child.stop();
  }

  async stopAll(): Promise<void> {
    for (const child of [...this.children]) await child.stop(5000).catch(() => undefined);
    this.children.clear();
  }
}

/** The load generator's options for one run against `url`, with a fresh run id. */
export function loadRunOptions(url: string, over: Partial<LoadRunOptions>): LoadRunOptions {
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
    ...over,
  };
}

export interface Verified {
  load: LoadResult;
  verify: VerifyResult;
  /** Records stored per second, from the first request to the last commit. */
  e2eRecordsPerSec: number;
}

/** A load run whose records are then counted in PostgreSQL: stored, missing, duplicates, e2e latency. */
export async function loadVerified(url: string, dbUrl: string, over: Partial<LoadRunOptions>): Promise<Verified> {
  const options = loadRunOptions(url, over);
  const verifier = await Verifier.connect(dbUrl, options.runId, options.service);
  try {
    verifier.startWatching();
    const load = await runLoad(options);
    const verify = await verifier.finish(load.recordsAccepted, { timeoutMs: 120_000, quietMs: 10_000 });
    const spanMs = (verify.lastCommitMs ?? load.endedAtMs) - load.startedAtMs;
    return { load, verify, e2eRecordsPerSec: (verify.distinct / spanMs) * 1000 };
  } finally {
    await verifier.close();
  }
}

export const mib = (bytes: number): string => `${num(bytes / 2 ** 20)} MiB`;

/** A section's outcome: what goes in the JSON results, and its part of the markdown report. */
export interface SectionOutput<T> {
  result: T;
  markdown: string;
}
