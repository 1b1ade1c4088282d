// `node --import tsx bench/parse-ab.ts --roots A,B [--pairs N]`: parse + normalise of the load
// generator's 100-record NDJSON bodies, two checkouts' parsers in one process, alternated in
// short bursts (A B A B …) so that a shared machine's drift falls on both alike; prints the
// median CPU µs/record of each and the median of the per-pair ratios B/A.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './lib/table.js';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const roots = arg('--roots', '')
  .split(',')
  .map((r) => resolve(r));
const pairs = Number(arg('--pairs', '40'));
const BURST = 200;

/* eslint-disable @typescript-eslint/no-explicit-any -- modules of other checkouts, typed loosely */
async function parserOf(root: string): Promise<(body: Buffer) => unknown> {
  const load = async (p: string): Promise<any> => await import(pathToFileURL(resolve(root, p)).href);
  const { parseBody } = await load('src/ingest/parse-body.ts');
  const { normaliseLog } = await load('src/ingest/normalise.ts');
  const received = Date.now() * 1000;
  return (body) => parseBody(body, true, received, normaliseLog);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const { bodyBuilder } = await import('../src/load/records.js');
const builder = bodyBuilder('ndjson', 'a3e45f0c', 'bench-parse-ab', true);
const bodies = Array.from({ length: 20 }, (_, k) => Buffer.from(builder.build(k * 100, 100, Date.now())));
const parsers = await Promise.all(roots.map(parserOf));
let k = 0;
const burst = (parse: (b: Buffer) => unknown): number => {
  const t0 = process.cpuUsage();
  for (let i = 0; i < BURST; i++) parse(bodies[k++ % bodies.length]!);
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (BURST * 100);
};
for (const p of parsers) for (let i = 0; i < 20; i++) burst(p);
const us: number[][] = parsers.map(() => []);
for (let n = 0; n < pairs; n++) parsers.forEach((p, i) => us[i]!.push(burst(p)));
roots.forEach((r, i) => {
  const ratios = us[i]!.map((u, n) => u / us[0]![n]!);
  console.log(
    `${r}: ${median(us[i]!).toFixed(3)} µs/record, ${median(ratios).toFixed(3)}× of ${roots[0]} (median of ${pairs} pairs)`,
  );
});
