// How Sluice connects to NATS (the sink, and the ingest and writer roles): servers, auth and
// TLS from nats.*, and reconnecting for good once connected, so callers pace themselves.
import type { ConnectionOptions } from '@nats-io/transport-node';
import type { NatsConfig } from './config.js';

const RECONNECT_WAIT_MS = 1000;

type Connection = Pick<NatsConfig, 'servers' | 'timeoutMs' | 'user' | 'pass' | 'token'> &
  Partial<Pick<NatsConfig, 'tlsCaFile' | 'tlsCertFile' | 'tlsKeyFile'>>;

export function natsConnectOptions(c: Connection, name: string): ConnectionOptions {
  const { tlsCaFile = '', tlsCertFile = '', tlsKeyFile = '' } = c;
  const tls =
    tlsCaFile !== '' || tlsCertFile !== ''
      ? {
          ...(tlsCaFile !== '' ? { caFile: tlsCaFile } : {}),
          ...(tlsCertFile !== '' ? { certFile: tlsCertFile, keyFile: tlsKeyFile } : {}),
        }
      : undefined;
  return {
    servers: c.servers,
    timeout: c.timeoutMs,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    ...(c.user !== '' ? { user: c.user, pass: c.pass } : {}),
    ...(c.token !== '' ? { token: c.token } : {}),
    ...(tls ? { tls } : {}),
  };
}
