// A real shipper: Debian's rsyslogd, run with the forwarding action docs/shippers.md prints
// (omfwd, TCP, octet-counted, RFC 5424, disk-assisted queue retried for ever), reading lines an
// application appends to a file (imfile). Started before the collector listens, it holds what it
// read; once the collector is up every line reaches PostgreSQL, fields mapped.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { freePort } from '../helpers/free-port.js';
import { createTestDatabase, stopOwnServer } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopOwnServer();
});

const RSYSLOGD = '/usr/sbin/rsyslogd';

async function haveRsyslog(): Promise<boolean> {
  try {
    await run(RSYSLOGD, ['-v']);
    return true;
  } catch {
    return false;
  }
}

/** The action block of docs/shippers.md, pointed at the test's port; resumeInterval shortened. */
function forwardAction(port: number): string {
  return `action(
  type="omfwd"
  target="127.0.0.1" port="${port}" protocol="tcp"
  TCP_Framing="octet-counted"
  template="RSYSLOG_SyslogProtocol23Format"
  queue.type="LinkedList" queue.filename="sluice_fwd" queue.maxDiskSpace="1g"
  queue.saveOnShutdown="on" action.resumeRetryCount="-1" action.resumeInterval="1"
)`;
}

describe('rsyslog forwarding to Sluice', () => {
  test('lines read before the collector is up arrive once it listens; fields mapped', async (t) => {
    if (!(await haveRsyslog())) return cannotHere(t, 'rsyslogd is not installed (Debian package rsyslog)');
    const dir = tempDir('sluice-rsyslog-');
    cleanups.push(dir.remove);
    const work = join(dir.path, 'rsyslog');
    mkdirSync(work);
    const logFile = join(dir.path, 'app.log');
    writeFileSync(logFile, '');
    const port = await freePort('tcp');
    const conf = join(dir.path, 'rsyslog.conf');
    writeFileSync(
      conf,
      [
        `global(workDirectory="${work}")`,
        'module(load="imfile" mode="polling" PollingInterval="1")',
        `input(type="imfile" File="${logFile}" Tag="billing" Severity="warning" Facility="local3")`,
        forwardAction(port),
        '',
      ].join('\n'),
    );
    const rsyslog: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(work, 'pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    rsyslog.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    rsyslog.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => rsyslog.once('exit', () => resolve()));
    cleanups.push(async () => {
      if (rsyslog.exitCode === null && rsyslog.signalCode === null) rsyslog.kill('SIGTERM');
      await exited;
    });

    // Nothing listens on the port yet: rsyslog reads these and queues them.
    const early = Array.from({ length: 50 }, (_, i) => `early line ${i} déjà vu`);
    appendFileSync(logFile, early.map((l) => l + '\n').join(''));

    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const appDir = tempDir();
    cleanups.push(appDir.remove);
    const app = await startApp(
      testConfig(
        {
          'sink.kind': 'postgres',
          'postgres.url': db.url,
          'batch.maxWaitMs': 20,
          'syslog.host': '127.0.0.1',
          'syslog.tcpPort': port,
        },
        appDir.path,
      ),
    );
    cleanups.push(() => app.stop());
    const late = Array.from({ length: 50 }, (_, i) => `late line ${i}`);
    appendFileSync(logFile, late.map((l) => l + '\n').join(''));

    const rows = await waitFor(
      '100 rows from rsyslog',
      async () => {
        const r = await db.pool.query<{
          service: string | null;
          level: string;
          message: string;
          attrs: Record<string, unknown>;
        }>('SELECT service, level, message, attrs FROM logs');
        return r.rows.length >= 100 && r.rows.some((x) => x.message === 'late line 49') ? r.rows : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; rsyslogd said: ${out || '(nothing)'}`);
    });
    // Every line arrives. rsyslog itself sends the message it retried the connection with a
    // second time when the connection comes back (seen with a bare TCP listener too): syslog
    // carries no id to deduplicate by, so one repeat of an early line is rsyslog's, and the
    // lines written while the collector was up arrive exactly once.
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.message, (seen.get(r.message) ?? 0) + 1);
    assert.deepEqual([...seen.keys()].sort(), [...early, ...late].sort());
    for (const l of late) assert.equal(seen.get(l), 1, l);
    assert.ok(rows.length <= 101, `${rows.length} rows for 100 lines`);
    for (const r of rows) {
      assert.equal(r.service, 'billing');
      assert.equal(r.level, 'warn');
      assert.equal(r.attrs.syslog, 'rfc5424');
      assert.equal(r.attrs.facility, 'local3');
      assert.equal(typeof r.attrs.hostname, 'string');
    }
  });
});
