// Elasticsearch's bulk API (POST|PUT /_bulk, /<index>/_bulk) and the probes its clients send at
// start, so Filebeat, Fluent Bit's es output, Vector's elasticsearch sink and
// @elastic/elasticsearch ship into Sluice unchanged. Every answer carries
// x-elastic-product: Elasticsearch (the JS client refuses a server without it) and errors come
// in Elasticsearch's shape. A full buffer answers the whole request 429
// es_rejected_execution_exception with Retry-After (nothing stored), as Elasticsearch does
// under indexing pressure; the shippers retry it.
import { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { toSluiceError } from '../../http/error-handler.js';
import { INGEST_ROUTE } from '../../http/ingest-route.js';
import { type LogRecord } from '../../record.js';
import { nowMicros } from '../../timestamp.js';
import { checkEncoding, decodeBody } from '../body.js';
import type { IngestContext } from '../enqueue.js';
import { refuseWhenFull, refuseWhenStopping } from '../ingest-routes.js';
import { SYNC_MAX_BYTES } from '../parse-body.js';
import { pushLogs } from '../push-logs.js';
import { runAtOnce, runInSteps, type Steps } from '../../steps.js';
import { parseBulk, parseBulkAsync, type ParsedBulk } from './bulk.js';
import { esErrorBody, esTypeOf } from './es-errors.js';
import { ES_CLIENT, isEsClient, registerProbes } from './probes.js';

const PROTOCOL = 'elasticsearch';

export interface ElasticsearchHooks {
  onLogs?: (records: readonly LogRecord[]) => void;
}

/** A JSON string literal, remembered for the last value (a body's items name the same index). */
function literalOf(): (v: string) => string {
  let last: string | undefined;
  let text = '';
  return (v) => {
    if (v !== last) {
      last = v;
      text = JSON.stringify(v);
    }
    return text;
  };
}

/** What a succeeded item says after its `_seq_no` (Elasticsearch's shape, one shard). */
const CREATED_TAIL = ',"_primary_term":1,"status":201}}';
const CREATED_MID = ',"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":';

/** Answer text gathered into a chunk before it becomes bytes. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The _bulk answer, an item at a time (each yields its text's length): a body of 300k tiny
 * documents answers with ~30 MB of items. Items are written from a template, not built as
 * objects and stringified (that was a third of the route's CPU and most of its garbage), and
 * gathered as byte chunks, sent as they are: no step flattens or copies the whole answer.
 */
export function* bulkResponseSteps(parsed: ParsedBulk, tookMs: number): Steps<Buffer[]> {
  const errors = parsed.items.some((it) => it.error !== undefined);
  const indexText = literalOf();
  const chunks: Buffer[] = [];
  let chunk = `{"took":${tookMs},"errors":${errors},"items":[`;
  let seq = 0;
  for (let i = 0; i < parsed.items.length; i++) {
    const it = parsed.items[i]!;
    const head = `${i === 0 ? '' : ','}{"${it.op}":{"_index":${indexText(it.index)},"_id":${it.id === undefined ? 'null' : JSON.stringify(it.id)}`;
    const text = it.error
      ? `${head},"status":${it.error.status},"error":${JSON.stringify(it.error.cause)}}}`
      : `${head}${CREATED_MID}${seq++}${CREATED_TAIL}`;
    chunk += text;
    if (chunk.length >= CHUNK_CHARS) {
      chunks.push(Buffer.from(chunk));
      chunk = '';
    }
    yield text.length;
  }
  chunks.push(Buffer.from(`${chunk}]}`));
  return chunks;
}

/** The answer's chunks as a reply body: one Buffer, or a stream of them with their length. */
function sendChunks(reply: FastifyReply, chunks: Buffer[]): FastifyReply {
  void reply.code(200).type('application/json');
  if (chunks.length === 1) return reply.send(chunks[0]);
  const length = chunks.reduce((n, c) => n + c.length, 0);
  return reply.header('content-length', length).send(Readable.from(chunks, { objectMode: false }));
}

export function elasticsearchRoutes(ctx: IngestContext, hooks: ElasticsearchHooks = {}): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const limit = ctx.config.ingest.maxBodyBytes;
    app.removeAllContentTypeParsers();
    // Clients send application/x-ndjson, application/json or application/vnd.elasticsearch+x-ndjson.
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: limit },
      (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => {
        let encoding: ReturnType<typeof checkEncoding>;
        try {
          encoding = checkEncoding(req.headers);
        } catch (err) {
          return done(err as Error);
        }
        if (encoding === 'identity') return done(null, body);
        (decodeBody(body, encoding, limit) as Promise<Buffer>).then((decoded) => done(null, decoded), done);
      },
    );
    app.addHook('onSend', (_req, reply, payload, done) => {
      void reply.header('x-elastic-product', 'Elasticsearch');
      done(null, payload);
    });
    app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const e = toSluiceError(err, req.routeOptions.bodyLimit);
      const route = req.routeOptions.url ?? 'unmatched';
      ctx.metrics.ingestErrors.labels(route, e.code, PROTOCOL).inc();
      ctx.metrics.countRequest(route, e.statusCode, PROTOCOL);
      if (e.code === 'SLUICE_ERR_INTERNAL') req.log.error({ err }, 'request failed');
      if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
      if (e.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="sluice"');
      // A bulk error carries its ES type as its one problem's field (bulk.ts).
      const type =
        e.code === 'SLUICE_ERR_BULK_REQUEST' ? (e.problems?.[0]?.field ?? esTypeOf(400)) : esTypeOf(e.statusCode);
      void reply
        .code(e.statusCode)
        .type('application/json')
        .send(esErrorBody(e.statusCode, { type, reason: e.message }));
    });
    // The JS client's constraint on GET / and HEAD /<index>: ES clients get the banner, browsers the UI.
    app.addConstraintStrategy({
      name: ES_CLIENT,
      storage() {
        const handlers = new Map<string, unknown>();
        return {
          get: (v: string) => (handlers.get(v) ?? null) as never,
          set: (v: string, h: unknown) => void handlers.set(v, h),
        };
      },
      deriveConstraint: (req: FastifyRequest['raw']) => (isEsClient(req) ? 'yes' : undefined),
      mustMatchWhenDerived: false,
    } as unknown as Parameters<FastifyInstance['addConstraintStrategy']>[0]);
    app.addHook('onRequest', ctx.access.hook('ingest'));
    registerProbes(app);

    const bulk = (req: FastifyRequest, reply: FastifyReply): void => {
      refuseWhenStopping(ctx);
      const t0 = performance.now();
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      req.body = undefined;
      const { index } = (req.params ?? {}) as { index?: string };
      const receivedAt = nowMicros();
      let parsed: ParsedBulk | undefined;
      // A small body has a small answer: made at once (a large one in steps, without holding the body).
      const small = body.length <= SYNC_MAX_BYTES;
      const push = (parse: () => ParsedBulk, rawBytes: number): void => {
        pushLogs(ctx, req, { parse, rawBytes }, PROTOCOL, rawBytes, hooks.onLogs)
          .then(() => {
            ctx.metrics.countRequest(req.routeOptions.url ?? 'unmatched', 200, PROTOCOL);
            const answer = bulkResponseSteps(parsed!, Math.round(performance.now() - t0));
            return small ? runAtOnce(answer) : runInSteps(answer);
          })
          .then(
            (chunks) => sendChunks(reply, chunks),
            (err: unknown) => reply.send(err),
          );
      };
      if (small) {
        push(() => (parsed = parseBulk(body, index, receivedAt, ctx.limits)), body.length);
        return;
      }
      // As POST /logs: a large body is parsed a slice at a time so the loop serves others meanwhile,
      // and one that would have to wait for room anyway is refused before that work is spent.
      refuseWhenFull(ctx);
      parseBulkAsync(body, index, receivedAt, ctx.limits).then(
        (p) => push(() => (parsed = p), p.bytes),
        (err: unknown) => reply.send(err),
      );
    };
    ctx.metrics.initProtocol(PROTOCOL);
    const route = { config: { ...INGEST_ROUTE.config, protocol: PROTOCOL } };
    app.post('/_bulk', route, bulk);
    app.put('/_bulk', route, bulk);
    app.post('/:index/_bulk', route, bulk);
    app.put('/:index/_bulk', route, bulk);
  };
}
