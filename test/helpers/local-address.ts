// A non-loopback address of this machine (os.networkInterfaces()): a client connecting to it
// from here is seen by the server as coming from that address, not from loopback. Only this
// machine's own addresses are ever used.
import { networkInterfaces } from 'node:os';

export function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}
