// A parse thread's loop (see parse-pool.ts): parses, normalises and COPY-encodes one POST /logs
// body, and sends back its tuples, their offsets and sizes, and nothing else. Anything but
// success (bad input, a limit, a value COPY cannot carry) is answered `undefined`: the main
// thread then parses the body itself, which gives the exact error or the JSON-rows path.
import { parentPort } from 'node:worker_threads';
import { pendingRecords, type TupleStore } from '../../pipeline/wal/frame.js';
import { normaliseLog, withTenant } from '../normalise.js';
import { parseBody } from '../parse-body.js';
import { READY, type ParseJob, type ParseReply } from './parse-pool.js';

/** Each request's tuples in a buffer of their own, so they can be handed over without a copy. */
const own: TupleStore = {
  keep(bytes) {
    const out = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(out);
    return out;
  },
};

function encode(job: ParseJob): ParseReply {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  const normalise = job.tenant === undefined ? normaliseLog : withTenant(normaliseLog, job.tenant);
  try {
    const parsed = parseBody(body, job.ndjson, job.receivedAt, normalise, job.limits);
    const frame = pendingRecords(parsed.records, own);
    if (!frame.tuples || parsed.records.length === 0) return { id: job.id, encoded: undefined };
    return {
      id: job.id,
      encoded: { tuples: frame.tuples, offsets: frame.offsets!, sizes: frame.sizes!, bytes: parsed.bytes },
    };
  } catch {
    return { id: job.id, encoded: undefined };
  }
}

parentPort!.postMessage(READY);
parentPort!.on('message', (job: ParseJob) => {
  const reply = encode(job);
  const tuples = reply.encoded?.tuples;
  parentPort!.postMessage(reply, tuples ? [tuples.buffer as ArrayBuffer] : []);
});
