// The WAL's on-disk format. A segment file is a header (magic with the format version, the
// WAL's id, the segment's number, the record position it starts at, a checksum) followed by
// frames: u32 body length, u32 CRC32C of the body, then the body: one type byte and its
// payload. Tuple frames carry a request's records as the COPY binary tuples the PostgreSQL sink
// writes (encoded once, at admission: the sink sends the same bytes), with the position of the
// first one and each record's accounted size; record frames carry them as JSON rows
// (record-codec.ts): format 1 wrote only those, format 2 falls back to them for records that
// cannot be encoded for COPY. Cut frames fix a batch's boundaries before any sink sees it; done
// frames say a batch left (committed or dead-lettered). Integers little-endian, except inside
// the tuples (PostgreSQL's own byte order).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { SluiceRecord } from '../../record.js';
import { runAtOnce, runInSteps, type Steps } from '../../steps.js';
import { decodeTuples } from '../../sinks/postgres/copy-decode.js';
import { BinaryWriter, encodeTuple } from '../../sinks/postgres/copy-encode.js';
import { crc32c } from './crc32c.js';
import { decodeRecordRows, encodeRecordRows } from './record-codec.js';
import type { TupleSlab } from './tuple-slab.js';

export const FRAME_HEADER = 8;
export const SEGMENT_HEADER = 44;
/** The format written; segments of every format in READABLE are read (format 1 holds record frames only). */
export const WAL_FORMAT = 2;
const READABLE = [1, 2];
const MAGIC_PREFIX = 'SLUICEW';
const magic = (format: number): Buffer => Buffer.from(`${MAGIC_PREFIX}${format}`, 'latin1');
const MAGIC = magic(WAL_FORMAT);

export enum FrameType {
  Records = 1,
  Cut = 2,
  Done = 3,
  Tuples = 4,
}

export type Frame =
  | { type: FrameType.Records; firstSeq: number; records: SluiceRecord[] }
  | { type: FrameType.Cut | FrameType.Done; from: number; to: number };

/**
 * A tuple (or record) frame before it is laid out: its payload and its first record's position.
 * The log writes it straight into its reused write buffer (`writeRecordFrame`), so a request
 * costs no Buffer of its own: per-request Buffers are external memory, which V8 only frees at
 * its next full collection, and under load that was tens of MiB of RSS. The tuples are views
 * into a shared slab (tuple-slab.ts), kept until the sink has written them.
 */
export interface PendingRecords {
  records: readonly SluiceRecord[];
  /** The records' COPY tuples, back to back; undefined when one could not be encoded (then `json`). */
  tuples: Buffer | undefined;
  /** Where each record's tuple starts in `tuples`, and (last) where the last one ends. */
  offsets: number[] | undefined;
  /** Each record's accounted size, with the tuples (the buffer keeps them once the records are gone). */
  sizes: number[] | undefined;
  json: string | undefined;
  /** Bytes of the payload after the position: the sizes and tuples, or the UTF-8 JSON. */
  payloadBytes: number;
  firstSeq: number;
}

/** One writer for every request: the tuples are copied out of it into the slab at once. */
const scratch = new BinaryWriter(64 * 1024);

/** Where pendingRecords keeps the tuples it encoded: a view into a shared slab, or a copy of their own. */
export type TupleStore = Pick<TupleSlab, 'keep'>;

/** Encodes records for a frame; the position is set when they are admitted. */
export function pendingRecords(records: readonly SluiceRecord[], slab: TupleStore): PendingRecords {
  const offsets = new Array<number>(records.length + 1);
  scratch.off = 0;
  try {
    for (let i = 0; i < records.length; i++) {
      offsets[i] = scratch.off;
      encodeTuple(scratch, records[i]!);
    }
  } catch {
    return jsonRows(records);
  }
  offsets[records.length] = scratch.off;
  return tupleRows(records, offsets, slab.keep(scratch.buf.subarray(0, scratch.off)));
}

/** Records encoded between two turns of the event loop (a few ms of work). */
export const ENCODE_STEP_RECORDS = 4096;

/** Tuples copied into place between two turns while a large request's pieces are joined. */
const JOIN_STEP_BYTES = 4 * 1024 * 1024;

/**
 * pendingRecords for a large request, a step of records at a time with the event loop let run
 * between steps (one pass over 143k records held it ~80–200 ms). Each step encodes into a
 * writer of its own, handed on as a piece, so no writer regrows by copying everything so far;
 * the pieces are then joined into one buffer of the exact size, a few MiB a turn (growing and
 * copying ~25 MB at once took 100–150 ms). The bytes are pendingRecords's, byte for byte.
 */
