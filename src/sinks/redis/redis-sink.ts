// The Redis Streams sink: XADD of each record to <prefix>:<type> with MAXLEN ~, a whole batch in
// one Lua script call (one round trip, run atomically by Redis). The script first looks for the
// batch's marker key and skips a batch already written, so a retry after a lost reply does not
// add the records twice while the marker lives (redis.dedupeWindowMs).
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PermanentSinkError, errorMessage } from '../../errors.js';
import { maskUrl } from '../../observability/secrets.js';
import { toJsonLine, type RecordType } from '../../record.js';
import { withTimeout } from '../../timeout.js';
import type { Sink, SinkBatch, SinkHealth } from '../sink.js';
import type { RedisConfig } from './config.js';

export interface RedisSinkOptions extends RedisConfig {
  logger: Logger;
}

/** Stream key suffix per record type (the plural names the postgres tables use). */
export const REDIS_STREAM_SUFFIX: Record<RecordType, string> = { log: 'logs', health: 'health', check: 'checks' };

// KEYS[1]: the batch marker. ARGV: window (s), maxLen (0: none), then (stream, id, json) triples.
// The marker is set last: a script that fails part way (a key of the wrong type) leaves no marker.
const WRITE_BATCH_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local maxLen = ARGV[2]
for i = 3, #ARGV, 3 do
  if maxLen ~= '0' then
    redis.call('XADD', ARGV[i], 'MAXLEN', '~', maxLen, '*', 'id', ARGV[i + 1], 'record', ARGV[i + 2])
  else
    redis.call('XADD', ARGV[i], '*', 'id', ARGV[i + 1], 'record', ARGV[i + 2])
  end
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return 1
`;

type ScriptedRedis = Redis & {
  sluiceWriteBatch(marker: string, ...args: string[]): Promise<number>;
};

export class RedisSink implements Sink {
  readonly name = 'redis';
  private readonly redis: ScriptedRedis;
  private readonly where: string;
  /** Batches skipped because their marker said they were already written (retries after a lost reply). */
  duplicateBatches = 0;

  constructor(private readonly opts: RedisSinkOptions) {
    this.where = maskUrl(opts.url);
    this.redis = new Redis(opts.url, {
      lazyConnect: true,
      connectTimeout: opts.timeoutMs,
      commandTimeout: opts.timeoutMs,
      // Fail a write at once while disconnected: the writer pool retries it (and its breaker
      // paces the retries) rather than a queue in the client growing out of sight.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    }) as ScriptedRedis;
    this.redis.defineCommand('sluiceWriteBatch', { numberOfKeys: 1, lua: WRITE_BATCH_LUA });
    // Without a listener an unreachable server would be an uncaught 'error' event.
    let lastLogged = '';
    this.redis.on('error', (err: Error) => {
      if (err.message === lastLogged) return;
      lastLogged = err.message;
      this.opts.logger.warn({ sink: this.name, redis: this.where, err: err.message }, 'redis: connection error');
    });
    this.redis.on('ready', () => {
      lastLogged = '';
    });
  }

  /** The stream key of a record type. */
  streamKey(type: RecordType): string {
    return `${this.opts.streamPrefix}:${REDIS_STREAM_SUFFIX[type]}`;
  }

  /** The marker key of a written batch. */
  markerKey(batchId: string): string {
    return `${this.opts.streamPrefix}:batch:${batchId}`;
  }

  /** Connects; an unreachable server is not fatal (ioredis keeps reconnecting, /readyz says why). */
  async start(): Promise<void> {
    await this.redis.connect().catch((err: unknown) => {
      this.opts.logger.warn(
        { sink: this.name, redis: this.where, err: errorMessage(err) },
        'redis: not reachable; retrying in background',
      );
    });
  }

  async writeBatch(batch: SinkBatch, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const args: string[] = [String(Math.ceil(this.opts.dedupeWindowMs / 1000)), String(this.opts.maxLen)];
    for (const r of batch.records) args.push(this.streamKey(r.type), r.id, toJsonLine(r));
    try {
      const written = await this.redis.sluiceWriteBatch(this.markerKey(batch.id), ...args);
      if (written === 0) this.duplicateBatches++;
    } catch (err) {
      // WRONGTYPE: a key in our prefix is not a stream; retrying cannot fix it.
      if (/WRONGTYPE/.test(errorMessage(err)))
        throw new PermanentSinkError(`redis: ${errorMessage(err)}`, { cause: err });
      throw new Error(`redis: write failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async wasCommitted(batchId: string): Promise<boolean> {
    return (await this.redis.exists(this.markerKey(batchId))) === 1;
  }

  async health(): Promise<SinkHealth> {
    if (this.redis.status !== 'ready') return { ok: false, reason: `${this.where}: ${this.redis.status}` };
    try {
      await withTimeout(this.redis.ping(), 2000, () => {
        throw new Error('no PONG in 2 s');
      });
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `${this.where}: ${errorMessage(err)}` };
    }
  }

  /** QUIT waits for the replies still due; a connection that is down is just dropped. */
  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
