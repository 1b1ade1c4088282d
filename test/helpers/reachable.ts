// Whether a local service answers on a TCP port: tests against NATS or Redis skip (or, under
// CI=true, fail through cannotHere) when the server is not there.
import { connect } from 'node:net';

export function reachable(port: number, host = '127.0.0.1', ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
