// Builds the configured sink. The one place that knows every sink kind.
import type { Logger } from 'pino';
import { BlackholeSink } from './blackhole/blackhole-sink.js';
import type { SinkConfig } from './config.js';
import type { FileSinkConfig } from './file/config.js';
import { FileSink } from './file/file-sink.js';
import type { PostgresConfig, RetentionConfig } from './postgres/config.js';
import { PostgresSink } from './postgres/postgres-sink.js';
import type { Sink } from './sink.js';
import { StdoutSink } from './stdout/stdout-sink.js';

/** The sinks' slice of the config: the kind, each sink's keys, and how many writers share a sink. */
export interface SinksConfig {
  sink: SinkConfig;
  postgres: PostgresConfig;
  retention: RetentionConfig;
  file: FileSinkConfig;
  writers: { count: number };
}

export interface SinkDeps {
  logger: Logger;
}

export async function createSink(config: SinksConfig, deps: SinkDeps): Promise<Sink> {
  switch (config.sink.kind) {
    case 'postgres':
      return new PostgresSink({ ...config.postgres, retention: config.retention, writers: config.writers.count, logger: deps.logger });
    case 'file':
      return new FileSink(config.file);
    case 'stdout':
      return new StdoutSink();
    case 'blackhole':
      return new BlackholeSink();
  }
}
