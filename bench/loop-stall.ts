// How long one request, check or pattern can hold the collector's event loop (issue 13: the
// goal is ~50 ms). Sends each adversarial-but-allowed request to a child collector (dist/,
// blackhole sink) `--rounds` times, one at a time, and reads the collector's own
// monitorEventLoopDelay maximum (nodejs_eventloop_lag_max_seconds, reset at each scrape)
// around it. The minimum over rounds is the figure (the machine is shared; a round that
// lost its core to another process only shows that process), the maximum is shown too.
// First, in this process, the parser alone: each body parsed in one go against parsed in steps
// (parseBodyAsync), with the longest step seen by a setImmediate probe and the largest step's
// work as counted by parseBodyInSteps (min over rounds).
// Run: node scripts/ensure-build.mjs && node --import tsx bench/loop-stall.ts [--rounds 5] [--only name]
// Profile: SLUICE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (see bench/lib/child.ts).
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { normaliseLog } from '../src/ingest/normalise.js';
import { parseBody, parseBodyAsync, parseBodyInSteps, type ParseLimits } from '../src/ingest/parse-body.js';
import { startCollector, type Child } from './lib/child.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ROUNDS = Number(arg('rounds') ?? 5);
const ONLY = arg('only');
const MiB = 1024 * 1024;
/** Just under the default ingest.maxBodyBytes (10 MiB). */
const CAP = 10 * MiB - 4096;

interface Scenario {
  name: string;
  /** Which collector: default limits, or maxRecordsPerRequest raised to 1M. */
  collector: 'default' | 'raised';
  headers: Record<string, string>;
  body: Buffer;
  /** The status it must get. */
  status: number;
}

const json = { 'content-type': 'application/json' };
const ndjson = { 'content-type': 'application/x-ndjson' };

/** `n` records of about `size` bytes each. */
function records(n: number, size: number): string[] {
  const base = JSON.stringify({ level: 'info', service: 'stall', message: '' }).length;
  const rec = JSON.stringify({ level: 'info', service: 'stall', message: 'x'.repeat(Math.max(0, size - base)) });
  return Array<string>(n).fill(rec);
}

/** One record holding `keys` attrs of about `size` bytes each. */
function wideRecord(keys: number, valueBytes: number): string {
  const v = JSON.stringify('v'.repeat(valueBytes));
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) parts.push(`"k${i}":${v}`);
  return `{"message":"wide","attrs":{${parts.join(',')}}}`;
}

