// The syslog row of the protocol bench: records/s over TCP, octet-counted RFC 5424, from Node
// client sockets writing as fast as the collector reads (it pauses the socket when its buffer
// is full), against the same records as NDJSON to POST /logs, same collector (blackhole sink,
// ack memory), same run. Run alone: `node --import tsx bench/protocols/syslog.ts [--quick]`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/postgres/embedded.js';
import { ROOT, startCollector } from '../lib/child.js';
import { measure, ndjsonBodies, type ProtocolRow } from './drive.js';

/** Records per TCP write and per NDJSON body. */
const RECORDS_PER_BODY = 500;
const SOCKETS = 4;

interface Rec {
  ts: string;
  level: string;
  service: string;
  message: string;
  attrs: { hostname: string; procid: string; msgid: string; sd: { req: { id: string; ms: string } } };
}

function records(n: number, offset: number): Rec[] {
  const base = Date.UTC(2026, 11, 2, 10, 0, 0);
  return Array.from({ length: n }, (_, i) => {
    const k = offset + i;
    return {
      ts: new Date(base + k).toISOString(),
      level: k % 10 === 0 ? 'warn' : 'info',
      service: 'checkout',
      message: `order ${k} paid in ${k % 997} ms by card ending ${String(k % 10_000).padStart(4, '0')}`,
      attrs: { hostname: 'web-1', procid: '4242', msgid: 'PAY', sd: { req: { id: `r-${k}`, ms: String(k % 997) } } },
    };
  });
}

/** The same record as RFC 5424, octet-counted (severity 4 warning or 6 info, facility local3). */
function frame(r: Rec): Buffer {
  const pri = 19 * 8 + (r.level === 'warn' ? 4 : 6);
  const sd = `[req id="${r.attrs.sd.req.id}" ms="${r.attrs.sd.req.ms}"]`;
  const msg = Buffer.from(
    `<${pri}>1 ${r.ts} ${r.attrs.hostname} ${r.service} ${r.attrs.procid} ${r.attrs.msgid} ${sd} ${r.message}`,
  );
  return Buffer.concat([Buffer.from(`${msg.length} `), msg]);
}

async function syslogAccepted(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^sluice_ingest_records_total\{[^}]*protocol="syslog"[^}]*\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** SOCKETS clients write pre-framed chunks, waiting for 'drain' as TCP pushes back. */
async function measureTcp(url: string, port: number, chunks: Buffer[], seconds: number): Promise<number> {
  const sockets = await Promise.all(
    Array.from({ length: SOCKETS }, async () => {
      const s = net.connect(port, '127.0.0.1');
      s.setNoDelay(true);
      await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
      return s;
    }),
  );
  let stop = false;
  const writer = async (s: net.Socket, i: number): Promise<void> => {
    for (let n = i; !stop; n++) {
      if (!s.write(chunks[n % chunks.length]!)) {
        await new Promise<void>((r) => {
          const done = (): void => {
            s.off('drain', done).off('close', done);
            r();
          };
          s.once('drain', done).once('close', done);
        });
      }
    }
  };
  const writing = sockets.map((s, i) => writer(s, i));
  // Warm up until the collector's buffer is in its steady state, then count over the window.
  await new Promise((r) => setTimeout(r, 1000));
  const before = await syslogAccepted(url);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await syslogAccepted(url);
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  for (const s of sockets) s.destroy();
  await Promise.allSettled(writing);
  return (after - before) / elapsed;
}

export async function run(opts: { quick: boolean }): Promise<ProtocolRow[]> {
  const seconds = opts.quick ? 3 : 10;
  const batches = Array.from({ length: 20 }, (_, b) => records(RECORDS_PER_BODY, b * RECORDS_PER_BODY));
  const chunks = batches.map((rs) => Buffer.concat(rs.map(frame)));
  const bodies = ndjsonBodies(batches);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-syslog-'));
  const tcpPort = await freePort();
  const c = await startCollector(
    {
      'sink.kind': 'blackhole',
      'ingest.ack': 'memory',
      'syslog.host': '127.0.0.1',
      'syslog.tcpPort': tcpPort,
      'deadLetter.dir': join(dir, 'dead-letter'),
      'file.dir': join(dir, 'logs'),
    },
    dir,
  );
  try {
    const tcp = await measureTcp(c.url, tcpPort, chunks, seconds);
    const ndjson = await measure({
      url: c.url,
      path: '/logs',
      headers: { 'content-type': 'application/x-ndjson' },
      bodies,
      recordsPerBody: RECORDS_PER_BODY,
      seconds,
    });
    return [
      {
        protocol: 'Syslog TCP (RFC 5424, octet-counted)',
        recordsPerBody: RECORDS_PER_BODY,
        recordsPerSec: tcp,
        ndjsonRecordsPerSec: ndjson.recordsPerSec,
        ratio: tcp / ndjson.recordsPerSec,
        errors: ndjson.errors,
        note: `${SOCKETS} sockets writing ${RECORDS_PER_BODY}-record chunks vs 16 HTTP clients; syslog counted from sluice_ingest_records_total{protocol="syslog"}`,
      },
    ];
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The collector runs from dist/: build it first when src/ is newer.
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  const rows = await run({ quick: process.argv.includes('--quick') });
  console.table(rows);
}
