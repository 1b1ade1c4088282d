// TLS on the listener with certificates generated here by openssl: HTTPS ingest; a SIGHUP
// reload that keeps open connections on the old certificate while new ones get the new one;
// a bad certificate on reload that is logged and changes nothing; mTLS on ingest routes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import type { SluiceError } from '../../src/errors.js';
import { freePort } from '../../src/postgres/embedded.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { hasOpenssl, makeCa, makeCert, type Pem } from '../helpers/certs.js';
import { startChildCollector } from '../helpers/child-collector.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Answer {
  status: number;
  fingerprint256: string;
  reusedSocket: boolean;
}

/** One HTTPS request; resolves with the status, the server certificate seen and whether the connection was reused. */
function send(url: string, opts: RequestOptions & { body?: string; path?: string }): Promise<Answer> {
  const { body, path = '/logs', ...rest } = opts;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, url),
      { method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json' }, ...rest },
      (res) => {
        const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, fingerprint256, reusedSocket: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A request on a fresh connection of `agent`, saying whether its TLS session was resumed. */
function sendResumable(url: string, agent: Agent): Promise<{ status: number; resumed: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL('/logs', url),
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        const resumed = (res.socket as TLSSocket).isSessionReused();
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, resumed }));
      },
    );
    req.on('error', reject);
    req.end('{"msg":"resumed"}');
  });
}

let dir: string;
let ca: Pem;
let first: Pem;
let second: Pem;
let client: Pem;
let strangerClient: Pem;

before(() => {
  if (!hasOpenssl()) return;
  const d = tempDir('sluice-tls-');
  cleanups.push(d.remove);
  dir = d.path;
  ca = makeCa(dir, 'ca');
  first = makeCert(dir, 'server-1', ca, 'server');
  second = makeCert(dir, 'server-2', ca, 'server');
  client = makeCert(dir, 'client', ca, 'client');
  const otherCa = makeCa(dir, 'other-ca');
  strangerClient = makeCert(dir, 'stranger', otherCa, 'client');
});

async function tlsApp(overrides: Record<string, string | boolean>): Promise<App> {
  const d = tempDir();
  const app = await startApp(testConfig({ 'ingest.ack': 'memory', ...overrides }, d.path));
  cleanups.push(d.remove, () => app.stop());
  return app;
}

