// The load generator's engine: C concurrent clients (one keep-alive connection each, via an
// undici Pool) share one sequence of records and send them as fast as they can, or paced to
// a fixed record rate. Latency is measured per request; with --rate it is measured from the
// moment the request was due, so a stalled server cannot hide its stall (coordinated omission).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { Pool } from 'undici';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import { bodyBuilder, type BodyFormat } from './records.js';

const gzip = promisify(gzipCb);

export interface LoadOptions {
  /** Base URL of the collector, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Route the records go to. */
  path: string;
  /** Records to send; Infinity with durationMs to run for a time instead. */
  records: number;
  clients: number;
  /** Records per request; 1 sends single JSON objects (JSON format), more sends arrays/NDJSON. */
  batch: number;
  format: BodyFormat;
  gzip: boolean;
  /** Records per second across all clients; 0: as fast as the server answers. */
  rate: number;
  /** Stop after this long even if records remain (0: no limit). */
  durationMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  token?: string;
  runId: string;
  service: string;
}

export interface LoadProgress {
  elapsedMs: number;
  requests: number;
  recordsSent: number;
  recordsAccepted: number;
  statusCounts: Record<string, number>;
}

export interface LoadResult extends LoadProgress {
  runId: string;
  service: string;
  requestsPerSec: number;
  /** Accepted (2xx) records per second over the run. */
  recordsPerSec: number;
  latency: LatencySummary;
  /** Epoch ms of the first request and of the last answer. */
  startedAtMs: number;
  endedAtMs: number;
}

export interface LoadHooks {
  onProgress?: (p: LoadProgress) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
}

function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function runLoad(o: LoadOptions, hooks: LoadHooks = {}): Promise<LoadResult> {
  const origin = new URL(o.url).origin;
  const pool = new Pool(origin, { connections: o.clients, pipelining: 1, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
  const builder = bodyBuilder(o.format, o.runId, o.service, o.batch > 1 || o.format === 'ndjson');
  const headers: Record<string, string> = { 'content-type': builder.contentType };
  if (o.gzip) headers['content-encoding'] = 'gzip';
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const path = new URL(o.path, o.url).pathname;

  const hist = new LatencyHistogram();
  const statusCounts: Record<string, number> = {};
  let nextSeq = 0;
  let requests = 0;
  let recordsSent = 0;
  let recordsAccepted = 0;
  const startPerf = performance.now();
  const startedAtMs = nowEpochMs();
  const deadline = o.durationMs > 0 ? startPerf + o.durationMs : Infinity;
  const snapshot = (): LoadProgress => ({ elapsedMs: performance.now() - startPerf, requests, recordsSent, recordsAccepted, statusCounts: { ...statusCounts } });

  const client = async (): Promise<void> => {
    for (;;) {
      if (hooks.signal?.aborted) return;
      const seq = nextSeq;
      if (seq >= o.records) return;
      const count = Math.min(o.batch, o.records - seq);
      nextSeq += count;
      let t0: number;
      if (o.rate > 0) {
        const due = startPerf + (seq / o.rate) * 1000;
        // Behind schedule past the deadline (a slow server): stop rather than catch up.
        if (due >= deadline || performance.now() >= deadline) return;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        t0 = due;
      } else {
        if (performance.now() >= deadline) return;
        t0 = performance.now();
      }
      const text = builder.build(seq, count, nowEpochMs());
      const body = o.gzip ? await gzip(text) : text;
      let status: string;
      try {
        const res = await pool.request({ origin, path, method: 'POST', headers, body });
        await res.body.dump();
        status = String(res.statusCode);
        if (res.statusCode >= 200 && res.statusCode < 300) recordsAccepted += count;
      } catch (err) {
        status = `error:${(err as { code?: string }).code ?? (err as Error).name}`;
      }
      hist.recordMs(performance.now() - t0);
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      requests++;
      recordsSent += count;
    }
  };

  const timer = hooks.onProgress ? setInterval(() => hooks.onProgress!(snapshot()), hooks.progressEveryMs ?? 250) : undefined;
  try {
    await Promise.all(Array.from({ length: o.clients }, client));
  } finally {
    clearInterval(timer);
    await pool.close();
  }
  const endedAtMs = nowEpochMs();
  const p = snapshot();
  hooks.onProgress?.(p);
  const secs = Math.max(1e-9, p.elapsedMs / 1000);
  return {
    ...p,
    runId: o.runId,
    service: o.service,
    requestsPerSec: p.requests / secs,
    recordsPerSec: p.recordsAccepted / secs,
    latency: hist.summary(),
    startedAtMs,
    endedAtMs,
  };
}
