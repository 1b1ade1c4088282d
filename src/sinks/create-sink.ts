// Builds the configured sink. The one place that knows every sink kind.
import type { Logger } from 'pino';
import { BlackholeSink } from './blackhole/blackhole-sink.js';
import type { SinkConfig } from './config.js';
import type { FileSinkConfig } from './file/config.js';
import { FileSink } from './file/file-sink.js';
import type { NatsConfig } from './nats/config.js';
import { NatsSink } from './nats/nats-sink.js';
import type { PostgresConfig } from './postgres/config.js';
import type { PostgresDatabase } from '../postgres/database.js';
import { PostgresSink } from './postgres/postgres-sink.js';
import type { RedisConfig } from './redis/config.js';
import { RedisSink } from './redis/redis-sink.js';
import type { Sink } from './sink.js';
import { StdoutSink } from './stdout/stdout-sink.js';

/** The sinks' slice of the config: the kind and each sink's keys. */
export interface SinksConfig {
  sink: SinkConfig;
  postgres: PostgresConfig;
  file: FileSinkConfig;
  nats: NatsConfig;
  redis: RedisConfig;
}

export interface SinkDeps {
  logger: Logger;
  /** The PostgreSQL database (sink.kind postgres), built by the composition root. */
  database?: PostgresDatabase;
}

export async function createSink(config: SinksConfig, deps: SinkDeps): Promise<Sink> {
  switch (config.sink.kind) {
    case 'postgres':
      if (!deps.database) throw new Error('the postgres sink needs the PostgresDatabase built by the composition root');
      return new PostgresSink({ ...config.postgres, database: deps.database, logger: deps.logger });
    case 'file':
      return new FileSink(config.file);
    case 'stdout':
      return new StdoutSink();
    case 'blackhole':
      return new BlackholeSink();
    case 'nats':
      return new NatsSink({ ...config.nats, logger: deps.logger });
    case 'redis':
      return new RedisSink({ ...config.redis, logger: deps.logger });
  }
}
