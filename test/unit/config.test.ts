import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { configKeys, envName, loadConfig, maskSecrets } from '../../src/config/load.js';
import { SluiceError } from '../../src/errors.js';
import { tempDir } from '../helpers/app.js';

const dir = tempDir();
after(() => dir.remove());

describe('config', () => {
  test('maps a key to its SLUICE_* environment name', () => {
    assert.equal(envName('ingest.enqueueTimeoutMs'), 'SLUICE_INGEST_ENQUEUE_TIMEOUT_MS');
    assert.equal(envName('batch.maxRecords'), 'SLUICE_BATCH_MAX_RECORDS');
  });

  test('every key has a default and a description', () => {
    const keys = configKeys();
    assert.ok(keys.length > 0, 'the schema lists its keys');
    const { config, origins } = loadConfig({ env: {} });
    for (const k of keys) {
      assert.notEqual(k.description, '', `${k.key} has no description`);
      assert.notEqual(k.default, undefined, `${k.key} has no default`);
      // With no file, env or flag, the loaded value is that default, and says it came from there.
      const loaded = k.key
        .split('.')
        .reduce<unknown>((v, part) => (v as Record<string, unknown> | undefined)?.[part], config);
      assert.deepEqual(loaded, k.default, `${k.key} loads as its default`);
      assert.equal(origins.get(k.key), 'default', `${k.key} comes from the default`);
    }
    assert.equal(config.server.port, 8080);
    assert.equal(config.ingest.enqueueTimeoutMs, 200);
  });

  test('layers defaults < file < env < flags', () => {
    const file = join(dir.path, 'c.yaml');
    writeFileSync(file, 'server:\n  port: 9001\nbatch:\n  maxRecords: 111\n  maxWaitMs: 50\nwriters:\n  count: 3\n');
    const { config, origins } = loadConfig({
      file,
      env: { SLUICE_BATCH_MAX_RECORDS: '222', SLUICE_BATCH_MAX_WAIT_MS: '60', PORT: '9002' },
      flags: { 'batch.maxWaitMs': '70' },
    });
    assert.equal(config.writers.count, 3, 'file beats default');
    assert.equal(config.batch.maxRecords, 222, 'env beats file');
    assert.equal(config.server.port, 9002, 'PORT env beats file');
    assert.equal(config.batch.maxWaitMs, 70, 'flag beats env');
    assert.equal(origins.get('batch.maxWaitMs'), 'flag --batch.maxWaitMs');
    assert.equal(origins.get('batch.maxRecords'), 'env SLUICE_BATCH_MAX_RECORDS');
    assert.equal(origins.get('writers.count'), `file ${file}`);
  });

  test('SLUICE_* wins over an alias like PORT', () => {
    const { config } = loadConfig({ env: { PORT: '1', SLUICE_SERVER_PORT: '2' } });
    assert.equal(config.server.port, 2);
  });

  test('reads JSON config files and SLUICE_CONFIG', () => {
    const file = join(dir.path, 'c.json');
    writeFileSync(file, JSON.stringify({ sink: { kind: 'blackhole' } }));
    assert.equal(loadConfig({ env: { SLUICE_CONFIG: file } }).config.sink.kind, 'blackhole');
  });

  test('an invalid value names the key, the value, its source and what is allowed', () => {
    assert.throws(
      () => loadConfig({ env: { SLUICE_INGEST_ENQUEUE_TIMEOUT_MS: 'abc' } }),
      (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.match(
          err.message,
          /ingest\.enqueueTimeoutMs = "abc" \(from env SLUICE_INGEST_ENQUEUE_TIMEOUT_MS\): expected number/,
        );
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ env: {}, flags: { 'log.level': 'loud' } }),
      /log\.level = "loud" \(from flag --log\.level\): expected one of trace, debug/,
    );
    assert.throws(() => loadConfig({ env: {}, flags: { 'writers.count': '0' } }), /writers\.count = 0 .*>=1/);
    // A list key names the entry and field, with the value found there and where it came from.
    assert.throws(
      () => loadConfig({ env: {}, flags: { checks: '[{"kind":"tcp","name":"a","host":"h","port":0}]' } }),
      /checks\[0\]\.port = 0 \(from flag --checks\)/,
    );
    assert.equal(
      loadConfig({ env: {}, flags: { 'buffer.highWaterMark': '1e-1' } }).config.buffer.highWaterMark,
      0.1,
      'signed exponents are numbers',
    );
  });

  test('an unknown key in a file or flag is an error, not silently ignored', () => {
    const file = join(dir.path, 'typo.yaml');
    writeFileSync(file, 'batch:\n  maxRecord: 5\n');
    assert.throws(() => loadConfig({ file, env: {} }), /unknown key "batch\.maxRecord"/);
    const notMapping = join(dir.path, 'section.yaml');
    writeFileSync(notMapping, 'buffer: 5\n');
    assert.throws(() => loadConfig({ file: notMapping, env: {} }), /"buffer" must be a mapping of its keys/);
    assert.throws(() => loadConfig({ env: {}, flags: { 'batch.nope': '1' } }), /unknown option --batch\.nope/);
  });

  test('a file that is not valid YAML is reported with its path', () => {
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(file, 'server: [unclosed\n');
    assert.throws(
      () => loadConfig({ file, env: {} }),
      new RegExp(`config file ${file.replace(/[.]/g, '\\.')} is not valid YAML`),
    );
  });

  test('lists come from comma-separated env values and secrets are masked when printed', () => {
    const { config } = loadConfig({ env: { SLUICE_AUTH_INGEST_TOKENS: 'token-aaaaaaaa, token-bbbbbbbb' } });
    assert.deepEqual(config.auth.ingestTokens, ['token-aaaaaaaa', 'token-bbbbbbbb']);
    const masked = maskSecrets(config) as { auth: { ingestTokens: string[] } };
    assert.deepEqual(masked.auth.ingestTokens, ['***', '***']);
    assert.ok(!JSON.stringify(masked).includes('token-aaaaaaaa'));
  });
});
