// Start-up recovery: reads every segment in order and returns what it holds. A frame that
// fails its checks ends the readable part of its segment: the file is truncated there,
// logged and counted, and start-up goes on. A torn tail is the normal trace of a crash
// mid-write (its requests were never acknowledged), so it must never stop the collector.
import { readFile, readdir, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncPath } from '../../durable-fs.js';
import { SluiceError } from '../../errors.js';
import type { SluiceRecord } from '../../record.js';
import { FrameType, SEGMENT_HEADER, decodeFrame, decodeSegmentHeader } from './frame.js';
import { SEGMENT_FILE, type Segment } from './segment-log.js';

/** Records with the position of the first (the rest follow on): a record frame, or a run of one. */
export interface PositionedRecords {
  firstSeq: number;
  records: SluiceRecord[];
}

export interface Replayed {
  /** Undefined when the directory held no segment: a new WAL. */
  walId: Buffer | undefined;
  segments: Segment[];
  nextSegment: number;
  /** Record frames in log order (ascending positions). */
  recordFrames: PositionedRecords[];
  /** Batch boundaries [from, to), in the order they were cut. */
  cuts: Array<[number, number]>;
  /** `from-to` of batches that were settled. */
  done: Set<string>;
  /** One past the highest record position seen. */
  recordEnd: number;
  /** Segments whose tail was cut off (or that were removed for a bad header). */
  repaired: number;
  /** Bytes cut off: an upper bound on the positions that may have been lost with them. */
  droppedBytes: number;
}

export async function replaySegments(dir: string, logger: Logger): Promise<Replayed> {
  const out: Replayed = {
    walId: undefined,
    segments: [],
    nextSegment: 1,
    recordFrames: [],
    cuts: [],
    done: new Set(),
    recordEnd: 0,
    repaired: 0,
    droppedBytes: 0,
  };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  const files = names
    .map((name) => SEGMENT_FILE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ no: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.no - b.no);
  for (const { no, path } of files) {
    out.nextSegment = no + 1;
    const buf = await readFile(path);
    const header = decodeSegmentHeader(buf);
    if ('format' in header) {
      // Written by a newer Sluice: removing it as damaged would lose acknowledged records.
      throw new SluiceError(
        'SLUICE_ERR_CONFIG',
        `wal: ${path} is a ${header.error}. Run the version that wrote it until its records are sent ` +
          '(then stop it: a drained log is deleted), or point wal.dir elsewhere',
      );
    }
    if ('error' in header) {
      // Crashed between creating the file and syncing its header: nothing in it was ever acknowledged.
      logger.warn({ file: path, err: header.error, bytes: buf.length }, 'wal: segment without a valid header removed');
      out.repaired++;
      out.droppedBytes += buf.length;
      await unlink(path);
      continue;
    }
    out.walId ??= header.walId;
    out.recordEnd = Math.max(out.recordEnd, header.startSeq);
    let offset = SEGMENT_HEADER;
    while (offset < buf.length) {
      const r = decodeFrame(buf, offset);
      if ('error' in r) {
        logger.warn(
          { file: path, offset, droppedBytes: buf.length - offset, err: r.error },
          'wal: torn or corrupt tail truncated',
        );
        out.repaired++;
        out.droppedBytes += buf.length - offset;
        await truncate(path, offset);
        await fsyncPath(path);
        break;
      }
      const f = r.frame;
      if (f.type === FrameType.Records) {
        out.recordFrames.push({ firstSeq: f.firstSeq, records: f.records });
        out.recordEnd = Math.max(out.recordEnd, f.firstSeq + f.records.length);
      } else if (f.type === FrameType.Cut) {
        out.cuts.push([f.from, f.to]);
        out.recordEnd = Math.max(out.recordEnd, f.to);
      } else {
        out.done.add(`${f.from}-${f.to}`);
        out.recordEnd = Math.max(out.recordEnd, f.to);
      }
      offset = r.next;
    }
    out.segments.push({ no, path, size: offset, recordEnd: out.recordEnd });
  }
  return out;
}
