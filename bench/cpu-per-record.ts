// `node --import tsx bench/cpu-per-record.ts --roots A,B [--records N] [--rounds R]
// [--sink blackhole] [--ack durable] [--batch 100|1] [--rate N]`: the collector's process CPU (user +
// system, /proc ticks) per record for a fixed load (100-record NDJSON bodies, or single JSON
// records), for two or more builds alternated in one sitting (A B A B …), so a cut is judged
// against the build before it under the same machine load. Each root is a checkout with bin/
// and dist/ (a copy of the old build in /tmp will do). The load generator runs in this
// process; its CPU is not counted, only the collector's. Each round also says how much of that
// CPU the main thread spent: the rest is V8's helper threads (GC, compiling) and libuv's pool
// (the WAL's writes and fsyncs), which a 2-core machine runs beside PostgreSQL.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoad } from '../src/load/run-load.js';
import { loadRunOptions } from './sections/context.js';
import { startCollector } from './lib/child.js';
import { median } from './lib/table.js';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const roots = arg('--roots', resolve(import.meta.dirname, '..'))
  .split(',')
  .map((r) => resolve(r));
const records = Number(arg('--records', '1000000'));
const rounds = Number(arg('--rounds', '3'));
const sink = arg('--sink', 'blackhole');
/** Records per request: 100 sends NDJSON bodies, 1 single JSON objects. */
const batch = Number(arg('--batch', '100'));
const request = { batch, format: batch > 1 ? ('ndjson' as const) : ('json' as const), clients: batch > 1 ? 16 : 32 };
const ack = arg('--ack', 'durable');
/**
 * Records per second, 0 for as fast as the collector answers. A fixed rate gives every build the
 * same requests per event-loop turn: as fast as possible, a faster build answers fewer requests
 * per turn and so spreads each turn's fixed costs over fewer records.
 */
const rate = Number(arg('--rate', '0'));
const extra = arg('--flags', '').split(' ').filter(Boolean);

/** User and system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
}

/** CPU seconds of one thread of a process (/proc/<pid>/task/<tid>/stat); 0 once it is gone. */
function threadSeconds(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every thread of a process but its main one, so far. */
function helperSeconds(pid: number): number {
  let s = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) if (Number(tid) !== pid) s += threadSeconds(pid, Number(tid));
  return s;
}

async function once(root: string): Promise<{
  usPerRecord: number;
  sysShare: number;
  mainShare: number;
  recPerSec: number;
  rssMiB: number;
}> {
  const work = mkdtempSync(join(tmpdir(), 'sluice-cpu-'));
  const flags: Record<string, string> = {
    'sink.kind': sink,
    'ingest.ack': ack,
    'wal.dir': join(work, 'wal'),
    'deadLetter.dir': join(work, 'dead'),
  };
  // --flags "--a.b 1 --c.d 2": more config flags, as pairs.
  for (let i = 0; i + 1 < extra.length; i += 2) flags[extra[i]!.replace(/^--/, '')] = extra[i + 1]!;
  const child = await startCollector(flags, work, root);
  try {
    await runLoad(loadRunOptions(child.url, { ...request, records: Math.min(100_000, records / 10) }));
    await sleep(300);
    const cpu0 = cpuSeconds(child.pid);
    const helpers0 = helperSeconds(child.pid);
    const r = await runLoad(loadRunOptions(child.url, { ...request, records, rate }));
    // The sink may still be draining the last batches; a blackhole does so within a few ms.
    await sleep(300);
    const cpu1 = cpuSeconds(child.pid);
    const helpers = helperSeconds(child.pid) - helpers0;
    const rssMiB = child.rss() / 1048576;
    const user = cpu1.user - cpu0.user;
    const sys = cpu1.sys - cpu0.sys;
    if (r.recordsAccepted !== records) throw new Error(`accepted ${r.recordsAccepted} of ${records}`);
    return {
      usPerRecord: ((user + sys) * 1e6) / records,
      sysShare: sys / (user + sys),
      mainShare: 1 - helpers / (user + sys),
      recPerSec: r.recordsPerSec,
      rssMiB,
    };
  } finally {
    await child.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results = new Map<string, { us: number[]; rps: number[] }>(roots.map((r) => [r, { us: [], rps: [] }]));
  const load0 = loadavg();
  for (let round = 0; round < rounds; round++) {
    // Rotate who goes first, so a drifting machine biases no one.
    for (let i = 0; i < roots.length; i++) {
      const root = roots[(i + round) % roots.length]!;
      const r = await once(root);
      results.get(root)!.us.push(r.usPerRecord);
      results.get(root)!.rps.push(r.recPerSec);
      console.log(
        `round ${round} ${root}: ${r.usPerRecord.toFixed(2)} µs/record (${(100 * r.sysShare).toFixed(0)}% system, ` +
          `${(100 * r.mainShare).toFixed(0)}% main thread), ` +
          `${Math.round(r.recPerSec)} rec/s, RSS ${Math.round(r.rssMiB)} MiB at the end`,
      );
    }
  }
  const load1 = loadavg();
  const base = median(results.get(roots[0]!)!.us);
  for (const [root, r] of results) {
    const m = median(r.us);
    console.log(
      `${root}: median ${m.toFixed(2)} µs/record (${r.us.map((u) => u.toFixed(2)).join(', ')}), ` +
        `${Math.round(median(r.rps))} rec/s, ${(m / base).toFixed(3)}× of ${roots[0]}`,
    );
  }
  console.log(
    `load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')}`,
  );
}

await main();
