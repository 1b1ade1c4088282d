// The syslog TCP listener. Each connection is read a chunk at a time: the socket is paused
// while the chunk's messages are parsed and admitted, and resumed only once the buffer took
// them, so a full buffer stops reading and the kernel's window pushes back on the sender.
import net from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { LogRecord } from '../../record.js';
import { nowMicros } from '../../timestamp.js';
import { STEP_WORK } from '../../steps.js';
import { admitWaiting, countDropped, type SyslogDeps } from './admit.js';
import type { SyslogConfig } from './config.js';
import { SyslogFramer, type FrameSink } from './framer.js';
import { parseSyslog } from './parse.js';

/**
 * Messages, and message bytes, parsed and admitted per step; between steps the loop serves others.
 * (A step may end with one message past BYTES_PER_STEP: at most syslog.maxMessageBytes.)
 */
export const MESSAGES_PER_STEP = 256;
export const BYTES_PER_STEP = STEP_WORK;

export class SyslogTcpListener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /** Set once the shutdown deadline passed: paused connections stop waiting for room. */
  private givenUp = false;

  constructor(
    private readonly config: SyslogConfig,
    private readonly deps: SyslogDeps,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = config.maxConnections;
    this.server.on('drop', () => deps.ctx.metrics.syslogConnectionsRefused.inc());
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.tcpPort, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  /**
   * Stops accepting and reading; waits (until `deadlineAt`) for every connection's messages
   * already read to be admitted to the buffer, then closes the connections.
   */
  async close(deadlineAt: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.stopReading();
    const timer = setTimeout(() => (this.givenUp = true), Math.max(0, deadlineAt - Date.now()));
    timer.unref();
    try {
      await Promise.all([...this.connections].map((c) => c.settled()));
    } finally {
      clearTimeout(timer);
    }
    for (const c of this.connections) c.socket.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    const conn = new Connection(socket, this.config, this.deps, () => this.givenUp);
    this.connections.add(conn);
    this.deps.ctx.metrics.syslogConnections.inc();
    socket.once('close', () => {
      this.deps.ctx.metrics.syslogConnections.dec();
      // Messages it sent before closing are still on their way into the buffer: a stop waits for them.
      void conn.settled().then(() => this.connections.delete(conn));
    });
  }
}

class Connection implements FrameSink {
  private readonly framer: SyslogFramer;
  /** Framed messages not parsed yet. */
  private pending: Buffer[] = [];
  private working: Promise<void> | undefined;
  private reading = true;

  constructor(
    readonly socket: net.Socket,
    private readonly config: SyslogConfig,
    private readonly deps: SyslogDeps,
    private readonly givenUp: () => boolean,
  ) {
    this.framer = new SyslogFramer(config.maxMessageBytes);
    const received = deps.ctx.metrics.syslogReceivedBytes.labels('tcp');
    socket.setTimeout(config.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (!this.reading) return;
      received.inc(chunk.length);
      this.framer.push(chunk, this);
      this.work();
    });
    socket.on('end', () => {
      if (!this.reading) return;
      this.framer.end(this);
      this.work();
    });
    // A reset from the client (or our own destroy) is not an error to report: the socket closes.
    socket.on('error', () => undefined);
  }

  message(bytes: Buffer): void {
    this.pending.push(bytes);
  }

  drop(reason: 'oversize' | 'framing'): void {
    countDropped(this.deps, 'tcp', reason);
  }

  stopReading(): void {
    this.reading = false;
    this.socket.pause();
    this.socket.setTimeout(0);
  }

  /** Resolves once every message read so far is admitted (or dropped). */
  async settled(): Promise<void> {
    while (this.working) await this.working;
  }

  private work(): void {
    if (this.working || this.pending.length === 0) return;
    this.socket.pause();
    // The idle timer must not fire while Sluice, not the sender, is the one holding things up.
    this.socket.setTimeout(0);
    this.working = this.drain()
      // Parsing is total (fuzzed) and admission never rejects; should either break, the
      // connection is cut rather than left paused for ever.
      .catch(() => {
        this.pending = [];
        this.socket.destroy();
      })
      .finally(() => {
        this.working = undefined;
        // A chunk already on its way when the socket paused may have queued more meanwhile.
        if (this.pending.length > 0) return this.work();
        if (!this.reading || this.socket.destroyed) return;
        this.socket.setTimeout(this.config.idleTimeoutMs);
        this.socket.resume();
      });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < this.pending.length && n < MESSAGES_PER_STEP && bytes < BYTES_PER_STEP)
        bytes += this.pending[n++]!.length;
      const step = n === this.pending.length ? this.pending : this.pending.splice(0, n);
      if (step === this.pending) this.pending = [];
      const receivedAt = nowMicros();
      const records: LogRecord[] = [];
      let malformed = 0;
      for (const message of step) {
        const parsed = parseSyslog(message, receivedAt);
        if (parsed.ok) records.push(parsed.record);
        else malformed++;
      }
      if (malformed > 0) countDropped(this.deps, 'tcp', 'malformed', malformed);
      this.deps.onStep?.(step.length, bytes);
      if (records.length > 0 && !(await admitWaiting(this.deps, records, this.givenUp))) {
        // The buffer closed (shutdown): what is still queued here cannot go anywhere.
        if (this.pending.length > 0) countDropped(this.deps, 'tcp', 'shutting_down', this.pending.length);
        this.pending = [];
        return;
      }
      if (this.pending.length > 0) await yieldToLoop();
    }
  }
}
