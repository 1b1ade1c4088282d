// The syslog UDP listener: one message per datagram. UDP cannot push back, so datagrams that
// arrive while the buffer has no room are dropped and counted. Datagrams that arrive in the
// same turn of the loop are admitted together (one buffer push, not one per datagram).
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { LogRecord } from '../../record.js';
import { nowMicros } from '../../timestamp.js';
import { admitOrDrop, countDropped, type SyslogDeps } from './admit.js';
import type { SyslogConfig } from './config.js';
import { parseSyslog } from './parse.js';

/** Records one UDP listener holds while a push is in flight (a WAL fsync); past it they are dropped. */
const MAX_PENDING = 10_000;

export class SyslogUdpListener {
  private readonly socket: dgram.Socket;
  private pending: LogRecord[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly received;

  constructor(
    private readonly config: SyslogConfig,
    private readonly deps: SyslogDeps,
  ) {
    this.received = deps.ctx.metrics.syslogReceivedBytes.labels('udp');
    this.socket = dgram.createSocket(isIPv6(config.host) ? 'udp6' : 'udp4');
    this.socket.on('message', (msg) => this.receive(msg));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.config.udpPort, this.config.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    // An error after bind (none expected for a receiving socket) must not crash the process.
    this.socket.on('error', () => undefined);
    return this.socket.address().port;
  }

  /** Stops receiving; what was received is admitted (or counted) before this resolves. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    this.scheduled = true; // no further scheduled flush: this one is the last
    while (this.flushing) await this.flushing;
    if (this.pending.length > 0) await this.flush();
  }

  private receive(msg: Buffer): void {
    this.received.inc(msg.length);
    if (msg.length > this.config.maxMessageBytes) return countDropped(this.deps, 'udp', 'oversize');
    // A datagram may carry a trailing LF (some senders end every message with one).
    const parsed = parseSyslog(msg, nowMicros());
    if (!parsed.ok) return countDropped(this.deps, 'udp', 'malformed');
    if (this.pending.length >= MAX_PENDING) return countDropped(this.deps, 'udp', 'buffer_full');
    this.pending.push(parsed.record);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const records = this.pending;
    this.pending = [];
    this.flushing = admitOrDrop(this.deps, records);
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
    // Arrived while the push was in flight (no flush was scheduled for them).
    if (this.pending.length > 0 && !this.scheduled) void this.flush();
  }
}
