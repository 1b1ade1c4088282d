// Child processes for the benchmarks: the collector from dist/ (`node bin/sluice.js serve`),
// and a minimal node:http server that reads the body and answers 202 (Node's own HTTP limit
// on this machine). Each gets a free port, is waited for until it answers, and is stopped
// with SIGTERM (then SIGKILL) by the bench itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from '../../src/postgres/embedded.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/**
 * The checkout whose collector the benchmarks start: this one, or (SLUICE_BENCH_COLLECTOR_ROOT)
 * another build, so a before/after pair runs against the same bench code and baselines.
 */
const COLLECTOR_ROOT = resolve(process.env.SLUICE_BENCH_COLLECTOR_ROOT ?? ROOT);
/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export interface Child {
  readonly url: string;
  readonly pid: number;
  /** Resident set size of the process now, in bytes (Linux /proc). */
  rss(): number;
  /** CPU time (user + system) the process has used so far, in seconds (Linux /proc). */
  cpuSeconds(): number;
  /** SIGTERM, and SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** The last lines the child printed (for error messages). */
  tail(): string;
}

function track(child: ChildProcess, url: string): Child {
  const lines: string[] = [];
  const keep = (c: Buffer): void => {
    lines.push(...c.toString().split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    url,
    pid: child.pid!,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    cpuSeconds() {
      try {
        // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
      } catch {
        return NaN;
      }
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    tail: () => lines.slice(-10).join('\n'),
  };
}

async function waitUntilUp(url: string, child: ChildProcess, c: Child, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`child exited with ${child.exitCode} before answering:\n${c.tail()}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await c.stop(1000);
  throw new Error(`child did not answer at ${url} within ${timeoutMs} ms:\n${c.tail()}`);
}

/**
 * `node bin/sluice.js serve` with the given config flags (dotted keys), on a free port. `cwd`
 * is where relative paths in its config (data directories) land: a temp dir, not the repo.
 * `root`: the checkout whose build runs (SLUICE_BENCH_COLLECTOR_ROOT, else this one).
 */
export async function startCollector(
  flags: Record<string, string | number>,
  cwd = ROOT,
  root = COLLECTOR_ROOT,
): Promise<Child> {
  const port = await freePort();
  const args = [
    resolve(root, 'bin/sluice.js'),
    'serve',
    '--server.host',
    '127.0.0.1',
    '--port',
    String(port),
    '--log.level',
    'warn',
    '--log.pretty',
    'false',
  ];
  for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
  // SLUICE_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the collector
  // under a benchmark's load; Node refuses --cpu-prof in NODE_OPTIONS.
  const nodeArgs = (process.env.SLUICE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: '', POSTGRES_DSN: '' },
  });
  const url = `http://127.0.0.1:${port}`;
  const c = track(child, url);
  await waitUntilUp(`${url}/healthz`, child, c);
  return c;
}

// Reads the whole body, as any real ingest server must, and answers like Sluice does. With
// "parse" it also JSON.parses the body (each line of NDJSON): the floor of any JSON ingest.
const RAW_SERVER = `
const http = require('node:http');
const parse = process.argv[2] === 'parse';
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (parse && body.length > 0) {
      const text = body.toString('utf8');
      try {
        if ((req.headers['content-type'] || '').includes('ndjson')) {
          for (const line of text.split('\\n')) if (line) JSON.parse(line);
        } else JSON.parse(text);
      } catch {
        res.writeHead(400).end();
        return;
      }
    }
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"accepted":1}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startRawHttp(parse = false): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', RAW_SERVER, String(port), parse ? 'parse' : 'plain'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  const c = track(child, url);
  await waitUntilUp(url, child, c);
  return c;
}

/** Exit code of `node bin/sluice.js <args>` (e.g. to ask whether the config accepts a value). */
export function cliExitCode(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [resolve(ROOT, 'bin/sluice.js'), ...args], { cwd: ROOT, stdio: 'ignore' });
  return new Promise((r) => child.once('exit', (code) => r(code)));
}
