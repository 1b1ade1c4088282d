// What the edge costs on the ingest hot path, as ratios against plain ingest measured in the
// same run (absolute numbers depend on the machine and its load):
//   - rate limits on (all three buckets, set high enough never to refuse) against off;
//   - HTTPS (kept-alive connections) against HTTP;
//   - a request refused by the rate limit (429) against one accepted (what a flooder costs);
//   - off against off again: the noise band.
// The collector runs in this process (its CPU per request is measured with cpuUsage);
// autocannon drives it from a child process. Variants are interleaved over rounds, medians taken.
// Run: node --import tsx bench/edge-overhead.ts [--seconds 2] [--rounds 3] [--connections 16]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { addressKey } from '../src/http/rate-limit/client-address.js';
import { RateLimiter } from '../src/http/rate-limit/limiter.js';
import { createLogger } from '../src/observability/logger.js';
import { makeCa, makeCert, type Pem } from '../test/helpers/certs.js';

type Variant = 'off' | 'off-again' | 'limited' | 'tls' | 'refusing';
const VARIANTS: readonly Variant[] = ['off', 'limited', 'tls', 'refusing', 'off-again'];

const AUTOCANNON = resolve(import.meta.dirname, '../node_modules/autocannon/autocannon.js');
const BODY = JSON.stringify({ message: 'bench record', level: 'info', service: 'bench' });

interface Run {
  reqPerSec: number;
  total: number;
  non2xx: number;
}

function load(url: string, seconds: number, connections: number): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const args = [AUTOCANNON, '-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST'].concat([
      '-H',
      'content-type=application/json',
      '-b',
      BODY,
      `${url}/logs`,
    ]);
    // Only the load generator skips verifying the bench's own throwaway certificate.
    const env = { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        const r = JSON.parse(out) as { requests: { average: number; total: number }; non2xx: number };
        resolveRun({ reqPerSec: r.requests.average, total: r.requests.total, non2xx: r.non2xx });
      } catch (err) {
        reject(new Error(`autocannon gave no result: ${String(err)}`));
      }
    });
  });
}

async function runVariant(
  variant: Variant,
  o: { seconds: number; connections: number },
  cert: Pem,
): Promise<{ run: Run; cpuUsPerRequest: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const flags: Record<string, string> = {
    'server.host': '127.0.0.1',
    'server.port': '0',
    'sink.kind': 'blackhole',
    'ingest.ack': 'memory',
    'log.level': 'silent',
    'log.pretty': 'false',
    'deadLetter.dir': join(dir, 'dead-letter'),
  };
  if (variant === 'limited') {
    flags['rateLimit.requestsPerSecond'] = '1000000000';
    flags['rateLimit.recordsPerSecond'] = '1000000000';
    flags['rateLimit.bytesPerSecond'] = '1000000000000';
  }
  if (variant === 'refusing') flags['rateLimit.requestsPerSecond'] = '1';
  if (variant === 'tls') {
    flags['server.tlsCert'] = cert.certPath;
    flags['server.tlsKey'] = cert.keyPath;
  }
  const { config } = loadConfig({ env: {}, flags });
  const app = await createApp(config, { logger: createLogger(config.log), defaultMetrics: false });
  await app.start();
  try {
    await load(app.url, 1, o.connections); // warm-up: JIT, connections
    const cpu = process.cpuUsage();
    const run = await load(app.url, o.seconds, o.connections);
    const used = process.cpuUsage(cpu);
    if (variant !== 'refusing' && run.non2xx > 0) throw new Error(`${variant}: ${run.non2xx} requests were not 2xx`);
    if (variant === 'refusing' && run.non2xx < run.total * 0.99)
      throw new Error('refusing: most requests should be 429');
    return { run, cpuUsPerRequest: (used.user + used.system) / Math.max(1, run.total) };
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The limiter's own work per request (key the client, admit, charge), in ns: the micro view of the ratio above. */
function limiterNsPerRequest(): number {
  const l = new RateLimiter({
    limits: { requestsPerSecond: 1e9, recordsPerSecond: 1e9, bytesPerSecond: 1e12, burst: 2 },
    maxClients: 10_000,
  });
  const n = 1_000_000;
  let ns = 0;
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const a = l.admit({ id: `addr:${addressKey(`10.0.${(i >> 8) & 3}.${i & 255}`)}` }, 80)!;
      l.charge(a.client, 1);
      sink += a.shown.size;
    }
    ns = ((performance.now() - t) * 1e6) / n;
  }
  return ns + (sink < 0 ? 1 : 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const o = { seconds: flag('seconds', 2), rounds: flag('rounds', 3), connections: flag('connections', 16) };
const certDir = mkdtempSync(join(tmpdir(), 'sluice-bench-tls-'));
const cert = makeCert(certDir, 'server', makeCa(certDir, 'ca'), 'server');
const rps: Record<Variant, number[]> = { off: [], 'off-again': [], limited: [], tls: [], refusing: [] };
const cpu: Record<Variant, number[]> = { off: [], 'off-again': [], limited: [], tls: [], refusing: [] };
try {
  for (let r = 0; r < o.rounds; r++) {
    for (const v of VARIANTS) {
      const res = await runVariant(v, o, cert);
      rps[v].push(res.run.reqPerSec);
      cpu[v].push(res.cpuUsPerRequest);
    }
  }
} finally {
  rmSync(certDir, { recursive: true, force: true });
}
const m = (r: Record<Variant, number[]>, v: Variant): number => median(r[v]);
const limiterNs = limiterNsPerRequest();
const offRps = (m(rps, 'off') + m(rps, 'off-again')) / 2;
const offCpu = (m(cpu, 'off') + m(cpu, 'off-again')) / 2;
console.log(`| measure (${o.rounds} rounds × ${o.seconds} s, ${o.connections} connections, 1 record a request; medians) | value |
|---|---|
| req/s plain HTTP, no limits | ${m(rps, 'off').toFixed(0)} |
| req/s again (noise: again / first) | ${m(rps, 'off-again').toFixed(0)} (${(m(rps, 'off-again') / m(rps, 'off')).toFixed(3)}) |
| rate limits on (never refusing) / off: throughput | ${(m(rps, 'limited') / offRps).toFixed(3)} |
| rate limits on / off: collector CPU per request | ${(m(cpu, 'limited') / offCpu).toFixed(3)} (noise: off again / off ${(m(cpu, 'off-again') / m(cpu, 'off')).toFixed(3)}) |
| limiter's own work per request (micro) | ${limiterNs.toFixed(0)} ns = ${((limiterNs / 1000 / offCpu) * 100).toFixed(2)}% of a request's collector CPU |
| HTTPS / HTTP: throughput | ${(m(rps, 'tls') / offRps).toFixed(3)} |
| HTTPS / HTTP: collector CPU per request | ${(m(cpu, 'tls') / offCpu).toFixed(3)} |
| refused (429) / accepted request: collector CPU | ${(m(cpu, 'refusing') / offCpu).toFixed(3)} |
| collector CPU per request: off / limited / tls / refused | ${offCpu.toFixed(1)} / ${m(cpu, 'limited').toFixed(1)} / ${m(cpu, 'tls').toFixed(1)} / ${m(cpu, 'refusing').toFixed(1)} µs |`);
