// How records cross JetStream between the ingest and writer roles: one WAL row per line
// (record-codec.ts's positional JSON), so a record arrives exactly as it left — id, times,
// accounted size — and costs about half the bytes and encoding time of its external JSON form.
import type { SluiceRecord } from '../record.js';
import { decodeRecordRows, encodeRecordRows } from './wal/record-codec.js';

/** One record as one message line (the NATS sink's `encodeLine`). JSON escapes newlines, so a row holds none. */
export function encodeTransportLine(r: SluiceRecord): string {
  return encodeRecordRows([r]).slice(1, -1);
}

/** The records of one message; throws on a payload it did not write. */
export function decodeTransportPayload(text: string): SluiceRecord[] {
  const body = text.trimEnd();
  return body === '' ? [] : decodeRecordRows(`[${body.replaceAll('\n', ',')}]`);
}