describe('TLS', () => {
  test('with a certificate and key the listener speaks HTTPS and ingest works over it', async (t) => {
    if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
    const app = await tlsApp({ 'server.tlsCert': first.certPath, 'server.tlsKey': first.keyPath });
    assert.match(app.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await send(app.url, { ca: ca.cert, body: '{"msg":"over tls"}' });
    assert.equal(res.status, 202);
    assert.equal(res.fingerprint256, first.fingerprint256);
    await assert.rejects(
      send(app.url, { body: '{"msg":"x"}' }),
      /self[- ]signed|unable to (get|verify)/i,
      'a client that does not trust the CA refuses the server',
    );
  });

  test('server.tlsCa: intermediate certificates are sent after a leaf-only certificate file', async (t) => {
    if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
    const intermediate = makeCert(dir, 'intermediate', ca, 'intermediate');
    const leaf = makeCert(dir, 'leaf', intermediate, 'server');
    const withChain = await tlsApp({
      'server.tlsCert': leaf.certPath,
      'server.tlsKey': leaf.keyPath,
      'server.tlsCa': intermediate.certPath,
    });
    const res = await send(withChain.url, { ca: ca.cert, agent: false, body: '{"msg":"chain"}' });
    assert.deepEqual([res.status, res.fingerprint256], [202, leaf.fingerprint256]);
    const leafOnly = await tlsApp({ 'server.tlsCert': leaf.certPath, 'server.tlsKey': leaf.keyPath });
    await assert.rejects(
      send(leafOnly.url, { ca: ca.cert, agent: false, body: '{"msg":"x"}' }),
      /unable to (get local issuer|verify the first)/i,
      'without the intermediate a client trusting only the root cannot verify the leaf',
    );
  });

  test('start-up stops with a message naming the keys or the file when the settings are wrong', async (t) => {
    if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
    const attempt = (o: Record<string, string | boolean>) => tlsApp(o);
    await assert.rejects(attempt({ 'server.tlsCert': first.certPath }), (err: SluiceError) => {
      assert.equal(err.code, 'SLUICE_ERR_CONFIG');
      assert.match(err.message, /server\.tlsCert and server\.tlsKey go together/);
      return true;
    });
    await assert.rejects(
      attempt({ 'server.tlsCert': first.certPath, 'server.tlsKey': second.keyPath }),
      /server\.tlsCert\/server\.tlsKey .* cannot be used: .*key values mismatch/,
    );
    await assert.rejects(
      attempt({ 'server.tlsCert': `${dir}/missing.crt`, 'server.tlsKey': first.keyPath }),
      /server\.tlsCert: cannot read .*missing\.crt/,
    );
    await assert.rejects(
      attempt({
        'server.tlsCert': first.certPath,
        'server.tlsKey': first.keyPath,
        'server.tlsRequireClientCert': true,
      }),
      /server\.tlsRequireClientCert needs server\.tlsClientCa/,
    );
  });

  test('SIGHUP reloads the certificate: a kept-alive connection goes on, a new one sees the new certificate; a bad one is refused and logged', async (t) => {
    if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
    const certPath = `${dir}/live.crt`;
    const keyPath = `${dir}/live.key`;
    copyFileSync(first.certPath, certPath);
    copyFileSync(first.keyPath, keyPath);
    const c = await startChildCollector({
      'sink.kind': 'blackhole',
      'ingest.ack': 'memory',
      'deadLetter.dir': dir,
      'health.dataDir': `${dir}/health`,
      'server.tlsCert': certPath,
      'server.tlsKey': keyPath,
    });
    cleanups.push(() => c.stop());
    await waitFor('the start-up log line naming the certificate', () =>
      new RegExp(`"fingerprint256":"${first.fingerprint256}"[^\\n]*tls: HTTPS only`).test(c.output()),
    );
    const kept = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert });
    cleanups.push(() => kept.destroy());
    const before = await send(c.url, { agent: kept, body: '{"msg":"before"}' });
    assert.deepEqual([before.status, before.fingerprint256], [202, first.fingerprint256]);

    copyFileSync(second.certPath, certPath);
    copyFileSync(second.keyPath, keyPath);
    c.child.kill('SIGHUP');
    await waitFor('the reload log line', () => c.output().includes('certificate reloaded'));
    assert.match(c.output(), new RegExp(`"fingerprint256":"${second.fingerprint256}"[^\\n]*certificate reloaded`));

    const onKept = await send(c.url, { agent: kept, body: '{"msg":"kept"}' });
    assert.equal(onKept.status, 202);
    assert.equal(onKept.reusedSocket, true, 'the same connection, still open');
    assert.equal(onKept.fingerprint256, first.fingerprint256, 'which keeps the certificate it was opened with');
    const fresh = await send(c.url, { ca: ca.cert, agent: false, body: '{"msg":"new"}' });
    assert.deepEqual([fresh.status, fresh.fingerprint256], [202, second.fingerprint256]);

    // A certificate that does not match the key: logged, and the one in use stays.
    copyFileSync(first.certPath, certPath);
    c.child.kill('SIGHUP');
    await waitFor('the failed reload log line', () => c.output().includes('reload failed'));
    assert.match(c.output(), /key values mismatch[^\n]*reload failed; keeping the certificate in use/);
    writeFileSync(certPath, 'not a certificate');
    c.child.kill('SIGHUP');
    await waitFor('a second failed reload', () => c.output().split('reload failed').length === 3);
    const afterBad = await send(c.url, { ca: ca.cert, agent: false, body: '{"msg":"after"}' });
    assert.deepEqual([afterBad.status, afterBad.fingerprint256], [202, second.fingerprint256]);
    assert.equal(c.child.exitCode, null, 'still running');
  });

  test('mTLS: ingest refuses a client without a certificate (401) or with a stranger one (403); other routes need none', async (t) => {
    if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
    const app = await tlsApp({
      'server.tlsCert': first.certPath,
      'server.tlsKey': first.keyPath,
      'server.tlsClientCa': ca.certPath,
      'server.tlsRequireClientCert': true,
    });
    const bare = { ca: ca.cert, agent: false as const };
    const none = await send(app.url, { ...bare, body: '{"msg":"no cert"}' });
    assert.equal(none.status, 401);
    const health = await send(app.url, { ...bare, path: '/health', body: '{"service":"s","status":"up"}' });
    assert.equal(health.status, 401, 'POST /health is ingest too');
    const stranger = await send(app.url, {
      ...bare,
      cert: strangerClient.cert,
      key: strangerClient.key,
      body: '{"msg":"stranger"}',
    });
    assert.equal(stranger.status, 403);
    const withCert = await send(app.url, { ...bare, cert: client.cert, key: client.key, body: '{"msg":"mtls"}' });
    assert.equal(withCert.status, 202);
    // A new connection resuming the TLS session (no new handshake of certificates) keeps its verdict.
    const resuming = new Agent({ keepAlive: false, ca: ca.cert, cert: client.cert, key: client.key });
    cleanups.push(() => resuming.destroy());
    for (let i = 0; i < 3; i++) {
      const res = await sendResumable(app.url, resuming);
      assert.equal(res.status, 202, `connection ${i}`);
      if (i > 0) assert.equal(res.resumed, true, 'the session was resumed');
    }
    assert.equal((await send(app.url, { ...bare, path: '/healthz' })).status, 200);
    assert.equal((await send(app.url, { ...bare, path: '/metrics' })).status, 200);
  });

  test('mTLS optional: a client without a certificate is let in, one with a bad certificate is not', async (t) => {
    if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
    const app = await tlsApp({
      'server.tlsCert': first.certPath,
      'server.tlsKey': first.keyPath,
      'server.tlsClientCa': ca.certPath,
    });
    const bare = { ca: ca.cert, agent: false as const };
    assert.equal((await send(app.url, { ...bare, body: '{"msg":"no cert"}' })).status, 202);
    const bad = await send(app.url, {
      ...bare,
      cert: strangerClient.cert,
      key: strangerClient.key,
      body: '{"msg":"x"}',
    });
    assert.equal(bad.status, 403);
  });

  test(
    'sluice load with no --url sends over HTTPS to a collector configured for it (CA from NODE_EXTRA_CA_CERTS)',
    { timeout: 60_000 },
    async (t) => {
      if (!hasOpenssl()) return cannotHere(t, 'openssl is not installed');
      const port = await freePort();
      await tlsApp({ 'server.port': String(port), 'server.tlsCert': first.certPath, 'server.tlsKey': first.keyPath });
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/helpers/cli.ts', 'load', '--records', '20', '--clients', '2', '--quiet'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: process.env.PATH ?? '',
            SLUICE_SERVER_PORT: String(port),
            SLUICE_SERVER_TLS_CERT: first.certPath,
            SLUICE_SERVER_TLS_KEY: first.keyPath,
            NODE_EXTRA_CA_CERTS: ca.certPath,
          },
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, out);
      assert.match(out, new RegExp(`target +POST https://127\\.0\\.0\\.1:${port}/logs`));
      assert.match(out, /status +202: 20/);
    },
  );
});
