// `node --import tsx scripts/cpu-profile-summary.ts <file.cpuprofile> [--top N]`: where a
// `node --cpu-prof` profile's self time went, by function and by file, as shares of the
// sampled time. Used to keep profile summaries beside bench results (issue 17): shares travel
// between runs on a shared machine where absolute times do not.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

function top(totals: Map<string, number>, all: number, n: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpu-profile-summary.ts <file.cpuprofile> [--top N]');
  const at = process.argv.indexOf('--top');
  const n = at > 0 ? Number(process.argv[at + 1]) : 30;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]!)!;
    const us = profile.timeDeltas[i] ?? 0;
    all += us;
    const file = where(frame.url);
    const name = `${frame.functionName || '(anonymous)'}  ${file}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const idle = [...byFunction].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, us]) => s + us, 0);
  console.log(`${file}: ${(all / 1e6).toFixed(2)} s sampled, ${(idle / 1e6).toFixed(2)} s idle`);
  console.log('\nSelf time by function (share of sampled time):');
  for (const line of top(byFunction, all, n)) console.log(line);
  console.log('\nSelf time by file:');
  for (const line of top(byFile, all, Math.min(n, 20))) console.log(line);
}

main();