/** A record nested `depth` levels deep (a chain of one-key objects) ending in a padded string. */
function deepRecord(depth: number, pad: number): string {
  return `{"message":"deep","attrs":${'{"a":'.repeat(depth - 2)}"${'p'.repeat(pad)}"${'}'.repeat(depth - 2)}}`;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const add = (s: Scenario): void => {
    if (ONLY === undefined || s.name.includes(ONLY)) out.push(s);
  };
  // The default record cap (10k) at ~1 KiB each fills 10 MiB.
  const k1 = records(10_000, 1040);
  add({
    name: 'json 10k x 1 KiB',
    collector: 'default',
    headers: json,
    body: Buffer.from(`[${k1.join(',')}]`),
    status: 202,
  });
  add({
    name: 'ndjson 10k x 1 KiB',
    collector: 'default',
    headers: ndjson,
    body: Buffer.from(k1.join('\n')),
    status: 202,
  });
  // A raised record cap lets 10 MiB be many tiny records.
  const tiny = records(170_000, 60);
  add({
    name: 'json 170k x 60 B (cap raised)',
    collector: 'raised',
    headers: json,
    body: Buffer.from(`[${tiny.join(',')}]`),
    status: 202,
  });
  add({
    name: 'ndjson 170k x 60 B (cap raised)',
    collector: 'raised',
    headers: ndjson,
    body: Buffer.from(tiny.join('\n')),
    status: 202,
  });
  // One record at the key cap (10k keys) filling the body.
  add({
    name: 'one record, 10k keys x 1 KiB',
    collector: 'default',
    headers: json,
    body: Buffer.from(wideRecord(9990, 1000)),
    status: 202,
  });
  add({
    name: 'array of one record, 10k keys',
    collector: 'default',
    headers: json,
    body: Buffer.from(`[${wideRecord(9990, 1000)}]`),
    status: 202,
  });
  // One long NDJSON line (a 10 MB message), and ten 1 MB lines.
  const long = JSON.stringify({ message: 'm'.repeat(CAP - 100) });
  add({ name: 'ndjson one 10 MiB line', collector: 'default', headers: ndjson, body: Buffer.from(long), status: 202 });
  const mb = records(10, MiB - 200);
  add({
    name: 'ndjson 10 x 1 MiB lines',
    collector: 'default',
    headers: ndjson,
    body: Buffer.from(mb.join('\n')),
    status: 202,
  });
  // Nesting at the depth cap (64), as many records as fit.
  const deep = Array<string>(9000).fill(deepRecord(64, 700));
  add({
    name: 'json 9k records nested 64 deep',
    collector: 'default',
    headers: json,
    body: Buffer.from(`[${deep.join(',')}]`),
    status: 202,
  });
  // Gzip bombs: ~10 KiB on the wire, 10 MiB once inflated (accepted), and 1 GiB (refused).
  add({
    name: 'gzip 10 MiB of records',
    collector: 'default',
    headers: { ...json, 'content-encoding': 'gzip' },
    body: gzipSync(`[${k1.join(',')}]`),
    status: 202,
  });
  add({
    name: 'gzip 1 GiB of spaces',
    collector: 'default',
    headers: { ...json, 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(1024 * MiB, ' '), { level: 9 }),
    status: 413,
  });
  return out;
}

async function lagMaxMs(c: Child): Promise<number> {
  const text = await (await fetch(`${c.url}/metrics`)).text();
  const m = /^\w*nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)/m.exec(text);
  return Number(m![1]) * 1000;
}

/** The loop's worst delay while `run` goes on, and its figure of a quiet moment just before. */
async function stallDuring(c: Child, run: () => Promise<void>): Promise<{ stallMs: number; idleMs: number }> {
  await lagMaxMs(c);
  await sleep(300);
  const idleMs = await lagMaxMs(c);
  await run();
  return { stallMs: await lagMaxMs(c), idleMs };
}

interface Row {
  name: string;
  status: number;
  minMs: number;
  maxMs: number;
  idleMs: number;
}

async function bodyRegexRow(c: Child): Promise<Row> {
  // A 1 MiB body (the cap on what is matched) against a pattern that makes RE2 work hard.
  const body = Buffer.alloc(MiB, 'a');
  const target = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as { port: number }).port;
  const res = await fetch(`${c.url}/admin/checks`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      id: 'stall-regex',
      name: 'stall-regex',
      kind: 'http',
      url: `http://127.0.0.1:${port}/`,
      interval: '2s',
      timeout: '2s',
      bodyRegex: '^(a|a|aa|aaa)*b$',
    }),
  });
  if (res.status !== 201) throw new Error(`check not created: ${res.status} ${await res.text()}`);
  const history = async (): Promise<number> =>
    ((await (await fetch(`${c.url}/admin/checks/stall-regex/history?limit=50`)).json()) as unknown[]).length;
  const stalls: number[] = [];
  let idleMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const s = await stallDuring(c, async () => {
      const n = await history();
      while ((await history()) <= n) await sleep(50);
    });
    stalls.push(s.stallMs);
    idleMs = Math.max(idleMs, s.idleMs);
  }
  await fetch(`${c.url}/admin/checks/stall-regex`, { method: 'DELETE' });
  target.close();
  return {
    name: 'bodyRegex on a 1 MiB body',
    status: 0,
    minMs: Math.min(...stalls),
    maxMs: Math.max(...stalls),
    idleMs,
  };
}

/** The longest gap between two turns of a setImmediate probe while `run` goes on. */
async function longestTurn(run: () => Promise<unknown>): Promise<number> {
  let done = false;
  let last = performance.now();
  let max = 0;
  const tick = (): void => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  await run();
  done = true;
  return max;
}

