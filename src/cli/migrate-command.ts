// `sluice migrate`: applies the PostgreSQL schema migrations and creates the log partitions,
// then exits. Safe to run while collectors run or start (an advisory lock serialises them).
import { pino } from 'pino';
import { createPostgresDatabase } from '../database.js';
import type { ParsedArgs } from './args.js';
import { CONFIG_FLAGS_HELP, configFromFlags } from './config-flags.js';

export const MIGRATE_HELP = `Usage: sluice migrate [config flags]

Applies pending schema migrations to the database at postgres.url (env DATABASE_URL or
POSTGRES_DSN), or to the embedded PostgreSQL under postgres.embeddedDataDir when no URL is
set, and creates the daily log partitions ahead. Collectors do the same at start-up; this
command is for running it on its own (a deploy step). Several runs at once take turns.

${CONFIG_FLAGS_HELP}`;

export async function migrateCommand(args: ParsedArgs, out: (s: string) => void): Promise<number> {
  if (args.booleans.has('help')) {
    out(MIGRATE_HELP);
    return 0;
  }
  const { config } = configFromFlags(args.flags);
  const logger = pino({ level: config.log.level === 'info' ? 'warn' : config.log.level });
  // start() migrates and maintains partitions; the database then just closes again.
  const database = createPostgresDatabase({ ...config, writers: { ...config.writers, count: 1 } }, logger);
  try {
    await database.start();
    const m = database.migration;
    out(
      m && m.applied.length > 0
        ? `applied migrations ${m.applied.join(', ')}; schema at version ${m.version}`
        : `schema already at version ${m?.version ?? '?'}; nothing to apply`,
    );
  } finally {
    await database.close();
  }
  return 0;
}
