// A TCP proxy on a fixed port in front of a real server, for outages a test controls: `closed`
// (nothing listens: connection refused), `open` (bytes forwarded), `stalled` (connections are
// accepted and held, no byte goes either way: a hung database).
import { connect, createServer, type Server, type Socket } from 'node:net';

export type GateState = 'closed' | 'open' | 'stalled';

export class GateProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  state: GateState = 'closed';

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens (if not already) and forwards; stalled sockets stay stalled. */
  async open(): Promise<void> {
    this.state = 'open';
    await this.listen();
  }

  /** Listens and holds every connection, old and new, without passing a byte. */
  async stall(): Promise<void> {
    this.state = 'stalled';
    for (const s of this.sockets) s.pause();
    await this.listen();
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.state = 'closed';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => this.sockets.delete(client));
    if (this.state === 'stalled') {
      client.pause();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    // Forward by hand (not pipe) so that a stall stops the bytes in both directions at once.
    client.on('data', (d: Buffer) => {
      if (this.state === 'open') upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (this.state === 'open') client.write(d);
    });
  }
}