const DEFAULT_LIMITS: ParseLimits = { maxRecords: 10_000, maxDepth: 64, maxKeys: 10_000 };

async function inProcess(): Promise<string[]> {
  const lines = [
    '| body (default limits) | one go (ms) | steps | largest step, counted | longest step (ms) | longest step / one go |',
    '|---|---|---|---|---|---|',
  ];
  for (const s of scenarios()) {
    if (s.collector !== 'default' || s.status !== 202 || s.headers['content-encoding']) continue;
    const ndjson = s.headers['content-type'] === ndjson_.type;
    let whole = Infinity;
    let turn = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      parseBody(s.body, ndjson, 1.7e15, normaliseLog, DEFAULT_LIMITS);
      whole = Math.min(whole, performance.now() - t);
      turn = Math.min(
        turn,
        await longestTurn(() => parseBodyAsync(s.body, ndjson, 1.7e15, normaliseLog, DEFAULT_LIMITS)),
      );
    }
    const { steps, maxStepWork } = parseBodyInSteps(s.body, ndjson, 1.7e15, normaliseLog, DEFAULT_LIMITS);
    lines.push(
      `| ${s.name} | ${whole.toFixed(1)} | ${steps} | ${(maxStepWork / 1024).toFixed(0)} KiB | ${turn.toFixed(1)} | ${(turn / whole).toFixed(3)} |`,
    );
  }
  return lines;
}
const ndjson_ = { type: ndjson['content-type'] };
const parserLines = await inProcess();

const dir = mkdtempSync(join(tmpdir(), 'sluice-loop-stall-'));
const base = {
  'sink.kind': 'blackhole',
  'ingest.ack': 'memory',
  'deadLetter.dir': dir,
  'health.dataDir': join(dir, 'health'),
};
const collectors: Record<Scenario['collector'], Child> = {
  default: await startCollector(base, dir),
  raised: await startCollector(
    { ...base, 'ingest.maxRecordsPerRequest': 1_000_000, 'buffer.maxRecords': 1_000_000, 'buffer.maxBytes': 256 * MiB },
    dir,
  ),
};
const rows: Row[] = [];
try {
  for (const s of scenarios()) {
    const c = collectors[s.collector];
    const stalls: number[] = [];
    let idleMs = 0;
    let status = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const m = await stallDuring(c, async () => {
        const res = await fetch(`${c.url}/logs`, { method: 'POST', headers: s.headers, body: s.body });
        await res.arrayBuffer();
        status = res.status;
        if (status !== s.status) throw new Error(`${s.name}: got ${status}, expected ${s.status}`);
      });
      stalls.push(m.stallMs);
      idleMs = Math.max(idleMs, m.idleMs);
    }
    rows.push({ name: s.name, status, minMs: Math.min(...stalls), maxMs: Math.max(...stalls), idleMs });
    console.error(`${s.name}: ${stalls.map((x) => x.toFixed(0)).join(' ')} ms`);
  }
  if (ONLY === undefined || 'bodyRegex'.includes(ONLY)) rows.push(await bodyRegexRow(collectors.default));
} finally {
  await Promise.all(Object.values(collectors).map((c) => c.stop()));
  rmSync(dir, { recursive: true, force: true });
}

const [l1, l5] = (await import('node:os')).loadavg();
console.log(`\nthe parser alone, in process, min of ${ROUNDS} rounds\n`);
for (const l of parserLines) console.log(l);
console.log(
  `\nloop stall per request, ${ROUNDS} rounds, load average ${l1!.toFixed(1)} / ${l5!.toFixed(1)} (1 / 5 min)\n`,
);
console.log('| request | status | worst stall, min of rounds (ms) | max of rounds (ms) | idle lag max (ms) |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.status || '-'} | ${r.minMs.toFixed(0)} | ${r.maxMs.toFixed(0)} | ${r.idleMs.toFixed(0)} |`,
  );
