// Decodes a Loki PushRequest (logproto, grafana/loki pkg/push/push.proto) from its protobuf
// bytes, as Promtail, Alloy and winston-loki send it after Snappy (block format). Only the
// fields a client pushes are read; unknown fields are skipped as protobuf requires. Decoded in
// steps: each entry yields the bytes it took, so a large push is read a slice at a time.
import { isUtf8 } from 'node:buffer';
import { SluiceError } from '../../errors.js';
import { tooLarge } from '../../http/error-handler.js';
import { runAtOnce, type Steps } from '../../steps.js';
import { parseLabels } from './labels.js';
import { SnappyTooBig, snappyHeader, uncompressSnappySteps } from './snappy-block.js';
import {
  MAX_LABELS_CHARS,
  labelsTooLong,
  metadataTooLong,
  pushError,
  type LokiEntry,
  type LokiStream,
} from './streams.js';

const VARINT = 0,
  I64 = 1,
  LEN = 2,
  I32 = 5;

/** Undoes the Snappy block format, refusing output past `limit` bytes before allocating it. */
export function unsnappy(body: Buffer, limit: number): Buffer {
  return runAtOnce(unsnappySteps(body, limit));
}

/** unsnappy in steps of output, errors in the push's terms. */
export function* unsnappySteps(body: Buffer, limit: number): Steps<Buffer> {
  try {
    return yield* uncompressSnappySteps(body, limit);
  } catch (err) {
    if (err instanceof SnappyTooBig) throw tooLarge(limit, 'decompressed body');
    throw pushError(`snappy: corrupt input (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** The decompressed length a Snappy block states up front; Infinity when it cannot be read. */
export function snappyLength(body: Buffer): number {
  return snappyHeader(body)?.length ?? Infinity;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /** A varint as a number (exact to 2^53; int64 seconds beyond that are out of range anyway). */
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (this.pos >= this.end) throw pushError('proto: unexpected EOF');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw pushError('proto: integer overflow');
  }

  /** Bounds of a length-delimited field. */
  span(): [number, number] {
    const len = this.varint();
    if (len > this.end - this.pos) throw pushError('proto: unexpected EOF');
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.span();
    // Decoding would turn bad bytes into U+FFFD: storing something other than what was sent.
    if (!isUtf8(this.buf.subarray(s, e))) throw pushError('proto: string field is not valid UTF-8');
    return this.buf.toString('utf8', s, e);
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === LEN) this.span();
    else if (wire === I64 || wire === I32) {
      const n = wire === I64 ? 8 : 4;
      if (n > this.end - this.pos) throw pushError('proto: unexpected EOF');
      this.pos += n;
    } else throw pushError(`proto: illegal wireType ${wire}`);
  }

  /** Next field's number and wire type. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) throw pushError('proto: illegal tag 0');
    return [field, t & 7];
  }

  sub(): Reader {
    const [s, e] = this.span();
    return new Reader(this.buf, s, e);
  }
}

function expect(wire: number, want: number, what: string): void {
  if (wire !== want) throw pushError(`proto: wrong wireType ${wire} for field ${what}`);
}

/** google.protobuf.Timestamp → microseconds (negative seconds come as 10-byte varints: out of range). */
function timestamp(r: Reader): number {
  let seconds = 0;
  let nanos = 0;
  while (r.more()) {
    const [f, w] = r.tag();
    if (f === 1) {
      expect(w, VARINT, 'Timestamp.seconds');
      seconds = r.varint();
    } else if (f === 2) {
      expect(w, VARINT, 'Timestamp.nanos');
      nanos = r.varint();
    } else r.skip(w);
  }
  if (nanos > 999_999_999) throw pushError(`proto: timestamp nanos ${nanos} out of range`);
  return seconds * 1e6 + Math.floor(nanos / 1000);
}

function labelPair(r: Reader): [string, string] {
  let name = '';
  let value = '';
  while (r.more()) {
    const [f, w] = r.tag();
    if (f === 1) {
      expect(w, LEN, 'LabelPairAdapter.name');
      name = r.string();
    } else if (f === 2) {
      expect(w, LEN, 'LabelPairAdapter.value');
      value = r.string();
    } else r.skip(w);
  }
  return [name, value];
}

function entry(r: Reader): LokiEntry {
  let us = 0;
  let line = '';
  let metadata: Array<[string, string]> | undefined;
  let metadataChars = 0;
  while (r.more()) {
    const [f, w] = r.tag();
    if (f === 1) {
      expect(w, LEN, 'EntryAdapter.timestamp');
      us = timestamp(r.sub());
    } else if (f === 2) {
      expect(w, LEN, 'EntryAdapter.line');
      line = r.string();
    } else if (f === 3) {
      expect(w, LEN, 'EntryAdapter.structuredMetadata');
      const pair = labelPair(r.sub());
      if ((metadataChars += pair[0].length + pair[1].length) > MAX_LABELS_CHARS) throw metadataTooLong();
      (metadata ??= []).push(pair);
    } else r.skip(w);
  }
  return { us, line, metadata };
}

function* stream(r: Reader, index: number, maxEntries: number, count: { n: number }): Steps<LokiStream> {
  let labelText = '';
  const entries: LokiEntry[] = [];
  while (r.more()) {
    const [f, w] = r.tag();
    if (f === 1) {
      expect(w, LEN, 'StreamAdapter.labels');
      labelText = r.string();
    } else if (f === 2) {
      expect(w, LEN, 'StreamAdapter.entries');
      if (++count.n > maxEntries) throw tooMany(maxEntries);
      const sub = r.sub();
      const size = sub.end - sub.pos;
      entries.push(entry(sub));
      yield size + 8;
    } else r.skip(w);
  }
  if (labelText.length > MAX_LABELS_CHARS) throw labelsTooLong(index);
  const labels = parseLabels(labelText);
  if (typeof labels === 'string')
    throw pushError(`error parsing labels '${labelText}' of stream ${index} with error: ${labels}`);
  return { labels, entries };
}

export function tooMany(max: number): SluiceError {
  return new SluiceError(
    'SLUICE_ERR_TOO_MANY_RECORDS',
    `push holds more than ${max} entries (ingest.maxRecordsPerRequest): send fewer per request; nothing from this request was stored`,
  );
}

/** The streams of a PushRequest, a step at a time; throws a 400 (Loki's wording) for bytes that are not one. */
export function* decodePushProtoSteps(bytes: Buffer, maxEntries: number): Steps<LokiStream[]> {
  const r = new Reader(bytes, 0, bytes.length);
  const streams: LokiStream[] = [];
  const count = { n: 0 };
  while (r.more()) {
    const [f, w] = r.tag();
    if (f === 1) {
      expect(w, LEN, 'PushRequest.streams');
      streams.push(yield* stream(r.sub(), streams.length, maxEntries, count));
    } else r.skip(w);
  }
  return streams;
}

/** decodePushProtoSteps in one go. */
export function decodePushProto(bytes: Buffer, maxEntries: number): LokiStream[] {
  return runAtOnce(decodePushProtoSteps(bytes, maxEntries));
}
