// Test helpers: a config built from overrides (on top of real defaults), a temp dir,
// and an app started on a free port, stopped (and its temp dir removed) by the caller.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

export function tempDir(prefix = 'sluice-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Config from dotted-key overrides, on top of defaults; never reads the process env or a file. */
export function testConfig(overrides: Record<string, string | number | boolean> = {}, dir?: string): Config {
  const flags: Record<string, string> = {
    'server.host': '127.0.0.1',
    'server.port': '0',
    'log.level': process.env.SLUICE_LOG_LEVEL ?? 'silent',
    'log.pretty': 'false',
    // Tests that want PostgreSQL say so; the rest must not start an embedded server by accident.
    'sink.kind': 'file',
    // Tests run checks every few hundred ms to see them run; production's floor is 1 s.
    'health.minIntervalMs': '100',
  };
  if (dir) {
    flags['file.dir'] = join(dir, 'logs');
    flags['deadLetter.dir'] = join(dir, 'dead-letter');
    flags['wal.dir'] = join(dir, 'wal');
    // API-registered checks are files with a non-postgres sink: never the repository's ./data.
    flags['health.dataDir'] = join(dir, 'health');
    flags['auth.keysFile'] = join(dir, 'keys.json');
  }
  for (const [k, v] of Object.entries(overrides)) flags[k] = String(v);
  return loadConfig({ env: {}, flags }).config;
}

export async function startApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const app = await createApp(config, {
    logger: pino({ level: config.log.level }),
    defaultMetrics: false,
    ...opts,
  });
  await app.start();
  return app;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