export async function pendingRecordsInSteps(
  records: readonly SluiceRecord[],
  step = ENCODE_STEP_RECORDS,
): Promise<PendingRecords> {
  const offsets = new Array<number>(records.length + 1);
  const pieces: Buffer[] = [];
  let writer = new BinaryWriter(64 * 1024);
  let base = 0;
  try {
    for (let i = 0; i < records.length; i++) {
      if (i > 0 && i % step === 0) {
        pieces.push(writer.buf.subarray(0, writer.off));
        base += writer.off;
        writer = new BinaryWriter(writer.off);
        await yieldToLoop();
      }
      offsets[i] = base + writer.off;
      encodeTuple(writer, records[i]!);
    }
  } catch {
    return jsonRows(records);
  }
  pieces.push(writer.buf.subarray(0, writer.off));
  const total = base + writer.off;
  offsets[records.length] = total;
  const tuples = await runInSteps(joinSteps(pieces, Buffer.allocUnsafeSlow(total)), JOIN_STEP_BYTES);
  return tupleRows(records, offsets, tuples);
}

/** The pieces copied back to back into `target` (sized to them); yields each one's bytes. */
function* joinSteps(pieces: readonly Buffer[], target: Buffer): Steps<Buffer> {
  let at = 0;
  for (const piece of pieces) {
    at += piece.copy(target, at);
    yield piece.length;
  }
  return target;
}

/**
 * A value COPY cannot carry (a number out of its column's range): JSON rows keep it, and the
 * sink refuses it with a clear error as it always did.
 */
function jsonRows(records: readonly SluiceRecord[]): PendingRecords {
  const json = encodeRecordRows(records);
  return {
    records,
    tuples: undefined,
    offsets: undefined,
    sizes: undefined,
    json,
    payloadBytes: Buffer.byteLength(json),
    firstSeq: -1,
  };
}

/** The frame-to-be of `records` whose tuples are `tuples`, each starting at its offset. */
function tupleRows(records: readonly SluiceRecord[], offsets: number[], tuples: Buffer): PendingRecords {
  const sizes = new Array<number>(records.length);
  for (let i = 0; i < records.length; i++) sizes[i] = records[i]!.size;
  return { ...encodedFrame(offsets, sizes, tuples), records };
}

const NO_RECORDS: readonly SluiceRecord[] = [];

/**
 * The frame-to-be of records encoded elsewhere (a parse thread): their tuples, each one's start
 * in them (and the end of the last), and their accounted sizes; no record objects.
 */
export function encodedFrame(offsets: number[], sizes: number[], tuples: Buffer): PendingRecords {
  return {
    records: NO_RECORDS,
    tuples,
    offsets,
    sizes,
    json: undefined,
    payloadBytes: 4 + 4 * sizes.length + tuples.length,
    firstSeq: -1,
  };
}

export function recordFrameBytes(p: PendingRecords): number {
  return FRAME_HEADER + 9 + p.payloadBytes;
}

/** Bytes copied or checksummed between two yields of writeRecordFrameSteps. */
const LAYOUT_PIECE = 1024 * 1024;

/** Lays out a frame (header, type, position, payload, checksum) at `at`; returns where it ends. */
export function writeRecordFrame(target: Buffer, at: number, p: PendingRecords): number {
  return runAtOnce(writeRecordFrameSteps(target, at, p));
}

/**
 * writeRecordFrame, yielding the bytes copied or checksummed every LAYOUT_PIECE: the frame of
 * one 10 MiB request of tiny records is ~25 MB of tuples, whose copy and CRC held the loop
 * 130-170 ms in one go. The same bytes either way.
 */
export function* writeRecordFrameSteps(target: Buffer, at: number, p: PendingRecords): Steps<number> {
  const body = at + FRAME_HEADER;
  const end = body + 9 + p.payloadBytes;
  target.writeUInt32LE(9 + p.payloadBytes, at);
  target.writeDoubleLE(p.firstSeq, body + 1);
  if (p.tuples) {
    target[body] = FrameType.Tuples;
    const { sizes, tuples } = p;
    let o = body + 9;
    o = u32(target, o, sizes!.length);
    for (let i = 0; i < sizes!.length; i++) o = u32(target, o, sizes![i]!);
    for (let from = 0; from < tuples.length; from += LAYOUT_PIECE) {
      const to = Math.min(tuples.length, from + LAYOUT_PIECE);
      tuples.copy(target, o + from, from, to);
      if (to < tuples.length) yield to - from;
    }
  } else {
    target[body] = FrameType.Records;
    target.write(p.json!, body + 9, p.payloadBytes, 'utf8');
  }
  let crc = 0;
  for (let from = body; from < end; from += LAYOUT_PIECE) {
    const to = Math.min(end, from + LAYOUT_PIECE);
    crc = crc32c(target, from, to, crc);
    if (to < end) yield to - from;
  }
  target.writeUInt32LE(crc, at + 4);
  return end;
}

