// Syslog into a real collector and a real PostgreSQL, sent by util-linux `logger` (TCP with
// newline and octet-counted framing, UDP; RFC 5424 and 3164): rows and fields asserted.
// Malformed input is counted and nothing from it stored; a full buffer stops the collector
// reading a TCP connection, and nothing is lost once the sink takes batches again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import dgram from 'node:dgram';
import { after, describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { freePort } from '../helpers/free-port.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopOwnServer();
});

async function haveLogger(t: TestContext): Promise<boolean> {
  try {
    await run('logger', ['--version']);
    return true;
  } catch {
    cannotHere(t, 'util-linux `logger` is not installed (Debian package bsdutils)');
    return false;
  }
}

async function syslogApp(
  over: Record<string, string | number | boolean> = {},
): Promise<{ app: App; db: TestDatabase }> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const dir = tempDir();
  cleanups.push(dir.remove);
  const app = await startApp(
    testConfig(
      {
        'sink.kind': 'postgres',
        'postgres.url': db.url,
        'batch.maxWaitMs': 20,
        'syslog.host': '127.0.0.1',
        'syslog.tcpPort': await freePort('tcp'),
        'syslog.udpPort': await freePort('udp'),
        ...over,
      },
      dir.path,
    ),
  );
  cleanups.push(() => app.stop());
  return { app, db };
}

function counter(
  app: App,
  name: 'syslogDropped' | 'syslogReceivedBytes',
  labels: Record<string, string>,
): Promise<number> {
  return app.metrics[name].get().then((m) => {
    const v = m.values.find((s) =>
      Object.entries(labels).every(([k, l]) => s.labels[k as keyof typeof s.labels] === l),
    );
    return v?.value ?? 0;
  });
}

interface Row {
  service: string | null;
  level: string;
  message: string | null;
  attrs: Record<string, unknown>;
  ts: Date;
}

async function rows(db: TestDatabase, where = 'true'): Promise<Row[]> {
  const r = await db.pool.query<Row>(
    `SELECT service, level, message, attrs, ts FROM logs WHERE ${where} ORDER BY message`,
  );
  return r.rows;
}

