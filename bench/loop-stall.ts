// How long one request, check or pattern can hold the collector's event loop (issue 13: the
// goal is ~50 ms). Sends each adversarial-but-allowed request to a child collector (dist/,
// blackhole sink) `--rounds` times, one at a time, and reads the collector's own
// monitorEventLoopDelay maximum (nodejs_eventloop_lag_max_seconds, reset at each scrape)
// around it (ack memory; rows marked "ack durable" go through the WAL, where records are encoded
// and framed at admission). The minimum over rounds is the figure (the machine is shared; a round that
// lost its core to another process only shows that process), the maximum is shown too.
// First, in this process, the parser alone: each body parsed in one go against parsed in steps
// (parseBodyAsync), with the longest step seen by a setImmediate probe and the largest step's
// work as counted by parseBodyInSteps (min over rounds).
// Then the protocol routes (Loki push protobuf and JSON, OTLP/HTTP protobuf and JSON, _bulk,
// syslog TCP), each sent 10 MiB of tiny records, as ratios against the NDJSON row of tiny
// records measured in the same run (the same collector, the record cap raised).
// Run: node scripts/ensure-build.mjs && node --import tsx bench/loop-stall.ts [--rounds 5] [--only name|protocols]
// Profile: SLUICE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (see bench/lib/child.ts).
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { uncompress } from 'snappyjs';
import { parseBulkSteps } from '../src/ingest/elasticsearch/bulk.js';
import { lokiPushSteps } from '../src/ingest/loki/loki-routes.js';
import { encodeExportRequest } from '../src/ingest/otlp/codec.js';
import { readExportSteps } from '../src/ingest/otlp/read-export.js';
import { countSteps, runAtOnce, runInSteps, type Steps } from '../src/steps.js';
import { normaliseLog } from '../src/ingest/normalise.js';
import { parseBody, parseBodyAsync, parseBodyInSteps, type ParseLimits } from '../src/ingest/parse-body.js';
import { freePort } from '../src/postgres/embedded.js';
import { pushJson, pushProto, type PushStream } from '../test/helpers/loki-push.js';
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
  /** Which collector: default limits, maxRecordsPerRequest raised to 1M, or that with ack durable (the WAL). */
  collector: 'default' | 'raised' | 'durable';
  headers: Record<string, string>;
  body: Buffer;
  /** The status it must get. */
  status: number;
  /** Where it is sent: an HTTP path (POST /logs when not said), or the syslog TCP listener. */
  path?: string;
  /** Syslog: how many messages the body holds (the run waits until all are ingested). */
  syslogMessages?: number;
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
    // `--only protocols`: the protocol rows and the NDJSON row they are compared with.
    const protocols =
      ONLY === 'protocols' && (s.path !== undefined || s.syslogMessages !== undefined || s.name === BASELINE);
    if (ONLY === undefined || s.name.includes(ONLY) || protocols) out.push(s);
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
  // The same through the WAL (the default ack mode): records encoded and framed at admission.
  add({
    name: 'ndjson 170k x 60 B (cap raised, ack durable)',
    collector: 'durable',
    headers: ndjson,
    body: Buffer.from(tiny.join('\n')),
    status: 202,
  });
  add({
    name: 'json 10k x 1 KiB (ack durable)',
    collector: 'durable',
    headers: json,
    body: Buffer.from(`[${k1.join(',')}]`),
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
  protocolScenarios(add);
  return out;
}

/** The NDJSON row the protocol rows are compared with. */
const BASELINE = 'ndjson 170k x 60 B (cap raised)';
const LINE = 'the quick brown fox jumps over the lazy dog';

/** The largest `n` whose body stays under `cap` bytes (as `size` measures it), from a sample's bytes per record. */
function fill(make: (n: number) => Buffer, cap: number, size: (b: Buffer) => number = (b) => b.length): Buffer {
  const per = size(make(2000)) / 2000;
  return make(Math.floor((cap * 0.97) / per));
}

function lokiStreams(n: number): PushStream[] {
  const streams: PushStream[] = [];
  for (let s = 0; s < 10; s++)
    streams.push({
      labels: [['service_name', `stall${s}`]],
      entries: Array.from({ length: Math.ceil(n / 10) }, (_, i) => ({
        ns: `17000000000${String(i).padStart(8, '0')}`,
        line: LINE,
      })),
    });
  return streams;
}

function otlpExport(n: number): object {
  const resourceLogs = [];
  for (let r = 0; r < 10; r++)
    resourceLogs.push({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: `stall${r}` } }] },
      scopeLogs: [
        {
          logRecords: Array.from({ length: Math.ceil(n / 10) }, (_, i) => ({
            timeUnixNano: `17000000000${String(i).padStart(8, '0')}`,
            body: { stringValue: LINE },
          })),
        },
      ],
    });
  return { resourceLogs };
}