/** A little-endian u32 at `at` by byte stores (Buffer's checked writer is slow per record); returns where it ends. */
function u32(b: Buffer, at: number, v: number): number {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
  return at + 4;
}

/** A tuple frame's records: their count, each one's size, then their tuples. */
function decodeTupleFrame(buf: Buffer, start: number, end: number): SluiceRecord[] {
  if (end - start < 4) throw new Error('no record count');
  const count = buf.readUInt32LE(start);
  const tuplesAt = start + 4 + 4 * count;
  if (tuplesAt > end) throw new Error('record count runs past the frame');
  const sizes = new Array<number>(count);
  for (let i = 0; i < count; i++) sizes[i] = buf.readUInt32LE(start + 4 + 4 * i);
  return decodeTuples(buf, tuplesAt, end, sizes);
}

/** A cut or done frame for the batch of positions [from, to). */
export function encodeRange(type: FrameType.Cut | FrameType.Done, from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER + 17);
  buf.writeUInt32LE(17, 0);
  buf[8] = type;
  buf.writeDoubleLE(from, 9);
  buf.writeDoubleLE(to, 17);
  buf.writeUInt32LE(crc32c(buf, FRAME_HEADER), 4);
  return buf;
}

export type DecodeResult = { frame: Frame; next: number } | { error: string };

/** Decodes the frame at `offset`; any doubt (short, bad length, checksum, type, JSON) is an error, never a guess. */
export function decodeFrame(buf: Buffer, offset: number): DecodeResult {
  if (buf.length - offset < FRAME_HEADER) return { error: 'truncated frame header' };
  const len = buf.readUInt32LE(offset);
  const end = offset + FRAME_HEADER + len;
  if (len < 1 || end > buf.length) return { error: `frame length ${len} runs past the end of the file` };
  const body = offset + FRAME_HEADER;
  if (crc32c(buf, body, end) !== buf.readUInt32LE(offset + 4)) return { error: 'checksum mismatch' };
  const type = buf[body]!;
  if ((type === FrameType.Records || type === FrameType.Tuples) && len > 9) {
    let records: SluiceRecord[];
    try {
      records =
        type === FrameType.Tuples
          ? decodeTupleFrame(buf, body + 9, end)
          : decodeRecordRows(buf.toString('utf8', body + 9, end));
    } catch (err) {
      return { error: `record frame does not decode: ${(err as Error).message}` };
    }
    return { frame: { type: FrameType.Records, firstSeq: buf.readDoubleLE(body + 1), records }, next: end };
  }
  if ((type === FrameType.Cut || type === FrameType.Done) && len === 17) {
    return { frame: { type, from: buf.readDoubleLE(body + 1), to: buf.readDoubleLE(body + 9) }, next: end };
  }
  return { error: `unknown frame type ${type} (length ${len})` };
}

/**
 * `startSeq`: the next record position when the segment was created. Kept so positions never
 * go back, even when every segment that held records has been deleted: a reused position
 * could give a new batch the id of an old, committed one, which the sink would then skip.
 */
export function encodeSegmentHeader(walId: Buffer, segment: number, startSeq: number, format = WAL_FORMAT): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER);
  (format === WAL_FORMAT ? MAGIC : magic(format)).copy(buf, 0);
  walId.copy(buf, 8, 0, 16);
  buf.writeDoubleLE(segment, 24);
  buf.writeDoubleLE(startSeq, 32);
  buf.writeUInt32LE(crc32c(buf, 0, 40), 40);
  return buf;
}

/** The format digit of a segment's magic, or undefined when it is no Sluice segment. */
function segmentFormat(buf: Buffer): number | undefined {
  if (buf.toString('latin1', 0, 7) !== MAGIC_PREFIX) return undefined;
  const d = buf[7]! - 48;
  return d >= 1 && d <= 9 ? d : undefined;
}

/**
 * `format` is set (with the error) for an intact header of a format this version cannot read:
 * such a segment was written by a newer Sluice, not damaged, and must not be removed.
 */
export function decodeSegmentHeader(
  buf: Buffer,
): { walId: Buffer; segment: number; startSeq: number } | { error: string; format?: number } {
  if (buf.length < SEGMENT_HEADER) return { error: 'truncated segment header' };
  const format = segmentFormat(buf);
  if (format === undefined) return { error: 'not a sluice WAL segment (bad magic)' };
  if (crc32c(buf, 0, 40) !== buf.readUInt32LE(40)) return { error: 'segment header checksum mismatch' };
  if (!READABLE.includes(format))
    return { error: `segment of format ${format}; this version reads formats ${READABLE.join(' and ')}`, format };
  return { walId: Buffer.from(buf.subarray(8, 24)), segment: buf.readDoubleLE(24), startSeq: buf.readDoubleLE(32) };
}
