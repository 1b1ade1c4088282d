// Builds the PostgreSQL database from config with the migrations of every part that keeps
// tables in it (the sink's and health's, applied by one migrator in version order).
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { ACCESS_MIGRATIONS } from './access/migrations/index.js';
import { HEALTH_MIGRATIONS } from './health/migrations/index.js';
import { PostgresDatabase } from './postgres/database.js';
import type { Migration } from './postgres/migration.js';
import { SINK_MIGRATIONS } from './sinks/postgres/migrations/index.js';
import { PostgresSink } from './sinks/postgres/postgres-sink.js';

export const MIGRATIONS: readonly Migration[] = [...SINK_MIGRATIONS, ...HEALTH_MIGRATIONS, ...ACCESS_MIGRATIONS].sort(
  (a, b) => a.version - b.version,
);

export function createPostgresDatabase(
  config: Pick<Config, 'postgres' | 'retention' | 'writers'>,
  logger: Logger,
): PostgresDatabase {
  return new PostgresDatabase({
    ...config.postgres,
    retention: config.retention,
    writers: config.writers.count,
    migrations: MIGRATIONS,
    logger,
  });
}

/** A PostgreSQL sink with a database of its own, started and closed with it (`sluice` tests and benchmarks). */
export function standalonePostgresSink(
  config: Pick<Config, 'postgres' | 'retention' | 'writers'>,
  logger: Logger,
): PostgresSink {
  return new PostgresSink({
    ...config.postgres,
    database: createPostgresDatabase(config, logger),
    logger,
    ownsDatabase: true,
  });
}
