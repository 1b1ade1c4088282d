// The WAL's on-disk format. A segment file is a header (magic, the WAL's id, the segment's
// number, the record position it starts at, a checksum) followed by frames: u32 body length,
// u32 CRC32C of the body, then the body: one type byte and its payload. Record frames carry a
// request's records (record-codec.ts) with the position of the first one; cut frames fix a
// batch's boundaries before any sink sees it;
// done frames say a batch left (committed or dead-lettered). All integers little-endian.
import type { SluiceRecord } from '../../record.js';
import { crc32c } from './crc32c.js';
import { decodeRecordRows, encodeRecordRows } from './record-codec.js';

export const FRAME_HEADER = 8;
export const SEGMENT_HEADER = 44;
const MAGIC = Buffer.from('SLUICEW1', 'latin1');

export enum FrameType {
  Records = 1,
  Cut = 2,
  Done = 3,
}

export type Frame =
  | { type: FrameType.Records; firstSeq: number; records: SluiceRecord[] }
  | { type: FrameType.Cut | FrameType.Done; from: number; to: number };

/**
 * A record frame before it is laid out: its payload as JSON text and its first record's
 * position. The log writes it straight into its reused write buffer (`writeRecordFrame`), so a
 * request costs no Buffer of its own: per-request Buffers are external memory, which V8 only
 * frees at its next full collection, and under load that was tens of MiB of RSS.
 */
export interface PendingRecords {
  json: string;
  /** UTF-8 length of `json`. */
  jsonBytes: number;
  firstSeq: number;
}

/** Serialises records for a record frame; the position is set when they are admitted. */
export function pendingRecords(records: readonly SluiceRecord[]): PendingRecords {
  const json = encodeRecordRows(records);
  return { json, jsonBytes: Buffer.byteLength(json), firstSeq: -1 };
}

export function recordFrameBytes(p: PendingRecords): number {
  return FRAME_HEADER + 9 + p.jsonBytes;
}

/** Lays out a record frame (header, type, position, payload, checksum) at `at`; returns where it ends. */
export function writeRecordFrame(target: Buffer, at: number, p: PendingRecords): number {
  const body = at + FRAME_HEADER;
  const end = body + 9 + p.jsonBytes;
  target.writeUInt32LE(9 + p.jsonBytes, at);
  target[body] = FrameType.Records;
  target.writeDoubleLE(p.firstSeq, body + 1);
  target.write(p.json, body + 9, p.jsonBytes, 'utf8');
  target.writeUInt32LE(crc32c(target, body, end), at + 4);
  return end;
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
  if (type === FrameType.Records && len > 9) {
    let records: SluiceRecord[];
    try {
      records = decodeRecordRows(buf.toString('utf8', body + 9, end));
    } catch (err) {
      return { error: `record frame does not decode: ${(err as Error).message}` };
    }
    return { frame: { type, firstSeq: buf.readDoubleLE(body + 1), records }, next: end };
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
export function encodeSegmentHeader(walId: Buffer, segment: number, startSeq: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER);
  MAGIC.copy(buf, 0);
  walId.copy(buf, 8, 0, 16);
  buf.writeDoubleLE(segment, 24);
  buf.writeDoubleLE(startSeq, 32);
  buf.writeUInt32LE(crc32c(buf, 0, 40), 40);
  return buf;
}

export function decodeSegmentHeader(
  buf: Buffer,
): { walId: Buffer; segment: number; startSeq: number } | { error: string } {
  if (buf.length < SEGMENT_HEADER) return { error: 'truncated segment header' };
  if (!buf.subarray(0, 8).equals(MAGIC)) return { error: 'not a sluice WAL segment (bad magic)' };
  if (crc32c(buf, 0, 40) !== buf.readUInt32LE(40)) return { error: 'segment header checksum mismatch' };
  return { walId: Buffer.from(buf.subarray(8, 24)), segment: buf.readDoubleLE(24), startSeq: buf.readDoubleLE(32) };
}
