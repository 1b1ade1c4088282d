// `node --import tsx bench/profile-stages.ts <file.cpuprofile> [--from-ms N]`: a `--cpu-prof`
// profile of the collector's main thread, its samples grouped by pipeline stage (issue 17). A
// sample counts for the innermost frame on its stack whose file names a stage, so Node's own
// stream, buffer and fs frames go to the stage that called them (a response's socket write to
// HTTP, a file write to the WAL); node:net is no stage, as HTTP and the pg client both write to sockets.
// --from-ms drops the first N ms (startup, module loading).
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins, tested on one frame's "url functionName". */
const STAGES: [string, RegExp][] = [
  ['idle', /^ \(idle\)$/],
  ['GC', /^ \(garbage collector\)$/],
  [
    'startup (module loading, config)',
    /node:internal\/modules|zod\/|\/dist\/config\/|\/dist\/main\.js|cjs-module-lexer/,
  ],
  [
    'body parse + normalise',
    /\/dist\/ingest\/(parse-body|scan-json|value-reader|normalise|json-steps|nesting)\.js|\/dist\/(timestamp|record|uuidv7)\.js/,
  ],
  ['COPY tuple encode (at ingest)', /\/dist\/sinks\/postgres\/copy-encode\.js/],
  ['WAL (frame, crc, append, file writes)', /\/dist\/pipeline\/wal\/|\/dist\/durable-fs\.js/],
  ['buffer / batcher / writer pool', /\/dist\/pipeline\//],
  ['sink (blackhole / pg client, COPY stream)', /\/dist\/sinks\/|\/pg\/|pg-protocol|pg-copy-streams|pg-pool/],
  ['metrics / tracing / logging', /\/dist\/observability\/|prom-client|pino|@opentelemetry|hdr-histogram/],
  ['/logs route, hooks, access, enqueue', /\/dist\/ingest\/|\/dist\/http\/|\/dist\/access\/|\/dist\/app\.js/],
  ['HTTP (node:http, Fastify, sockets)', /node:_http|node:internal\/http|fastify|find-my-way|avvio|light-my-request/],
];

/**
 * Native write calls are a stage of their own: a sample is taken on the wall clock, so a thread
 * descheduled inside writev (the woken client runs first on a busy two-core machine) counts
 * there too. Their share is time in the call, not CPU: /proc's system time bounds that.
 */
const SYSCALLS = new Set(['writev', 'writeBuffer', 'writeString', 'writeUtf8String', 'fsync', 'fdatasync']);
const WRITES = 'socket and file write calls (wall time in the call)';

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-stages.ts <file.cpuprofile> [--from-ms N]');
  const at = process.argv.indexOf('--from-ms');
  const fromUs = at > 0 ? Number(process.argv[at + 1]) * 1000 : 0;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known) return known;
    let stage = 'other (Node internals, timers, promises)';
    const leaf = byId.get(id)!.callFrame;
    if (leaf.url === '' && SYSCALLS.has(leaf.functionName)) {
      stageOf.set(id, WRITES);
      return WRITES;
    }
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const hit = STAGES.find(([, re]) => re.test(`${f.url} ${f.functionName}`));
      if (hit) {
        stage = hit[0];
        break;
      }
    }
    stageOf.set(id, stage);
    return stage;
  };
  const totals = new Map<string, number>();
  let t = 0;
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    t += us;
    if (t < fromUs) continue;
    all += us;
    const stage = classify(profile.samples[i]!);
    totals.set(stage, (totals.get(stage) ?? 0) + us);
  }
  const busy = all - (totals.get('idle') ?? 0);
  console.log(`${file}: ${(all / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy`);
  console.log('| stage | share of busy main-thread time | ms |\n|---|---|---|');
  for (const [stage, us] of [...totals].sort((a, b) => b[1] - a[1])) {
    if (stage === 'idle') continue;
    console.log(`| ${stage} | ${((100 * us) / busy).toFixed(1)}% | ${(us / 1000).toFixed(0)} |`);
  }
  console.log(`| (idle, not in the shares) | – | ${((totals.get('idle') ?? 0) / 1000).toFixed(0)} |`);
}

main();
