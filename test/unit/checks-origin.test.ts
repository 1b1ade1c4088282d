// Start-up says where API checks are read from and where checks of another sink may be.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { checksOrigin } from '../../src/health/checks-origin.js';
import { tempDir } from '../helpers/app.js';

const dir = tempDir();
after(() => dir.remove());

function config(flags: Record<string, string>) {
  return loadConfig({
    env: {},
    flags: {
      'health.dataDir': join(dir.path, 'health'),
      'postgres.embeddedDataDir': join(dir.path, 'postgres'),
      ...flags,
    },
  }).config;
}

test('file sink, no database anywhere: checks from the JSON file, nothing else to mention', () => {
  const o = checksOrigin(config({ 'sink.kind': 'file' }));
  assert.equal(o.from, join(dir.path, 'health', 'checks.json'));
  assert.equal(o.notLoaded, undefined);
});

test('file sink with a PostgreSQL URL configured: its checks table is named, password masked', () => {
  const o = checksOrigin(config({ 'sink.kind': 'file', 'postgres.url': 'postgres://u:secret@db.example:5432/sluice' }));
  assert.match(o.notLoaded ?? '', /checks table of postgres:\/\/u:\*+@db\.example:5432\/sluice/);
  assert.doesNotMatch(o.notLoaded ?? '', /secret/);
});

test('file sink beside an embedded PostgreSQL data directory (the default first run): it is named', () => {
  mkdirSync(join(dir.path, 'postgres'), { recursive: true });
  writeFileSync(join(dir.path, 'postgres', 'PG_VERSION'), '18\n');
  const o = checksOrigin(config({ 'sink.kind': 'file' }));
  assert.match(o.notLoaded ?? '', /embedded PostgreSQL in .*postgres/);
});

test('postgres sink with a checks file left by a file-sink run: the file is named', () => {
  mkdirSync(join(dir.path, 'health'), { recursive: true });
  writeFileSync(join(dir.path, 'health', 'checks.json'), '{"checks":[]}');
  const o = checksOrigin(config({ 'sink.kind': 'postgres' }));
  assert.match(o.from, /checks table of the embedded PostgreSQL/);
  assert.match(o.notLoaded ?? '', /checks\.json/);
});
