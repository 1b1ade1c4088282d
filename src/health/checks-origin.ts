// Says at start-up where API-registered checks are read from, and where others may be that
// this start does not load: checks live with the sink (a PostgreSQL table, or a JSON file for
// any other sink), so switching sinks silently "loses" them otherwise.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SinkConfig } from '../sinks/config.js';
import type { PostgresConfig } from '../sinks/postgres/config.js';
import type { HealthConfig } from './config.js';
import { safeUrl } from '../postgres/url.js';

export interface ChecksOrigin {
  /** Where API-registered checks are read from and written to. */
  from: string;
  /** Where checks registered under another sink may be, not loaded by this start. */
  notLoaded?: string;
}

/** The config this needs: where each kind of sink keeps checks. */
export interface ChecksOriginConfig {
  health: Pick<HealthConfig, 'dataDir'>;
  sink: Pick<SinkConfig, 'kind'>;
  postgres: Pick<PostgresConfig, 'url' | 'embeddedDataDir'>;
}

export function checksOrigin(config: ChecksOriginConfig): ChecksOrigin {
  const file = resolve(join(config.health.dataDir, 'checks.json'));
  if (config.sink.kind === 'postgres') {
    const db = config.postgres.url
      ? safeUrl(config.postgres.url)
      : `the embedded PostgreSQL in ${resolve(config.postgres.embeddedDataDir)}`;
    return {
      from: `the checks table of ${db}`,
      ...(existsSync(file) ? { notLoaded: `${file} (written while the sink was not postgres)` } : {}),
    };
  }
  const elsewhere = config.postgres.url
    ? `the checks table of ${safeUrl(config.postgres.url)}`
    : existsSync(join(config.postgres.embeddedDataDir, 'PG_VERSION'))
      ? `the checks table of the embedded PostgreSQL in ${resolve(config.postgres.embeddedDataDir)}`
      : undefined;
  return { from: file, ...(elsewhere ? { notLoaded: `${elsewhere} (used when the sink is postgres)` } : {}) };
}
