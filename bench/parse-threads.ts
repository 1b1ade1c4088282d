// `node --import tsx bench/parse-threads.ts [--rounds R] [--bodies N] [--inflight K]`: issue 17's
// "use the second core" question, measured. The load generator's 100-record NDJSON bodies are
// parsed + normalised (a) on the main thread, (b) by a pool of 1 or 2 worker_threads that send
// the LogRecords back (structured clone), (c) by workers that also encode the COPY tuples and
// send back only those bytes (transferred) with each record's size, or (d) by workers that send
// the records' fields back as columns (typed arrays, string arrays) for the main thread to
// rebuild objects from: the cheapest object handoff tried. Variants add what the main thread
// would still have to do: encode the tuples after (a)/(b) (the WAL admits tuples), decode
// objects after (c) (the memory buffer, live tail and other sinks want objects).
// Modes alternate in rounds (a b c … a b c …) so a shared machine's drift falls on all alike;
// per mode it prints medians of main-thread CPU per record (its schedstat run time: this
// thread only, ns), whole-process CPU per record (process.cpuUsage: every thread, GC helpers
// included), the main thread's event-loop active time (ELU, which also counts time the thread
// sat descheduled) per record, and records/s with the body copy to the worker included.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { normaliseLog } from '../src/ingest/normalise.js';
import { parseBody } from '../src/ingest/parse-body.js';
import { bodyBuilder } from '../src/load/records.js';
import { decodeTuples } from '../src/sinks/postgres/copy-decode.js';
import { BinaryWriter, encodeTuple } from '../src/sinks/postgres/copy-encode.js';
import type { LogRecord, SluiceRecord } from '../src/record.js';
import type { Columns, ParseJob } from './lib/parse-threads-worker.js';
import { median, mdTable, num, ratio } from './lib/table.js';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const rounds = Number(arg('--rounds', '12'));
const bodiesPerBurst = Number(arg('--bodies', '600'));
/** Bodies outstanding per worker: like a few client connections each waiting on its parse. */
const inflight = Number(arg('--inflight', '4'));
const PER_BODY = 100;

const builder = bodyBuilder('ndjson', 'a3e45f0c', 'bench-parse-threads', true);
const bodies = Array.from({ length: 20 }, (_, k) => Buffer.from(builder.build(k * PER_BODY, PER_BODY, Date.now())));

/** Nanoseconds the main thread has run on a CPU (its task's schedstat): this thread only. */
const mainNs = (): number => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);

// ---- what the main thread does with a body's result --------------------------------------

const scratch = new BinaryWriter(64 * 1024);
/** The WAL's admission work on records: their tuples, copied out of the scratch writer. */
function encodeOnMain(records: readonly SluiceRecord[]): Buffer {
  scratch.off = 0;
  for (const r of records) encodeTuple(scratch, r);
  return Buffer.from(scratch.buf.subarray(0, scratch.off));
}
let sink = 0;
const keep = (n: number): void => {
  sink = (sink + n) | 0;
};

// ---- worker pool ---------------------------------------------------------------------------

interface Answer {
  id: number;
  records?: LogRecord[];
  bytes?: number;
  tuples?: Uint8Array;
  offsets?: Uint32Array;
  sizes?: Uint32Array;
  columns?: Columns;
  error?: string;
  cpuNs?: number;
}

// A worker does not inherit tsx's loader on Node 20: its entry registers tsx, then loads the .ts.
const WORKER_ENTRY = new URL(
  `data:text/javascript,${encodeURIComponent(
    `const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))});
register();
await import(${JSON.stringify(new URL('./lib/parse-threads-worker.ts', import.meta.url).href)});`,
  )}`,
);

class Pool {
  readonly workers: Worker[];
  private readonly outstanding: number[];
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private cpuWait: Array<(ns: number) => void> = [];
  private nextId = 0;

  constructor(n: number) {
    this.workers = Array.from({ length: n }, () => new Worker(WORKER_ENTRY));
    this.outstanding = this.workers.map(() => 0);
    this.workers.forEach((w, i) =>
      w.on('message', (a: Answer) => {
        if (a.cpuNs !== undefined) return this.cpuWait.shift()!(a.cpuNs);
        this.outstanding[i]!--;
        const done = this.waiting.get(a.id)!;
        this.waiting.delete(a.id);
        done(a);
      }),
    );
  }

