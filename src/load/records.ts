// Request bodies for the load generator. Every record carries a run-unique id prefix and a
// run-unique service name, so --verify can count exactly this run's rows (the service name
// lets PostgreSQL use the logs (service, ts) index instead of scanning the table), and a
// microsecond `ts` taken just before the request is sent, the start of end-to-end latency.
import { randomBytes } from 'node:crypto';

export type BodyFormat = 'json' | 'ndjson';

export function newRunId(): string {
  return `ld${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** RFC 3339 with microseconds, the precision Sluice keeps. */
export function isoMicros(epochMs: number): string {
  const us = Math.round(epochMs * 1000);
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'] as const;

export interface BodyBuilder {
  /** Records seq … seq+count-1 as one body, stamped with `nowMs`. */
  build(seq: number, count: number, nowMs: number): string;
  readonly contentType: string;
}

export function bodyBuilder(format: BodyFormat, runId: string, service: string, batched: boolean): BodyBuilder {
  // Strings are concatenated rather than JSON.stringify'd: the generator shares the machine
  // with what it measures, so its per-record cost is kept small.
  const head = `{"id":"${runId}-`;
  const svc = JSON.stringify(service);
  const one = (seq: number, ts: string): string =>
    `${head}${seq}","ts":"${ts}","level":"${LEVELS[seq % LEVELS.length]}","service":${svc},` +
    `"message":"load record ${seq}","attrs":{"seq":${seq},"run":"${runId}"}}`;
  return {
    contentType: format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
    build(seq, count, nowMs) {
      const ts = isoMicros(nowMs);
      if (format === 'ndjson') {
        let s = '';
        for (let i = 0; i < count; i++) s += one(seq + i, ts) + '\n';
        return s;
      }
      if (!batched) return one(seq, ts);
      let s = '[';
      for (let i = 0; i < count; i++) s += (i ? ',' : '') + one(seq + i, ts);
      return s + ']';
    },
  };
}
