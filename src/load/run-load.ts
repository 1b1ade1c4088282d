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

/** One run of the load generator (`sluice load`, and the bench's client). */
export interface LoadRunOptions {
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
  /** Requests that got an HTTP answer (any status). */
  requests: number;
  /** Records in those requests. */
  recordsSent: number;
  recordsAccepted: number;
  /** Requests that got no answer (connection refused or reset, timeout); `error:<code>` in statusCounts. */
  transportErrors: number;
  statusCounts: Record<string, number>;
}

export interface LoadResult extends LoadProgress {
  /** Why the run stopped early, if it did (the collector stopped answering). */
  stoppedEarly?: string;
  runId: string;
  service: string;
  /** The URL the records were posted to, named in every failure. */
  target: string;
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

/** Consecutive requests without an answer after which the collector is taken as gone. */
const GIVE_UP_AFTER = 20;
const GONE = /ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/;

function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function runLoad(run: LoadRunOptions, hooks: LoadHooks = {}): Promise<LoadResult> {
  const origin = new URL(run.url).origin;
  const pool = new Pool(origin, {
    connections: run.clients,
    pipelining: 1,
    headersTimeout: run.timeoutMs,
    bodyTimeout: run.timeoutMs,
  });
  const builder = bodyBuilder(run.format, run.runId, run.service, run.batch > 1 || run.format === 'ndjson');
  const headers: Record<string, string> = { 'content-type': builder.contentType };
  if (run.gzip) headers['content-encoding'] = 'gzip';
  if (run.token) headers.authorization = `Bearer ${run.token}`;
  // The --url's own path prefix (a collector behind a proxy at /sluice) is kept; a query goes in --path.
  const base = new URL(run.url);
  const path = base.pathname.replace(/\/$/, '') + run.path;

  const hist = new LatencyHistogram();
  const statusCounts: Record<string, number> = {};
  let nextSeq = 0;
  let requests = 0;
  let recordsSent = 0;
  let recordsAccepted = 0;
  let transportErrors = 0;
  let unanswered = 0;
  let stoppedEarly: string | undefined;
  // Ctrl-C (or a collector gone) ends pacing sleeps and requests in flight at once.
  const stop = new AbortController();
  // Each client has a signal of its own for its request or sleep in flight: undici adds an
  // abort listener per request, and 50 clients sharing one signal passed Node's limit of 10
  // listeners (MaxListenersExceededWarning). One listener on `stop` fans out.
  const clientAborts = new Set<AbortController>();
  stop.signal.addEventListener(
    'abort',
    () => {
      for (const c of clientAborts) c.abort();
    },
    { once: true },
  );
  const onAbort = (): void => stop.abort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  if (hooks.signal?.aborted) stop.abort();
  const startPerf = performance.now();
  const startedAtMs = nowEpochMs();
  const deadline = run.durationMs > 0 ? startPerf + run.durationMs : Infinity;
  const snapshot = (): LoadProgress => ({
    elapsedMs: performance.now() - startPerf,
    requests,
    recordsSent,
    recordsAccepted,
    transportErrors,
    statusCounts: { ...statusCounts },
  });

  const client = async (): Promise<void> => {
    const mine = new AbortController();
    clientAborts.add(mine);
    if (stop.signal.aborted) mine.abort();
    for (;;) {
      if (stop.signal.aborted) return;
      const seq = nextSeq;
      if (seq >= run.records) return;
      const count = Math.min(run.batch, run.records - seq);
      nextSeq += count;
      let t0: number;
      if (run.rate > 0) {
        const due = startPerf + (seq / run.rate) * 1000;
        // Behind schedule past the deadline (a slow server): stop rather than catch up.
        if (due >= deadline || performance.now() >= deadline) return;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal: mine.signal }).catch(() => undefined);
        if (stop.signal.aborted) return;
        t0 = due;
      } else {
        if (performance.now() >= deadline) return;
        t0 = performance.now();
      }
      const text = builder.build(seq, count, nowEpochMs());
      const body = run.gzip ? await gzip(text) : text;
      let status: string;
      try {
        const res = await pool.request({ origin, path, method: 'POST', headers, body, signal: mine.signal });
        await res.body.dump();
        status = String(res.statusCode);
        if (res.statusCode >= 200 && res.statusCode < 300) recordsAccepted += count;
        // Latency and "sent" only for answered requests: a refused connection answers in
        // microseconds and would make a dead collector look fast.
        hist.recordMs(performance.now() - t0);
        requests++;
        recordsSent += count;
        unanswered = 0;
      } catch (err) {
        if (stop.signal.aborted && hooks.signal?.aborted) return;
        status = `error:${(err as { code?: string }).code ?? (err as Error).name}`;
        transportErrors++;
        // Refused or reset connections mean the collector is gone; a timeout may only mean slow.
        if (GONE.test(status)) unanswered++;
        if (unanswered >= GIVE_UP_AFTER && !stop.signal.aborted) {
          stoppedEarly =
            `${GIVE_UP_AFTER} requests in a row got no answer (last: ${status.slice(6)}): the ` +
            `collector at ${run.url} is gone`;
          stop.abort();
        }
      }
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    }
  };

  const timer = hooks.onProgress
    ? setInterval(() => hooks.onProgress!(snapshot()), hooks.progressEveryMs ?? 250)
    : undefined;
  try {
    // No more clients than requests: each client is a loop (and a connection).
    const clients = Number.isFinite(run.records)
      ? Math.min(run.clients, Math.ceil(run.records / run.batch))
      : run.clients;
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    clearInterval(timer);
    hooks.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
  const endedAtMs = nowEpochMs();
  const p = snapshot();
  hooks.onProgress?.(p);
  const secs = Math.max(1e-9, p.elapsedMs / 1000);
  return {
    ...p,
    ...(stoppedEarly ? { stoppedEarly } : {}),
    runId: run.runId,
    service: run.service,
    target: base.origin + path,
    requestsPerSec: p.requests / secs,
    recordsPerSec: p.recordsAccepted / secs,
    latency: hist.summary(),
    startedAtMs,
    endedAtMs,
  };
}
