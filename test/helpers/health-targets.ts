// Local targets for health check tests: an HTTP server whose behaviour each test sets per
// path (status, delay, body), a TCP port that refuses, and self-signed certificates made at
// test time with the openssl CLI (an expired one via `openssl ca` and explicit dates).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Behaviour {
  status?: number;
  delayMs?: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface Target {
  url: string;
  port: number;
  server: Server;
  /** Requests seen per path. */
  hits: Map<string, number>;
  /** Requests in progress right now, and the most at once. */
  inFlight: { now: number; max: number };
  set(path: string, b: Behaviour | ((n: number) => Behaviour)): void;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const rules = new Map<string, Behaviour | ((n: number) => Behaviour)>();
  const hits = new Map<string, number>();
  const inFlight = { now: 0, max: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    const rule = rules.get(path);
    const b = (typeof rule === 'function' ? rule(n) : rule) ?? { status: 200, body: 'ok' };
    const finish = (): void => {
      inFlight.now--;
      res.writeHead(b.status ?? 200, { 'content-type': 'text/plain', ...b.headers });
      res.end(b.body ?? '');
    };
    req.resume();
    if (b.delayMs) {
      const t = setTimeout(finish, b.delayMs);
      res.once('close', () => {
        if (!res.writableEnded) {
          clearTimeout(t);
          inFlight.now--;
        }
      });
    } else finish();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    hits,
    inFlight,
    set: (path, b) => rules.set(path, b),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Cert {
  key: string;
  cert: string;
}

/** A self-signed certificate for CN=localhost valid from `start` to `end` (YYYYMMDDHHMMSSZ). */
export function selfSigned(start: string, end: string): Cert {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cert-'));
  try {
    mkdirSync(join(dir, 'db'));
    writeFileSync(join(dir, 'db/index.txt'), '');
    writeFileSync(join(dir, 'db/serial'), '01\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = d',
        '[d]',
        'database = db/index.txt',
        'serial = db/serial',
        'new_certs_dir = db',
        'default_md = sha256',
        'policy = p',
        'unique_subject = no',
        '[p]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'k.pem',
      '-out',
      'r.csr',
      '-subj',
      '/CN=localhost',
    ]);
    run([
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-selfsign',
      '-keyfile',
      'k.pem',
      '-in',
      'r.csr',
      '-out',
      'c.pem',
      '-startdate',
      start,
      '-enddate',
      end,
      '-notext',
    ]);
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** openssl's date form for `days` from now (negative: in the past). */
export function opensslDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
