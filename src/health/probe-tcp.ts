// tcp probe: the check passes when a TCP connection to host:port is established.
import { connect } from 'node:net';
import type { TcpCheck } from './check-schema.js';
import { assertHostAllowed, guardedLookup } from './target-guard.js';
import type { TargetPolicy } from './target-policy.js';
import { round, type ProbeResult } from './probe-result.js';

export function probeTcp(check: TcpCheck, signal: AbortSignal, targets: TargetPolicy): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise<ProbeResult>((resolve, reject) => {
    assertHostAllowed(targets, check.host, check.port);
    const socket = connect({ host: check.host, port: check.port, lookup: guardedLookup(targets, check.port, signal) });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      const latencyMs = round(performance.now() - started);
      // Read before destroy(): a destroyed socket no longer knows its peer.
      const address = socket.remoteAddress ?? null;
      socket.destroy();
      resolve({
        status: 'up',
        latencyMs,
        statusCode: null,
        errorClass: null,
        message: null,
        details: { address },
        facts: { connected: true, ip: address },
      });
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}
