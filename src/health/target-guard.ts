// The target policy in the connect path of every probe: a literal address is checked before
// the connect, a name's resolved addresses are checked inside the lookup the connect uses
// (so the address checked is the address connected to: no second resolution to rebind), and
// undici's pools go through a connector that does both for every new connection, redirect
// hops included. A denied target fails the run with error_class `denied`; nothing is sent.
import type { LookupAddress } from 'node:dns';
import { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { SluiceError } from '../errors.js';
import { probeLookup, type Vet } from './lookup.js';
import type { Denial, TargetPolicy } from './target-policy.js';

export function deniedError(d: Denial): SluiceError {
  return new SluiceError('SLUICE_ERR_TARGET_DENIED', { target: d.target, rule: d.rule });
}

/** Throws when the host, as written, is denied on this port. */
export function assertHostAllowed(policy: TargetPolicy, host: string, port: number): void {
  const d = policy.checkHost(host, port);
  if (d) throw deniedError(d);
}

/** Keeps the resolved addresses allowed on `port`; with none, the first denial. */
export function vetAddresses(policy: TargetPolicy, port: number): Vet {
  return (all: LookupAddress[]) => {
    let first: Denial | null = null;
    const kept = all.filter((a) => {
      const d = policy.checkAddress(a.address, port);
      first ??= d;
      return d === null;
    });
    return kept.length > 0 || first === null ? kept : deniedError(first);
  };
}

/** A lookup for net.connect / tls.connect that hands on only allowed addresses. */
export function guardedLookup(
  policy: TargetPolicy,
  port: number,
  signal?: AbortSignal,
): ReturnType<typeof probeLookup> {
  return probeLookup(signal, vetAddresses(policy, port));
}

/**
 * undici's `connect` option: checks each new connection's host and port, then connects through
 * a connector whose lookup vets the resolved addresses for that port (one per port: the lookup
 * is fixed when a connector is built).
 */
export function guardedConnector(
  policy: TargetPolicy,
  tls: { rejectUnauthorized: boolean },
  /** Sees each new TLS connection once its handshake is done (the http probe notes the certificate). */
  onSecure?: (hostname: string, port: number, socket: TLSSocket) => void,
): buildConnector.connector {
  const byPort = new Map<number, buildConnector.connector>();
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const d = policy.checkHost(opts.hostname, port);
    if (d) {
      callback(deniedError(d), null);
      return;
    }
    let connect = byPort.get(port);
    if (!connect) {
      connect = buildConnector({ ...tls, lookup: guardedLookup(policy, port) });
      byPort.set(port, connect);
    }
    if (!onSecure) return connect(opts, callback);
    connect(opts, (err, socket) => {
      if (!err && socket instanceof TLSSocket) onSecure(opts.hostname, port, socket);
      callback(err, socket as never);
    });
  };
}
