// How every NATS client of Sluice connects: servers, auth, TLS files, reconnecting for good.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsConnectOptions } from '../../src/sinks/nats/connect-options.js';

const base = { servers: ['a:4222', 'b:4222'], timeoutMs: 1500, user: '', pass: '', token: '' };

test('plain: servers, timeout, a name, reconnect for ever; no auth or TLS keys at all', () => {
  const o = natsConnectOptions(base, 'sluice-writer');
  assert.deepEqual(o.servers, ['a:4222', 'b:4222']);
  assert.equal(o.timeout, 1500);
  assert.equal(o.name, 'sluice-writer');
  assert.equal(o.maxReconnectAttempts, -1);
  for (const k of ['user', 'pass', 'token', 'tls'] as const) assert.equal(k in o, false, k);
});

test('user and password, or a token', () => {
  assert.deepEqual(
    [natsConnectOptions({ ...base, user: 'u', pass: 'p' }, 'x')].map((o) => [o.user, o.pass, o.token]),
    [['u', 'p', undefined]],
  );
  assert.equal(natsConnectOptions({ ...base, token: 't0k' }, 'x').token, 't0k');
});

test('TLS: a CA alone, or a client certificate and key (mTLS)', () => {
  assert.deepEqual(natsConnectOptions({ ...base, tlsCaFile: '/ca.pem' }, 'x').tls, { caFile: '/ca.pem' });
  assert.deepEqual(
    natsConnectOptions({ ...base, tlsCertFile: '/c.pem', tlsKeyFile: '/k.pem', tlsCaFile: '' }, 'x').tls,
    { certFile: '/c.pem', keyFile: '/k.pem' },
  );
});
