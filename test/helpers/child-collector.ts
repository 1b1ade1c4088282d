// A collector run as a child process (the CLI from source): for abuse tests that measure what
// a client can do to a whole process (its RSS, its event loop through /healthz answer times, its
// log lines), and for tests that kill it (SIGKILL, Ctrl-C to its process group) or watch it
// start against an unreachable database. Stopped with SIGTERM by the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChildCollector {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code once the process has exited (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** Resident set size now, in bytes (Linux /proc). */
  rss: () => number;
  /** SIGTERM (unless it has already exited), then waits for the exit. */
  stop: () => Promise<void>;
}

export interface ChildCollectorOptions {
  /** Its own process group, as a shell gives a foreground job (signal the group with -pid). */
  detached?: boolean;
}

/**
 * Starts `sluice serve` from source on a free port with the given flags (`--key value`; the
 * log is JSON at info level unless overridden) and environment (over the test's, with no config
 * file and no database URL of its own), and resolves once it logs its URL. Rejects, with its
 * output, if it exits first.
 */
export async function startChildCollector(
  flags: Record<string, string | number | boolean>,
  env: NodeJS.ProcessEnv = {},
  options: ChildCollectorOptions = {},
): Promise<ChildCollector> {
  const all: Record<string, string | number | boolean> = {
    host: '127.0.0.1',
    port: 0,
    'log.pretty': false,
    'log-level': 'info',
    ...flags,
  };
  const args = ['--import', 'tsx', 'test/helpers/cli.ts', 'serve'];
  for (const [k, v] of Object.entries(all)) args.push(`--${k}`, String(v));
  // NODE_TEST_CONTEXT would make the child behave as a test file (it takes over its SIGINT).
  const { NODE_TEST_CONTEXT: _runner, ...inherited } = process.env;
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
    env: { ...inherited, SLUICE_CONFIG: '', DATABASE_URL: '', POSTGRES_DSN: '', ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const m = /"url":"(https?:\/\/[^"]+)"/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`collector exited early (${code}): ${out}`)));
  });
  return {
    child,
    url,
    exited,
    output: () => out,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Asks /healthz every `everyMs` until `until` settles; returns the slowest answer time in ms.
 * The collector answers /healthz on its event loop, so this bounds how long the loop was held.
 */
export async function slowestHealthz(
  url: string,
  until: Promise<unknown>,
  everyMs = 20,
): Promise<{ slowestMs: number; answers: number }> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  let slowestMs = 0;
  let answers = 0;
  while (!done) {
    const t = performance.now();
    const res = await fetch(`${url}/healthz`);
    await res.arrayBuffer();
    slowestMs = Math.max(slowestMs, performance.now() - t);
    answers++;
    await sleep(everyMs);
  }
  return { slowestMs, answers };
}

/**
 * The longest event-loop delay (ms) the collector saw since the previous call: Node's
 * monitorEventLoopDelay, as prom-client exports it (and resets at each scrape).
 */
export async function maxLoopDelayMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^\w*nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)/m.exec(text);
  if (!m) throw new Error('no nodejs_eventloop_lag_max_seconds in /metrics');
  return Number(m[1]) * 1000;
}

/**
 * How long a test lets the collector's loop be held: SLUICE_TEST_LOOP_BOUND_MS, else 1000 ms.
 * The goal is ~50 ms (what a quiet machine shows); the default leaves room for a machine whose
 * cores are shared with other work (seen: 190-1000 ms there), and still fails by far on the
 * stalls these tests guard against (19-55 s).
 */
export function loopBoundMs(): number {
  return Number(process.env.SLUICE_TEST_LOOP_BOUND_MS) || 1000;
}
