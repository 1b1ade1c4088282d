// Parse threads (ingest.parseThreads): POST /logs bodies parsed, normalised and COPY-encoded on
// worker threads, so the main thread only hands bodies over and takes tuples back (about a
// tenth of what parsing in place costs it: bench/results/parse-threads-2026-12-03.md; the rest
// of its work per record stays, so its CPU a record falls to 0.57×). Only where the buffer
// holds tuples (a sink that sends them as they are, PostgreSQL's binary COPY): no record
// objects come back, since building them again on the main thread cost about what parsing did.
// It adds CPU in all (the copies, a heap per thread), so it pays only where a core is free.
// A thread answers `undefined` for anything but success, and so does the pool when its threads
// are busy, dead or stopped: the caller then parses on the main thread as without threads.
// The route sends small bodies only (at most SYNC_MAX_BYTES, which the main thread parses in
// one go too), so a thread's work per job is bounded and the answers are the same.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ParseLimits } from '../parse-body.js';

export interface ParseJob {
  id: number;
  body: Uint8Array;
  ndjson: boolean;
  receivedAt: number;
  tenant: string | undefined;
  limits: ParseLimits;
}

/** A request's records as a parse thread encoded them: their tuples only. */
export interface EncodedBody {
  tuples: Buffer;
  /** Where each record's tuple starts in `tuples`, and (last) where the last one ends. */
  offsets: number[];
  /** Each record's accounted size. */
  sizes: number[];
  /** The records' accounted bytes together. */
  bytes: number;
}

export interface ParseReply {
  id: number;
  encoded: EncodedBody | undefined;
}

/** What a thread sends once its code has loaded, before any reply. */
export const READY = 'ready';

interface Thread {
  worker: Worker;
  /** Jobs sent to it and not answered yet. */
  jobs: Map<number, { resolve: (encoded: EncodedBody | undefined) => void; bytes: number }>;
  /** Body bytes of those jobs. */
  queued: number;
}

// Built as .js next to this file, or .ts when running from the sources (tests, through tsx).
const FROM_SOURCES = extname(fileURLToPath(import.meta.url)) === '.ts';
const WORKER_URL = new URL(`./parse-worker${FROM_SOURCES ? '.ts' : '.js'}`, import.meta.url);

function startWorker(): Worker {
  if (!FROM_SOURCES) return new Worker(WORKER_URL);
  // Node 20 does not apply the main thread's `--import tsx` to a worker's own entry, so from
  // the sources the worker registers tsx itself before loading it.
  const load = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(load, { eval: true });
}

/**
 * Body bytes one thread may have queued (a few ms of parsing): past it, every thread being
 * busy, the main thread parses rather than add the wait to the request's latency.
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

export class ParsePool {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    size: number,
    private readonly logger: Logger,
  ) {
    for (let i = 0; i < size; i++) this.threads.push(this.spawn());
  }

  /** The body's tuples, or undefined: parse it on the main thread (bad input, or no thread to do it). */
  parse(
    body: Buffer,
    ndjson: boolean,
    receivedAt: number,
    tenant: string | undefined,
    limits: ParseLimits,
  ): Promise<EncodedBody | undefined> {
    if (this.closed || this.threads.length === 0) return Promise.resolve(undefined);
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.queued < thread.queued) thread = t;
    // Every thread busy: waiting behind them would only add latency (and hold the body longer).
    if (thread.queued > 0 && thread.queued + body.length > MAX_QUEUED_BYTES) return Promise.resolve(undefined);
    const id = this.nextId++;
    // A copy the thread can own: a small body shares its memory with other Buffers.
    const copy = Buffer.allocUnsafeSlow(body.length);
    body.copy(copy);
    const job: ParseJob = { id, body: copy, ndjson, receivedAt, tenant, limits };
    return new Promise((resolve) => {
      // Only a thread with work keeps the process alive.
      if (thread.jobs.size === 0) thread.worker.ref();
      thread.jobs.set(id, { resolve, bytes: body.length });
      thread.queued += body.length;
      thread.worker.postMessage(job, [copy.buffer]);
    });
  }

  /** Stops the threads; jobs not answered get `undefined`. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(
      threads.map((t) => {
        settleAll(t);
        return t.worker.terminate();
      }),
    );
  }

  private spawn(): Thread {
    const worker = startWorker();
    const thread: Thread = { worker, jobs: new Map(), queued: 0 };
    let ready = false;
    worker.on('message', (reply: ParseReply | typeof READY) => {
      if (reply === READY) {
        ready = true;
        return;
      }
      const job = thread.jobs.get(reply.id);
      if (!job) return;
      thread.jobs.delete(reply.id);
      thread.queued -= job.bytes;
      if (thread.jobs.size === 0) worker.unref();
      const e = reply.encoded;
      // Structured clone hands a Buffer over as a plain Uint8Array.
      if (e) e.tuples = Buffer.from(e.tuples.buffer, e.tuples.byteOffset, e.tuples.byteLength);
      job.resolve(e);
    });
    worker.on('error', (err) => this.logger.error({ err: err.message }, 'ingest: a parse thread failed'));
    worker.on('exit', () => {
      settleAll(thread);
      const at = this.threads.indexOf(thread);
      if (at < 0 || this.closed) return;
      if (!ready) {
        // Gone before its code loaded: starting it again would only fail again.
        this.threads.splice(at, 1);
        if (this.threads.length === 0)
          this.logger.error('ingest: no parse thread could start; parsing on the main thread');
        return;
      }
      // Its jobs are parsed on the main thread; a new thread takes its place.
      this.threads[at] = this.spawn();
    });
    // A thread waiting for work must not keep the process alive (see `parse`).
    worker.unref();
    return thread;
  }
}

function settleAll(t: Thread): void {
  for (const job of t.jobs.values()) job.resolve(undefined);
  t.jobs.clear();
  t.queued = 0;
}
