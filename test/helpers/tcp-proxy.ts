// A TCP proxy in front of a real PostgreSQL server that can lose the reply to a COMMIT: the
// server receives and executes the COMMIT, the client never hears back and sees its connection
// die. That is the ambiguous case a retried batch must survive without duplicating rows.
import { createServer, connect, type Server, type Socket } from 'node:net';

// A simple-protocol Query message: 'Q', int32 length (4 + "COMMIT\0" = 11), the text.
const COMMIT_QUERY = Buffer.from('Q\x00\x00\x00\x0bCOMMIT\x00', 'latin1');

export class CommitReplyDropper {
  droppedReplies = 0;
  private armed = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: URL): Promise<CommitReplyDropper> {
    const host = target.hostname;
    const port = Number(target.port || 5432);
    const ref: { self?: CommitReplyDropper } = {};
    const server = createServer((client) => {
      const upstream = connect(port, host);
      ref.self!.track(client, upstream);
      let swallowing = false;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        if (ref.self!.armed && chunk.includes(COMMIT_QUERY)) {
          ref.self!.armed = false;
          swallowing = true;
          ref.self!.droppedReplies++;
          // Give the server time to receive and execute the COMMIT, then cut both sides.
          setTimeout(() => {
            client.destroy();
            upstream.destroy();
          }, 300);
        }
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!swallowing) client.write(chunk);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', () => {
        if (!swallowing) upstream.end();
      });
      upstream.on('error', close).on('close', () => {
        if (!swallowing) client.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    ref.self = new CommitReplyDropper(server, typeof addr === 'object' && addr ? addr.port : 0);
    return ref.self;
  }

  /** The same URL, pointed at this proxy. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** The next COMMIT sent through the proxy reaches the server; its reply is lost. */
  dropNextCommitReply(): void {
    this.armed = true;
  }

  private track(...sockets: Socket[]): void {
    for (const s of sockets) {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
