// The syslog listeners the config turns on (TCP, UDP, both or neither), started and stopped
// together by the app: they stop first at shutdown, and what they already read is in the
// buffer before it drains.
import type { SyslogDeps } from './admit.js';
import type { SyslogConfig } from './config.js';
import { SyslogTcpListener } from './tcp.js';
import { SyslogUdpListener } from './udp.js';

export interface SyslogListeners {
  /** The bound ports once started (undefined: that transport is off). */
  readonly tcpPort: number | undefined;
  readonly udpPort: number | undefined;
  start(): Promise<void>;
  /** Stops both; waits until `deadlineAt` (epoch ms) at most for TCP messages still waiting for room. */
  stop(deadlineAt: number): Promise<void>;
}

export function syslogListeners(config: SyslogConfig, deps: SyslogDeps): SyslogListeners {
  const tcp = config.tcpPort > 0 ? new SyslogTcpListener(config, deps) : undefined;
  const udp = config.udpPort > 0 ? new SyslogUdpListener(config, deps) : undefined;
  if (tcp || udp) deps.ctx.metrics.initProtocol('syslog');
  let tcpPort: number | undefined;
  let udpPort: number | undefined;
  return {
    get tcpPort() {
      return tcpPort;
    },
    get udpPort() {
      return udpPort;
    },
    async start() {
      if (tcp) tcpPort = await tcp.listen();
      if (udp) udpPort = await udp.listen();
    },
    async stop(deadlineAt) {
      await Promise.all([tcp?.close(deadlineAt), udp?.close()]);
    },
  };
}
