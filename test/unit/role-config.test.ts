// The scale-out settings: the role from a flag or the environment, the NATS servers as a
// comma-separated env value, a wrong role named, and NATS secrets masked in `config print`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromFlags } from '../../src/cli/config-flags.js';
import { loadConfig, maskSecrets } from '../../src/config/load.js';

test('role: default all; --role, SLUICE_ROLE and SLUICE_SERVER_ROLE set it', () => {
  assert.equal(loadConfig({ env: {} }).config.server.role, 'all');
  assert.equal(configFromFlags({ role: 'writer' }, {}).config.server.role, 'writer');
  assert.equal(loadConfig({ env: { SLUICE_ROLE: 'ingest' } }).config.server.role, 'ingest');
  assert.equal(loadConfig({ env: { SLUICE_SERVER_ROLE: 'writer' } }).config.server.role, 'writer');
});

test('a role that does not exist is refused, naming the key and the choices', () => {
  assert.throws(
    () => configFromFlags({ role: 'reader' }, {}),
    (err: Error) => /server\.role/.test(err.message) && /all, ingest, writer/.test(err.message),
  );
});

test('SLUICE_NATS_SERVERS is a comma-separated list; nats secrets are masked', () => {
  const { config } = loadConfig({
    env: { SLUICE_NATS_SERVERS: 'nats://a:4222, nats://b:4222,nats://c:4222', SLUICE_NATS_PASS: 'hunter22' },
  });
  assert.deepEqual(config.nats.servers, ['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
  const masked = maskSecrets(config) as { nats: { pass: string; servers: string[] } };
  assert.equal(masked.nats.pass, '***');
  assert.deepEqual(masked.nats.servers, config.nats.servers);
});