describe('syslog from util-linux logger', () => {
  test('TCP (newline and octet-counted) and UDP, RFC 5424 and 3164: rows and fields in PostgreSQL', async (t) => {
    if (!(await haveLogger(t))) return;
    const { app, db } = await syslogApp();
    const tcp = String(app.syslog.tcpPort);
    const udp = String(app.syslog.udpPort);
    const send = (args: string[], port: string, msg: string) =>
      run('logger', [
        ...args,
        '-n',
        '127.0.0.1',
        '-P',
        port,
        '-t',
        'billing',
        '--id=4242',
        '-p',
        'local3.warning',
        '--',
        msg,
      ]);
    const before = Date.now();
    await send(
      ['--tcp', '--rfc5424', '--sd-id', 'order@32473', '--sd-param', 'id="A-17"', '--msgid', 'PAY'],
      tcp,
      'a tcp 5424',
    );
    await send(['--tcp', '--rfc5424', '--octet-count'], tcp, 'b tcp 5424 octet-counted');
    await send(['--tcp', '--rfc3164'], tcp, 'c tcp 3164');
    await send(['--udp', '--rfc5424'], udp, 'd udp 5424');
    await send(['--udp', '--rfc3164'], udp, 'e udp 3164');
    await run('logger', [
      '--tcp',
      '--rfc5424',
      '-n',
      '127.0.0.1',
      '-P',
      tcp,
      '-t',
      'db',
      '-p',
      'daemon.err',
      'f errors',
    ]);
    await run('logger', [
      '--udp',
      '--rfc3164',
      '-n',
      '127.0.0.1',
      '-P',
      udp,
      '-t',
      'cron',
      '-p',
      'cron.debug',
      'g debug',
    ]);

    const got = await waitFor('7 syslog rows', async () => {
      const r = await rows(db);
      return r.length === 7 ? r : undefined;
    });
    assert.deepEqual(
      got.map((r) => [r.message, r.service, r.level, r.attrs.syslog, r.attrs.facility, r.attrs.procid]),
      [
        ['a tcp 5424', 'billing', 'warn', 'rfc5424', 'local3', '4242'],
        ['b tcp 5424 octet-counted', 'billing', 'warn', 'rfc5424', 'local3', '4242'],
        ['c tcp 3164', 'billing', 'warn', 'rfc3164', 'local3', '4242'],
        ['d udp 5424', 'billing', 'warn', 'rfc5424', 'local3', '4242'],
        ['e udp 3164', 'billing', 'warn', 'rfc3164', 'local3', '4242'],
        ['f errors', 'db', 'error', 'rfc5424', 'daemon', undefined],
        ['g debug', 'cron', 'debug', 'rfc3164', 'cron', undefined],
      ],
    );
    const a = got[0]!;
    assert.equal(a.attrs.msgid, 'PAY');
    assert.deepEqual((a.attrs.sd as Record<string, unknown>)['order@32473'], { id: 'A-17' });
    assert.equal(typeof a.attrs.hostname, 'string');
    // RFC 5424 carries microseconds; BSD syslog whole seconds (logger sends this machine's local time).
    for (const r of got) {
      const ms = r.ts.getTime();
      assert.ok(ms >= before - 2000 && ms <= Date.now() + 1000, `${r.message}: ts ${r.ts.toISOString()}`);
    }
    const m = await app.metrics.ingestRecords.get();
    assert.equal(m.values.find((v) => v.labels.protocol === 'syslog')?.value, 7);
  });

  test('malformed input is counted and skipped; the connection goes on; nothing is stored from it', async () => {
    const { app, db } = await syslogApp({ 'syslog.maxMessageBytes': 1024 });
    const sock = net.connect(app.syslog.tcpPort!, '127.0.0.1');
    await once(sock, 'connect');
    const bad = [
      Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a]), // garbage bytes, then LF
      Buffer.from('<999>1 - h app - - - bad pri\n'),
      Buffer.from('no pri at all\n'),
      Buffer.from('<13>1 not-a-time h app - - - bad time\n'),
      Buffer.from(`2000 <13>1 - h app - - - ${'x'.repeat(1975)}`), // oversize, octet-counted
      Buffer.from(`<13>${'y'.repeat(3000)}\n`), // oversize line
    ];
    const good = (i: number) => Buffer.from(`<14>1 - h app - - - good ${i}\n`);
    sock.write(Buffer.concat([good(1), ...bad, good(2)]));
    await waitFor('two good rows', async () => (await db.count('logs')) === 2);
    // The connection is still open and read.
    sock.write(good(3));
    await waitFor('the third good row', async () => (await db.count('logs')) === 3);
    sock.end();

    const u = dgram.createSocket('udp4');
    cleanups.push(() => {
      u.close();
    });
    for (const d of [
      Buffer.from('garbage'),
      Buffer.from('<300>x'),
      Buffer.alloc(2000, 0x3c),
      Buffer.from('<14>1 - h app - - - good udp'),
    ])
      u.send(d, app.syslog.udpPort!, '127.0.0.1');
    await waitFor('the good datagram', async () => (await db.count('logs')) === 4);
    assert.deepEqual(
      (await rows(db)).map((r) => r.message),
      ['good 1', 'good 2', 'good 3', 'good udp'],
    );
    await waitFor(
      'udp drops counted',
      async () => (await counter(app, 'syslogDropped', { transport: 'udp', reason: 'malformed' })) === 2,
    );
    assert.equal(await counter(app, 'syslogDropped', { transport: 'tcp', reason: 'malformed' }), 4);
    assert.equal(await counter(app, 'syslogDropped', { transport: 'tcp', reason: 'oversize' }), 2);
    assert.equal(await counter(app, 'syslogDropped', { transport: 'udp', reason: 'oversize' }), 1);
  });

  test('a full buffer stops reading the TCP connection; every message lands once the sink takes batches again', async () => {
    const { app, db } = await syslogApp({
      'ingest.ack': 'memory',
      'buffer.maxRecords': 200,
      'batch.maxRecords': 50,
      'writers.count': 1,
      'writers.queue': 1,
    });
    // Block the sink for real: hold a lock on the table every batch is written into.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE logs IN ACCESS EXCLUSIVE MODE');

    const N = 40_000;
    const pad = 'p'.repeat(900);
    const frames: Buffer[] = [];
    for (let i = 0; i < N; i++) {
      const msg = Buffer.from(`<14>1 - host app - - - m${i} ${pad}`);
      frames.push(Buffer.from(`${msg.length} `), msg);
    }
    const stream = Buffer.concat(frames); // ~37 MB, past what the kernel's windows hold
    const sock = net.connect(app.syslog.tcpPort!, '127.0.0.1');
    await once(sock, 'connect');
    let sent = false;
    const flushed = new Promise<void>((resolve) => sock.write(stream, () => resolve()));
    void flushed.then(() => (sent = true));

    await waitFor('the buffer to be full', () => app.buffer.stats().records >= 150);
    // The collector stops reading: what it has read stops growing, far short of what was sent
    // (one that kept reading would only settle once it had read all of it).
    let last = -1;
    let same = 0;
    const read = await waitFor(
      'the collector to stop reading',
      async () => {
        const r = await counter(app, 'syslogReceivedBytes', { transport: 'tcp' });
        same = r === last ? same + 1 : 0;
        last = r;
        return same >= 8 ? r : undefined;
      },
      30_000,
    );
    assert.ok(read < 4 * 1024 * 1024, `read ${read} of ${stream.length} bytes with the buffer full`);
    assert.equal(sent, false, 'the sender is still held back');
    const admitted =
      (await app.metrics.ingestRecords.get()).values.find((v) => v.labels.protocol === 'syslog')?.value ?? 0;
    assert.ok(admitted <= 200 + 50 * 3, `admitted ${admitted} records with the sink blocked`);
    assert.equal(await counter(app, 'syslogDropped', { transport: 'tcp', reason: 'buffer_full' }), 0);

    await locker.query('COMMIT');
    await flushed;
    sock.end();
    await waitFor(
      () => `all ${N} rows`,
      async () => (await db.count('logs')) === N,
      120_000,
    );
    assert.equal(await db.count('logs', `message = 'm0 ${pad}'`), 1);
    assert.equal(await db.count('logs', `message = 'm${N - 1} ${pad}'`), 1);
  });

  test('at shutdown the listener stops reading first, and every message it read is stored', async () => {
    const { app, db } = await syslogApp({
      'ingest.ack': 'memory',
      'buffer.maxRecords': 100,
      'batch.maxRecords': 50,
      'writers.count': 1,
      'writers.queue': 1,
    });
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE logs IN ACCESS EXCLUSIVE MODE');
    const msg = Buffer.from(`<14>1 - host app - - - ${'s'.repeat(1000)}`);
    const frame = Buffer.concat([Buffer.from(`${msg.length} `), msg]);
    const sock = net.connect(app.syslog.tcpPort!, '127.0.0.1');
    sock.on('error', () => undefined); // the collector closes it at stop
    await once(sock, 'connect');
    sock.write(Buffer.concat(Array.from({ length: 5000 }, () => frame)));
    // Messages read and parsed, waiting for room behind a blocked sink.
    await waitFor('the buffer to fill', () => app.buffer.stats().records >= 50);
    const stopped = app.stop();
    // The listener closed first, while the buffer still holds everything.
    const late = net.connect(app.syslog.tcpPort!, '127.0.0.1');
    const [err] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    await locker.query('COMMIT');
    await stopped;
    const read = await counter(app, 'syslogReceivedBytes', { transport: 'tcp' });
    const complete = Math.floor(read / frame.length);
    assert.ok(complete > 100 && complete < 5000, `${complete} whole messages read`);
    assert.equal(await db.count('logs'), complete, 'every whole message read is stored');
    assert.equal(await counter(app, 'syslogDropped', { transport: 'tcp', reason: 'shutting_down' }), 0);
  });

  test('past syslog.maxConnections new connections are closed at once; an idle one is closed after idleTimeoutMs', async () => {
    const { app, db } = await syslogApp({ 'syslog.maxConnections': 2, 'syslog.idleTimeoutMs': 1000 });
    const open = async (): Promise<net.Socket> => {
      const s = net.connect(app.syslog.tcpPort!, '127.0.0.1');
      s.on('error', () => undefined);
      await once(s, 'connect');
      return s;
    };
    const a = await open();
    const b = await open();
    a.write('<14>1 - h app - - - from a\n');
    await waitFor('a row from the first connection', async () => (await db.count('logs')) === 1);
    await waitFor(
      'two open connections',
      async () => (await app.metrics.syslogConnections.get()).values[0]?.value === 2,
    );
    const c = await open();
    await once(c, 'close');
    assert.equal((await app.metrics.syslogConnectionsRefused.get()).values[0]?.value, 1);
    // Neither sends anything more: both are closed by the collector once idle.
    const closedAt = Date.now();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    assert.ok(Date.now() - closedAt < 5000);
    await waitFor(
      'no open connections',
      async () => (await app.metrics.syslogConnections.get()).values[0]?.value === 0,
    );
  });

  test('UDP cannot wait: datagrams that find the buffer full are dropped and counted; the admitted ones are stored', async () => {
    const { app, db } = await syslogApp({
      'ingest.ack': 'memory',
      'buffer.maxRecords': 100,
      'batch.maxRecords': 50,
      'writers.count': 1,
      'writers.queue': 1,
    });
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE logs IN ACCESS EXCLUSIVE MODE');
    const u = dgram.createSocket('udp4');
    cleanups.push(() => {
      u.close();
    });
    const full = () => counter(app, 'syslogDropped', { transport: 'udp', reason: 'buffer_full' });
    const read = () => counter(app, 'syslogReceivedBytes', { transport: 'udp' });
    const admitted = () =>
      app.metrics.ingestRecords.get().then((m) => m.values.find((v) => v.labels.protocol === 'syslog')?.value ?? 0);
    // Same-length datagrams, in small bursts (the kernel may still drop some under load: only
    // what was read is accounted for below).
    const datagram = (i: number) => Buffer.from(`<14>1 - h app - - - udp ${String(i).padStart(6, '0')}`);
    let sent = 0;
    while ((await full()) === 0) {
      assert.ok(sent < 5000, 'a datagram was dropped once the buffer was full');
      const before = await read();
      for (let k = 0; k < 20; k++) u.send(datagram(sent++), app.syslog.udpPort!, '127.0.0.1');
      await waitFor('a burst read', async () => (await read()) > before);
    }
    const messages = async () => (await read()) / datagram(0).length;
    await waitFor(
      'every datagram read admitted or dropped',
      async () => (await admitted()) + (await full()) === (await messages()),
    );
    const kept = await admitted();
    assert.ok(kept >= 100 && kept <= 100 + 50 * 3, `${kept} admitted with the sink blocked`);
    await locker.query('COMMIT');
    await waitFor(`${kept} rows`, async () => (await db.count('logs')) === kept);
  });
});
