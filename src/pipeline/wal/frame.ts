// The WAL's on-disk format. A segment file is a header (magic, the WAL's id, the segment's
// number, the record position it starts at, a checksum) followed by frames: u32 body length, u32 CRC32C of the body, then the
// body: one type byte and its payload. Record frames carry a request's records (record-codec.ts)
// with the position of the first one; cut frames fix a batch's boundaries before any sink sees it;
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

/** A record frame with its position still to be filled in (see `sealRecords`): encoding can then happen before admission. */
export function encodeRecords(records: readonly SluiceRecord[]): Buffer {
  const json = encodeRecordRows(records);
  const len = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(FRAME_HEADER + 9 + len);
  buf.writeUInt32LE(9 + len, 0);
  buf[8] = FrameType.Records;
  buf.write(json, FRAME_HEADER + 9, len, 'utf8');
  return buf;
}

/** Sets the first record's position and the checksum of a frame from `encodeRecords`. */
export function sealRecords(frame: Buffer, firstSeq: number): void {
  frame.writeDoubleLE(firstSeq, 9);
  frame.writeUInt32LE(crc32c(frame, FRAME_HEADER), 4);
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

export function decodeSegmentHeader(buf: Buffer): { walId: Buffer; segment: number; startSeq: number } | { error: string } {
  if (buf.length < SEGMENT_HEADER) return { error: 'truncated segment header' };
  if (!buf.subarray(0, 8).equals(MAGIC)) return { error: 'not a sluice WAL segment (bad magic)' };
  if (crc32c(buf, 0, 40) !== buf.readUInt32LE(40)) return { error: 'segment header checksum mismatch' };
  return { walId: Buffer.from(buf.subarray(8, 24)), segment: buf.readDoubleLE(24), startSeq: buf.readDoubleLE(32) };
}
