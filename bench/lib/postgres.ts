// The benchmarks' PostgreSQL: an embedded server in a temp dir with track_commit_timestamp on
// (exact commit times for end-to-end latency), and a fresh, migrated database per scenario so
// no run pays for another's rows in its indexes.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/postgres/embedded.js';
import { standalonePostgresSink } from '../../src/database.js';
import type { PostgresSink } from '../../src/sinks/postgres/postgres-sink.js';
import { withDatabase } from '../../src/postgres/url.js';

export interface BenchPostgres {
  readonly url: string;
  /** A new database with the Sluice schema and today's partitions; returns its URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-pg-'));
  // As root the server runs as the postgres user, which must be able to enter the directory.
  chmodSync(dir, 0o755);
  let server: EmbeddedPostgres;
  try {
    server = await startEmbeddedPostgres({
      dataDir: join(dir, 'data'),
      settings: { track_commit_timestamp: 'on', max_connections: '200' },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let n = 0;
  return {
    url: server.url,
    async database(name) {
      const db = `bench_${name.replace(/\W/g, '_')}_${++n}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${db}`);
      } finally {
        await admin.end();
      }
      const url = withDatabase(server.url, db);
      await withSink(url, 'binary', 1, () => Promise.resolve());
      return url;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A started PostgresSink on `url` (migrations and partitions done), closed after `fn`. */
export async function withSink<T>(
  url: string,
  copyFormat: 'binary' | 'text',
  writers: number,
  fn: (sink: PostgresSink) => Promise<T>,
): Promise<T> {
  const { config } = loadConfig({
    env: {},
    flags: { 'postgres.url': url, 'postgres.copyFormat': copyFormat, 'writers.count': String(writers) },
  });
  const sink = standalonePostgresSink(config, pino({ level: 'warn' }));
  await sink.start();
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}
