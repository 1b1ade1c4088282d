// A TCP proxy in front of a real PostgreSQL server that can lose the reply to a COMMIT: the
// server receives and executes the COMMIT, the client never hears back and sees its connection
// die. That is the ambiguous case a retried batch must survive without duplicating rows.
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';

// A simple-protocol Query message: 'Q', int32 length (4 + "COMMIT\0" = 11), the text.
const COMMIT_QUERY = Buffer.from('Q\x00\x00\x00\x0bCOMMIT\x00', 'latin1');

/**
 * Resolves once the server session behind `upstream` (the proxy's own connection to the server,
 * found in pg_stat_activity by its client port) is idle outside a transaction: the COMMIT it was
 * sent has executed and its reply is on the wire. Resolves too if the session is gone (nothing
 * more can happen on it) or after `ms`, so a cut never waits for ever.
 */
async function commitExecuted(target: URL, upstream: Socket, ms = 10_000): Promise<'idle' | 'gone' | 'timeout'> {
  const client = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: ms });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
      const { rows } = await client.query<{ state: string | null }>(
        'SELECT state FROM pg_stat_activity WHERE client_port = $1 AND client_addr IS NOT NULL AND pid <> pg_backend_pid()',
        [upstream.localPort],
      );
      if (rows.length === 0) return 'gone';
      if (rows[0]!.state === 'idle') return 'idle';
    }
    return 'timeout';
  } catch {
    return 'timeout';
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class CommitReplyDropper {
  droppedReplies = 0;
  /** Dropped COMMIT replies whose COMMIT the server is known to have executed (seen idle after it). */
  executedCommits = 0;
  private armed: { cut: boolean } | undefined;
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
        const armed = ref.self!.armed;
        if (armed && chunk.includes(COMMIT_QUERY)) {
          ref.self!.armed = undefined;
          swallowing = true;
          ref.self!.droppedReplies++;
          // Once the server has executed the COMMIT, cut both sides (or, to hold, leave the
          // client waiting for a reply that never comes).
          void commitExecuted(target, upstream).then((outcome) => {
            if (outcome === 'idle') ref.self!.executedCommits++;
            if (armed.cut) {
              client.destroy();
              upstream.destroy();
            }
          });
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

  /**
   * The next COMMIT sent through the proxy reaches the server; its reply is lost. Once the server
   * has executed it the connection is cut, so the client sees an error; with `cut: false` the
   * connection stays open and the client waits (until `close`).
   */
  dropNextCommitReply(opts: { cut?: boolean } = {}): void {
    this.armed = { cut: opts.cut ?? true };
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
