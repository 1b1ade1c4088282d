// Config keys of the syslog listeners (composed into the one config schema in config/schema.ts).
import { z } from 'zod';

const port = z.number().int().min(0).max(65535).default(0);

export const syslogConfig = z
  .object({
    host: z.string().min(1).default('0.0.0.0').describe('Address the syslog listeners (TCP and UDP) bind to'),
    tcpPort: port.describe('Syslog over TCP (octet-counted or newline-framed, RFC 5424 or 3164); 0 = off'),
    udpPort: port.describe('Syslog over UDP, one message per datagram (RFC 5424 or 3164); 0 = off'),
    maxMessageBytes: z
      .number()
      .int()
      .min(480)
      .max(16 * 1024 * 1024)
      .default(64 * 1024)
      .describe(
        'Largest syslog message; a longer one is skipped and counted (sluice_syslog_dropped_total{reason="oversize"})',
      ),
    idleTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(300_000)
      .describe(
        'A TCP connection that sends nothing for this long is closed (not counted while Sluice holds it paused)',
      ),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(1024)
      .describe('Open syslog TCP connections; past it new ones are closed at once'),
  })
  .prefault({});

export type SyslogConfig = z.infer<typeof syslogConfig>;
