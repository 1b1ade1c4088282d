// File writes that must be whole and durable, shared by the WAL and the file sink: a write may
// stop short without an error (a disk or file-size limit reached mid-buffer), and a new or
// truncated file is durable only once it (and, for a new one, its directory) is fsynced.
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Writes all of `data`, at `position` or (null) at the file's current end. A write that makes
 * no progress is an error: looping on it would never end.
 */
export async function writeFully(fh: FileHandle, data: Buffer, position: number | null = null): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position === null ? null : position + done);
    if (bytesWritten === 0)
      throw Object.assign(new Error(`wrote 0 of the ${data.length - done} bytes left`), { code: 'EIO' });
    done += bytesWritten;
  }
}

/** fsyncs a file or a directory (after a file was created in it) by path. */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
