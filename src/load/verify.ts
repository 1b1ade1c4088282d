// `--verify`: counts this run's rows in PostgreSQL (by its service name and id prefix) until
// the count reaches what was accepted or stops growing, and measures end-to-end latency from
// each record's `ts` (stamped by the generator just before sending) to its commit.
//
// The commit time is exact when the server has track_commit_timestamp on (the benchmarks
// start theirs that way): pg_xact_commit_timestamp(xmin) of the row's transaction. Otherwise
// the commit is observed: every row's transaction (xmin) is stamped with the time of the
// first poll that could see it, an upper bound off by at most one poll interval.
import pg from 'pg';
import { LatencyHistogram, type LatencySummary } from './histogram.js';

export type E2eMethod = 'commit-timestamp' | 'first-seen-poll';

export interface VerifyResult {
  expected: number;
  /** Rows of this run found in logs. */
  landed: number;
  /** Distinct record ids among them (landed - distinct = duplicates). */
  distinct: number;
  duplicates: number;
  missing: number;
  waitedMs: number;
  e2e: LatencySummary;
  e2eMethod: E2eMethod;
  /** What the e2e numbers measure, in words. */
  e2eNote: string;
  /** Epoch ms of the last commit that brought rows of this run. */
  lastCommitMs: number | null;
}

export interface VerifyWaitOptions {
  /** Give up waiting for the count after this long. */
  timeoutMs: number;
  /** Stop waiting when the count has not grown for this long. */
  quietMs: number;
  pollMs?: number;
}

export class Verifier {
  private readonly seen = new Map<string, number>();
  private watching: Promise<void> | undefined;
  private stopWatch = false;
  private watchError: Error | undefined;
  private readonly where = 'service = $1 AND id LIKE $2';
  private readonly params: [string, string];

  private constructor(
    private readonly client: pg.Client,
    readonly method: E2eMethod,
    private readonly pollMs: number,
    runId: string,
    service: string,
  ) {
    this.params = [service, `${runId}-%`];
  }

  /** Connects and checks the logs table is there; fails fast, before any load is sent. */
  static async connect(url: string, runId: string, service: string, pollMs = 250): Promise<Verifier> {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      application_name: 'sluice-load-verify',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const t = await client.query<{ t: string | null }>(`SELECT to_regclass('logs')::text AS t`);
      if (!t.rows[0]?.t) throw new Error('no logs table in that database (is it the one the collector writes to?)');
      const s = await client.query<{ track_commit_timestamp: string }>('SHOW track_commit_timestamp');
      const method: E2eMethod = s.rows[0]?.track_commit_timestamp === 'on' ? 'commit-timestamp' : 'first-seen-poll';
      return new Verifier(client, method, pollMs, runId, service);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  /** In first-seen-poll mode, starts stamping transactions as they become visible (call before the load). */
  startWatching(): void {
    if (this.method !== 'first-seen-poll' || this.watching) return;
    this.watching = (async () => {
      while (!this.stopWatch) {
        try {
          await this.poll();
        } catch (err) {
          // Reported by finish(); an unhandled rejection here would kill the run mid-load.
          this.watchError = err as Error;
          return;
        }
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
    })();
  }

  /** Rows of this run visible now; in first-seen-poll mode also stamps new transactions. */
  private async poll(): Promise<number> {
    if (this.method === 'commit-timestamp') {
      const r = await this.client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM logs WHERE ${this.where}`,
        this.params,
      );
      return r.rows[0]!.n;
    }
    // The snapshot is taken when the query starts: anything it sees committed before then.
    const sentAt = Date.now();
    const r = await this.client.query<{ x: string; n: number }>(
      `SELECT xmin::text AS x, count(*)::int AS n FROM logs WHERE ${this.where} GROUP BY 1`,
      this.params,
    );
    let total = 0;
    for (const row of r.rows) {
      total += row.n;
      if (!this.seen.has(row.x)) this.seen.set(row.x, sentAt);
    }
    return total;
  }

  async finish(expected: number, wait: VerifyWaitOptions): Promise<VerifyResult> {
    this.stopWatch = true;
    await this.watching;
    if (this.watchError) throw new Error(`the database connection failed during the load: ${this.watchError.message}`);
    const start = Date.now();
    const pollMs = wait.pollMs ?? this.pollMs;
    let last = -1;
    let lastGrowth = start;
    for (;;) {
      const n = await this.poll();
      if (n !== last) {
        last = n;
        lastGrowth = Date.now();
      }
      if (n >= expected || Date.now() - lastGrowth >= wait.quietMs || Date.now() - start >= wait.timeoutMs) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    const waitedMs = Date.now() - start;
    const c = await this.client.query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM logs WHERE ${this.where}`,
      this.params,
    );
    const landed = c.rows[0]!.n;
    const distinct = c.rows[0]!.d;
    const { e2e, lastCommitMs } = await this.latency();
    return {
      expected,
      landed,
      distinct,
      duplicates: landed - distinct,
      missing: Math.max(0, expected - distinct),
      waitedMs,
      e2e,
      e2eMethod: this.method,
      e2eNote:
        this.method === 'commit-timestamp'
          ? 'record ts (set by the client just before sending) to the commit of its transaction ' +
            '(pg_xact_commit_timestamp); same clock when the database is local'
          : `record ts (set by the client just before sending) to the first poll that saw the row committed: an ` +
            `upper bound, resolution ${this.pollMs} ms (turn track_commit_timestamp on for exact commit times)`,
      lastCommitMs,
    };
  }

  private async latency(): Promise<{ e2e: LatencySummary; lastCommitMs: number | null }> {
    const h = new LatencyHistogram();
    let lastCommitMs: number | null = null;
    // Records of one request share their ts and their transaction: group to keep the result small.
    if (this.method === 'commit-timestamp') {
      const r = await this.client.query<{ c: number | null; t: number; n: number }>(
        `SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 * 1000 AS c,
                extract(epoch FROM ts)::float8 * 1000 AS t, count(*)::int AS n
           FROM logs WHERE ${this.where} GROUP BY xmin, ts`,
        this.params,
      );
      for (const row of r.rows) {
        if (row.c === null) continue;
        h.recordMs(row.c - row.t, row.n);
        if (lastCommitMs === null || row.c > lastCommitMs) lastCommitMs = row.c;
      }
    } else {
      const r = await this.client.query<{ x: string; t: number; n: number }>(
        `SELECT xmin::text AS x, extract(epoch FROM ts)::float8 * 1000 AS t, count(*)::int AS n
           FROM logs WHERE ${this.where} GROUP BY 1, 2`,
        this.params,
      );
      for (const row of r.rows) {
        const seenAt = this.seen.get(row.x);
        if (seenAt === undefined) continue; // committed after the last poll: no honest stamp
        h.recordMs(seenAt - row.t, row.n);
        if (lastCommitMs === null || seenAt > lastCommitMs) lastCommitMs = seenAt;
      }
    }
    return { e2e: h.summary(), lastCommitMs };
  }

  async close(): Promise<void> {
    this.stopWatch = true;
    await this.watching?.catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