  /** The body is copied to the worker (a request body may share its ArrayBuffer with others). */
  parse(body: Buffer, answer: ParseJob['answer']): Promise<Answer> {
    let at = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.outstanding[i]! < this.outstanding[at]!) at = i;
    this.outstanding[at]!++;
    const id = this.nextId++;
    const job: ParseJob = { id, body, receivedAt: Date.now() * 1000, answer };
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.workers[at]!.postMessage(job);
    });
  }

  /** The workers' own thread CPU so far, ns. */
  async cpuNs(): Promise<number> {
    let sum = 0;
    for (const w of this.workers) {
      const p = new Promise<number>((resolve) => this.cpuWait.push(resolve));
      w.postMessage('cpu');
      sum += await p;
    }
    return sum;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ---- modes ---------------------------------------------------------------------------------

interface Mode {
  name: string;
  /** Which result the main thread's cost is compared with: parse only, or ready for the WAL. */
  base: 'parse' | 'wal';
  run(n: number): Promise<void>;
  pool?: Pool;
}

const pools = { 1: new Pool(1), 2: new Pool(2) };
// The workers do the same work as the main thread: their records, and the records decoded from
// their tuples, are the in-thread parse's (received_at aside: each parse stamps its own).
{
  const stamp = (rs: readonly SluiceRecord[]): string => JSON.stringify(rs.map((r) => ({ ...r, received_at: 0 })));
  const want = stamp(parseBody(bodies[0]!, true, 0, normaliseLog).records);
  const viaRecords = (await pools[1].parse(bodies[0]!, 'records')).records!;
  const t = await pools[2].parse(bodies[0]!, 'tuples');
  const tupleBuf = Buffer.from(t.tuples!.buffer, t.tuples!.byteOffset, t.tuples!.byteLength);
  const viaTuples = decodeTuples(tupleBuf, 0, tupleBuf.length, Array.from(t.sizes!));
  if (stamp(viaRecords) !== want || stamp(viaTuples) !== want) throw new Error('workers built other records');
}

let k = 0;
const nextBody = (): Buffer => bodies[k++ % bodies.length]!;

function inline(encode: boolean): Mode['run'] {
  return async (n) => {
    for (let i = 0; i < n; i++) {
      const parsed = parseBody(nextBody(), true, Date.now() * 1000, normaliseLog);
      keep(encode ? encodeOnMain(parsed.records).length : parsed.records.length);
      // A turn of the loop now and then, as a server would take between requests.
      if (i % 10 === 9) await yieldToLoop();
    }
  };
}

/** n bodies through the pool, `inflight` per worker outstanding, each result handled by `then`. */
function pooled(pool: Pool, answer: ParseJob['answer'], then: (a: Answer) => number): Mode['run'] {
  return (n) =>
    new Promise((resolve, reject) => {
      let sent = 0;
      let done = 0;
      const send = (): void => {
        sent++;
        pool.parse(nextBody(), answer).then((a) => {
          if (a.error) return reject(new Error(a.error));
          keep(then(a));
          if (++done === n) resolve();
          else if (sent < n) send();
        }, reject);
      };
      for (let i = 0; i < Math.min(n, inflight * pool.workers.length); i++) send();
    });
}

const records = (a: Answer): number => a.records!.length;
const encoded = (a: Answer): number => encodeOnMain(a.records!).length;
const tuples = (a: Answer): number => a.sizes!.length;
/** LogRecords rebuilt from the columns, as normaliseLog lays them out. */
const fromColumns = (a: Answer): number => {
  const c = a.columns!;
  const out: LogRecord[] = new Array<LogRecord>(c.id.length);
  for (let i = 0; i < out.length; i++)
    out[i] = {
      type: 'log',
      id: c.id[i]!,
      ts: c.ts[i]!,
      received_at: c.receivedAt[i]!,
      level: c.level[i] as LogRecord['level'],
      service: c.service[i]!,
      message: c.message[i]!,
      attrs: c.attrs[i]!,
      trace_id: c.traceId[i]!,
      span_id: c.spanId[i]!,
      size: c.size[i]!,
    };
  return out.length;
};
const decoded = (a: Answer): number => {
  const t = a.tuples!;
  const buf = Buffer.from(t.buffer, t.byteOffset, t.byteLength);
  return decodeTuples(buf, 0, buf.length, Array.from(a.sizes!)).length;
};

const workers = (n: 1 | 2): string => (n === 1 ? '1 worker' : '2 workers');
const modes: Mode[] = [
  { name: '(a) in-thread parse', base: 'parse', run: inline(false) },
  ...([1, 2] as const).map((n) => ({
    name: `(b) ${workers(n)}, records back`,
    base: 'parse' as const,
    run: pooled(pools[n], 'records', records),
    pool: pools[n],
  })),
  ...([1, 2] as const).map((n) => ({
    name: `(d) ${workers(n)}, columns back, objects rebuilt on main`,
    base: 'parse' as const,
    run: pooled(pools[n], 'columns', fromColumns),
    pool: pools[n],
  })),
  { name: '(a) in-thread parse + encode', base: 'wal', run: inline(true) },
  ...([1, 2] as const).flatMap((n) => [
    {
      name: `(b) ${workers(n)}, records back, encode on main`,
      base: 'wal' as const,
      run: pooled(pools[n], 'records', encoded),
      pool: pools[n],
    },
    {
      name: `(c) ${workers(n)}, tuples back`,
      base: 'wal' as const,
      run: pooled(pools[n], 'tuples', tuples),
      pool: pools[n],
    },
    {
      name: `(c) ${workers(n)}, tuples back, decode objects on main`,
      base: 'wal' as const,
      run: pooled(pools[n], 'tuples', decoded),
      pool: pools[n],
    },
  ]),
];
const WAL_BASE = modes.findIndex((m) => m.name === '(a) in-thread parse + encode');

interface Sample {
  mainUs: number;
  totalUs: number;
  workerUs: number;
  eluUs: number;
  recPerSec: number;
}

async function burst(m: Mode, n: number): Promise<Sample> {
  const w0 = m.pool ? await m.pool.cpuNs() : 0;
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const main0 = mainNs();
  const t0 = performance.now();
  await m.run(n);
  const wall = performance.now() - t0;
  const main = mainNs() - main0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const w = m.pool ? (await m.pool.cpuNs()) - w0 : 0;
  const recs = n * PER_BODY;
  return {
    mainUs: main / 1000 / recs,
    totalUs: (cpu.user + cpu.system) / recs,
    workerUs: w / 1000 / recs,
    eluUs: (elu.active * 1000) / recs,
    recPerSec: recs / (wall / 1000),
  };
}

const load0 = loadavg();
console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}`);
for (const m of modes) await burst(m, Math.ceil(bodiesPerBurst / 3)); // warm-up
const samples: Sample[][] = modes.map(() => []);
for (let r = 0; r < rounds; r++) for (const [i, m] of modes.entries()) samples[i]!.push(await burst(m, bodiesPerBurst));
const load1 = loadavg();

/** Median of the per-round ratios of mode i's `f` to its base mode's. */
const baseOf = (m: Mode): number => (m.base === 'parse' ? 0 : WAL_BASE);
const ratioTo = (i: number, f: (s: Sample) => number): number => {
  const b = samples[baseOf(modes[i]!)]!;
  return median(samples[i]!.map((s, r) => f(s) / f(b[r]!)));
};
const rows = modes.map((m, i) => {
  const s = samples[i]!;
  const med = (f: (s: Sample) => number): number => median(s.map(f));
  return [
    m.name,
    num(med((x) => x.mainUs)),
    ratio(ratioTo(i, (x) => x.mainUs)),
    num(med((x) => x.eluUs)),
    num(med((x) => x.workerUs)),
    num(med((x) => x.totalUs)),
    ratio(ratioTo(i, (x) => x.totalUs)),
    num(med((x) => x.recPerSec)),
    ratio(ratioTo(i, (x) => x.recPerSec)),
  ];
});
console.log(
  mdTable(
    [
      'mode',
      'main thread µs/record',
      'main vs base',
      'main ELU-active µs/record',
      'workers µs/record',
      'process µs/record',
      'process vs base',
      'records/s',
      'records/s vs base',
    ],
    rows,
  ),
);
console.log(
  `${rounds} rounds of ${bodiesPerBurst} bodies × ${PER_BODY} records per mode, ${inflight} bodies in flight per worker; ` +
    `base: (a) in-thread parse for the parse-only rows, (a) in-thread parse + encode for the rest. ` +
    `Load average at end: ${load1.map((l) => l.toFixed(2)).join(' ')} (checksum ${sink}).`,
);
await pools[1].close();
await pools[2].close();