/** Each protocol route sent 10 MiB of tiny records, on the collector with the record cap raised. */
function protocolScenarios(add: (s: Scenario) => void): void {
  const raised = 'raised' as const;
  add({
    name: 'loki protobuf, 10 MiB of tiny entries',
    collector: raised,
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/x-protobuf' },
    body: fill(
      (n) => pushProto(lokiStreams(n)),
      CAP,
      (b) => uncompress(b).length,
    ),
    status: 204,
  });
  add({
    name: 'loki JSON, 10 MiB of tiny entries',
    collector: raised,
    path: '/loki/api/v1/push',
    headers: json,
    body: fill((n) => pushJson(lokiStreams(n)), CAP),
    status: 204,
  });
  add({
    name: 'OTLP protobuf, 10 MiB of tiny records',
    collector: raised,
    path: '/v1/logs',
    headers: { 'content-type': 'application/x-protobuf' },
    body: fill((n) => encodeExportRequest(otlpExport(n)), CAP),
    status: 200,
  });
  add({
    name: 'OTLP JSON, 10 MiB of tiny records',
    collector: raised,
    path: '/v1/logs',
    headers: json,
    body: fill((n) => Buffer.from(JSON.stringify(otlpExport(n))), CAP),
    status: 200,
  });
  const pair = `{"index":{}}\n${JSON.stringify({ message: LINE })}\n`;
  add({
    name: '_bulk, 10 MiB of tiny documents',
    collector: raised,
    path: '/stall/_bulk',
    headers: { 'content-type': 'application/x-ndjson' },
    body: Buffer.from(pair.repeat(Math.floor((CAP * 0.97) / pair.length))),
    status: 200,
  });
  add({
    name: '_bulk, 10 MiB of tiny documents (ack durable)',
    collector: 'durable',
    path: '/stall/_bulk',
    headers: { 'content-type': 'application/x-ndjson' },
    body: Buffer.from(pair.repeat(Math.floor((CAP * 0.97) / pair.length))),
    status: 200,
  });
  const message = `<13>1 2026-12-03T00:00:00Z h stall - - - ${LINE}\n`;
  const n = Math.floor((CAP * 0.97) / message.length);
  add({
    name: 'syslog TCP, 10 MiB of tiny messages',
    collector: raised,
    headers: {},
    body: Buffer.from(message.repeat(n)),
    status: 0,
    syslogMessages: n,
  });
}

/** The loop's worst delay while a connection sends a syslog body, until every message is ingested. */
async function syslogStall(c: Child, port: number, s: Scenario): Promise<{ stallMs: number; idleMs: number }> {
  // /metrics resets the lag maximum at each scrape: the worst of all scrapes meanwhile is the figure.
  const scrape = async (): Promise<{ lag: number; records: number }> => {
    const text = await (await fetch(`${c.url}/metrics`)).text();
    const lag = /^\w*nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)/m.exec(text);
    const recs = /^sluice_ingest_records_total\{[^}]*protocol="syslog"[^}]*\} (\S+)/m.exec(text);
    return { lag: Number(lag![1]) * 1000, records: Number(recs?.[1] ?? 0) };
  };
  await scrape();
  await sleep(300);
  const idle = await scrape();
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.end(s.body);
  let stallMs = 0;
  for (;;) {
    await sleep(100);
    const m = await scrape();
    stallMs = Math.max(stallMs, m.lag);
    if (m.records >= idle.records + s.syslogMessages!) break;
  }
  socket.destroy();
  return { stallMs, idleMs: idle.lag };
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
  for (const s of SCENARIOS) {
    if (s.collector !== 'default' || s.status !== 202 || s.headers['content-encoding'] || s.path) continue;
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
const SCENARIOS = scenarios();
/** Each protocol body's decoding and mapping, in process: in one go against in steps (what the route runs). */
async function protocolsInProcess(): Promise<string[]> {
  const lines = [
    '| body (record cap raised) | one go (ms) | steps | largest step, counted | longest step (ms) | longest step / one go |',
    '|---|---|---|---|---|---|',
  ];
  const limits: ParseLimits = { ...DEFAULT_LIMITS, maxRecords: 1_000_000 };
  for (const s of SCENARIOS) {
    let make: (() => Steps<unknown>) | undefined;
    const isJson = s.headers['content-type'] === json['content-type'];
    if (s.path === '/loki/api/v1/push') make = () => lokiPushSteps(s.body, isJson, limits.maxRecords, 16 * MiB, 1.7e15);
    else if (s.path === '/v1/logs') make = () => readExportSteps(s.body, isJson ? 'json' : 'protobuf', 1.7e15, limits);
    else if (s.path?.endsWith('/_bulk')) make = () => parseBulkSteps(s.body, 'stall', 1.7e15, limits);
    if (!make) continue;
    let whole = Infinity;
    let turn = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      runAtOnce(make());
      whole = Math.min(whole, performance.now() - t);
      turn = Math.min(turn, await longestTurn(() => runInSteps(make())));
    }
    const { steps, maxStepWork } = countSteps(make());
    lines.push(
      `| ${s.name} | ${whole.toFixed(1)} | ${steps} | ${(maxStepWork / 1024).toFixed(0)} KiB | ${turn.toFixed(1)} | ${(turn / whole).toFixed(3)} |`,
    );
  }
  return lines;
}
const parserLines = await inProcess();
const protocolParserLines = await protocolsInProcess();

