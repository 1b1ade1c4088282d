// `node --import tsx bench/record-path.ts [--root DIR] [--rounds N]`: the collector's CPU per
// record on the durable path into PostgreSQL, stage by stage, in process: parse + normalise a
// 100-record NDJSON body (the load generator's records), lay out its WAL record frame, read
// the frame back (replay), COPY-encode a 2000-record batch. CPU time (process.cpuUsage), not
// wall time, so a busy shared machine stretches it less; `--root` points at another checkout
// so a before/after pair runs in one process, one after the other, on the same input.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const root = resolve(arg('--root', resolve(import.meta.dirname, '..')));
const rounds = Number(arg('--rounds', '300'));

const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(root, path)).href)) as T;

interface Stage {
  name: string;
  records: number;
  run: () => void;
}

function cpuUsPerRecord(stage: Stage): number {
  for (let i = 0; i < Math.max(20, rounds / 10); i++) stage.run();
  const t0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) stage.run();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (rounds * stage.records);
}

async function main(): Promise<void> {
  /* eslint-disable @typescript-eslint/no-explicit-any -- modules of another checkout, typed loosely */
  const { parseBody } = await load<any>('src/ingest/parse-body.ts');
  const { normaliseLog } = await load<any>('src/ingest/normalise.ts');
  const { bodyBuilder } = await load<any>('src/load/records.ts');
  const frame = await load<any>('src/pipeline/wal/frame.ts');
  const copy = await load<any>('src/sinks/postgres/copy-encode.ts');
  // Since issue 17 the WAL frame holds the records' COPY tuples and the sink sends them as they are.
  const slabModule = await load<any>('src/pipeline/wal/tuple-slab.ts').catch(() => undefined);
  /* eslint-enable @typescript-eslint/no-explicit-any */
  const slab = slabModule ? new slabModule.TupleSlab() : undefined;

  const builder = bodyBuilder('ndjson', 'a3e45f0c', 'bench-record-path', true);
  const bodies = Array.from({ length: 20 }, (_, k) => Buffer.from(builder.build(k * 100, 100, Date.now()) as string));
  const received = Date.now() * 1000;
  const parsed = bodies.map((b) => parseBody(b, true, received, normaliseLog) as { records: unknown[] });
  const batch = parsed.flatMap((p) => p.records);
  const target = Buffer.alloc(1 << 20);
  const pendings = parsed.map((p) => frame.pendingRecords(p.records, slab));
  const rows = pendings.every((p) => p.tuples) ? pendings.map((p) => p.tuples as Buffer) : undefined;
  const frames = parsed.map((p) => {
    const pending = frame.pendingRecords(p.records, slab);
    pending.firstSeq = 0;
    const end = frame.writeRecordFrame(target, 0, pending) as number;
    return Buffer.from(target.subarray(0, end));
  });
  const writer = new copy.BinaryWriter(1 << 20);
  let k = 0;
  const stages: Stage[] = [
    {
      name: 'parse + normalise (100-record NDJSON body)',
      records: 100,
      run: () => parseBody(bodies[k++ % 20], true, received, normaliseLog),
    },
    {
      name: 'WAL record frame (100 records)',
      records: 100,
      run: () => {
        const pending = frame.pendingRecords(parsed[k++ % 20]!.records, slab);
        pending.firstSeq = 0;
        frame.writeRecordFrame(target, 0, pending);
      },
    },
    {
      name: 'WAL replay: decode a frame (100 records)',
      records: 100,
      run: () => frame.decodeFrame(frames[k++ % 20], 0),
    },
    { name: 'COPY binary encode (2000 records)', records: 2000, run: () => copy.encodeBinary(batch, 1 << 20, writer) },
  ];
  if (rows)
    stages.push({
      name: 'COPY binary from the WAL tuples (2000 records)',
      records: 2000,
      run: () => copy.binaryFromTuples(rows, writer),
    });
  let total = 0;
  console.log(`root ${root}, ${rounds} rounds`);
  for (const stage of stages) {
    const us = cpuUsPerRecord(stage);
    // The sink's stage: what it does with the batch (send the WAL's tuples, or encode).
    const sinkStage = rows ? 'COPY binary from' : 'COPY binary encode';
    if (!stage.name.startsWith('WAL replay') && (!stage.name.startsWith('COPY') || stage.name.startsWith(sinkStage)))
      total += us;
    console.log(`${us.toFixed(3).padStart(8)} µs/record  ${stage.name}`);
  }
  console.log(`${total.toFixed(3).padStart(8)} µs/record  ingest → WAL → COPY (replay not counted)`);
}

await main();
