// Hands parsed syslog records to the same buffer as POST /logs. Syslog has no acknowledgement
// to send, so "accepted" is what the buffer promises when its push resolves: held in memory
// (ack memory and sink), or fsynced to the WAL (ack durable). TCP waits for that before it
// reads on; UDP cannot wait, so it drops and counts.
import { SluiceError } from '../../errors.js';
import type { LogRecord } from '../../record.js';
import type { IngestContext } from '../enqueue.js';

export type Transport = 'tcp' | 'udp';
export type DropReason = 'malformed' | 'oversize' | 'framing' | 'buffer_full' | 'unavailable' | 'shutting_down';

export interface SyslogDeps {
  ctx: IngestContext;
  /** Accepted records (the live tail listens here). */
  onLogs?: (records: readonly LogRecord[]) => void;
  /** After each step of a TCP connection's messages is parsed (its message count and bytes): tests count steps. */
  onStep?: (messages: number, bytes: number) => void;
}

/** How long a paused TCP connection waits before asking the buffer again after a refusal. */
const RETRY_MS = 50;

export function bytesOf(records: readonly LogRecord[]): number {
  let bytes = 0;
  for (const r of records) bytes += r.size;
  return bytes;
}

export function countDropped(deps: SyslogDeps, transport: Transport, reason: DropReason, n = 1): void {
  deps.ctx.metrics.syslogDropped.labels(transport, reason).inc(n);
}

export function accepted(deps: SyslogDeps, records: LogRecord[]): void {
  deps.ctx.metrics.recordsCounter('log', 'syslog').inc(records.length);
  deps.onLogs?.(records);
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof SluiceError && err.code === code;
}

/**
 * TCP: pushes until the buffer takes the records, waiting as long as it takes (the caller has
 * stopped reading its socket meanwhile, so the sender's TCP window fills). Never rejects; gives up only when
 * the buffer closes or `giveUp()` says the shutdown deadline has passed; then counts the
 * records as dropped and resolves false.
 */
export async function admitWaiting(deps: SyslogDeps, records: LogRecord[], giveUp: () => boolean): Promise<boolean> {
  const { ctx } = deps;
  const bytes = bytesOf(records);
  for (;;) {
    if (giveUp()) break;
    if (ctx.unavailable?.() !== undefined) {
      await delay(RETRY_MS);
      continue;
    }
    try {
      await ctx.buffer.push(records, bytes, { timeoutMs: ctx.config.ingest.enqueueTimeoutMs });
      accepted(deps, records);
      return true;
    } catch (err) {
      if (isCode(err, 'SLUICE_ERR_SHUTTING_DOWN')) break;
      // Full, or the WAL failing to write: nothing was admitted, so the connection stays
      // paused and asks again, as an HTTP client retries a 429 or a 500.
      await delay(RETRY_MS);
    }
  }
  countDropped(deps, 'tcp', 'shutting_down', records.length);
  return false;
}

/** UDP: the records go in only if there is room now; otherwise they are dropped and counted. */
export async function admitOrDrop(deps: SyslogDeps, records: LogRecord[]): Promise<void> {
  const { ctx } = deps;
  if (ctx.unavailable?.() !== undefined) return countDropped(deps, 'udp', 'unavailable', records.length);
  const bytes = bytesOf(records);
  const s = ctx.buffer.stats();
  // The same test the buffer makes (an empty buffer takes anything), so a push never waits.
  const fits = s.records === 0 || (s.records + records.length <= s.maxRecords && s.bytes + bytes <= s.maxBytes);
  if (s.waiting > 0 || !fits) return countDropped(deps, 'udp', 'buffer_full', records.length);
  try {
    await ctx.buffer.push(records, bytes, { timeoutMs: 0 });
    accepted(deps, records);
  } catch (err) {
    countDropped(
      deps,
      'udp',
      isCode(err, 'SLUICE_ERR_SHUTTING_DOWN') ? 'shutting_down' : 'buffer_full',
      records.length,
    );
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