const dir = mkdtempSync(join(tmpdir(), 'sluice-loop-stall-'));
const base = {
  'sink.kind': 'blackhole',
  'ingest.ack': 'memory',
  'deadLetter.dir': dir,
  'health.dataDir': join(dir, 'health'),
};
const syslogPort = await freePort();
const collectors: Record<Scenario['collector'], Child> = {
  default: await startCollector(base, dir),
  raised: await startCollector(
    {
      ...base,
      'ingest.maxRecordsPerRequest': 1_000_000,
      'buffer.maxRecords': 1_000_000,
      'buffer.maxBytes': 256 * MiB,
      'syslog.host': '127.0.0.1',
      'syslog.tcpPort': syslogPort,
    },
    dir,
  ),
  durable: await startCollector(
    {
      ...base,
      'ingest.ack': 'durable',
      'wal.dir': join(dir, 'wal'),
      'ingest.maxRecordsPerRequest': 1_000_000,
      'buffer.maxRecords': 1_000_000,
      'buffer.maxBytes': 256 * MiB,
    },
    dir,
  ),
};
const rows: Row[] = [];
try {
  for (const s of SCENARIOS) {
    const c = collectors[s.collector];
    const stalls: number[] = [];
    let idleMs = 0;
    let status = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const m =
        s.syslogMessages !== undefined
          ? await syslogStall(c, syslogPort, s)
          : await stallDuring(c, async () => {
              const res = await fetch(`${c.url}${s.path ?? '/logs'}`, {
                method: 'POST',
                headers: s.headers,
                body: s.body,
              });
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
if (protocolParserLines.length > 2) {
  console.log(`\nthe protocol decoders alone, in process, min of ${ROUNDS} rounds\n`);
  for (const l of protocolParserLines) console.log(l);
}
console.log(
  `\nloop stall per request, ${ROUNDS} rounds, load average ${l1!.toFixed(1)} / ${l5!.toFixed(1)} (1 / 5 min)\n`,
);
console.log('| request | status | worst stall, min of rounds (ms) | max of rounds (ms) | idle lag max (ms) |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.status || '-'} | ${r.minMs.toFixed(0)} | ${r.maxMs.toFixed(0)} | ${r.idleMs.toFixed(0)} |`,
  );

const baseline = rows.find((r) => r.name === BASELINE);
const protocolRows = rows.filter((r) => SCENARIOS.some((s) => s.name === r.name && (s.path || s.syslogMessages)));
if (baseline && protocolRows.length > 0) {
  console.log(`\nprotocol routes against "${BASELINE}" (${baseline.minMs.toFixed(0)} ms), same run\n`);
  console.log('| request | worst stall, min of rounds (ms) | ratio to the NDJSON row |');
  console.log('|---|---|---|');
  for (const r of protocolRows)
    console.log(`| ${r.name} | ${r.minMs.toFixed(0)} | ${(r.minMs / Math.max(1, baseline.minMs)).toFixed(2)}× |`);
}
