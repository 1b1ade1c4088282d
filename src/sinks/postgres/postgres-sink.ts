// The PostgreSQL sink: each batch in one transaction that records its batch id and COPYs each
// record type into its table, so a retry after a lost COMMIT reply is recognised, not repeated.
// The database itself (server, pool, migrations, maintenance) is a PostgresDatabase it is given.
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from 'pino';
import { PermanentSinkError, errorMessage } from '../../errors.js';
import type { RecordType, SluiceRecord } from '../../record.js';
import type { Sink, SinkBatch, SinkHealth } from '../sink.js';
import { BinaryWriter, TABLES, binaryFromTuples, copySql, encodeRows, type CopyFormat } from './copy-encode.js';
import type { PostgresDatabase } from '../../postgres/database.js';

export interface PostgresSinkOptions {
  /** Built by the composition root; the sink writes through its pool. */
  database: PostgresDatabase;
  copyFormat: CopyFormat;
  dedupe: boolean;
  statementTimeoutMs: number;
  logger: Logger;
  /** start() starts the database and close() closes it (a sink on its own: tests, benchmarks). */
  ownsDatabase?: boolean;
}

export interface PostgresSinkStats {
  committedBatches: number;
  /** Retries of batches that had in fact committed (their COMMIT reply was lost). */
  duplicateBatches: number;
  /** Records skipped because their id was already stored (postgres.dedupe). */
  duplicateRecords: number;
}

const TYPES: readonly RecordType[] = ['log', 'health', 'check'];

/**
 * SQLSTATE classes of errors that retrying the same batch cannot fix: data exceptions, constraint
 * violations, program limits.
 */
const PERMANENT_SQLSTATE = /^(22|23|54)/;
/** Encode buffers up to this size are kept for the next batch (one per concurrent writer at most). */
const KEEP_ENCODER_BYTES = 8 * 1024 * 1024;

type TypedClient = pg.PoolClient & { connection?: { stream?: { destroy(err?: Error): void } } };

/** How long `wasCommitted` waits for a transaction still committing the same batch. */
const WAS_COMMITTED_TIMEOUT_MS = 2000;

export class PostgresSink implements Sink {
  readonly name = 'postgres';
  readonly database: PostgresDatabase;
  private readonly staged = new WeakSet<pg.PoolClient>();
  private readonly spareEncoders: BinaryWriter[] = [];
  private readonly counters: PostgresSinkStats = { committedBatches: 0, duplicateBatches: 0, duplicateRecords: 0 };
  private readonly copyFormat: CopyFormat;
  private readonly log: Logger;
  readonly sendsRows: boolean;

  constructor(private readonly opts: PostgresSinkOptions) {
    this.database = opts.database;
    this.copyFormat = opts.copyFormat;
    this.sendsRows = opts.copyFormat === 'binary';
    this.log = opts.logger;
  }

  stats(): PostgresSinkStats {
    return { ...this.counters };
  }

  async start(): Promise<void> {
    if (this.opts.ownsDatabase) await this.database.start();
  }

  /**
   * The pool, or a transient error while the database is not connected (the writer pool retries,
   * its breaker holds).
   */
  private get pool(): pg.Pool {
    if (!this.database.connected) throw new Error(`postgres: not connected: ${this.database.notConnectedReason}`);
    return this.database.pool;
  }

  async wasCommitted(batchId: string): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL statement_timeout = ${WAS_COMMITTED_TIMEOUT_MS}`);
      // A plain SELECT would not see a COMMIT still under way on the cut connection (the server
      // finishes it regardless). Inserting the same id waits for that transaction to end, then
      // conflicts if it committed; rolled back either way.
      const r = await client.query(
        'INSERT INTO sluice_batches (batch_id, records) VALUES ($1, 0) ON CONFLICT DO NOTHING',
        [batchId],
      );
      return (r.rowCount ?? 0) === 0;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  async writeBatch(batch: SinkBatch, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const client = (await this.pool.connect()) as TypedClient;
    // An abort while waiting for a connection fires no listener (it is added below): check again.
    if (signal.aborted) {
      client.release();
      signal.throwIfAborted();
    }
    let failure: Error | undefined;
    // A checked-out client has no error listener of the pool's: without one, a dropped
    // connection would be an uncaught 'error' event.
    const onClientError = (err: Error): void => {
      failure ??= err;
    };
    client.on('error', onClientError);
    // Never hang: past the statement timeout (plus slack for the network) or on the shutdown
    // deadline, cut the connection; every pending query then fails at once.
    const cut = (why: string): void => {
      failure ??= new Error(why);
      client.connection?.stream?.destroy(failure);
    };
    const onAbort = (): void => cut(`aborted: ${errorMessage(signal.reason)}`);
    signal.addEventListener('abort', onAbort, { once: true });
    const limit = this.opts.statementTimeoutMs;
    const timer =
      limit > 0
        ? setTimeout(() => cut(`batch write took longer than ${limit + 1000} ms: connection cut`), limit + 1000)
        : undefined;
    const encoder = this.spareEncoders.pop() ?? new BinaryWriter(batch.bytes);
    try {
      await this.writeInTransaction(client, batch, encoder);
      // Only after success: after a failure the socket may still hold a write of its bytes.
      if (encoder.buf.length <= KEEP_ENCODER_BYTES) this.spareEncoders.push(encoder);
    } catch (err) {
      failure ??= err as Error;
      throw classify(err);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      client.removeListener('error', onClientError);
      // After any failure the connection's state is unknown (aborted transaction, half-sent
      // COPY): discard it rather than hand it to the next batch.
      client.release(failure);
    }
  }

  private async writeInTransaction(client: pg.PoolClient, batch: SinkBatch, encoder: BinaryWriter): Promise<void> {
    // Tuples encoded on admission (the buffer's) are sent as they are: the records are then never
    // built. Without them the records are grouped by type and encoded here.
    const rows = this.copyFormat === 'binary' ? batch.rows : undefined;
    const groups = rows ? undefined : groupByType(batch.records);
    if (this.opts.dedupe) await this.ensureStaging(client);
    // BEGIN and the batch id in one round trip. The id goes in first: a retry of a batch that
    // committed finds it and stops; a retry racing a still-open first attempt waits on its row lock.
    const res = (await client.query(
      `BEGIN; INSERT INTO sluice_batches (batch_id, records) VALUES (${client.escapeLiteral(batch.id)}, ` +
        `${batch.count}) ON CONFLICT DO NOTHING`,
    )) as unknown as pg.QueryResult[];
    if (res[1]?.rowCount === 0) {
      await client.query('ROLLBACK');
      this.counters.duplicateBatches++;
      this.log.info(
        { batch: batch.id, records: batch.count },
        'postgres: batch was already committed (lost COMMIT reply); counted as done',
      );
      return;
    }
    for (const type of TYPES) {
      const typed = rows?.find((r) => r.type === type);
      const records = groups?.get(type);
      if (!typed && !records) continue;
      const { table, columns } = TABLES[type];
      const count = typed ? typed.count : records!.length;
      // The encoder is reused by the next type only after this COPY has finished with its bytes.
      const data = typed
        ? binaryFromTuples(typed.tuples, encoder)
        : encodeOrReject(records!, this.copyFormat, Math.ceil((batch.bytes * count) / batch.count) * 2, encoder);
      if (!this.opts.dedupe) {
        await copy(client, copySql(table, columns, this.copyFormat), data);
        continue;
      }
      const stage = stagingTable(type);
      await copy(client, copySql(stage, columns, this.copyFormat), data);
      const cols = columns.join(', ');
      // Ids go into sluice_record_ids first (its primary key serialises concurrent writers);
      // only rows whose id was new there are copied on into the table.
      const moved = await client.query(
        `WITH fresh AS (INSERT INTO sluice_record_ids (type, id) SELECT '${type}', id FROM ${stage}
                        ON CONFLICT DO NOTHING RETURNING id)
         INSERT INTO ${table} (${cols})
         SELECT DISTINCT ON (s.id) ${columns.map((c) => `s.${c}`).join(', ')} FROM ${stage} s JOIN fresh USING (id)`,
      );
      this.counters.duplicateRecords += count - (moved.rowCount ?? 0);
    }
    await client.query('COMMIT');
    this.counters.committedBatches++;
  }

  /** Per-connection temp tables for dedupe, created outside the batch transaction so a rollback keeps them. */
  private async ensureStaging(client: pg.PoolClient): Promise<void> {
    if (this.staged.has(client)) return;
    for (const type of TYPES) {
      await client.query(
        `CREATE TEMP TABLE IF NOT EXISTS ${stagingTable(type)} (LIKE ${TABLES[type].table} INCLUDING DEFAULTS)` +
          ' ON COMMIT DELETE ROWS',
      );
    }
    this.staged.add(client);
  }

  health(): Promise<SinkHealth> {
    return this.database.health();
  }

  async close(): Promise<void> {
    if (this.opts.ownsDatabase) await this.database.close();
  }
}

function stagingTable(type: RecordType): string {
  return `sluice_stage_${TABLES[type].table}`;
}

function groupByType(records: readonly SluiceRecord[]): Map<RecordType, SluiceRecord[]> {
  const groups = new Map<RecordType, SluiceRecord[]>();
  // Batches are usually all logs: skip the copy into a new array.
  if (records.length > 0 && records.every((r) => r.type === records[0]!.type)) {
    groups.set(records[0]!.type, records as SluiceRecord[]);
    return groups;
  }
  for (const r of records) {
    const g = groups.get(r.type);
    if (g) g.push(r);
    else groups.set(r.type, [r]);
  }
  return groups;
}

/** A record the encoder cannot represent (a number out of its column's range) fails the same way on every retry. */
function encodeOrReject(
  records: readonly SluiceRecord[],
  format: CopyFormat,
  sizeHint: number,
  encoder: BinaryWriter,
): Buffer {
  try {
    return encodeRows(records, format, sizeHint, encoder);
  } catch (err) {
    throw new PermanentSinkError(`postgres: a record cannot be encoded for COPY: ${errorMessage(err)}`, { cause: err });
  }
}

async function copy(client: pg.PoolClient, sql: string, data: Buffer): Promise<void> {
  const stream = client.query(copyFrom(sql));
  stream.end(data);
  await finished(stream);
}

/** Data errors are permanent (dead-letter now); everything else (connection, timeout, server down) is retried. */
function classify(err: unknown): Error {
  if (err instanceof PermanentSinkError) return err;
  const code = (err as { code?: unknown }).code;
  const message = errorMessage(err) || (typeof code === 'string' ? code : 'unknown error');
  if (typeof code === 'string' && PERMANENT_SQLSTATE.test(code)) {
    return new PermanentSinkError(`postgres rejected the batch (SQLSTATE ${code}): ${message}`, { cause: err });
  }
  return new Error(`postgres: ${message}`, { cause: err });
}
